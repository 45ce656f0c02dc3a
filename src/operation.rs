//! The operations the proxy performs, named as S3 names them, each with the
//! input S3 needs: what [`crate::route`] makes of a request and
//! [`crate::s3`] performs. Values that come from closed sets or a grammar
//! (checksum algorithms, `response-*` overrides, byte ranges) are parsed once
//! into types here.

use crate::error::ApiError;
use bytes::Bytes;

/// S3's limit on an object's user metadata: the bytes of every name (after
/// `x-amz-meta-`) and value, as S3 receives them, 2 KB in all (else its 400
/// MetadataTooLarge). The proxy and the embedded store check it alike.
pub const MAX_METADATA_BYTES: usize = 2048;

/// Whether user metadata, as `(name after x-amz-meta-, value)` pairs as S3
/// receives them, is over [`MAX_METADATA_BYTES`].
pub fn metadata_too_large<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let size: usize = pairs
        .into_iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    size > MAX_METADATA_BYTES
}

/// Parts one presigned-upload answer may plan: 1000 URLs stay well inside
/// the 6 MB Lambda answer (S3 itself allows 10,000).
pub const MAX_PLANNED_PARTS: u64 = 1000;

/// One S3 operation, with everything the S3 module needs to perform it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    ListBuckets,
    ListObjectsV2 {
        bucket: String,
        list: ListObjectsQuery,
    },
    CreateBucket {
        bucket: String,
        location: Option<String>,
        acl: Option<String>,
    },
    DeleteBucket {
        bucket: String,
    },
    GetObject(ObjectRead),
    HeadObject(ObjectRead),
    PutObject(Box<PutObject>),
    DeleteObject {
        bucket: String,
        key: String,
        version_id: Option<String>,
    },
    /// `POST /{folder}/{item}?uploads`: the proxy's own operation, presigned
    /// URL(s) to upload an object too large for the Lambda payload straight
    /// to S3 (a presigned PutObject, or CreateMultipartUpload and presigned
    /// UploadPart URLs).
    PresignUpload(UploadRequest),
    /// `POST /{folder}/{item}?uploadId=ID` with S3's CompleteMultipartUpload body.
    CompleteMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
        parts: Vec<CompletedPart>,
    },
    /// `DELETE /{folder}/{item}?uploadId=ID`.
    AbortMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
}

impl Operation {
    /// The bucket the operation touches, if any.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Self::ListBuckets => None,
            Self::ListObjectsV2 { bucket, .. }
            | Self::CreateBucket { bucket, .. }
            | Self::DeleteBucket { bucket }
            | Self::DeleteObject { bucket, .. }
            | Self::CompleteMultipartUpload { bucket, .. }
            | Self::AbortMultipartUpload { bucket, .. } => Some(bucket),
            Self::GetObject(r) | Self::HeadObject(r) => Some(&r.bucket),
            Self::PutObject(p) => Some(&p.bucket),
            Self::PresignUpload(u) => Some(&u.bucket),
        }
    }

    /// The operation's name, as S3 names it (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::ListObjectsV2 { .. } => "ListObjectsV2",
            Self::CreateBucket { .. } => "CreateBucket",
            Self::DeleteBucket { .. } => "DeleteBucket",
            Self::GetObject(_) => "GetObject",
            Self::HeadObject(_) => "HeadObject",
            Self::PutObject(_) => "PutObject",
            Self::DeleteObject { .. } => "DeleteObject",
            Self::PresignUpload(_) => "PresignUpload",
            Self::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            Self::AbortMultipartUpload { .. } => "AbortMultipartUpload",
        }
    }

    /// Does the operation change anything in S3?
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            Self::ListBuckets
                | Self::ListObjectsV2 { .. }
                | Self::GetObject(_)
                | Self::HeadObject(_)
        )
    }
}

/// What a presigned upload is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadRequest {
    pub bucket: String,
    pub key: String,
    /// The object's size, when the client says (`?size=`): over 5 GiB it
    /// must go in parts.
    pub size: Option<u64>,
    /// Ask for a multipart upload in this many parts (`?parts=`).
    pub parts: Option<u32>,
    pub content_type: Option<String>,
}

impl UploadRequest {
    /// Parts, rather than one presigned PUT: asked for (`?parts=`), or an
    /// object over S3's largest single PUT (5 GiB).
    pub fn multipart(&self) -> bool {
        self.parts.is_some() || self.size.is_some_and(|s| s > MAX_SINGLE_PUT)
    }

