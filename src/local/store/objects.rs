//! Object operations: PUT streams the body to a new blob while hashing it,
//! verifies Content-MD5 and `x-amz-checksum-*`, and only then commits, in one
//! transaction with its conditions (`If-Match`, `If-None-Match`) and the
//! bucket's existence; GET and HEAD read one row and open one file.

use super::blobs::BlobWriter;
use super::db::{self, Attrs, ObjectRow};
use super::{LocalStore, StoreError, etag, now_ms, timestamp};
use bytes::Bytes;
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use std::io::{Read, Seek, SeekFrom};

pub(super) use super::checksums::ALGORITHMS;
pub(super) use super::rules::{
    Conditions, attrs_of, check_metadata, check_object_acl, check_write, checksums_of,
    customer_key, echo_checksums, echo_encryption, evaluate, expires_of, hex, receive_body,
    refuse_unkept, storage_class,
};

/// Bodies up to this size are read in the call that finds them (one trip to
/// the blocking pool); larger ones stream.
const INLINE_READ: u64 = 256 * 1024;
/// Chunks of a streamed body: the first small, so its first bytes leave
/// soon, then each twice the last up to the largest (fewer reads and writes,
/// each a trip to the blocking pool).
const FIRST_CHUNK: u64 = 64 * 1024;
const LARGEST_CHUNK: u64 = 1024 * 1024;

/// What a GET or HEAD asks for.
pub(super) enum Wanted {
    All,
    Range(Range),
    /// `?partNumber=`: a part of a multipart object (1: all of any other).
    Part(i32),
}

/// What a GET or HEAD found.
pub(super) struct Found {
    pub row: ObjectRow,
    pub attrs: Attrs,
    /// Byte range served, if a Range or a part was asked.
    range: Option<std::ops::Range<u64>>,
    /// The part number read, if one was asked.
    part: Option<i32>,
    body: Option<Body>,
}

enum Body {
    Bytes(Bytes),
    File(std::fs::File, u64),
}

/// What GetObject and HeadObject answer alike (two output types with the
/// same fields): the stored headers, with the request's `response-*`
/// overrides applied as S3 applies them to both, and the checksums when the
/// whole object is read. `$found` and `$input` are consumed.
macro_rules! read_output {
    ($output:ident, $found:ident, $input:ident, $start:expr, $len:expr $(, $field:ident: $value:expr)*) => {{
        let asked = $input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let checksums = read_checksums(&$found.attrs, $found.part, $found.range.is_some(), asked);
        let parts_count = $found
            .part
            .filter(|_| !$found.attrs.parts.is_empty())
            .map(|_| $found.attrs.parts.len() as i32);
        let attrs = $found.attrs;
        let mut out = $output {
            $($field: $value,)*
            accept_ranges: Some("bytes".into()),
            content_length: Some($len as i64),
            content_range: $found.range.as_ref().map(|_| {
                format!(
                    "bytes {}-{}/{}",
                    $start,
                    $start + $len.saturating_sub(1),
                    $found.row.size
                )
            }),
            e_tag: Some(etag(&$found.row.etag)),
            parts_count,
            last_modified: Some(timestamp($found.row.modified_ms)),
            storage_class: $found.row.class.map(StorageClass::from),
            expires: $input.response_expires.or_else(|| expires_of(&attrs)),
            metadata: (!attrs.metadata.is_empty())
                .then(|| attrs.metadata.clone().into_iter().collect()),
            content_type: $input.response_content_type.or(attrs.content_type),
            content_encoding: $input.response_content_encoding.or(attrs.content_encoding),
            content_disposition: $input
                .response_content_disposition
                .or(attrs.content_disposition),
            content_language: $input.response_content_language.or(attrs.content_language),
            cache_control: $input.response_cache_control.or(attrs.cache_control),
            website_redirect_location: attrs.website_redirect_location,
            checksum_crc32: checksums[0].clone(),
            checksum_crc32c: checksums[1].clone(),
            checksum_sha1: checksums[2].clone(),
            checksum_sha256: checksums[3].clone(),
            checksum_crc64nvme: checksums[4].clone(),
            // FULL_OBJECT or COMPOSITE (only multipart uploads may have
            // that; objects kept by older versions have no type: whole).
            checksum_type: checksums.iter().any(Option::is_some).then(|| {
                ChecksumType::from(
                    attrs
                        .checksum_type
                        .clone()
                        .unwrap_or_else(|| ChecksumType::FULL_OBJECT.into()),
                )
            }),
            ..Default::default()
        };
        echo_encryption!(out, &attrs.encryption);
        out
    }};
}

