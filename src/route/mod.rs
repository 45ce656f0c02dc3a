//! Routing: pure. `(method, path, query, headers, body) -> Operation | ApiError`.
//!
//! The path comes from the event's path parameters when API Gateway matched a
//! resource (`/{folder}`, `/{folder}/{item}`, `/{folder}/{item+}`, `/{proxy+}`),
//! else from the stage-free raw path — never from `uri().path()`, which carries
//! `/{stage}`. REST APIs hand both over still percent-encoded, so each is
//! decoded exactly once here: `a%2Fb.txt` in one segment and `a/b.txt` over two
//! segments name the same key, and `%25`, `+`, spaces and Unicode survive.
//! Whether a routed operation is allowed is [`crate::policy`]'s question.

mod objects;

use objects::{object_read, put_object};

use crate::documents;
use crate::error::ApiError;
use crate::operation::{ListObjectsQuery, MAX_PLANNED_PARTS, Operation, PutObject, UploadRequest};
use bytes::Bytes;
use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;

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
    /// A greedy `{proxy+}` parameter: the path without its leading `/`.
    Proxy(&'a str),
}

impl<'a> PathSource<'a> {
    /// The path of an event: its path parameters when API Gateway matched a
    /// resource (`{folder}` and `{item}`/`{item+}` carry it in pieces, a
    /// greedy `{proxy+}` at the root whole), else its stage-free raw path.
    ///
    /// `resource` is the API's resource that matched (REST events). The
    /// root resource `/` names the root whatever the path says: behind a
    /// custom domain with a base path mapping (`/storage`), the event's
    /// `path` carries the base path, the resource does not.
    pub fn of_event(
        resource: Option<&str>,
        parameters: &'a HashMap<String, String>,
        raw_path: &'a str,
    ) -> Self {
        match (parameters.get("folder"), parameters.get("proxy")) {
            (Some(folder), _) => Self::Params {
                folder,
                item: parameters.get("item").map(String::as_str),
            },
            (None, Some(proxy)) => Self::Proxy(proxy),
            (None, None) if resource == Some("/") => Self::Raw("/"),
            (None, None) => Self::Raw(raw_path),
        }
    }
}

/// What the path names, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Path {
    Root,
    Bucket { bucket: String },
    Object { bucket: String, key: String },
}

