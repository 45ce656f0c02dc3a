//! Object reads: GetObject and HeadObject find one row and open one file
//! (whole, a byte range, or a part by number), answer the stored headers
//! with the request's overrides and, asked, the checksums, and stream a
//! large body from disk in growing chunks.

use super::db::{self, Attrs, ObjectRow};
use super::{LocalStore, StoreError, etag, timestamp};
use bytes::Bytes;
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use std::io::{Read, Seek, SeekFrom};

use super::checksums::ALGORITHMS;
use super::rules::{Conditions, customer_key, echo_encryption, evaluate, expires_of};

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
        let checksum_type = checksums
            .iter()
            .any(Option::is_some)
            .then(|| super::checksums::type_of(&$found.attrs));
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
            checksum_type,
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
