//! The rules of object writes and reads, pure or nearly: S3's order of
//! conditional headers, write conditions, storage classes, the attributes
//! kept, checksums and Content-MD5, and the streaming of a body into a blob.

use super::blobs::BlobWriter;
use super::db::{Attrs, ObjectRow};
use super::{LocalStore, StoreError, timestamp};
use futures_util::StreamExt;
use s3s::dto::*;
use s3s::{S3Error, S3Result, s3_error};

/// The conditional headers of a read.
pub struct Conditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

fn etag_matches(cond: &ETagCondition, etag: Option<&str>) -> bool {
    match cond {
        ETagCondition::Any => etag.is_some(),
        ETagCondition::ETag(want) => etag.is_some_and(|have| have == want.value()),
    }
}

fn secs(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

/// S3's evaluation order: If-Match (else If-Unmodified-Since) can fail with
/// 412; then If-None-Match (else If-Modified-Since) can answer 304.
pub fn evaluate(c: &Conditions, etag: &str, modified_ms: i64) -> Result<(), StoreError> {
    let modified = modified_ms.div_euclid(1000);
    match (&c.if_match, &c.if_unmodified_since) {
        (Some(cond), _) if !etag_matches(cond, Some(etag)) => {
            return Err(s3_error!(PreconditionFailed).into());
        }
        (None, Some(since)) if modified > secs(since) => {
            return Err(s3_error!(PreconditionFailed).into());
        }
        _ => {}
    }
    match (&c.if_none_match, &c.if_modified_since) {
        (Some(cond), _) if etag_matches(cond, Some(etag)) => {
            Err(not_modified(etag, modified_ms).into())
        }
        (None, Some(since)) if modified <= secs(since) => {
            Err(not_modified(etag, modified_ms).into())
        }
        _ => Ok(()),
    }
}

/// A 304 carries the validators, as S3's does.
fn not_modified(etag: &str, modified_ms: i64) -> S3Error {
    let mut err = s3_error!(NotModified);
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(http::header::ETAG, value);
    }
    let mut date = Vec::new();
    if timestamp(modified_ms)
        .format(TimestampFormat::HttpDate, &mut date)
        .is_ok()
        && let Ok(value) = http::HeaderValue::from_bytes(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, value);
    }
    err.set_headers(headers);
    err
}

/// PutObject's conditions against the current object (S3: `If-Match` on a
/// missing key is 404 NoSuchKey; `If-None-Match: *` on an existing one 412).
pub fn check_write(
    current: Option<&ObjectRow>,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> Result<(), StoreError> {
    if let Some(cond) = if_match {
        let Some(current) = current else {
            return Err(StoreError::NoSuchKey);
        };
        if !etag_matches(cond, Some(&current.etag)) {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )
            .into());
        }
    }
    if let Some(cond) = if_none_match
        && etag_matches(cond, current.map(|c| c.etag.as_str()))
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
        .into());
    }
    Ok(())
}

/// Versioning is off: only the `null` version exists.
pub fn no_versions(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(s3_error!(InvalidArgument, "Invalid version id specified")),
    }
}

const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
];

pub fn storage_class(class: Option<&StorageClass>) -> S3Result<Option<String>> {
    match class.map(|c| c.as_str()) {
        None | Some("STANDARD") => Ok(None),
        Some(c) if STORAGE_CLASSES.contains(&c) => Ok(Some(c.to_string())),
        Some(_) => Err(s3_error!(
            InvalidStorageClass,
            "The storage class you specified is not valid"
        )),
    }
}

/// The content headers and user metadata S3 keeps with an object.
#[allow(clippy::too_many_arguments)]
pub fn attrs_of(
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
    website_redirect_location: Option<String>,
    metadata: Option<Metadata>,
) -> Attrs {
    let expires = expires.and_then(|t| {
        let mut text = Vec::new();
        t.format(TimestampFormat::DateTime, &mut text).ok()?;
        String::from_utf8(text).ok()
    });
    Attrs {
        content_type,
        content_encoding,
        content_disposition,
        content_language,
        cache_control,
        expires,
        website_redirect_location,
        metadata: metadata.unwrap_or_default().into_iter().collect(),
        ..Attrs::default()
    }
}

