//! Object calls: GetObject (or a presigned GET when the object is too large
//! to inline), HeadObject, PutObject, DeleteObject.

use super::object_body::{ObjectBody, ObjectGet};
use super::{Backend, http_date, http_date_string, iso8601, with_date};
use crate::error::ApiError;
use crate::operation::{ByteRange, ChecksumAlgorithm, ObjectRead, PutObject, ResponseOverrides};
use crate::outcome::{EncryptionHeaders, ObjectMeta, Outcome, Stored};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm as SdkChecksum, ChecksumMode, ObjectCannedAcl, ServerSideEncryption,
    StorageClass,
};
use std::collections::HashMap;
use std::time::Duration;

/// GetObjectOutput and HeadObjectOutput name the object's headers alike.
macro_rules! object_meta {
    ($out:expr, $date:expr) => {
        ObjectMeta {
            content_type: $out.content_type.clone(),
            content_length: $out.content_length.unwrap_or_default(),
            content_range: $out.content_range.clone(),
            etag: $out.e_tag.clone(),
            last_modified: $out.last_modified.as_ref().map(http_date_string),
            date: $date,
            cache_control: $out.cache_control.clone(),
            content_disposition: $out.content_disposition.clone(),
            content_encoding: $out.content_encoding.clone(),
            content_language: $out.content_language.clone(),
            expires: $out.expires_string.clone(),
            storage_class: $out.storage_class.as_ref().map(|s| s.as_str().to_string()),
            version_id: $out.version_id.clone(),
            metadata: sorted($out.metadata.clone()),
            request_id: $out.request_id().map(str::to_string),
            encryption: encryption_headers!($out),
            checksums: checksums!($out),
            tag_count: $out.tag_count,
            state: object_state!($out),
        }
    };
}

