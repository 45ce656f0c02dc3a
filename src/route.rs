//! Routing: pure. `(method, path, query, headers, body) -> Operation | ApiError`.
//!
//! The path comes from the event's path parameters when API Gateway matched a
//! resource (`/{folder}`, `/{folder}/{item}`, `/{folder}/{item+}`, `/{proxy+}`),
//! else from the stage-free raw path — never from `uri().path()`, which carries
//! `/{stage}`. REST APIs hand both over still percent-encoded, so each is
//! decoded exactly once here: `a%2Fb.txt` in one segment and `a/b.txt` over two
//! segments name the same key, and `%25`, `+`, spaces and Unicode survive.

use crate::config::Config;
use crate::error::ApiError;
use bytes::Bytes;
use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

/// Parts one presigned-upload answer may plan: 1000 URLs stay well inside
/// the 6 MB Lambda answer (S3 itself allows 10,000).
pub const MAX_PLANNED_PARTS: u64 = 1000;

/// S3's limit on key length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Where the request path comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSource<'a> {
    /// API Gateway's path parameters, percent-encoded as they arrive.
    Params {
        folder: &'a str,
        item: Option<&'a str>,
    },
    /// A raw, stage-free, percent-encoded path such as `/bucket/a%2Fb.txt`.
    Raw(&'a str),
}

/// What the path names, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Path {
    Root,
    Bucket { bucket: String },
    Object { bucket: String, key: String },
}

/// One S3 operation, with everything the S3 module needs to perform it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    ListBuckets,
    ListObjects {
        bucket: String,
        list: ListQuery,
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
    },
    /// `POST /{folder}/{item}?uploads`: presigned URL(s) to upload an object
    /// too large for the Lambda payload, straight to S3.
    PresignUpload(UploadRequest),
    /// `POST /{folder}/{item}?uploadId=ID` with S3's CompleteMultipartUpload body.
    CompleteUpload {
        bucket: String,
        key: String,
        upload_id: String,
        parts: Vec<(i32, String)>,
    },
    /// `DELETE /{folder}/{item}?uploadId=ID`.
    AbortUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
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

/// ListObjectsV2's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub max_keys: Option<i32>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
}

/// A GET or HEAD of an object, with its conditions and overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRead {
    pub bucket: String,
    pub key: String,
    pub range: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_unmodified_since: Option<String>,
    /// `response-content-type` and friends, as S3 takes them.
    pub overrides: Vec<(String, String)>,
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
    /// `(algorithm, value)` from `x-amz-checksum-<algorithm>` headers.
    pub checksums: Vec<(String, String)>,
    pub if_none_match: Option<String>,
}

impl Operation {
    /// The bucket the operation touches, if any.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Self::ListBuckets => None,
            Self::ListObjects { bucket, .. }
            | Self::CreateBucket { bucket, .. }
            | Self::DeleteBucket { bucket }
            | Self::DeleteObject { bucket, .. } => Some(bucket),
            Self::GetObject(r) | Self::HeadObject(r) => Some(&r.bucket),
            Self::PutObject(p) => Some(&p.bucket),
            Self::PresignUpload(u) => Some(&u.bucket),
            Self::CompleteUpload { bucket, .. } | Self::AbortUpload { bucket, .. } => Some(bucket),
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::ListObjects { .. } => "ListObjectsV2",
            Self::CreateBucket { .. } => "CreateBucket",
            Self::DeleteBucket { .. } => "DeleteBucket",
            Self::GetObject(_) => "GetObject",
            Self::HeadObject(_) => "HeadObject",
            Self::PutObject(_) => "PutObject",
            Self::DeleteObject { .. } => "DeleteObject",
            Self::PresignUpload(_) => "PresignUpload",
            Self::CompleteUpload { .. } => "CompleteMultipartUpload",
            Self::AbortUpload { .. } => "AbortMultipartUpload",
        }
    }

    fn writes(&self) -> bool {
        matches!(
            self,
            Self::CreateBucket { .. }
                | Self::DeleteBucket { .. }
                | Self::PutObject(_)
                | Self::DeleteObject { .. }
                | Self::PresignUpload(_)
                | Self::CompleteUpload { .. }
                | Self::AbortUpload { .. }
        )
    }
}

