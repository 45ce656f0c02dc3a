//! Object operations: PUT streams the body to a new blob while hashing it,
//! verifies Content-MD5 and `x-amz-checksum-*`, and only then commits, in one
//! transaction with its conditions (`If-Match`, `If-None-Match`) and the
//! bucket's existence; GET and HEAD read one row and open one file.

use super::blobs::BlobWriter;
use super::db::{self, Attrs, ObjectRow};
use super::{LocalStore, StoreError, etag, now_ms, timestamp};
use bytes::Bytes;
use futures_util::StreamExt;
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use std::io::{Read, Seek, SeekFrom};

/// Bodies up to this size are read in the call that finds them (one trip to
/// the blocking pool); larger ones stream.
const INLINE_READ: u64 = 256 * 1024;
/// Chunks of a streamed body.
const CHUNK: usize = 64 * 1024;

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
pub(super) fn no_versions(version_id: Option<&str>) -> S3Result<()> {
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

fn expires_of(attrs: &Attrs) -> Option<Timestamp> {
    attrs
        .expires
        .as_deref()
        .and_then(|t| Timestamp::parse(TimestampFormat::DateTime, t).ok())
}

/// The checksums a body is hashed with, and the values it must match.
#[derive(Default)]
pub struct Checksums {
    wanted: Vec<(&'static str, Option<String>)>,
}

pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"];

impl Checksums {
    /// From the `x-amz-checksum-*` values, the algorithm asked for, and the
    /// trailer announced (`x-amz-trailer`).
    pub fn new(
        values: [Option<String>; 5],
        algorithm: Option<&ChecksumAlgorithm>,
        headers: &http::HeaderMap,
    ) -> S3Result<Self> {
        let mut wanted = Vec::new();
        let named = algorithm.map(|a| a.as_str().to_ascii_lowercase());
        let trailer = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        if let Some(n) = &named
            && !ALGORITHMS.contains(&n.as_str())
        {
            return Err(s3_error!(
                InvalidRequest,
                "Checksum algorithm provided is unsupported"
            ));
        }
        for (name, value) in ALGORITHMS.into_iter().zip(values) {
            let in_trailer = trailer.as_deref() == Some(&format!("x-amz-checksum-{name}"));
            if value.is_some() || named.as_deref() == Some(name) || in_trailer {
                wanted.push((name, value));
            }
        }
        Ok(Self { wanted })
    }

    pub fn hasher(&self) -> s3s::checksum::ChecksumHasher {
        let mut h = s3s::checksum::ChecksumHasher::default();
        for (name, _) in &self.wanted {
            match *name {
                "crc32" => h.crc32 = Some(Default::default()),
                "crc32c" => h.crc32c = Some(Default::default()),
                "sha1" => h.sha1 = Some(Default::default()),
                "sha256" => h.sha256 = Some(Default::default()),
                _ => h.crc64nvme = Some(Default::default()),
            }
        }
        h
    }

    /// Values sent as aws-chunked trailers (known once the body is read).
    pub fn take_trailers(&mut self, trailers: Option<s3s::TrailingHeaders>) {
        let Some(trailers) = trailers.and_then(|t| t.take()) else {
            return;
        };
        for (name, value) in &mut self.wanted {
            if let Some(v) = trailers
                .get(format!("x-amz-checksum-{name}").as_str())
                .and_then(|v| v.to_str().ok())
            {
                *value = Some(v.to_string());
            }
        }
    }

    /// Compares what was sent with what was received; the values to keep.
    pub fn verify(self, got: Checksum) -> S3Result<std::collections::BTreeMap<String, String>> {
        let mut kept = std::collections::BTreeMap::new();
        for (name, want) in self.wanted {
            let have = match name {
                "crc32" => got.checksum_crc32.clone(),
                "crc32c" => got.checksum_crc32c.clone(),
                "sha1" => got.checksum_sha1.clone(),
                "sha256" => got.checksum_sha256.clone(),
                _ => got.checksum_crc64nvme.clone(),
            };
            if want.is_some() && want != have {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    name.to_ascii_uppercase()
                ));
            }
            if let Some(have) = have {
                kept.insert(name.to_string(), have);
            }
        }
        Ok(kept)
    }
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// A body stream's error: s3s's own (a signature or hash mismatch) as it is.
fn body_error(e: s3s::StdError) -> S3Error {
    match e.downcast::<S3Error>() {
        Ok(e) => *e,
        Err(e) => s3_error!(IncompleteBody, "The request body ended early: {e}"),
    }
}

/// What a GET or HEAD found.
struct Found {
    row: ObjectRow,
    attrs: Attrs,
    /// Byte range served, if a Range was asked.
    range: Option<std::ops::Range<u64>>,
    body: Option<Body>,
}

enum Body {
    Bytes(Bytes),
    File(std::fs::File, u64),
}

impl LocalStore {
    /// Finds an object (and opens its blob when `open`), evaluating the
    /// read conditions and the range. A blob replaced between the row read
    /// and the open is looked up again.
    async fn find(
        &self,
        bucket: String,
        key: String,
        conditions: Conditions,
        range: Option<Range>,
        open: bool,
    ) -> S3Result<Found> {
        self.blocking(move |s| {
            for _ in 0..4 {
                let (row, attrs) = s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    db::object(tx, &bucket, &key)?.ok_or(StoreError::NoSuchKey)
                })?;
                evaluate(&conditions, &row.etag, row.modified_ms)?;
                let span = match range {
                    None => None,
                    Some(r) => Some(r.check(row.size).map_err(|_| {
                        StoreError::S3(s3_error!(
                            InvalidRange,
                            "The requested range is not satisfiable"
                        ))
                    })?),
                };
                if !open {
                    return Ok(Found {
                        row,
                        attrs,
                        range: span,
                        body: None,
                    });
                }
                let mut file = match std::fs::File::open(s.blobs.path(&row.blob)) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                let (start, len) = match &span {
                    Some(r) => (r.start, r.end - r.start),
                    None => (0, row.size),
                };
                if start > 0 {
                    file.seek(SeekFrom::Start(start))?;
                }
                let body = if len <= INLINE_READ {
                    let mut buf = vec![0; len as usize];
                    file.read_exact(&mut buf)?;
                    Body::Bytes(Bytes::from(buf))
                } else {
                    Body::File(file, len)
                };
                return Ok(Found {
                    row,
                    attrs,
                    range: span,
                    body: Some(body),
                });
            }
            Err(StoreError::NoSuchKey)
        })
        .await
    }

    pub(super) async fn put_object_impl(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        refuse_unkept!(input)?;
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            customer_key!(input),
        )?;
        let tags = super::extras::parse_tagging(input.tagging.as_deref())?;
        let class = storage_class(input.storage_class.as_ref())?;
        let mut checksums = Checksums::new(
            [
                input.checksum_crc32,
                input.checksum_crc32c,
                input.checksum_sha1,
                input.checksum_sha256,
                input.checksum_crc64nvme,
            ],
            input.checksum_algorithm.as_ref(),
            &req.headers,
        )?;
        let (bucket, key) = (input.bucket, input.key);
        let (if_match, if_none_match) = (input.if_match, input.if_none_match);
        // Fail before the upload when the outcome is already known; the
        // commit checks again.
        {
            let (bucket, key, m, n) = (
                bucket.clone(),
                key.clone(),
                if_match.clone(),
                if_none_match.clone(),
            );
            self.blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let current = db::object(tx, &bucket, &key)?;
                    check_write(current.as_ref().map(|(r, _)| r), m.as_ref(), n.as_ref())
                })
            })
            .await?;
        }
        let received = receive(self, input.body, input.content_length, checksums.hasher()).await?;
        checksums.take_trailers(req.trailing_headers);
        check_md5(input.content_md5.as_deref(), &received.md5)?;
        let mut attrs = attrs_of(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires,
            input.website_redirect_location,
            input.metadata,
        );
        attrs.checksums = checksums.verify(received.checksum)?;
        attrs.encryption = encryption;
        attrs.tags = tags;
        let mut writer = received.writer;
        writer
            .place()
            .await
            .map_err(|e| S3Error::from(StoreError::Io(e)))?;
        let row = ObjectRow {
            key,
            blob: writer.id.clone(),
            size: writer.size(),
            etag: hex(&received.md5),
            modified_ms: now_ms(),
            class,
        };
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&row.etag)),
            checksum_crc32: attrs.checksums.get("crc32").cloned(),
            checksum_crc32c: attrs.checksums.get("crc32c").cloned(),
            checksum_sha1: attrs.checksums.get("sha1").cloned(),
            checksum_sha256: attrs.checksums.get("sha256").cloned(),
            checksum_crc64nvme: attrs.checksums.get("crc64nvme").cloned(),
            ..Default::default()
        };
        echo_encryption!(out, &attrs.encryption);
        // S3 names a class other than STANDARD in the answer (PutObjectOutput
        // has no field for it).
        let class_header = row
            .class
            .as_deref()
            .and_then(|c| http::HeaderValue::from_str(c).ok());
        self.commit_object(bucket, row, attrs, writer, if_match, if_none_match)
            .await?;
        let mut response = S3Response::new(out);
        if let Some(class) = class_header {
            response.headers.insert("x-amz-storage-class", class);
        }
        Ok(response)
    }

    /// Names a placed blob by a row, in one transaction with the bucket's
    /// existence and the write conditions. The writer moves into the
    /// blocking task, so the blob is kept or removed there, as the commit
    /// went, even if the request is dropped meanwhile.
    pub(super) async fn commit_object(
        &self,
        bucket: String,
        row: ObjectRow,
        attrs: Attrs,
        writer: BlobWriter,
        if_match: Option<ETagCondition>,
        if_none_match: Option<ETagCondition>,
    ) -> S3Result<()> {
        self.blocking(move |s| {
            let replaced = s.db.write(|tx| {
                db::require_bucket(tx, &bucket)?;
                let current = db::object(tx, &bucket, &row.key)?;
                check_write(
                    current.as_ref().map(|(r, _)| r),
                    if_match.as_ref(),
                    if_none_match.as_ref(),
                )?;
                db::put_object(tx, &bucket, &row, &attrs)
            })?;
            writer.keep();
            s.blobs.remove(replaced);
            Ok(())
        })
        .await
    }

    pub(super) async fn get_object_impl(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        no_versions(input.version_id.as_deref())?;
        if input.part_number.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "GetObject by partNumber is not implemented by the local store"
            ));
        }
        let conditions = Conditions {
            if_match: input.if_match,
            if_none_match: input.if_none_match,
            if_modified_since: input.if_modified_since,
            if_unmodified_since: input.if_unmodified_since,
        };
        let found = self
            .find(
                input.bucket.clone(),
                input.key.clone(),
                conditions,
                input.range,
                true,
            )
            .await?;
        super::extras::check_read(&found.attrs.encryption, customer_key!(input))?;
        let (start, len) = match &found.range {
            Some(r) => (r.start, r.end - r.start),
            None => (0, found.row.size),
        };
        let body = match found.body {
            Some(Body::Bytes(b)) => StreamingBlob::from(s3s::Body::from(b)),
            Some(Body::File(file, len)) => StreamingBlob::wrap(file_stream(file, len)),
            None => StreamingBlob::from(s3s::Body::from(Bytes::new())),
        };
        let whole = found.range.is_none();
        let checksums = checksum_headers(&found.attrs, whole);
        let attrs = found.attrs;
        let mut out = GetObjectOutput {
            body: Some(body),
            accept_ranges: Some("bytes".into()),
            content_length: Some(len as i64),
            content_range: found.range.as_ref().map(|_| {
                format!(
                    "bytes {start}-{}/{}",
                    start + len.saturating_sub(1),
                    found.row.size
                )
            }),
            e_tag: Some(etag(&found.row.etag)),
            last_modified: Some(timestamp(found.row.modified_ms)),
            storage_class: found.row.class.map(StorageClass::from),
            expires: expires_of(&attrs),
            metadata: (!attrs.metadata.is_empty())
                .then(|| attrs.metadata.clone().into_iter().collect()),
            content_type: attrs.content_type,
            content_encoding: attrs.content_encoding,
            content_disposition: attrs.content_disposition,
            content_language: attrs.content_language,
            cache_control: attrs.cache_control,
            website_redirect_location: attrs.website_redirect_location,
            checksum_crc32: checksums[0].clone(),
            checksum_crc32c: checksums[1].clone(),
            checksum_sha1: checksums[2].clone(),
            checksum_sha256: checksums[3].clone(),
            checksum_crc64nvme: checksums[4].clone(),
            tag_count: (!attrs.tags.is_empty()).then_some(attrs.tags.len() as i32),
            ..Default::default()
        };
        echo_encryption!(out, &attrs.encryption);
        // response-* query parameters override what is stored, as S3 does.
        if let Some(v) = input.response_content_type {
            out.content_type = Some(v);
        }
        if let Some(v) = input.response_content_encoding {
            out.content_encoding = Some(v);
        }
        if let Some(v) = input.response_content_disposition {
            out.content_disposition = Some(v);
        }
        if let Some(v) = input.response_content_language {
            out.content_language = Some(v);
        }
        if let Some(v) = input.response_cache_control {
            out.cache_control = Some(v);
        }
        if let Some(v) = input.response_expires {
            out.expires = Some(v);
        }
        Ok(S3Response::new(out))
    }

    pub(super) async fn head_object_impl(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        no_versions(input.version_id.as_deref())?;
        let conditions = Conditions {
            if_match: input.if_match,
            if_none_match: input.if_none_match,
            if_modified_since: input.if_modified_since,
            if_unmodified_since: input.if_unmodified_since,
        };
        let found = self
            .find(
                input.bucket.clone(),
                input.key.clone(),
                conditions,
                input.range,
                false,
            )
            .await?;
        super::extras::check_read(&found.attrs.encryption, customer_key!(input))?;
        let (start, len) = match &found.range {
            Some(r) => (r.start, r.end - r.start),
            None => (0, found.row.size),
        };
        let checksums = checksum_headers(&found.attrs, found.range.is_none());
        let attrs = found.attrs;
        let mut out = HeadObjectOutput {
            accept_ranges: Some("bytes".into()),
            content_length: Some(len as i64),
            content_range: found.range.as_ref().map(|_| {
                format!(
                    "bytes {start}-{}/{}",
                    start + len.saturating_sub(1),
                    found.row.size
                )
            }),
            e_tag: Some(etag(&found.row.etag)),
            last_modified: Some(timestamp(found.row.modified_ms)),
            storage_class: found.row.class.map(StorageClass::from),
            expires: expires_of(&attrs),
            metadata: (!attrs.metadata.is_empty())
                .then(|| attrs.metadata.clone().into_iter().collect()),
            content_type: input.response_content_type.or(attrs.content_type),
            content_encoding: input.response_content_encoding.or(attrs.content_encoding),
            content_disposition: input
                .response_content_disposition
                .or(attrs.content_disposition),
            content_language: input.response_content_language.or(attrs.content_language),
            cache_control: input.response_cache_control.or(attrs.cache_control),
            website_redirect_location: attrs.website_redirect_location,
            checksum_crc32: checksums[0].clone(),
            checksum_crc32c: checksums[1].clone(),
            checksum_sha1: checksums[2].clone(),
            checksum_sha256: checksums[3].clone(),
            checksum_crc64nvme: checksums[4].clone(),
            ..Default::default()
        };
        echo_encryption!(out, &attrs.encryption);
        // 206 for a range: set by server::store_service (s3s ignores it here).
        Ok(S3Response::new(out))
    }

    pub(super) async fn delete_object_impl(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        no_versions(input.version_id.as_deref())?;
        let (bucket, key, if_match) = (input.bucket, input.key, input.if_match);
        self.blocking(move |s| {
            let gone = s.db.write(|tx| {
                db::require_bucket(tx, &bucket)?;
                if if_match.is_some() {
                    let current = db::object(tx, &bucket, &key)?;
                    check_write(current.as_ref().map(|(r, _)| r), if_match.as_ref(), None)?;
                }
                db::delete_object(tx, &bucket, &key)
            })?;
            s.blobs.remove(gone);
            Ok(())
        })
        .await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    pub(super) async fn delete_objects_impl(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let quiet = input.delete.quiet.unwrap_or(false);
        let bucket = input.bucket;
        let objects = input.delete.objects;
        if objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request names at most 1000 keys"
            ));
        }
        let keys: Vec<(String, Option<String>)> =
            objects.into_iter().map(|o| (o.key, o.version_id)).collect();
        let (deleted, errors) = self
            .blocking(move |s| {
                let (gone, deleted, errors) = s.db.write(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let mut gone = Vec::new();
                    let mut deleted = Vec::new();
                    let mut errors = Vec::new();
                    for (key, version) in keys {
                        if version.as_deref().is_some_and(|v| v != "null") {
                            errors.push(Error {
                                code: Some("NoSuchVersion".into()),
                                message: Some("The specified version does not exist.".into()),
                                key: Some(key),
                                version_id: version,
                            });
                            continue;
                        }
                        gone.extend(db::delete_object(tx, &bucket, &key)?);
                        deleted.push(DeletedObject {
                            key: Some(key),
                            version_id: version,
                            ..Default::default()
                        });
                    }
                    Ok((gone, deleted, errors))
                })?;
                s.blobs.remove(gone);
                Ok((deleted, errors))
            })
            .await?;
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet && !deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    /// CopyObject: the new object shares the source's bytes (a hard link to
    /// its immutable blob, or a copy where links are not possible).
    pub(super) async fn copy_object_impl(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key, src_version) = match &input.copy_source {
            CopySource::Bucket {
                bucket,
                key,
                version_id,
            } => (
                bucket.to_string(),
                key.to_string(),
                version_id.as_deref().map(str::to_string),
            ),
            CopySource::AccessPoint { .. } | CopySource::Outpost { .. } => {
                return Err(s3_error!(
                    NotImplemented,
                    "Copying from an access point is not implemented"
                ));
            }
        };
        no_versions(src_version.as_deref())?;
        no_sse_c(input.sse_customer_algorithm.as_deref())?;
        refuse_unkept!(input)?;
        let class = storage_class(input.storage_class.as_ref())?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let conditions = Conditions {
            if_match: input.copy_source_if_match,
            if_none_match: input.copy_source_if_none_match,
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        };
        let found = self
            .find(src_bucket, src_key.clone(), conditions, None, false)
            .await
            .map_err(|e| {
                if *e.code() == s3s::S3ErrorCode::NotModified {
                    s3_error!(PreconditionFailed)
                } else {
                    e
                }
            })?;
        if !replace && input.bucket == src_bucket_of(&input.copy_source) && input.key == src_key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        if found.attrs.encryption.customer_key_md5.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "Copying an object stored with a customer key is not implemented by the local store"
            ));
        }
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            super::extras::CustomerKey {
                algorithm: None,
                key: None,
                key_md5: None,
            },
        )?;
        let mut attrs = if replace {
            attrs_of(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.expires,
                input.website_redirect_location,
                input.metadata,
            )
        } else {
            found.attrs
        };
        attrs.encryption = encryption;
        let mut writer = self.inner.blobs.create().await.map_err(S3Error::from)?;
        let source = self.inner.blobs.path(&found.row.blob);
        let target = writer.temp_path().to_path_buf();
        self.blocking(move |_| {
            std::fs::remove_file(&target)?;
            if std::fs::hard_link(&source, &target).is_err() {
                std::fs::copy(&source, &target)?;
            }
            Ok(())
        })
        .await?;
        writer.add_size(found.row.size);
        writer
            .place()
            .await
            .map_err(|e| S3Error::from(StoreError::Io(e)))?;
        let row = ObjectRow {
            key: input.key,
            blob: writer.id.clone(),
            size: found.row.size,
            etag: found.row.etag,
            modified_ms: now_ms(),
            class: class.or(found.row.class),
        };
        let result = CopyObjectResult {
            e_tag: Some(etag(&row.etag)),
            last_modified: Some(timestamp(row.modified_ms)),
            ..Default::default()
        };
        self.commit_object(input.bucket, row, attrs, writer, None, None)
            .await?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            ..Default::default()
        }))
    }
}