/// What an output says of the object's life and protection, as headers.
macro_rules! object_state {
    ($out:expr) => {
        [
            ("x-amz-expiration", $out.expiration.clone()),
            ("x-amz-restore", $out.restore.clone()),
            (
                "x-amz-replication-status",
                $out.replication_status
                    .as_ref()
                    .map(|s| s.as_str().to_string()),
            ),
            (
                "x-amz-object-lock-mode",
                $out.object_lock_mode
                    .as_ref()
                    .map(|m| m.as_str().to_string()),
            ),
            (
                "x-amz-object-lock-retain-until-date",
                $out.object_lock_retain_until_date.as_ref().map(iso8601),
            ),
            (
                "x-amz-object-lock-legal-hold",
                $out.object_lock_legal_hold_status
                    .as_ref()
                    .map(|s| s.as_str().to_string()),
            ),
            (
                "x-amz-website-redirect-location",
                $out.website_redirect_location.clone(),
            ),
            (
                "x-amz-missing-meta",
                $out.missing_meta.map(|n| n.to_string()),
            ),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect::<Vec<_>>()
    };
}

/// The `x-amz-server-side-encryption*` of an output.
macro_rules! encryption_headers {
    ($out:expr) => {
        EncryptionHeaders {
            algorithm: $out
                .server_side_encryption
                .as_ref()
                .map(|s| s.as_str().to_string()),
            kms_key_id: $out.ssekms_key_id.clone(),
            bucket_key_enabled: $out.bucket_key_enabled,
            customer_algorithm: $out.sse_customer_algorithm.clone(),
            customer_key_md5: $out.sse_customer_key_md5.clone(),
        }
    };
}

/// The `x-amz-checksum-*` of an output.
macro_rules! checksums {
    ($out:expr) => {
        ChecksumAlgorithm::ALL
            .into_iter()
            .filter_map(|algorithm| {
                let value = match algorithm {
                    ChecksumAlgorithm::Crc32 => &$out.checksum_crc32,
                    ChecksumAlgorithm::Crc32c => &$out.checksum_crc32_c,
                    ChecksumAlgorithm::Crc64Nvme => &$out.checksum_crc64_nvme,
                    ChecksumAlgorithm::Sha1 => &$out.checksum_sha1,
                    ChecksumAlgorithm::Sha256 => &$out.checksum_sha256,
                };
                value.clone().map(|v| (algorithm.header(), v))
            })
            .chain(
                $out.checksum_type
                    .as_ref()
                    .map(|t| ("x-amz-checksum-type", t.as_str().to_string())),
            )
            .collect::<Vec<_>>()
    };
}

/// Sets on an SDK request builder only the values that are there: each
/// setter moves the whole builder (a kilobyte and more), and a read sets
/// most of its seventeen fields to nothing.
macro_rules! set_some {
    ($builder:expr $(, $setter:ident($value:expr))* $(,)?) => {{
        let mut builder = $builder;
        $(
            if let Some(value) = $value {
                builder = builder.$setter(value);
            }
        )*
        builder
    }};
}

/// GetObject and HeadObject take the same conditions, overrides and keys:
/// everything an [`ObjectRead`] carries.
macro_rules! read_request {
    ($builder:expr, $read:expr, $owner:expr) => {{
        let (read, o) = (&$read, &$read.overrides);
        let key = read.customer_key.as_ref();
        set_some!(
            $builder.bucket(&read.bucket).key(&read.key),
            version_id(read.version_id.as_ref()),
            range(read.range.map(|r| r.to_string())),
            if_match(read.if_match.as_ref()),
            if_none_match(read.if_none_match.as_ref()),
            if_modified_since(read.if_modified_since.as_deref().and_then(http_date)),
            if_unmodified_since(read.if_unmodified_since.as_deref().and_then(http_date)),
            response_cache_control(o.cache_control.as_ref()),
            response_content_disposition(o.content_disposition.as_ref()),
            response_content_encoding(o.content_encoding.as_ref()),
            response_content_language(o.content_language.as_ref()),
            response_content_type(o.content_type.as_ref()),
            response_expires(o.expires.as_deref().and_then(http_date)),
            sse_customer_algorithm(key.map(|k| &k.algorithm)),
            sse_customer_key(key.map(|k| &k.key)),
            sse_customer_key_md5(key.map(|k| &k.key_md5)),
            checksum_mode(read.checksum_mode.then_some(ChecksumMode::Enabled)),
            expected_bucket_owner($owner),
        )
    }};
}

impl Backend {
    pub(super) async fn get_object(
        &self,
        read: ObjectRead,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let (meta, body) = self.send_get_object(&read, owner).await?;
        if meta.content_length > self.inline_limit as i64 {
            // Too big for a Lambda answer: drop the stream unread and send the
            // client to S3 itself.
            drop(body);
            return self.redirect(&read, meta).await;
        }
        let body = body.collect().await.map_err(body_error)?.into_bytes();
        if read.inline_as_text && json_text_len(&body) > base64_len(self.inline_limit) {
            // As JSON text (quotes and control characters escaped) it would
            // not fit where its base64 would: the Lambda answer's limit.
            return self.redirect(&read, meta).await;
        }
        Ok(Outcome::Object { meta, body })
    }

    /// A GetObject whose body is read as it comes (stream mode): S3's answer
    /// up to `max` bytes, else (unread) the presigned URL of
    /// [`Outcome::TooLargeToInline`]. S3 must send each chunk within `idle`.
    pub async fn get_object_streamed(
        &self,
        read: ObjectRead,
        owner: Option<&str>,
        max: u64,
        idle: Duration,
    ) -> Result<ObjectGet, ApiError> {
        let (meta, body) = self.send_get_object(&read, owner).await?;
        let length = u64::try_from(meta.content_length).unwrap_or_default();
        if length > max {
            drop(body);
            return self.redirect(&read, meta).await.map(ObjectGet::Done);
        }
        let body = Box::new(ObjectBody::new(body, length, idle));
        Ok(ObjectGet::Streamed { meta, body })
    }

    /// Sends a GetObject: the object's headers (with the response-*
    /// overrides S3 applies, applied here too for S3-compatible stores that
    /// do not), and its body unread.
    async fn send_get_object(
        &self,
        read: &ObjectRead,
        owner: Option<&str>,
    ) -> Result<(ObjectMeta, ByteStream), ApiError> {
        let request = read_request!(self.client.get_object(), read, owner);
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let meta = checksums_if_asked(object_meta!(out, date), read);
        Ok((apply_overrides(meta, &read.overrides), out.body))
    }

    /// The answer for an object the Lambda payload cannot carry: a presigned
    /// GET, with the same version and response overrides.
    async fn redirect(&self, read: &ObjectRead, meta: ObjectMeta) -> Result<Outcome, ApiError> {
        if read.customer_key.is_some() {
            // A presigned URL cannot carry the client's key, and a client
            // following a redirect does not send it again.
            return Err(ApiError::InvalidArgument(format!(
                "the object is encrypted with a customer key (SSE-C) and is larger than this \
                 API answers inline ({} bytes): GET it from S3 with the key",
                self.inline_limit
            )));
        }
        let o = &read.overrides;
        let presigned = self
            .client
            .get_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_version_id(read.version_id.clone())
            .set_response_cache_control(o.cache_control.clone())
            .set_response_content_disposition(o.content_disposition.clone())
            .set_response_content_encoding(o.content_encoding.clone())
            .set_response_content_language(o.content_language.clone())
            .set_response_content_type(o.content_type.clone())
            .set_response_expires(o.expires.as_deref().and_then(http_date))
            .presigned(self.presigning()?)
            .await
            .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
        Ok(Outcome::TooLargeToInline {
            url: presigned.uri().to_string(),
            meta,
        })
    }

    pub(super) async fn head_object(
        &self,
        read: ObjectRead,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let request = read_request!(self.client.head_object(), read, owner);
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let mut meta = checksums_if_asked(object_meta!(out, date), &read);
        if let Some(archived) = &out.archive_status {
            meta.state
                .push(("x-amz-archive-status", archived.as_str().to_string()));
        }
        let meta = apply_overrides(meta, &read.overrides);
        Ok(Outcome::ObjectHead(head_range(meta, read.range)?))
    }

    pub(super) async fn put_object(
        &self,
        put: PutObject,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let expires = match put.expires.as_deref() {
            None => None,
            Some(v) => Some(http_date(v).ok_or_else(|| {
                ApiError::InvalidArgument(format!("Expires {v:?} is not an HTTP date"))
            })?),
        };
        let metadata: Option<HashMap<String, String>> =
            (!put.metadata.is_empty()).then(|| put.metadata.into_iter().collect());
        let sse = put.encryption;
        let key = put.customer_key;
        let asked = sse.as_ref().map(|s| s.algorithm.clone());
        let asked_customer_key = key.is_some();
        let mut request = self
            .client
            .put_object()
            .bucket(put.bucket)
            .key(put.key)
            .content_type(put.content_type)
            .content_length(put.body.len() as i64)
            .set_metadata(metadata)
            .set_cache_control(put.cache_control)
            .set_content_disposition(put.content_disposition)
            .set_content_encoding(put.content_encoding)
            .set_content_language(put.content_language)
            .set_expires(expires)
            .set_acl(put.acl.as_deref().map(ObjectCannedAcl::from))
            .set_storage_class(put.storage_class.as_deref().map(StorageClass::from))
            .set_content_md5(put.content_md5)
            .set_if_match(put.if_match)
            .set_if_none_match(put.if_none_match)
            .set_tagging(put.tagging)
            .set_server_side_encryption(
                sse.as_ref()
                    .map(|s| ServerSideEncryption::from(s.algorithm.as_str())),
            )
            .set_ssekms_key_id(sse.as_ref().and_then(|s| s.kms_key_id.clone()))
            .set_ssekms_encryption_context(sse.as_ref().and_then(|s| s.context.clone()))
            .set_bucket_key_enabled(sse.as_ref().and_then(|s| s.bucket_key_enabled))
            .set_sse_customer_algorithm(key.as_ref().map(|k| k.algorithm.clone()))
            .set_sse_customer_key(key.as_ref().map(|k| k.key.clone()))
            .set_sse_customer_key_md5(key.map(|k| k.key_md5))
            .set_expected_bucket_owner(owner.map(str::to_string));
        // No checksum from the client: the SDK computes S3's default,
        // CRC64NVME, for the hop to S3 (its own default is CRC32), so the
        // object keeps the checksum S3 gives an upload that names none.
        if put.checksums.is_empty() {
            request = request.checksum_algorithm(SdkChecksum::Crc64Nvme);
        }
        for checksum in put.checksums {
            let value = checksum.value;
            let (with_value, algorithm) = match checksum.algorithm {
                ChecksumAlgorithm::Crc32 => (request.checksum_crc32(value), SdkChecksum::Crc32),
                ChecksumAlgorithm::Crc32c => (request.checksum_crc32_c(value), SdkChecksum::Crc32C),
                ChecksumAlgorithm::Sha1 => (request.checksum_sha1(value), SdkChecksum::Sha1),
                ChecksumAlgorithm::Sha256 => (request.checksum_sha256(value), SdkChecksum::Sha256),
                ChecksumAlgorithm::Crc64Nvme => {
                    (request.checksum_crc64_nvme(value), SdkChecksum::Crc64Nvme)
                }
            };
            request = with_value.checksum_algorithm(algorithm);
        }
        let (out, date) = with_date(request.body(ByteStream::from(put.body)).send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        if let Some(asked) = asked
            && out.server_side_encryption.is_none()
        {
            return Err(ApiError::EncryptionNotConfirmed(asked));
        }
        if asked_customer_key && out.sse_customer_algorithm.is_none() {
            return Err(ApiError::EncryptionNotConfirmed("SSE-C".into()));
        }
        Ok(Outcome::ObjectStored(Stored {
            etag: out.e_tag.clone(),
            version_id: out.version_id.clone(),
            request_id: out.request_id().map(str::to_string),
            date,
            checksums: checksums!(out),
            encryption: encryption_headers!(out),
        }))
    }

    pub(super) async fn delete_object(
        &self,
        bucket: String,
        key: String,
        version_id: Option<String>,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        if let Some(version) = version_id.as_deref().filter(|v| *v != "null")
            && !self.version_exists(&bucket, &key, version, owner).await?
        {
            // S3 removes nothing and answers success. (Some S3-compatible
            // stores ignore versionId and would delete the current object:
            // the proxy never lets a DELETE of a version touch another.)
            // Unless the bucket itself is missing, which a HEAD's 404 does
            // not tell apart: S3's NoSuchBucket, not a 204.
            self.bucket_exists(&bucket, owner).await?;
            return Ok(Outcome::ObjectDeleted {
                version_id: None,
                delete_marker: false,
            });
        }
        let out = self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::ObjectDeleted {
            version_id: out.version_id,
            delete_marker: out.delete_marker.unwrap_or(false),
        })
    }
}

impl Backend {
    /// S3's `NoSuchBucket` when HeadBucket finds no such bucket; any other
    /// answer (a 403 where the role may not list it) is no proof it is
    /// missing.
    async fn bucket_exists(&self, bucket: &str, owner: Option<&str>) -> Result<(), ApiError> {
        let head = self
            .client
            .head_bucket()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await;
        match head.map_err(ApiError::from_sdk) {
            Err(err) if err.status().as_u16() == 404 => Err(ApiError::S3 {
                status: 404,
                code: "NoSuchBucket".into(),
                message: "The specified bucket does not exist".into(),
                request_id: None,
            }),
            _ => Ok(()),
        }
    }

    /// Does this version of the object exist (a delete marker counts)?
    async fn version_exists(
        &self,
        bucket: &str,
        key: &str,
        version: &str,
        owner: Option<&str>,
    ) -> Result<bool, ApiError> {
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await;
        match head.map_err(ApiError::from_sdk) {
            Ok(_) => Ok(true),
            Err(err) => match err.status().as_u16() {
                404 => Ok(false),
                // HEAD of a delete marker: it exists, and may be deleted.
                405 => Ok(true),
                // (A HEAD answer has no body to name the fault: S3's.)
                400 => Err(ApiError::InvalidArgument(
                    "Invalid version id specified".into(),
                )),
                _ => Err(err),
            },
        }
    }
}

/// An object body that could not be read whole. A checksum that does not
/// match means the storage sent corrupted bytes (which checksum, in the log).
fn body_error(err: aws_sdk_s3::primitives::ByteStreamError) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(mismatch) = e.downcast_ref::<aws_smithy_checksums::body::validate::Error>() {
            return ApiError::CorruptedBody(mismatch.to_string());
        }
        source = e.source();
    }
    ApiError::BadBackendAnswer(format!("reading the object body: {err}"))
}