/// GetObject and HeadObject find their object alike: the one version an
/// unversioned bucket has (`null`), no part numbers (refused, never
/// ignored), the conditions and the range, and the SSE-C key the object was
/// written with. Gives the object found, and the offset and length to send.
macro_rules! find_for_read {
    ($store:expr, $input:expr, $with_body:expr) => {{
        $store
            .no_versions(&$input.bucket, $input.version_id.as_deref())
            .await?;
        let wanted = match ($input.part_number, $input.range) {
            (Some(_), Some(_)) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Cannot specify both Range header and partNumber query parameter"
                ));
            }
            (Some(n), None) if !(1..=10_000).contains(&n) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive"
                ));
            }
            (Some(n), None) => Wanted::Part(n),
            (None, Some(range)) => Wanted::Range(range),
            (None, None) => Wanted::All,
        };
        let conditions = Conditions {
            if_match: $input.if_match,
            if_none_match: $input.if_none_match,
            if_modified_since: $input.if_modified_since,
            if_unmodified_since: $input.if_unmodified_since,
        };
        let found = $store
            .find(
                $input.bucket.clone(),
                $input.key.clone(),
                conditions,
                wanted,
                $with_body,
            )
            .await?;
        super::extras::check_read(&found.attrs.encryption, customer_key!($input))?;
        let (start, len) = match &found.range {
            Some(r) => (r.start, r.end - r.start),
            None => (0, found.row.size),
        };
        (found, start, len)
    }};
}