/// Decodes the path into root, bucket or object, validating names.
pub fn parse_path(source: PathSource<'_>) -> Result<S3Path, ApiError> {
    let (bucket, key) = match source {
        PathSource::Params { folder, item } => (decode(folder)?, item.map(decode).transpose()?),
        PathSource::Raw(raw) => {
            let raw = raw.strip_prefix('/').unwrap_or(raw);
            if raw.is_empty() {
                return Ok(S3Path::Root);
            }
            match raw.split_once('/') {
                None => (decode(raw)?, None),
                Some((bucket, rest)) => (decode(bucket)?, Some(decode(rest)?)),
            }
        }
    };
    validate_bucket(&bucket)?;
    match key {
        None => Ok(S3Path::Bucket { bucket }),
        Some(key) if key.is_empty() => Ok(S3Path::Bucket { bucket }),
        Some(key) => {
            if key.len() > MAX_KEY_BYTES {
                return Err(ApiError::KeyTooLong { len: key.len() });
            }
            if key.trim().is_empty() {
                // S3 takes such keys; aws-sdk-s3 refuses to send them.
                return Err(ApiError::InvalidArgument(
                    "keys made only of white space cannot be sent through aws-sdk-s3".into(),
                ));
            }
            Ok(S3Path::Object { bucket, key })
        }
    }
}

fn decode(segment: &str) -> Result<String, ApiError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::InvalidArgument("the path is not valid UTF-8 once decoded".into()))
}

/// S3's bucket naming rules (general purpose buckets).
pub fn validate_bucket(name: &str) -> Result<(), ApiError> {
    let bad = || ApiError::InvalidBucketName(name.to_string());
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return Err(bad());
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.iter().all(|&b| allowed(b)) || !edge(bytes[0]) || !edge(bytes[bytes.len() - 1]) {
        return Err(bad());
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad());
    }
    let reserved_prefixes = ["xn--", "sthree-", "amzn-s3-demo-"];
    let reserved_suffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if reserved_prefixes.iter().any(|p| name.starts_with(p))
        || reserved_suffixes.iter().any(|s| name.ends_with(s))
    {
        return Err(bad());
    }
    Ok(())
}

const ALLOW_ROOT: &str = "GET";
const ALLOW_BUCKET: &str = "GET, PUT, DELETE";
const ALLOW_OBJECT: &str = "GET, PUT, HEAD, DELETE, POST";

/// Turns a request into the S3 operation it asks for.
pub fn route(
    method: &Method,
    path: PathSource<'_>,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Operation, ApiError> {
    let not_allowed = |allow| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match parse_path(path)? {
        S3Path::Root => match *method {
            Method::GET => Ok(Operation::ListBuckets),
            _ => Err(not_allowed(ALLOW_ROOT)),
        },
        S3Path::Bucket { bucket } => match *method {
            Method::GET => Ok(Operation::ListObjects {
                bucket,
                list: list_query(query)?,
            }),
            Method::PUT => Ok(Operation::CreateBucket {
                bucket,
                location: location_constraint(&body)?,
                acl: header(headers, "x-amz-acl"),
            }),
            Method::DELETE => Ok(Operation::DeleteBucket { bucket }),
            _ => Err(not_allowed(ALLOW_BUCKET)),
        },
        S3Path::Object { bucket, key } => match *method {
            Method::GET => Ok(Operation::GetObject(object_read(
                bucket, key, query, headers,
            ))),
            Method::HEAD => Ok(Operation::HeadObject(object_read(
                bucket, key, query, headers,
            ))),
            Method::PUT => {
                let put = put_object(bucket, key, headers, body);
                check_digests(&put)?;
                Ok(Operation::PutObject(Box::new(put)))
            }
            Method::DELETE => match query_value(query, "uploadId") {
                Some(upload_id) => Ok(Operation::AbortUpload { bucket, key, upload_id }),
                None => Ok(Operation::DeleteObject { bucket, key }),
            },
            Method::POST if has_query(query, "uploads") => Ok(Operation::PresignUpload(UploadRequest {
                size: number(query, "size", 0, 5 * (1 << 40))?,
                parts: number(query, "parts", 1, MAX_PLANNED_PARTS)?.map(|n| n as u32),
                content_type: header(headers, "content-type"),
                bucket,
                key,
            })),
            Method::POST => match query_value(query, "uploadId") {
                Some(upload_id) => Ok(Operation::CompleteUpload {
                    parts: completed_parts(&body)?,
                    bucket,
                    key,
                    upload_id,
                }),
                None => Err(ApiError::InvalidArgument(
                    "POST on an object takes ?uploads (presigned upload) or ?uploadId=ID (complete it)".into(),
                )),
            },
            _ => Err(not_allowed(ALLOW_OBJECT)),
        },
    }
}