    /// A multipart plan's part count and part size: as many parts as asked,
    /// else enough (64 MiB or more each) to stay within one answer's worth
    /// of URLs. A size that needs parts over S3's 5 GiB is refused.
    pub fn parts_plan(&self) -> Result<(u64, Option<u64>), ApiError> {
        const MIB: u64 = 1024 * 1024;
        let (count, part_size) = match (self.parts, self.size) {
            (Some(n), size) => (u64::from(n), size.map(|s| s.div_ceil(u64::from(n)))),
            (None, Some(size)) => {
                let per_part = size.div_ceil(MAX_PLANNED_PARTS).div_ceil(MIB) * MIB;
                let part_size = per_part.max(64 * MIB);
                (size.div_ceil(part_size), Some(part_size))
            }
            (None, None) => (1, None),
        };
        if let (Some(part), Some(size)) = (part_size, self.size)
            && part > MAX_SINGLE_PUT
        {
            return Err(ApiError::InvalidArgument(format!(
                "{size} bytes in {count} parts makes parts of {part} bytes; S3 takes at most \
                 {MAX_SINGLE_PUT} bytes (5 GiB) per part: ask for at least {} parts",
                size.div_ceil(MAX_SINGLE_PUT)
            )));
        }
        Ok((count, part_size))
    }
}

/// S3's largest single PUT.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// One part named in a CompleteMultipartUpload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: i32,
    pub etag: String,
}

/// ListObjectsV2's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListObjectsQuery {
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub max_keys: Option<i32>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
    /// `encoding-type=url`: keys, prefixes and delimiters answered
    /// URL-encoded, as S3 answers them (for keys XML cannot carry).
    pub url_encoded: bool,
}

/// A GET or HEAD of an object, with its conditions and overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRead {
    pub bucket: String,
    pub key: String,
    /// A valid single byte range; any other Range header is ignored, as
    /// RFC 9110 and S3 do.
    pub range: Option<ByteRange>,
    pub version_id: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_unmodified_since: Option<String>,
    pub overrides: ResponseOverrides,
    /// SSE-C: the key the object was encrypted with.
    pub customer_key: Option<CustomerKey>,
    /// `x-amz-checksum-mode: ENABLED`: answer the object's checksums.
    pub checksum_mode: bool,
    /// The body would travel inside the Lambda answer as JSON text (not
    /// base64): its escaped size, not its raw size, counts against the
    /// answer's limit. Set by the handler from the request's Accept.
    pub inline_as_text: bool,
}

/// One byte range, as RFC 9110 writes it: `bytes=first-last`,
/// `bytes=first-` or `bytes=-suffix`. The router reads it once
/// ([`ByteRange::parse`]); S3 is sent its canonical form (`Display`), so
/// that what S3 serves is the range the proxy read, whatever its own parser
/// makes of white space a client put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// From `first` to `last` (to the end when `None`), both included.
    From { first: u64, last: Option<u64> },
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// A single byte range, or `None` for anything S3 ignores (and answers
    /// the whole object for): another unit, several ranges, a last before
    /// the first, no numbers. White space around the numbers is taken, as
    /// HTTP servers commonly take it. A position past `i64::MAX` (which
    /// S3's sizes and s3s's parser stop at) is past any object's end, and is
    /// read as `i64::MAX`.
    pub fn parse(value: &str) -> Option<Self> {
        const PAST_ANY_END: u64 = i64::MAX as u64;
        let position = |s: &str| {
            let s = s.trim();
            let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| s.parse().unwrap_or(u64::MAX).min(PAST_ANY_END))
        };
        let spec = value.trim().strip_prefix("bytes=")?;
        let (first, last) = spec.split_once('-')?;
        if first.trim().is_empty() {
            // `bytes=-0` selects no byte: S3 answers 416, so it is a range.
            return position(last).map(Self::Suffix);
        }
        let first = position(first)?;
        if last.trim().is_empty() {
            return Some(Self::From { first, last: None });
        }
        let last = position(last)?;
        (first <= last).then_some(Self::From {
            first,
            last: Some(last),
        })
    }

    /// The bytes it selects of an object of `size` bytes, first and last
    /// included, or `None` when it selects none (S3's 416 InvalidRange).
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        let end = size.checked_sub(1)?;
        match self {
            Self::Suffix(0) => None,
            Self::Suffix(n) => Some((size.saturating_sub(n), end)),
            Self::From { first, last } => {
                let last = last.map_or(end, |last| last.min(end));
                (first <= last).then_some((first, last))
            }
        }
    }
}

impl std::fmt::Display for ByteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::From { first, last: None } => write!(f, "bytes={first}-"),
            Self::From {
                first,
                last: Some(last),
            } => write!(f, "bytes={first}-{last}"),
            Self::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