impl LocalStore {
    /// Finds an object (and opens its blob when `open`), evaluating the
    /// read conditions and the range. A blob replaced between the row read
    /// and the open is looked up again.
    pub(super) async fn find(
        &self,
        bucket: String,
        key: String,
        conditions: Conditions,
        wanted: Wanted,
        open: bool,
    ) -> S3Result<Found> {
        self.blocking(move |s| {
            for _ in 0..4 {
                let (row, attrs) = s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    db::object(tx, &bucket, &key)?.ok_or(StoreError::NoSuchKey)
                })?;
                evaluate(&conditions, &row.etag, row.modified_ms)?;
                let (span, part) = match &wanted {
                    Wanted::All => (None, None),
                    // An empty part is read as no range (`bytes 0-0/0` would
                    // name a byte that is not there).
                    Wanted::Part(n) => {
                        let span = part_span(&attrs, row.size, *n)?;
                        (Some(span).filter(|s| !s.is_empty()), Some(*n))
                    }
                    // An empty span is no range: s3s gives a suffix range of
                    // an empty object (`bytes=-3`) the span 0..0, which would
                    // be a 206 `bytes 0-0/0` naming a byte that is not there.
                    Wanted::Range(r) => match r.check(row.size) {
                        Ok(span) if !span.is_empty() => (Some(span), None),
                        _ => {
                            return Err(StoreError::S3(s3_error!(
                                InvalidRange,
                                "The requested range is not satisfiable"
                            )));
                        }
                    },
                };
                if !open {
                    return Ok(Found {
                        row,
                        attrs,
                        range: span,
                        part,
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
                    part,
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
        check_metadata(input.metadata.as_ref())?;
        check_object_acl(input.acl.as_ref())?;
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            customer_key!(input),
        )?;
        let tags = super::extras::parse_tagging(input.tagging.as_deref())?;
        let class = storage_class(input.storage_class.as_ref())?;
        let checksums = checksums_of!(input, &req.headers)?.or_default();
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
        let checked = receive_body!(self, input, checksums, req.trailing_headers).await?;
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
        attrs.checksums = checked.kept;
        attrs.checksum_type = Some(ChecksumType::FULL_OBJECT.into());
        attrs.encryption = encryption;
        attrs.tags = tags;
        let writer = checked.writer;
        let row = ObjectRow {
            key,
            blob: writer.id.clone(),
            size: writer.size(),
            etag: hex(&checked.md5),
            modified_ms: now_ms(),
            class,
        };
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&row.etag)),
            ..Default::default()
        };
        echo_checksums!(out, &attrs.checksums);
        out.checksum_type = Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT));
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
            s.commit(Some(writer), |tx| {
                db::require_bucket(tx, &bucket)?;
                let current = db::object(tx, &bucket, &row.key)?;
                check_write(
                    current.as_ref().map(|(r, _)| r),
                    if_match.as_ref(),
                    if_none_match.as_ref(),
                )?;
                db::put_object(tx, &bucket, &row, &attrs)
            })
        })
        .await
    }

    pub(super) async fn get_object_impl(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (found, start, len) = find_for_read!(self, input, true);
        let body = match found.body {
            Some(Body::Bytes(b)) => StreamingBlob::from(s3s::Body::from(b)),
            Some(Body::File(file, len)) => StreamingBlob::wrap(file_stream(file, len)),
            None => StreamingBlob::from(s3s::Body::from(Bytes::new())),
        };
        let tag_count = (!found.attrs.tags.is_empty()).then_some(found.attrs.tags.len() as i32);
        let out = read_output!(
            GetObjectOutput,
            found,
            input,
            start,
            len,
            body: Some(body),
            tag_count: tag_count
        );
        Ok(S3Response::new(out))
    }

    pub(super) async fn head_object_impl(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let (found, start, len) = find_for_read!(self, input, false);
        let tags = found.attrs.tags.len();
        let out = read_output!(HeadObjectOutput, found, input, start, len);
        // 206 for a range: set by server::store_service (s3s ignores it here).
        let mut response = S3Response::new(out);
        // S3 counts the tags on HEAD as on GET; s3s 0.14's HeadObjectOutput
        // has no field for it.
        if tags > 0 {
            response.headers.insert("x-amz-tagging-count", tags.into());
        }
        Ok(response)
    }

    pub(super) async fn delete_object_impl(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        let (bucket, key, if_match) = (input.bucket, input.key, input.if_match);
        self.delete_with_blobs(move |tx| {
            db::require_bucket(tx, &bucket)?;
            if if_match.is_some() {
                let current = db::object(tx, &bucket, &key)?;
                check_write(current.as_ref().map(|(r, _)| r), if_match.as_ref(), None)?;
            }
            db::delete_object(tx, &bucket, &key)
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
    /// The source of CopyObject and UploadPartCopy, under its
    /// `x-amz-copy-source-if-*` conditions (one that fails is 412, as S3
    /// answers a copy); one stored with a customer key is refused.
    pub(super) async fn find_copy_source(
        &self,
        bucket: String,
        key: String,
        conditions: Conditions,
    ) -> S3Result<Found> {
        let found = self
            .find(bucket, key, conditions, Wanted::All, false)
            .await
            .map_err(|e| {
                if *e.code() == s3s::S3ErrorCode::NotModified {
                    s3_error!(PreconditionFailed)
                } else {
                    e
                }
            })?;
        if found.attrs.encryption.customer_key_md5.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "Copying an object stored with a customer key is not implemented by the local store"
            ));
        }
        Ok(found)
    }

    pub(super) async fn copy_object_impl(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key, src_version) = copy_source_of(&input.copy_source)?;
        self.no_versions(&src_bucket, src_version.as_deref())
            .await?;
        no_sse_c(input.sse_customer_algorithm.as_deref())?;
        refuse_unkept!(input)?;
        check_metadata(input.metadata.as_ref())?;
        check_object_acl(input.acl.as_ref())?;
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
            .find_copy_source(src_bucket.clone(), src_key.clone(), conditions)
            .await?;
        if !replace && input.bucket == src_bucket && input.key == src_key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
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
        let (algorithm, reused) = super::checksums::for_copy(
            input
                .checksum_algorithm
                .as_ref()
                .map(ChecksumAlgorithm::as_str),
            &found.attrs,
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
        // S3 gives a copy the MD5 of its bytes as ETag (a multipart source's
        // `-N` ETag is not the copy's), and the checksum asked for.
        let multipart = found.row.etag.contains('-');
        let (checksum, md5) = self
            .blocking(move |_| {
                std::fs::remove_file(&target)?;
                if std::fs::hard_link(&source, &target).is_err() {
                    std::fs::copy(&source, &target)?;
                }
                if let Some(value) = reused.clone().filter(|_| !multipart) {
                    return Ok((value, None));
                }
                use md5::Digest;
                let (mut hasher, mut md5) = (algorithm.hasher(), md5::Md5::new());
                let mut file = std::fs::File::open(&source)?;
                let mut buf = vec![0; 1024 * 1024];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    md5.update(&buf[..n]);
                }
                let checksum = reused.unwrap_or_else(|| crate::operation::finish(hasher));
                Ok((checksum, multipart.then(|| hex(&md5.finalize()))))
            })
            .await?;
        super::checksums::keep_whole(algorithm, checksum, &mut attrs);
        // A copy is one part.
        attrs.parts.clear();
        writer.add_size(found.row.size);
        writer
            .place()
            .await
            .map_err(|e| S3Error::from(StoreError::Io(e)))?;
        let row = ObjectRow {
            key: input.key,
            blob: writer.id.clone(),
            size: found.row.size,
            etag: md5.unwrap_or(found.row.etag),
            modified_ms: now_ms(),
            class: class.or(found.row.class),
        };
        let mut result = CopyObjectResult {
            e_tag: Some(etag(&row.etag)),
            last_modified: Some(timestamp(row.modified_ms)),
            checksum_type: Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            ..Default::default()
        };
        echo_checksums!(result, &attrs.checksums);
        self.commit_object(input.bucket, row, attrs, writer, None, None)
            .await?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            ..Default::default()
        }))
    }
}