/// The configured policy: allowed buckets, read-only mode, bucket admin and
/// the inline body limit. Checked before any call to S3.
pub fn authorize(config: &Config, op: &Operation, upload_path: &str) -> Result<(), ApiError> {
    if let Some(bucket) = op.bucket()
        && !config.bucket_allowed(bucket)
    {
        return Err(ApiError::AccessDenied(format!(
            "Access Denied: bucket {bucket:?} is not served by this API"
        )));
    }
    if op.writes() && config.read_only {
        return Err(ApiError::AccessDenied(
            "Access Denied: this API is read-only".into(),
        ));
    }
    if matches!(
        op,
        Operation::CreateBucket { .. } | Operation::DeleteBucket { .. }
    ) && !config.allow_bucket_admin
    {
        return Err(ApiError::AccessDenied(
            "Access Denied: creating and deleting buckets is switched off".into(),
        ));
    }
    if let Operation::PutObject(put) = op
        && put.body.len() > config.inline_limit
    {
        return Err(ApiError::PayloadTooLarge {
            size: put.body.len(),
            limit: config.inline_limit,
            upload_path: upload_path.to_string(),
        });
    }
    Ok(())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn query_value(query: &[(String, String)], name: &str) -> Option<String> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn has_query(query: &[(String, String)], name: &str) -> bool {
    query.iter().any(|(k, _)| k == name)
}

fn number(
    query: &[(String, String)],
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    match query_value(query, name) {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::InvalidArgument(format!(
                "{name} must be a whole number from {min} to {max}, not {v:?}"
            ))),
        },
    }
}

/// S3's `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...`.
fn completed_parts(body: &[u8]) -> Result<Vec<(i32, String)>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct CompleteMultipartUpload {
        #[serde(default)]
        part: Vec<Part>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Part {
        part_number: i32,
        #[serde(rename = "ETag")]
        etag: String,
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::MalformedXml("the body is not UTF-8".into()))?;
    let parsed: CompleteMultipartUpload =
        quick_xml::de::from_str(text).map_err(|e| ApiError::MalformedXml(e.to_string()))?;
    if parsed.part.is_empty() {
        return Err(ApiError::MalformedXml(
            "CompleteMultipartUpload names no Part".into(),
        ));
    }
    Ok(parsed
        .part
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect())
}

fn list_query(query: &[(String, String)]) -> Result<ListQuery, ApiError> {
    let max_keys = match query_value(query, "max-keys") {
        None => None,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if (1..=1000).contains(&n) => Some(n),
            _ => {
                return Err(ApiError::InvalidArgument(format!(
                    "max-keys must be a whole number from 1 to 1000, not {v:?}"
                )));
            }
        },
    };
    Ok(ListQuery {
        prefix: query_value(query, "prefix"),
        delimiter: query_value(query, "delimiter"),
        max_keys,
        continuation_token: query_value(query, "continuation-token"),
        start_after: query_value(query, "start-after"),
    })
}

/// The optional CreateBucket body:
/// `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`.
fn location_constraint(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct CreateBucketConfiguration {
        location_constraint: Option<String>,
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::MalformedXml("the body is not UTF-8".into()))?;
    let parsed: CreateBucketConfiguration =
        quick_xml::de::from_str(text).map_err(|e| ApiError::MalformedXml(e.to_string()))?;
    Ok(parsed
        .location_constraint
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty()))
}