/// GetObject's `response-*` query parameters: the headers S3 answers with
/// in place of the object's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOverrides {
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub content_type: Option<String>,
    pub expires: Option<String>,
}

impl ResponseOverrides {
    /// The query parameter names, in the order of [`Self::slot`].
    pub const PARAMETERS: [&'static str; 6] = [
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    ];

    /// Takes the `response-*` parameters out of a query (others are not
    /// its business: [`crate::policy`] refuses those no route takes). A
    /// type that is not a media type, or an expiry that is not an HTTP date,
    /// is refused rather than answered as given or dropped.
    pub fn from_query(query: &[(String, String)]) -> Result<Self, ApiError> {
        let mut overrides = Self::default();
        for (name, value) in query {
            // An empty override would answer an empty header: none is set.
            if let Some(slot) = overrides.slot(name)
                && !value.is_empty()
            {
                *slot = Some(value.clone());
            }
        }
        if let Some(t) = &overrides.content_type
            && t.parse::<mime::Mime>().is_err()
        {
            return Err(ApiError::InvalidArgument(format!(
                "response-content-type {t:?} is not a media type"
            )));
        }
        if let Some(e) = &overrides.expires
            && httpdate::parse_http_date(e).is_err()
        {
            return Err(ApiError::InvalidArgument(format!(
                "response-expires {e:?} is not an HTTP date"
            )));
        }
        Ok(overrides)
    }

    /// The field a `response-*` parameter sets.
    pub fn slot(&mut self, parameter: &str) -> Option<&mut Option<String>> {
        Some(match parameter {
            "response-cache-control" => &mut self.cache_control,
            "response-content-disposition" => &mut self.content_disposition,
            "response-content-encoding" => &mut self.content_encoding,
            "response-content-language" => &mut self.content_language,
            "response-content-type" => &mut self.content_type,
            "response-expires" => &mut self.expires,
            _ => return None,
        })
    }
}

/// A PutObject: the body and the headers S3 stores with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub body: Bytes,
    pub content_type: String,
    pub metadata: Vec<(String, String)>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<String>,
    pub acl: Option<String>,
    pub storage_class: Option<String>,
    pub content_md5: Option<String>,
    /// From `x-amz-checksum-<algorithm>` headers.
    pub checksums: Vec<Checksum>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// `x-amz-tagging`: URL-encoded `key=value&...`.
    pub tagging: Option<String>,
    pub encryption: Option<Encryption>,
    pub customer_key: Option<CustomerKey>,
}

/// Server-side encryption with keys S3 or KMS manages
/// (`x-amz-server-side-encryption` and its companions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    pub kms_key_id: Option<String>,
    /// Base64 JSON of the KMS encryption context.
    pub context: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

/// SSE-C: the client's own key (`x-amz-server-side-encryption-customer-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerKey {
    /// Always `AES256`.
    pub algorithm: String,
    /// Base64 of the 256-bit key.
    pub key: String,
    /// Base64 of the key's MD5.
    pub key_md5: String,
}

/// A checksum a client sent: `x-amz-checksum-<algorithm>: <base64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub value: String,
}

impl Checksum {
    /// The header's value, when it is a digest of this algorithm (canonical
    /// base64 of its size); else S3's 400 InvalidRequest.
    pub fn parse(algorithm: ChecksumAlgorithm, value: &str) -> Result<Self, ApiError> {
        use base64::Engine;
        let value = value.trim();
        let decoded = base64::engine::general_purpose::STANDARD.decode(value);
        if !decoded.is_ok_and(|d| d.len() == algorithm.digest_len()) {
            return Err(ApiError::InvalidRequest(format!(
                "Value for {} header is invalid.",
                algorithm.header()
            )));
        }
        Ok(Self {
            algorithm,
            value: value.to_string(),
        })
    }
}

/// S3's message when a write carries more than one checksum.
pub const MULTIPLE_CHECKSUMS: &str =
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";

