//! Object calls: GetObject (or a presigned GET when the object is too large
//! to inline), HeadObject, PutObject, DeleteObject.

use super::{Backend, http_date, http_date_string, with_date};
use crate::error::ApiError;
use crate::operation::{ChecksumAlgorithm, ObjectRead, PutObject, ResponseOverrides};
use crate::outcome::{ObjectMeta, Outcome, Stored};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm as SdkChecksum, ObjectCannedAcl, StorageClass};
use std::collections::HashMap;

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
        }
    };
}

impl Backend {
    pub(super) async fn get_object(&self, read: ObjectRead) -> Result<Outcome, ApiError> {
        let o = &read.overrides;
        let request = self
            .client
            .get_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_range(read.range.clone())
            .set_if_match(read.if_match.clone())
            .set_if_none_match(read.if_none_match.clone())
            .set_if_modified_since(read.if_modified_since.as_deref().and_then(http_date))
            .set_if_unmodified_since(read.if_unmodified_since.as_deref().and_then(http_date))
            .set_response_cache_control(o.cache_control.clone())
            .set_response_content_disposition(o.content_disposition.clone())
            .set_response_content_encoding(o.content_encoding.clone())
            .set_response_content_language(o.content_language.clone())
            .set_response_content_type(o.content_type.clone())
            .set_response_expires(o.expires.as_deref().and_then(http_date));
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let meta = object_meta!(out, date);
        // S3 applies response-* overrides itself; applying them here too
        // keeps them for S3-compatible stores that do not.
        let meta = apply_overrides(meta, &read.overrides);
        if meta.content_length > self.inline_limit as i64 {
            // Too big for a Lambda answer: drop the stream unread and send the
            // client to S3 itself.
            drop(out.body);
            let url = self.presign_get(&read).await?;
            return Ok(Outcome::TooLargeToInline { url, meta });
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ApiError::Internal(format!("reading the object body: {e}")))?
            .into_bytes();
        Ok(Outcome::Object { meta, body })
    }

    async fn presign_get(&self, read: &ObjectRead) -> Result<String, ApiError> {
        let o = &read.overrides;
        let presigned = self
            .client
            .get_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_response_content_disposition(o.content_disposition.clone())
            .set_response_content_type(o.content_type.clone())
            .presigned(self.presigning()?)
            .await
            .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
        Ok(presigned.uri().to_string())
    }

    pub(super) async fn head_object(&self, read: ObjectRead) -> Result<Outcome, ApiError> {
        let request = self
            .client
            .head_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_range(read.range)
            .set_if_match(read.if_match)
            .set_if_none_match(read.if_none_match)
            .set_if_modified_since(read.if_modified_since.as_deref().and_then(http_date))
            .set_if_unmodified_since(read.if_unmodified_since.as_deref().and_then(http_date));
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        Ok(Outcome::ObjectHead(object_meta!(out, date)))
    }

    pub(super) async fn put_object(&self, put: PutObject) -> Result<Outcome, ApiError> {
        let expires = match put.expires.as_deref() {
            None => None,
            Some(v) => Some(http_date(v).ok_or_else(|| {
                ApiError::InvalidArgument(format!("Expires {v:?} is not an HTTP date"))
            })?),
        };
        let metadata: Option<HashMap<String, String>> =
            (!put.metadata.is_empty()).then(|| put.metadata.into_iter().collect());
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
            .set_if_none_match(put.if_none_match);
        for checksum in put.checksums {
            let value = checksum.value;
            request = match checksum.algorithm {
                ChecksumAlgorithm::Crc32 => request
                    .checksum_crc32(value)
                    .checksum_algorithm(SdkChecksum::Crc32),
                ChecksumAlgorithm::Crc32c => request
                    .checksum_crc32_c(value)
                    .checksum_algorithm(SdkChecksum::Crc32C),
                ChecksumAlgorithm::Sha1 => request
                    .checksum_sha1(value)
                    .checksum_algorithm(SdkChecksum::Sha1),
                ChecksumAlgorithm::Sha256 => request
                    .checksum_sha256(value)
                    .checksum_algorithm(SdkChecksum::Sha256),
                ChecksumAlgorithm::Crc64Nvme => request
                    .checksum_crc64_nvme(value)
                    .checksum_algorithm(SdkChecksum::Crc64Nvme),
            };
        }
        let (out, date) = with_date(request.body(ByteStream::from(put.body)).send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let checksums = ChecksumAlgorithm::ALL
            .into_iter()
            .filter_map(|algorithm| {
                let value = match algorithm {
                    ChecksumAlgorithm::Crc32 => out.checksum_crc32(),
                    ChecksumAlgorithm::Crc32c => out.checksum_crc32_c(),
                    ChecksumAlgorithm::Crc64Nvme => out.checksum_crc64_nvme(),
                    ChecksumAlgorithm::Sha1 => out.checksum_sha1(),
                    ChecksumAlgorithm::Sha256 => out.checksum_sha256(),
                };
                value.map(|v| (algorithm.header(), v.to_string()))
            })
            .collect();
        Ok(Outcome::ObjectStored(Stored {
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
            request_id: out.request_id().map(str::to_string),
            date,
            checksums,
        }))
    }

    pub(super) async fn delete_object(
        &self,
        bucket: String,
        key: String,
    ) -> Result<Outcome, ApiError> {
        let out = self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::ObjectDeleted {
            version_id: out.version_id,
        })
    }
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