/// HeadObject with a Range answers 206 with Content-Range, as S3 does. A
/// store that ignores Range on HEAD still answered the object's size: the
/// range is applied to it here.
fn head_range(mut meta: ObjectMeta, range: Option<ByteRange>) -> Result<ObjectMeta, ApiError> {
    let Some(range) = range else {
        return Ok(meta);
    };
    if meta.content_range.is_some() {
        return Ok(meta);
    }
    let size = meta.content_length.max(0) as u64;
    let (first, last) = range.resolve(size).ok_or_else(|| ApiError::S3 {
        status: 416,
        code: "InvalidRange".into(),
        message: "The requested range is not satisfiable".into(),
        request_id: meta.request_id.clone(),
    })?;
    meta.content_range = Some(format!("bytes {first}-{last}/{size}"));
    meta.content_length = (last - first + 1) as i64;
    Ok(meta)
}

/// S3 answers an object's checksums to `x-amz-checksum-mode: ENABLED`;
/// some stores send them always: GET and HEAD answer them only when asked.
fn checksums_if_asked(mut meta: ObjectMeta, read: &ObjectRead) -> ObjectMeta {
    if !read.checksum_mode {
        meta.checksums.clear();
    }
    meta
}

fn apply_overrides(mut meta: ObjectMeta, overrides: &ResponseOverrides) -> ObjectMeta {
    let pairs = [
        (&mut meta.cache_control, &overrides.cache_control),
        (
            &mut meta.content_disposition,
            &overrides.content_disposition,
        ),
        (&mut meta.content_encoding, &overrides.content_encoding),
        (&mut meta.content_language, &overrides.content_language),
        (&mut meta.content_type, &overrides.content_type),
        (&mut meta.expires, &overrides.expires),
    ];
    for (slot, value) in pairs {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    meta
}

fn sorted(metadata: Option<HashMap<String, String>>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = metadata.unwrap_or_default().into_iter().collect();
    pairs.sort();
    pairs
}

/// The length of `bytes` as a JSON string's contents once escaped, as
/// serde_json escapes them (`"` and `\` take two characters, other control
/// characters up to six).
fn json_text_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// The length of the base64 of `n` bytes.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_is_measured_as_json_writes_it() {
        for text in [
            "plain",
            "quote \" and \\ slash",
            "tab\t nl\n",
            "\u{1}\u{1f}é",
        ] {
            let json = serde_json::to_string(text).unwrap();
            assert_eq!(json_text_len(text.as_bytes()), json.len() - 2, "{text:?}");
        }
        assert_eq!(base64_len(4), 8);
    }
}