/// The bucket, key and version `x-amz-copy-source` names.
pub(super) fn copy_source_of(source: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_string),
        )),
        CopySource::AccessPoint { .. } | CopySource::Outpost { .. } => Err(s3_error!(
            NotImplemented,
            "Copying from an access point is not implemented"
        )),
    }
}

/// SSE with customer keys is not emulated: refused, never ignored.
pub(super) fn no_sse_c(algorithm: Option<&str>) -> S3Result<()> {
    match algorithm {
        None => Ok(()),
        Some(_) => Err(s3_error!(
            NotImplemented,
            "Server-side encryption with customer keys is not implemented by the local store"
        )),
    }
}

/// Feeds what is written to a checksum (`std::io::copy` into it).
pub(super) struct HashWriter<'a>(pub &'a mut dyn aws_smithy_checksums::http::HttpChecksum);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The checksums a read answers, when asked (`x-amz-checksum-mode:
/// ENABLED`, which aws-sdk-s3 sends on GetObject by default), as S3 does:
/// the object's, for the whole object; a part's, for a part read by number
/// (the object's, for part 1 of an object of one part); none for a range.
fn read_checksums(
    attrs: &Attrs,
    part: Option<i32>,
    ranged: bool,
    asked: bool,
) -> [Option<String>; 5] {
    let of_object = |name: &str| attrs.checksums.get(name).cloned();
    match (part, ranged) {
        _ if !asked => Default::default(),
        (Some(_), _) if attrs.parts.is_empty() => ALGORITHMS.map(of_object),
        (Some(n), _) => {
            let part = attrs
                .parts
                .get(n as usize - 1)
                .and_then(|p| p.checksum.clone());
            ALGORITHMS.map(|name| of_object(name).and(part.clone()))
        }
        (None, false) => ALGORITHMS.map(of_object),
        (None, true) => Default::default(),
    }
}

/// The bytes of part `n` of an object: of its recorded parts, or all of
/// an object of one part for `n` 1. Another is S3's 416 InvalidPartNumber.
fn part_span(attrs: &Attrs, size: u64, n: i32) -> Result<std::ops::Range<u64>, StoreError> {
    let count = attrs.parts.len().max(1);
    if n as usize > count {
        let mut e = S3Error::with_message(
            s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
            "The requested partnumber is not satisfiable",
        );
        e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
        return Err(StoreError::S3(e));
    }
    if attrs.parts.is_empty() {
        return Ok(0..size);
    }
    let before: u64 = attrs.parts[..n as usize - 1].iter().map(|p| p.size).sum();
    Ok(before..before + attrs.parts[n as usize - 1].size)
}

/// `len` bytes of `file` from where it stands, in growing chunks, each read
/// on the blocking pool straight into its own buffer.
fn file_stream(
    file: std::fs::File,
    len: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
    futures_util::stream::unfold(Some((file, len, FIRST_CHUNK)), |state| async move {
        let (file, left, chunk) = state?;
        if left == 0 {
            return None;
        }
        let read = tokio::task::spawn_blocking(move || {
            let want = left.min(chunk);
            let mut buf = Vec::with_capacity(want as usize);
            let got = (&file).take(want).read_to_end(&mut buf);
            (file, buf, got)
        })
        .await;
        let next = (chunk * 2).min(LARGEST_CHUNK);
        match read {
            Ok((_, _, Ok(0))) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than its row",
                )),
                None,
            )),
            Ok((file, buf, Ok(n))) => {
                Some((Ok(Bytes::from(buf)), Some((file, left - n as u64, next))))
            }
            Ok((_, _, Err(e))) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        file
    }

    #[tokio::test]
    async fn a_file_streams_in_growing_chunks_from_where_it_stands() {
        let bytes: Vec<u8> = (0..3 * LARGEST_CHUNK + 5)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut file = file_of(&bytes);
        file.seek(SeekFrom::Start(3)).unwrap();
        let len = bytes.len() as u64 - 3;
        let chunks: Vec<Bytes> = file_stream(file, len).map(|c| c.unwrap()).collect().await;
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        let k = 1024;
        let first = [64 * k, 128 * k, 256 * k, 512 * k, 1024 * k, 1024 * k];
        assert_eq!(sizes[..6], first, "doubling from 64 KiB to 1 MiB");
        assert_eq!(sizes.iter().sum::<usize>() as u64, len);
        assert_eq!(chunks.concat(), bytes[3..]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_row_ends_in_an_error() {
        let items: Vec<_> = file_stream(file_of(b"0123456789"), 20).collect().await;
        assert_eq!(items.len(), 2);
        assert_eq!(&items[0].as_ref().unwrap()[..], b"0123456789");
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