/// A new S3 bucket has ACLs disabled (Object Ownership BucketOwnerEnforced,
/// S3's default since April 2023), and so has every local bucket: a write
/// takes no canned ACL but `bucket-owner-full-control` ("only accept PUT
/// requests that don't specify an ACL or ... specify bucket owner full
/// control ACLs"); others are 400 AccessControlListNotSupported.
pub fn check_object_acl(acl: Option<&ObjectCannedACL>) -> S3Result<()> {
    match acl.map(ObjectCannedACL::as_str) {
        None | Some(ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL) => Ok(()),
        Some(_) => Err(s3_error!(
            AccessControlListNotSupported,
            "The bucket does not allow ACLs"
        )),
    }
}

/// CreateBucket under that default takes `private` and no ACL that grants
/// anyone else (400 InvalidBucketAclWithObjectOwnership).
pub fn check_bucket_acl(acl: Option<&BucketCannedACL>) -> S3Result<()> {
    match acl.map(BucketCannedACL::as_str) {
        None | Some(BucketCannedACL::PRIVATE) => Ok(()),
        Some(_) => Err(s3_error!(
            InvalidBucketAclWithObjectOwnership,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
        )),
    }
}

/// User metadata over S3's 2 KB ([`crate::operation::MAX_METADATA_BYTES`])
/// is its 400 MetadataTooLarge.
pub fn check_metadata(metadata: Option<&Metadata>) -> S3Result<()> {
    let pairs = metadata.into_iter().flatten();
    if crate::operation::metadata_too_large(pairs.map(|(n, v)| (n.as_str(), v.as_str()))) {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size"
        ));
    }
    Ok(())
}

pub fn expires_of(attrs: &Attrs) -> Option<Timestamp> {
    attrs
        .expires
        .as_deref()
        .and_then(|t| Timestamp::parse(TimestampFormat::DateTime, t).ok())
}

/// Content-MD5 against the body's MD5.
pub fn check_md5(content_md5: Option<&str>, md5: &[u8]) -> S3Result<()> {
    use base64::Engine;
    let Some(expected) = content_md5 else {
        return Ok(());
    };
    let expected = base64::engine::general_purpose::STANDARD
        .decode(expected.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if expected != md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

/// A body streamed into a new blob, with its MD5 and checksums.
pub struct Received {
    pub writer: BlobWriter,
    pub md5: [u8; 16],
    pub checksum: Checksum,
}

/// Streams `body` into a new blob; fails (removing it) if the stream fails or
/// ends short of `content_length`.
pub async fn receive(
    store: &LocalStore,
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    mut hasher: s3s::checksum::ChecksumHasher,
) -> S3Result<Received> {
    use md5::Digest;
    let mut writer = store.inner.blobs.create().await.map_err(S3Error::from)?;
    let mut md5 = md5::Md5::new();
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(body_error)?;
            md5.update(&chunk);
            hasher.update(&chunk);
            writer
                .write(&chunk)
                .await
                .map_err(|e| S3Error::from(StoreError::Io(e)))?;
        }
    }
    if let Some(expected) = content_length
        && expected >= 0
        && expected as u64 != writer.size()
    {
        return Err(s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        ));
    }
    Ok(Received {
        writer,
        md5: md5.finalize().into(),
        checksum: hasher.finalize(),
    })
}

/// A body received into a placed blob, checked: its MD5 against
/// Content-MD5, its checksums against the values sent (as headers or as
/// aws-chunked trailers).
pub struct Checked {
    pub writer: BlobWriter,
    pub md5: [u8; 16],
    /// The checksums to keep with it, by algorithm.
    pub kept: std::collections::BTreeMap<String, String>,
}

/// [`receive`], then the checks, then the blob placed: what PutObject and
/// UploadPart do before their commit. On an error the blob is removed.
pub async fn receive_checked(
    store: &LocalStore,
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    content_md5: Option<&str>,
    mut checksums: super::checksums::Checksums,
    trailers: Option<s3s::TrailingHeaders>,
) -> S3Result<Checked> {
    let received = receive(store, body, content_length, checksums.hasher()).await?;
    checksums.take_trailers(trailers);
    check_md5(content_md5, &received.md5)?;
    let kept = checksums.verify(received.checksum)?;
    let mut writer = received.writer;
    writer
        .place()
        .await
        .map_err(|e| S3Error::from(StoreError::Io(e)))?;
    Ok(Checked {
        writer,
        md5: received.md5,
        kept,
    })
}