/// S3's rules on a write's checksum headers, once each value is valid: one
/// checksum at most (`sent`: their algorithms, by key: `crc32`, ...), and an
/// `x-amz-sdk-checksum-algorithm` (`named`) names the algorithm of the one
/// sent, in a header or announced as a trailer (`x-amz-trailer`). The
/// message of S3's 400 InvalidRequest when one is broken. The router and
/// the embedded store both apply it.
pub fn check_checksum_headers(
    sent: &[&str],
    named: Option<&str>,
    trailer: Option<&str>,
) -> Result<(), &'static str> {
    if sent.len() > 1 {
        return Err(MULTIPLE_CHECKSUMS);
    }
    let Some(named) = named else {
        return Ok(());
    };
    let sent = sent
        .first()
        .copied()
        .or_else(|| trailer?.trim().strip_prefix(CHECKSUM_PREFIX));
    match sent {
        None => Err(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* \
             or x-amz-trailer headers were found.",
        ),
        Some(sent) if !named.trim().eq_ignore_ascii_case(sent) => {
            Err("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        }
        Some(_) => Ok(()),
    }
}

/// The checksum algorithms S3 takes in `x-amz-checksum-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The header that carries it: `x-amz-checksum-crc32`, ...
    pub fn header(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Its name as S3 writes it in `x-amz-sdk-checksum-algorithm` and in
    /// its messages: `CRC32`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The size of its digest in bytes (a header's value is its base64).
    fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// The algorithm of an `x-amz-checksum-<name>` header, by its name, if
    /// it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.key() == name)
    }

    /// Its name in its header, `x-amz-checksum-<key>`: `crc32`, ...
    pub fn key(self) -> &'static str {
        &self.header()[CHECKSUM_PREFIX.len()..]
    }

    /// A running checksum of bytes fed to it (`update`); `header_value`
    /// gives it as S3 writes it.
    pub fn hasher(self) -> Box<dyn aws_smithy_checksums::http::HttpChecksum> {
        use aws_smithy_checksums::ChecksumAlgorithm as Smithy;
        let algorithm = match self {
            Self::Crc32 => Smithy::Crc32,
            Self::Crc32c => Smithy::Crc32c,
            Self::Crc64Nvme => Smithy::Crc64Nvme,
            Self::Sha1 => Smithy::Sha1,
            Self::Sha256 => Smithy::Sha256,
        };
        algorithm.into_impl()
    }

    /// The base64 checksum of `bytes`, as S3 writes it in the header.
    pub fn compute(self, bytes: &[u8]) -> String {
        let mut checksum = self.hasher();
        checksum.update(bytes);
        finish(checksum)
    }
}

/// A running checksum's value, as S3 writes it in the header.
pub fn finish(checksum: Box<dyn aws_smithy_checksums::http::HttpChecksum>) -> String {
    String::from_utf8_lossy(checksum.header_value().as_bytes()).into_owned()
}

/// `x-amz-checksum-`: the prefix of the checksum headers (and of
/// `x-amz-checksum-algorithm` / `-type`, which name no checksum).
pub const CHECKSUM_PREFIX: &str = "x-amz-checksum-";