/// Decodes the path into root, bucket or object, validating names.
pub fn parse_path(source: PathSource<'_>) -> Result<S3Path, ApiError> {
    let (bucket, key) = match source {
        PathSource::Params { folder, item } => (decode(folder)?, item.map(decode).transpose()?),
        PathSource::Raw(raw) | PathSource::Proxy(raw) => {
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
            Method::GET => Ok(Operation::ListObjectsV2 {
                bucket,
                list: list_query(query)?,
            }),
            Method::PUT => {
                verify_md5(headers, &body)?;
                Ok(Operation::CreateBucket {
                    bucket,
                    location: documents::location_constraint(&body)?,
                    acl: objects::canned_acl(headers, objects::BUCKET_ACLS)?,
                })
            }
            Method::DELETE => Ok(Operation::DeleteBucket { bucket }),
            _ => Err(not_allowed(ALLOW_BUCKET)),
        },
        S3Path::Object { bucket, key } => match *method {
            Method::GET => Ok(Operation::GetObject(object_read(
                bucket, key, query, headers,
            )?)),
            Method::HEAD => Ok(Operation::HeadObject(object_read(
                bucket, key, query, headers,
            )?)),
            Method::PUT => {
                let put = put_object(bucket, key, headers, body)?;
                put.verify_digests()?;
                Ok(Operation::PutObject(Box::new(put)))
            }
            Method::DELETE => match non_empty(query, "uploadId")? {
                Some(upload_id) => Ok(Operation::AbortMultipartUpload {
                    bucket,
                    key,
                    upload_id,
                }),
                None => Ok(Operation::DeleteObject {
                    version_id: non_empty(query, "versionId")?,
                    bucket,
                    key,
                }),
            },
            Method::POST if has_query(query, "uploads") => {
                if !body.is_empty() {
                    // Never dropped silently: a document sent here is meant
                    // for something this request does not do.
                    return Err(ApiError::InvalidRequest(
                        "POST ?uploads (a presigned upload plan) takes no body; the \
                         CompleteMultipartUpload document goes with ?uploadId=ID"
                            .into(),
                    ));
                }
                let request = UploadRequest {
                    size: number(query, "size", 0, 5 * (1 << 40))?,
                    parts: number(query, "parts", 1, MAX_PLANNED_PARTS)?.map(|n| n as u32),
                    content_type: header(headers, "content-type"),
                    bucket,
                    key,
                };
                if request.multipart() {
                    xml_carriable_key(&request.key)?;
                    request.parts_plan()?;
                }
                Ok(Operation::PresignUpload(request))
            }
            Method::POST => match non_empty(query, "uploadId")? {
                Some(upload_id) => Ok(Operation::CompleteMultipartUpload {
                    parts: {
                        xml_carriable_key(&key)?;
                        verify_md5(headers, &body)?;
                        documents::completed_parts(&body)?
                    },
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

/// A header's value as text. `name` is a `&str`, or a `HeaderName` made at
/// compile time where a request looks for it on every call (a `&str` is
/// parsed again at each lookup).
pub(crate) fn header(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<String> {
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

/// S3 names the key in its multipart answers, which are XML: a key holding a
/// character XML 1.0 cannot carry cannot go through a multipart upload.
fn xml_carriable_key(key: &str) -> Result<(), ApiError> {
    if documents::xml_safe(key) {
        return Ok(());
    }
    Err(ApiError::InvalidArgument(
        "a key with a control character cannot be uploaded in parts (S3's multipart \
         answers name the key in XML): upload it with one PUT"
            .into(),
    ))
}

/// A parameter that names something (an upload, a version): empty is an error.
pub(crate) fn non_empty(
    query: &[(String, String)],
    name: &str,
) -> Result<Option<String>, ApiError> {
    match query_value(query, name) {
        Some(v) if v.is_empty() => Err(ApiError::InvalidArgument(format!(
            "{name} must not be empty"
        ))),
        other => Ok(other),
    }
}

/// Content-MD5 on a request body other than an object's (which
/// [`PutObject::verify_digests`] checks): S3 checks it, so the proxy does.
fn verify_md5(headers: &HeaderMap, body: &Bytes) -> Result<(), ApiError> {
    PutObject {
        content_md5: header(headers, "content-md5"),
        body: body.clone(),
        ..PutObject::default()
    }
    .verify_digests()
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

fn list_query(query: &[(String, String)]) -> Result<ListObjectsQuery, ApiError> {
    if let Some(v) = query_value(query, "list-type")
        && v != "2"
    {
        return Err(ApiError::NotImplemented(format!(
            "list-type={v}: this API lists with ListObjectsV2 (list-type=2) only"
        )));
    }
    Ok(ListObjectsQuery {
        prefix: query_value(query, "prefix"),
        delimiter: query_value(query, "delimiter"),
        // S3 takes any whole number and answers at most 1000 keys.
        max_keys: number(query, "max-keys", 0, i32::MAX as u64)?.map(|n| n as i32),
        continuation_token: query_value(query, "continuation-token"),
        start_after: query_value(query, "start-after"),
        url_encoded: match query_value(query, "encoding-type") {
            None => false,
            Some(v) if v == "url" => true,
            Some(v) => {
                return Err(ApiError::InvalidArgument(format!(
                    "encoding-type must be url, not {v:?}"
                )));
            }
        },
    })
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
        // (raw path, or folder and item parameters) -> (bucket, key); "" is none.
        let raw: Vec<(&str, &str, &str)> = vec![
            ("/my-bucket", "my-bucket", ""),
            ("/my-bucket/", "my-bucket", ""),
            ("/my-bucket/a.txt", "my-bucket", "a.txt"),
            ("/my-bucket/a%2Fb.txt", "my-bucket", "a/b.txt"),
            ("/my-bucket/a/b.txt", "my-bucket", "a/b.txt"),
            ("/my-bucket/a%2fb.txt", "my-bucket", "a/b.txt"),
            ("/my-bucket/dir/", "my-bucket", "dir/"),
            ("/my-bucket/my%20file+1.txt", "my-bucket", "my file+1.txt"),
            ("/my-bucket/100%25.txt", "my-bucket", "100%.txt"),
            ("/my-bucket/%C3%A9t%C3%A9.txt", "my-bucket", "été.txt"),
            ("/my-bucket/%2e%2e/x", "my-bucket", "../x"),
        ];
        let params: Vec<(Option<&str>, &str)> = vec![
            (None, ""),
            (Some("a%2Fb.txt"), "a/b.txt"),
            (Some("a/b.txt"), "a/b.txt"),
            (Some("%E6%97%A5%E6%9C%AC+x%2520y"), "日本+x%20y"),
        ];
        let expected = |bucket: &str, key: &str| match key {
            "" => S3Path::Bucket {
                bucket: bucket.into(),
            },
            key => obj(bucket, key),
        };
        for (path, bucket, key) in raw {
            let want = Ok(expected(bucket, key));
            assert_eq!(parse_path(PathSource::Raw(path)), want, "{path}");
            let proxy = path.trim_start_matches('/');
            assert_eq!(parse_path(PathSource::Proxy(proxy)), want, "{proxy}");
        }
        for (item, key) in params {
            let source = PathSource::Params {
                folder: "my-bucket",
                item,
            };
            assert_eq!(
                parse_path(source),
                Ok(expected("my-bucket", key)),
                "{item:?}"
            );
        }
        for root in ["/", ""] {
            assert_eq!(parse_path(PathSource::Raw(root)), Ok(S3Path::Root));
        }
        // Behind a custom domain's base path mapping the path keeps the base
        // path; the matched resource `/` says it is the root (issue 12).
        let none = HashMap::new();
        for path in ["/storage", "/storage/", "/"] {
            let source = PathSource::of_event(Some("/"), &none, path);
            assert_eq!(parse_path(source), Ok(S3Path::Root), "{path}");
        }
        let source = PathSource::of_event(None, &none, "/storage");
        assert_eq!(parse_path(source), Ok(expected("storage", "")));
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
        let part = |n, etag: &str| crate::operation::CompletedPart {
            part_number: n,
            etag: etag.into(),
        };
        assert_eq!(
            op,
            Operation::CompleteMultipartUpload {
                bucket: "b-1".into(),
                key: "big.bin".into(),
                upload_id: "u1".into(),
                parts: vec![part(1, "\"a\""), part(2, "\"b\"")],
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
            // 5 GiB a part at most: 6 GiB in one part, or 5000 GiB + 1 byte
            // in the 1000 parts one plan carries, is refused before S3.
            (
                q(&[("uploads", ""), ("size", "6442450944"), ("parts", "1")]),
                "InvalidArgument",
            ),
            (
                q(&[("uploads", ""), ("size", "5368709120001")]),
                "InvalidArgument",
            ),
        ];
        for (query, code) in cases {
            let err = route(&post, path, &query, &none, Bytes::new()).unwrap_err();
            assert_eq!(err.code(), code, "{query:?}");
        }
        let err = route(
            &post,
            path,
            &q(&[("uploads", "")]),
            &none,
            Bytes::from_static(b"<CompleteMultipartUpload/>"),
        )
        .unwrap_err();
        assert_eq!(err.code(), "InvalidRequest");
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
        for good in ["0", "1001"] {
            let got = list_query(&q(&[("max-keys", good)])).unwrap();
            assert_eq!(got.max_keys, good.parse().ok(), "{good}");
        }
        for bad in ["ten", "-1", "2147483648", ""] {
            assert_eq!(
                list_query(&q(&[("max-keys", bad)])).unwrap_err().code(),
                "InvalidArgument",
                "{bad}"
            );
        }
    }
}