/// A body stream's error: s3s's own (a signature or hash mismatch) as it is.
fn body_error(e: s3s::StdError) -> S3Error {
    match e.downcast::<S3Error>() {
        Ok(e) => *e,
        Err(e) => s3_error!(IncompleteBody, "The request body ended early: {e}"),
    }
}

/// Features of a write the store does not keep (website redirects, object
/// lock, ACL grants) are refused, never ignored (a canned ACL is answered
/// as a bucket with ACLs disabled answers it, [`check_object_acl`]; a KMS
/// encryption context is accepted with aws:kms, which the store records as
/// a label and does not run through any KMS).
macro_rules! refuse_unkept {
    ($input:expr) => {{
        let unkept: [(&str, bool); 4] = [
            (
                "x-amz-website-redirect-location",
                $input.website_redirect_location.is_some(),
            ),
            (
                "x-amz-object-lock-mode",
                $input.object_lock_mode.is_some() || $input.object_lock_retain_until_date.is_some(),
            ),
            (
                "x-amz-object-lock-legal-hold",
                $input.object_lock_legal_hold_status.is_some(),
            ),
            (
                "x-amz-grant-*",
                $input.grant_full_control.is_some()
                    || $input.grant_read.is_some()
                    || $input.grant_read_acp.is_some()
                    || $input.grant_write_acp.is_some(),
            ),
        ];
        match unkept.iter().find(|(_, present)| *present) {
            Some((name, _)) => Err(s3s::s3_error!(
                NotImplemented,
                "The local store does not implement {}",
                name
            )),
            None => Ok(()),
        }
    }};
}
pub(super) use refuse_unkept;

/// The SSE-C headers of an input.
macro_rules! customer_key {
    ($input:expr) => {
        super::extras::CustomerKey {
            algorithm: $input.sse_customer_algorithm.as_deref(),
            key: $input.sse_customer_key.as_deref(),
            key_md5: $input.sse_customer_key_md5.as_deref(),
        }
    };
}
pub(super) use customer_key;

/// The [`Checksums`] of a write's input: its `x-amz-checksum-*` values, the
/// algorithm it names, the trailer its headers announce.
macro_rules! checksums_of {
    ($input:expr, $headers:expr) => {
        super::checksums::Checksums::new(
            [
                $input.checksum_crc32,
                $input.checksum_crc32c,
                $input.checksum_sha1,
                $input.checksum_sha256,
                $input.checksum_crc64nvme,
            ],
            $input.checksum_algorithm.as_ref(),
            $headers,
        )
    };
}
pub(super) use checksums_of;

/// [`receive_checked`] of a write's input (its body, Content-Length and
/// Content-MD5).
macro_rules! receive_body {
    ($store:expr, $input:expr, $checksums:expr, $trailers:expr) => {
        super::rules::receive_checked(
            $store,
            $input.body,
            $input.content_length,
            $input.content_md5.as_deref(),
            $checksums,
            $trailers,
        )
    };
}
pub(super) use receive_body;

/// The echo of a write's kept checksums, for any output that has the fields.
macro_rules! echo_checksums {
    ($out:expr, $kept:expr) => {{
        let kept: &std::collections::BTreeMap<String, String> = $kept;
        $out.checksum_crc32 = kept.get("crc32").cloned();
        $out.checksum_crc32c = kept.get("crc32c").cloned();
        $out.checksum_sha1 = kept.get("sha1").cloned();
        $out.checksum_sha256 = kept.get("sha256").cloned();
        $out.checksum_crc64nvme = kept.get("crc64nvme").cloned();
    }};
}
pub(super) use echo_checksums;