impl PutObject {
    /// A Content-MD5 or `x-amz-checksum-*` that does not match the body is
    /// refused here, before S3, as S3 refuses it: S3 checks them, not every
    /// S3-compatible store does.
    pub fn verify_digests(&self) -> Result<(), ApiError> {
        use base64::Engine;
        use md5::Digest;
        if let Some(given) = &self.content_md5 {
            let expected = base64::engine::general_purpose::STANDARD
                .decode(given.trim())
                .ok()
                .filter(|d| d.len() == 16)
                .ok_or(ApiError::InvalidDigest)?;
            if md5::Md5::digest(&self.body).as_slice() != expected.as_slice() {
                return Err(ApiError::BadDigest);
            }
        }
        // A parsed value is canonical base64: equal digests, equal text.
        for checksum in &self.checksums {
            if checksum.algorithm.compute(&self.body) != checksum.value {
                return Err(ApiError::ChecksumMismatch(checksum.algorithm.name()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_algorithms_are_named_as_their_headers() {
        for algorithm in ChecksumAlgorithm::ALL {
            let name = algorithm.header().strip_prefix(CHECKSUM_PREFIX).unwrap();
            assert_eq!(ChecksumAlgorithm::from_name(name), Some(algorithm));
        }
        for bad in ["md5", "algorithm", "type", "whirlpool", ""] {
            assert!(ChecksumAlgorithm::from_name(bad).is_none(), "{bad}");
        }
        assert_eq!(ChecksumAlgorithm::Crc32.compute(b"hello"), "NhCmhg==");
    }

    #[test]
    fn only_single_byte_ranges_are_ranges_and_s3_gets_their_canonical_form() {
        let from = |first, last| Some(ByteRange::From { first, last });
        const MAX: u64 = i64::MAX as u64;
        let cases = [
            ("bytes=0-1", from(0, Some(1)), "bytes=0-1"),
            ("bytes=5-", from(5, None), "bytes=5-"),
            ("bytes=-5", Some(ByteRange::Suffix(5)), "bytes=-5"),
            (" bytes=0-0 ", from(0, Some(0)), "bytes=0-0"),
            ("bytes= 7 - 9", from(7, Some(9)), "bytes=7-9"),
            ("bytes= -3", Some(ByteRange::Suffix(3)), "bytes=-3"),
            ("bytes=-0", Some(ByteRange::Suffix(0)), "bytes=-0"),
            // Past i64: past any object's end.
            (
                "bytes=3-99999999999999999999",
                from(3, Some(MAX)),
                "bytes=3-9223372036854775807",
            ),
            (
                "bytes=9223372036854775808-",
                from(MAX, None),
                "bytes=9223372036854775807-",
            ),
            (
                "bytes=-99999999999999999999",
                Some(ByteRange::Suffix(MAX)),
                "bytes=-9223372036854775807",
            ),
        ];
        for (value, expected, canonical) in cases {
            let range = ByteRange::parse(value);
            assert_eq!(range, expected, "{value:?}");
            assert_eq!(range.unwrap().to_string(), canonical, "{value:?}");
        }
        let ignored = [
            "bytes=5-2",
            "bytes=0-1,3-4",
            "items=0-1",
            "l)Wi",
            "bytes=",
            "bytes=a-b",
            "bytes=-",
            "bytes=1 2-3",
            "bytes=+1-2",
            "bytes=0x1-2",
            "bytes =0-1",
            "Bytes=0-1",
        ];
        for value in ignored {
            assert_eq!(ByteRange::parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn ranges_resolve_as_s3_resolves_them() {
        let cases = [
            ("bytes=0-1", 10, Some((0, 1))),
            ("bytes=8-", 10, Some((8, 9))),
            ("bytes=5-100", 10, Some((5, 9))),
            ("bytes=-3", 10, Some((7, 9))),
            ("bytes=-30", 10, Some((0, 9))),
            ("bytes=-0", 10, None),
            ("bytes=10-", 10, None),
            ("bytes=9-99999999999999999999", 10, Some((9, 9))),
            ("bytes=0-0", 0, None),
            ("bytes=-1", 0, None),
        ];
        for (range, size, expected) in cases {
            let resolved = ByteRange::parse(range).unwrap().resolve(size);
            assert_eq!(resolved, expected, "{range} of {size}");
        }
    }

    #[test]
    fn response_overrides_are_read_from_the_query() {
        let query: Vec<(String, String)> = [
            ("response-content-type", "text/csv"),
            ("response-expires", "Thu, 01 Jan 2037 00:00:00 GMT"),
            ("prefix", "ignored"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let overrides = ResponseOverrides::from_query(&query).unwrap();
        assert_eq!(overrides.content_type.as_deref(), Some("text/csv"));
        assert!(overrides.expires.is_some());
        assert_eq!(overrides.cache_control, None);
        for bad in [
            ("response-content-type", "0"),
            ("response-expires", "tomorrow"),
        ] {
            let query = [(bad.0.to_string(), bad.1.to_string())];
            assert!(ResponseOverrides::from_query(&query).is_err(), "{bad:?}");
        }
        let mut all = ResponseOverrides::default();
        for name in ResponseOverrides::PARAMETERS {
            assert!(all.slot(name).is_some(), "{name}");
        }
    }

    #[test]
    fn digests_are_checked_against_the_body() {
        let md5 = |value: &str| PutObject {
            content_md5: Some(value.into()),
            ..Default::default()
        };
        let checksum = |algorithm, value: &str| PutObject {
            checksums: vec![Checksum {
                algorithm,
                value: value.into(),
            }],
            ..Default::default()
        };
        let (crc32, sha1, sha256) = (
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        );
        let sha256_hello = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
        let cases = [
            (md5("XUFAKrxLKna5cZ2REBfFkg=="), None),
            (md5("AAAAAAAAAAAAAAAAAAAAAA=="), Some("BadDigest")),
            (md5("not base64!"), Some("InvalidDigest")),
            (md5("AAAA"), Some("InvalidDigest")),
            (checksum(crc32, "NhCmhg=="), None),
            (checksum(crc32, "AAAAAA=="), Some("BadDigest")),
            (checksum(sha256, sha256_hello), None),
            (
                checksum(sha256, &format!("{}=", "A".repeat(43))),
                Some("BadDigest"),
            ),
            (checksum(sha1, "qvTGHdzF6KLavt4PO0gs2a6pQ00="), None),
        ];
        for (put, expected) in cases {
            let put = PutObject {
                body: Bytes::from_static(b"hello"),
                ..put
            };
            let got = put.verify_digests().err().map(|e| e.code().to_string());
            assert_eq!(got.as_deref(), expected, "{put:?}");
        }
    }
}