const OVERRIDES: [&str; 6] = [
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
];

fn object_read(
    bucket: String,
    key: String,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> ObjectRead {
    ObjectRead {
        bucket,
        key,
        range: header(headers, "range"),
        if_match: header(headers, "if-match"),
        if_none_match: header(headers, "if-none-match"),
        if_modified_since: header(headers, "if-modified-since"),
        if_unmodified_since: header(headers, "if-unmodified-since"),
        overrides: query
            .iter()
            .filter(|(k, _)| OVERRIDES.contains(&k.as_str()))
            .cloned()
            .collect(),
    }
}

/// A Content-MD5 or `x-amz-checksum-*` that does not match the body is
/// refused here, before S3: S3 checks them, not every S3-compatible store does.
fn check_digests(put: &PutObject) -> Result<(), ApiError> {
    use aws_smithy_checksums::ChecksumAlgorithm;
    use base64::Engine;
    use md5::Digest;
    if let Some(given) = &put.content_md5 {
        let expected = base64::engine::general_purpose::STANDARD
            .decode(given.trim())
            .ok()
            .filter(|d| d.len() == 16)
            .ok_or(ApiError::InvalidDigest)?;
        if md5::Md5::digest(&put.body).as_slice() != expected.as_slice() {
            return Err(ApiError::BadDigest);
        }
    }
    for (name, given) in &put.checksums {
        let algorithm: ChecksumAlgorithm = match name.parse() {
            Ok(algorithm) if name != "md5" => algorithm,
            _ => {
                return Err(ApiError::InvalidArgument(format!(
                    "x-amz-checksum-{name} is not a checksum S3 knows"
                )));
            }
        };
        let mut checksum = algorithm.into_impl();
        checksum.update(&put.body);
        if checksum.header_value().as_bytes() != given.trim().as_bytes() {
            return Err(ApiError::BadDigest);
        }
    }
    Ok(())
}

const CHECKSUM_PREFIX: &str = "x-amz-checksum-";
const META_PREFIX: &str = "x-amz-meta-";

fn put_object(bucket: String, key: String, headers: &HeaderMap, body: Bytes) -> PutObject {
    // The object's own type: what the client said, else what the key's
    // extension says, else S3's default.
    let content_type = header(headers, "content-type")
        .filter(|t| !t.trim().is_empty())
        .or_else(|| mime_guess::from_path(&key).first_raw().map(str::to_string))
        .unwrap_or_else(|| mime::APPLICATION_OCTET_STREAM.to_string());
    let mut metadata = Vec::new();
    let mut checksums = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let name = name.as_str();
        if let Some(meta) = name.strip_prefix(META_PREFIX) {
            metadata.push((meta.to_string(), value.to_string()));
        } else if let Some(algorithm) = name.strip_prefix(CHECKSUM_PREFIX)
            && algorithm != "algorithm"
            && algorithm != "type"
        {
            checksums.push((algorithm.to_string(), value.to_string()));
        }
    }
    PutObject {
        content_type,
        metadata,
        checksums,
        cache_control: header(headers, "cache-control"),
        content_disposition: header(headers, "content-disposition"),
        content_encoding: header(headers, "content-encoding"),
        content_language: header(headers, "content-language"),
        expires: header(headers, "expires"),
        acl: header(headers, "x-amz-acl"),
        storage_class: header(headers, "x-amz-storage-class"),
        content_md5: header(headers, "content-md5"),
        if_none_match: header(headers, "if-none-match"),
        bucket,
        key,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(bucket: &str, key: &str) -> S3Path {
        S3Path::Object {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    #[test]
    fn raw_paths_and_parameters_name_the_same_keys() {
        let bucket = || S3Path::Bucket {
            bucket: "my-bucket".into(),
        };
        let cases: Vec<(PathSource, S3Path)> = vec![
            (PathSource::Raw("/"), S3Path::Root),
            (PathSource::Raw(""), S3Path::Root),
            (PathSource::Raw("/my-bucket"), bucket()),
            (PathSource::Raw("/my-bucket/"), bucket()),
            (
                PathSource::Raw("/my-bucket/a.txt"),
                obj("my-bucket", "a.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/a%2Fb.txt"),
                obj("my-bucket", "a/b.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/a/b.txt"),
                obj("my-bucket", "a/b.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/a%2fb.txt"),
                obj("my-bucket", "a/b.txt"),
            ),
            (PathSource::Raw("/my-bucket/dir/"), obj("my-bucket", "dir/")),
            (
                PathSource::Raw("/my-bucket/my%20file+1.txt"),
                obj("my-bucket", "my file+1.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/100%25.txt"),
                obj("my-bucket", "100%.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/%C3%A9t%C3%A9.txt"),
                obj("my-bucket", "été.txt"),
            ),
            (
                PathSource::Raw("/my-bucket/%2e%2e/x"),
                obj("my-bucket", "../x"),
            ),
            (
                PathSource::Params {
                    folder: "my-bucket",
                    item: None,
                },
                bucket(),
            ),
            (
                PathSource::Params {
                    folder: "my-bucket",
                    item: Some("a%2Fb.txt"),
                },
                obj("my-bucket", "a/b.txt"),
            ),
            (
                PathSource::Params {
                    folder: "my-bucket",
                    item: Some("a/b.txt"),
                },
                obj("my-bucket", "a/b.txt"),
            ),
            (
                PathSource::Params {
                    folder: "my-bucket",
                    item: Some("%E6%97%A5%E6%9C%AC+x%2520y"),
                },
                obj("my-bucket", "日本+x%20y"),
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(parse_path(source), Ok(expected), "{source:?}");
        }
    }

    #[test]
    fn bad_names_are_refused_before_s3() {
        let long_key = format!("/my-bucket/{}", "k".repeat(1025));
        let cases: Vec<(&str, &str)> = vec![
            ("/MyBucket/x", "InvalidBucketName"),
            ("/ab/x", "InvalidBucketName"),
            ("/my_bucket", "InvalidBucketName"),
            ("/-bucket", "InvalidBucketName"),
            ("/bucket./x", "InvalidBucketName"),
            ("/my..bucket", "InvalidBucketName"),
            ("/192.168.1.1", "InvalidBucketName"),
            ("/xn--bucket", "InvalidBucketName"),
            ("/..", "InvalidBucketName"),
            ("/my%2Fbucket/x", "InvalidBucketName"),
            (&long_key, "KeyTooLongError"),
            ("/my-bucket/%FF", "InvalidArgument"),
            ("/my-bucket/%20", "InvalidArgument"),
            ("/my-bucket/%20%09", "InvalidArgument"),
        ];
        for (raw, code) in cases {
            let err = parse_path(PathSource::Raw(raw)).unwrap_err();
            assert_eq!(err.code(), code, "{raw}");
        }
        let key_1024 = format!("/my-bucket/{}", "é".repeat(512));
        assert!(parse_path(PathSource::Raw(&key_1024)).is_ok());
    }

    #[test]
    fn methods_route_by_path_shape() {
        let none = HeaderMap::new();
        let cases = [
            ("GET", "/", Ok("ListBuckets")),
            ("GET", "/b-1", Ok("ListObjectsV2")),
            ("PUT", "/b-1", Ok("CreateBucket")),
            ("DELETE", "/b-1", Ok("DeleteBucket")),
            ("GET", "/b-1/k", Ok("GetObject")),
            ("HEAD", "/b-1/k", Ok("HeadObject")),
            ("PUT", "/b-1/k", Ok("PutObject")),
            ("DELETE", "/b-1/k", Ok("DeleteObject")),
            ("POST", "/", Err("GET")),
            ("HEAD", "/", Err("GET")),
            ("POST", "/b-1", Err("GET, PUT, DELETE")),
            ("PATCH", "/b-1/k", Err("GET, PUT, HEAD, DELETE, POST")),
            ("OPTIONS", "/b-1/k", Err("GET, PUT, HEAD, DELETE, POST")),
        ];
        for (method, path, expected) in cases {
            let method: Method = method.parse().unwrap();
            let got = route(&method, PathSource::Raw(path), &[], &none, Bytes::new());
            match (got, expected) {
                (Ok(op), Ok(name)) => assert_eq!(op.name(), name, "{method} {path}"),
                (Err(ApiError::MethodNotAllowed { allow, .. }), Err(expected)) => {
                    assert_eq!(allow, expected, "{method} {path}")
                }
                (got, _) => panic!("{method} {path}: {got:?}"),
            }
        }
    }

    #[test]
    fn uploads_route_by_query() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let none = HeaderMap::new();
        let path = PathSource::Raw("/b-1/big.bin");
        let post = Method::POST;
        let op = route(
            &post,
            path,
            &q(&[("uploads", ""), ("size", "7000000000")]),
            &none,
            Bytes::new(),
        )
        .unwrap();
        let Operation::PresignUpload(up) = op else {
            panic!("{op:?}")
        };
        assert_eq!(
            (up.key.as_str(), up.size, up.parts),
            ("big.bin", Some(7_000_000_000), None)
        );

        let body = Bytes::from_static(
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>\
              <Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>",
        );
        let op = route(&post, path, &q(&[("uploadId", "u1")]), &none, body).unwrap();
        assert_eq!(
            op,
            Operation::CompleteUpload {
                bucket: "b-1".into(),
                key: "big.bin".into(),
                upload_id: "u1".into(),
                parts: vec![(1, "\"a\"".into()), (2, "\"b\"".into())],
            }
        );
        let op = route(
            &Method::DELETE,
            path,
            &q(&[("uploadId", "u1")]),
            &none,
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(op.name(), "AbortMultipartUpload");

        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (q(&[]), "InvalidArgument"),
            (q(&[("uploads", ""), ("size", "-1")]), "InvalidArgument"),
            (q(&[("uploads", ""), ("parts", "0")]), "InvalidArgument"),
            (q(&[("uploads", ""), ("parts", "1001")]), "InvalidArgument"),
        ];
        for (query, code) in cases {
            let err = route(&post, path, &query, &none, Bytes::new()).unwrap_err();
            assert_eq!(err.code(), code, "{query:?}");
        }
        let err = route(
            &post,
            path,
            &q(&[("uploadId", "u1")]),
            &none,
            Bytes::from_static(b"<x/>"),
        )
        .unwrap_err();
        assert_eq!(err.code(), "MalformedXML");
    }

    #[test]
    fn list_queries_are_checked() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let got = list_query(&q(&[
            ("prefix", "photos/"),
            ("delimiter", "/"),
            ("max-keys", "2"),
            ("continuation-token", "abc"),
            ("start-after", "photos/a"),
        ]))
        .unwrap();
        assert_eq!(got.prefix.as_deref(), Some("photos/"));
        assert_eq!(got.max_keys, Some(2));
        assert_eq!(got.continuation_token.as_deref(), Some("abc"));
        for bad in ["0", "1001", "ten", "-1"] {
            assert_eq!(
                list_query(&q(&[("max-keys", bad)])).unwrap_err().code(),
                "InvalidArgument",
                "{bad}"
            );
        }
    }

    #[test]
    fn create_bucket_reads_its_optional_configuration() {
        let cases: Vec<(&str, Result<Option<&str>, &str>)> = vec![
            ("", Ok(None)),
            ("  \n", Ok(None)),
            (
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
                Ok(Some("eu-west-1")),
            ),
            ("<CreateBucketConfiguration/>", Ok(None)),
            (
                "<CreateBucketConfiguration><LocationConstraint>",
                Err("MalformedXML"),
            ),
            ("not xml", Err("MalformedXML")),
        ];
        for (body, expected) in cases {
            let got = location_constraint(body.as_bytes());
            match expected {
                Ok(loc) => assert_eq!(got.unwrap().as_deref(), loc, "{body}"),
                Err(code) => assert_eq!(got.unwrap_err().code(), code, "{body}"),
            }
        }
    }

    #[test]
    fn put_takes_type_metadata_and_checksums_from_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-meta-owner", "ana".parse().unwrap());
        headers.insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
        headers.insert("x-amz-checksum-algorithm", "CRC32".parse().unwrap());
        headers.insert("cache-control", "max-age=60".parse().unwrap());
        let put = put_object(
            "b-1".into(),
            "photo.png".into(),
            &headers,
            Bytes::from_static(b"x"),
        );
        assert_eq!(put.content_type, "image/png");
        assert_eq!(put.metadata, vec![("owner".to_string(), "ana".to_string())]);
        assert_eq!(
            put.checksums,
            vec![("crc32".to_string(), "AAAAAA==".to_string())]
        );
        assert_eq!(put.cache_control.as_deref(), Some("max-age=60"));

        let cases = [
            (
                Some("text/plain; charset=latin1"),
                "a.png",
                "text/plain; charset=latin1",
            ),
            (None, "a.json", "application/json"),
            (None, "noextension", "application/octet-stream"),
            (Some(""), "x.bin", "application/octet-stream"),
        ];
        for (given, key, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(t) = given {
                headers.insert("content-type", t.parse().unwrap());
            }
            let put = put_object("b-1".into(), key.into(), &headers, Bytes::new());
            assert_eq!(put.content_type, expected, "{given:?} {key}");
        }
    }

    #[test]
    fn digests_are_checked_against_the_body() {
        let cases = [
            ("content-md5", "XUFAKrxLKna5cZ2REBfFkg==", None),
            ("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==", Some("BadDigest")),
            ("content-md5", "not base64!", Some("InvalidDigest")),
            ("content-md5", "AAAA", Some("InvalidDigest")),
            ("x-amz-checksum-crc32", "NhCmhg==", None),
            ("x-amz-checksum-crc32", "AAAAAA==", Some("BadDigest")),
            (
                "x-amz-checksum-sha256",
                "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
                None,
            ),
            (
                "x-amz-checksum-sha256",
                "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCR=",
                Some("BadDigest"),
            ),
            ("x-amz-checksum-sha1", "qvTGHdzF6KLavt4PO0gs2a6pQ00=", None),
            ("x-amz-checksum-whirlpool", "AAAA", Some("InvalidArgument")),
        ];
        for (name, md5, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(http::HeaderName::from_static(name), md5.parse().unwrap());
            let got = route(
                &Method::PUT,
                PathSource::Raw("/b-1/k"),
                &[],
                &headers,
                Bytes::from_static(b"hello"),
            );
            assert_eq!(
                got.err().map(|e| e.code().to_string()).as_deref(),
                expected,
                "{name}: {md5}"
            );
        }
    }

    #[test]
    fn policy_is_checked_before_s3() {
        let put = |size: usize| {
            Operation::PutObject(Box::new(PutObject {
                bucket: "photos".into(),
                key: "k".into(),
                body: Bytes::from(vec![0u8; size]),
                ..Default::default()
            }))
        };
        let get = Operation::GetObject(ObjectRead {
            bucket: "photos".into(),
            key: "k".into(),
            ..Default::default()
        });
        let other = Operation::ListObjects {
            bucket: "secrets".into(),
            list: ListQuery::default(),
        };
        let create = Operation::CreateBucket {
            bucket: "photos".into(),
            location: None,
            acl: None,
        };
        let open = Config::default();
        let limited = Config {
            allowed_buckets: vec!["photos".into()],
            read_only: true,
            inline_limit: 10,
            ..Config::default()
        };
        let no_admin = Config {
            allow_bucket_admin: false,
            ..Config::default()
        };
        let cases: Vec<(&Config, &Operation, Option<&str>)> = vec![
            (&open, &get, None),
            (&open, &other, None),
            (&limited, &get, None),
            (&limited, &other, Some("AccessDenied")),
            (&limited, &create, Some("AccessDenied")),
            (&no_admin, &create, Some("AccessDenied")),
            (&no_admin, &get, None),
        ];
        for (config, op, expected) in cases {
            let got = authorize(config, op, "/x")
                .err()
                .map(|e| e.code().to_string());
            assert_eq!(got.as_deref(), expected, "{op:?}");
        }
        let small = Config {
            inline_limit: 10,
            ..Config::default()
        };
        assert!(authorize(&small, &put(10), "/photos/k").is_ok());
        let err = authorize(&small, &put(11), "/photos/k").unwrap_err();
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.public_message().contains("POST /photos/k?uploads"));
    }
}