fn src_bucket_of(source: &CopySource) -> String {
    match source {
        CopySource::Bucket { bucket, .. } => bucket.to_string(),
        _ => String::new(),
    }
}

/// Features of a write the store does not keep (website redirects, an
/// encryption context, object lock, ACL grants) are refused, never ignored (a canned ACL is
/// accepted: every object belongs to the one local owner).
macro_rules! refuse_unkept {
    ($input:expr) => {{
        let unkept: [(&str, bool); 5] = [
            (
                "x-amz-website-redirect-location",
                $input.website_redirect_location.is_some(),
            ),
            (
                "x-amz-server-side-encryption-context",
                $input.ssekms_encryption_context.is_some(),
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

/// The SSE-C headers of an input (`$prefix`: `sse_customer` or
/// `copy_source_sse_customer`).
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

/// SSE with customer keys is not emulated: refused, never ignored.
fn no_sse_c(algorithm: Option<&str>) -> S3Result<()> {
    match algorithm {
        None => Ok(()),
        Some(_) => Err(s3_error!(
            NotImplemented,
            "Server-side encryption with customer keys is not implemented by the local store"
        )),
    }
}

/// The stored checksums, sent whenever the whole object is read or headed
/// (as moto and s3s-fs do; S3 waits for `x-amz-checksum-mode: ENABLED`,
/// which the SDK sends on GetObject by default), so HEAD and GET agree.
fn checksum_headers(attrs: &Attrs, send: bool) -> [Option<String>; 5] {
    ALGORITHMS.map(|name| {
        if send {
            attrs.checksums.get(name).cloned()
        } else {
            None
        }
    })
}

/// `len` bytes of `file` from where it stands, in chunks.
fn file_stream(
    file: std::fs::File,
    len: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
    let file = tokio::fs::File::from_std(file);
    futures_util::stream::unfold((file, len), |(mut file, left)| async move {
        use tokio::io::AsyncReadExt;
        if left == 0 {
            return None;
        }
        let mut buf = vec![0; (left as usize).min(CHUNK)];
        match file.read(&mut buf).await {
            Ok(0) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than its row",
                )),
                (file, 0),
            )),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    })
}

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