/// The echo of an object's encryption, for any output that has the fields.
macro_rules! echo_encryption {
    ($out:expr, $e:expr) => {{
        let e: &super::db::Encryption = $e;
        $out.server_side_encryption = e.algorithm.clone().map(ServerSideEncryption::from);
        $out.ssekms_key_id = e.kms_key_id.clone();
        $out.bucket_key_enabled = e.bucket_key_enabled;
        $out.sse_customer_algorithm = e.customer_algorithm.clone();
        $out.sse_customer_key_md5 = e.customer_key_md5.clone();
    }};
}
pub(super) use echo_encryption;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_conditions_follow_s3_precedence() {
        let other = || Some(ETagCondition::ETag(ETag::Strong("zzz".into())));
        let same = || Some(ETagCondition::ETag(ETag::Strong("abc".into())));
        let t = |s: i64| {
            Some(Timestamp::from(
                time::OffsetDateTime::from_unix_timestamp(s).unwrap(),
            ))
        };
        let none = || Conditions {
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
        };
        // The object: ETag "abc", modified at 1000.5 s.
        let code = |c: Conditions| {
            evaluate(&c, "abc", 1_000_500)
                .err()
                .map(|e| S3Error::from(e).code().as_str().to_string())
        };
        let cases: Vec<(Conditions, Option<&str>)> = vec![
            (none(), None),
            (
                Conditions {
                    if_match: same(),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_match: other(),
                    ..none()
                },
                Some("PreconditionFailed"),
            ),
            (
                Conditions {
                    if_match: Some(ETagCondition::Any),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_unmodified_since: t(999),
                    ..none()
                },
                Some("PreconditionFailed"),
            ),
            (
                Conditions {
                    if_unmodified_since: t(1000),
                    ..none()
                },
                None,
            ),
            // If-Match true wins over a failing If-Unmodified-Since.
            (
                Conditions {
                    if_match: same(),
                    if_unmodified_since: t(999),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_none_match: same(),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_none_match: other(),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_modified_since: t(1000),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_modified_since: t(1001),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_modified_since: t(999),
                    ..none()
                },
                None,
            ),
            // If-None-Match decides when present.
            (
                Conditions {
                    if_none_match: other(),
                    if_modified_since: t(1001),
                    ..none()
                },
                None,
            ),
        ];
        for (i, (c, expected)) in cases.into_iter().enumerate() {
            assert_eq!(code(c).as_deref(), expected, "case {i}");
        }
    }

    #[test]
    fn write_conditions_follow_s3() {
        let row = ObjectRow {
            key: "k".into(),
            blob: "b".into(),
            size: 1,
            etag: "abc".into(),
            modified_ms: 0,
            class: None,
        };
        let any = ETagCondition::Any;
        let same = ETagCondition::ETag(ETag::Strong("abc".into()));
        let other = ETagCondition::ETag(ETag::Strong("zzz".into()));
        let code =
            |current: Option<&ObjectRow>, m: Option<&ETagCondition>, n: Option<&ETagCondition>| {
                check_write(current, m, n)
                    .err()
                    .map(|e| S3Error::from(e).code().as_str().to_string())
            };
        assert_eq!(code(None, None, Some(&any)), None);
        assert_eq!(
            code(Some(&row), None, Some(&any)).as_deref(),
            Some("PreconditionFailed")
        );
        assert_eq!(code(Some(&row), Some(&same), None), None);
        assert_eq!(
            code(Some(&row), Some(&other), None).as_deref(),
            Some("PreconditionFailed")
        );
        assert_eq!(code(None, Some(&same), None).as_deref(), Some("NoSuchKey"));
        assert_eq!(code(None, Some(&any), None).as_deref(), Some("NoSuchKey"));
    }

    #[test]
    fn content_md5_is_checked() {
        let md5 = [0u8; 16];
        assert!(check_md5(None, &md5).is_ok());
        assert!(check_md5(Some("AAAAAAAAAAAAAAAAAAAAAA=="), &md5).is_ok());
        let code = |v: &str| {
            check_md5(Some(v), &md5)
                .unwrap_err()
                .code()
                .as_str()
                .to_string()
        };
        assert_eq!(code("AQAAAAAAAAAAAAAAAAAAAA=="), "BadDigest");
        assert_eq!(code("not base64"), "InvalidDigest");
        assert_eq!(code("AAAA"), "InvalidDigest");
    }
}
