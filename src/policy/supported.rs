//! What each operation takes besides its method and path: the query
//! parameters and S3 request headers it implements. Everything else is
//! refused before S3 is called.

use crate::error::ApiError;
use crate::operation::{Operation, ResponseOverrides};
use http::HeaderMap;

/// What one operation takes besides its method and path.
struct Accepts {
    /// Query parameters.
    query: &'static [&'static str],
    /// S3 request headers, by name.
    headers: &'static [&'static str],
    /// S3 request headers, by prefix (`x-amz-meta-`).
    prefixes: &'static [&'static str],
    /// GetObject's `response-*` overrides.
    overrides: bool,
}

const CONDITIONS: [&str; 4] = [
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

const SSE_C: [&str; 3] = [
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
];

const OBJECT_READ_HEADERS: [&str; 8] = [
    CONDITIONS[0],
    CONDITIONS[1],
    CONDITIONS[2],
    CONDITIONS[3],
    SSE_C[0],
    SSE_C[1],
    SSE_C[2],
    "x-amz-checksum-mode",
];

const PUT_OBJECT_HEADERS: [&str; 14] = [
    "if-match",
    "if-none-match",
    "x-amz-acl",
    "x-amz-storage-class",
    "x-amz-tagging",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
    "x-amz-server-side-encryption-bucket-key-enabled",
    SSE_C[0],
    SSE_C[1],
    SSE_C[2],
    "x-amz-checksum-algorithm",
    "x-amz-sdk-checksum-algorithm",
];

/// The checksum headers PutObject verifies (see [`crate::operation::ChecksumAlgorithm`]).
const PUT_OBJECT_CHECKSUMS: [&str; 5] = [
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
];

fn accepts(op: &Operation) -> Accepts {
    let none = Accepts {
        query: &[],
        headers: &[],
        prefixes: &[],
        overrides: false,
    };
    match op {
        Operation::ListBuckets | Operation::DeleteBucket { .. } => none,
        Operation::ListObjectsV2 { .. } => Accepts {
            query: &[
                "prefix",
                "delimiter",
                "max-keys",
                "continuation-token",
                "start-after",
                "list-type",
            ],
            ..none
        },
        Operation::CreateBucket { .. } => Accepts {
            headers: &["x-amz-acl"],
            ..none
        },
        Operation::GetObject(_) | Operation::HeadObject(_) => Accepts {
            query: &["versionId"],
            overrides: true,
            headers: &OBJECT_READ_HEADERS,
            ..none
        },
        Operation::PutObject(_) => Accepts {
            headers: &PUT_OBJECT_HEADERS,
            prefixes: &["x-amz-meta-"],
            ..none
        },
        Operation::DeleteObject { .. } => Accepts {
            query: &["versionId"],
            ..none
        },
        Operation::PresignUpload(_) => Accepts {
            query: &["uploads", "size", "parts"],
            ..none
        },
        Operation::CompleteMultipartUpload { .. } | Operation::AbortMultipartUpload { .. } => {
            Accepts {
                query: &["uploadId"],
                ..none
            }
        }
    }
}

/// Accepted on every route: SigV4 (header or query-string auth, already
/// checked by API Gateway), what CloudFront and SDKs add, and the owner
/// check every S3 call can carry.
const ANY_ROUTE_HEADERS: [&str; 6] = [
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amz-user-agent",
    "x-amz-cf-id",
    "x-amz-expected-bucket-owner",
];

/// SigV4 query-string authentication (API Gateway checks it).
fn is_signature_parameter(name: &str) -> bool {
    name.len() > 6 && name[..6].eq_ignore_ascii_case("X-Amz-")
}

/// Names S3 gives meaning to in a query: sub-resources and the parameters
/// of operations this API does not implement. Refused with 501.
const S3_PARAMETERS: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "bucket-region",
    "continuation-token",
    "cors",
    "delete",
    "delimiter",
    "encoding-type",
    "encryption",
    "fetch-owner",
    "intelligent-tiering",
    "inventory",
    "key-marker",
    "legal-hold",
    "lifecycle",
    "list-type",
    "location",
    "logging",
    "marker",
    "max-buckets",
    "max-keys",
    "max-parts",
    "max-uploads",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "optional-object-attributes",
    "ownershipControls",
    "part-number-marker",
    "partNumber",
    "policy",
    "policyStatus",
    "prefix",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "select-type",
    "session",
    "start-after",
    "tagging",
    "torrent",
    "upload-id-marker",
    "uploadId",
    "uploads",
    "version-id-marker",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Refuses, before any call to S3, what the operation does not implement:
/// an S3 sub-resource or parameter (501 NotImplemented, naming it), any
/// other query parameter (400 InvalidArgument), an `x-amz-*` or
/// conditional header the operation does not honour (501). A request that
/// passes is performed with every parameter and header it carries.
pub fn supported(
    op: &Operation,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let accepts = accepts(op);
    for (name, value) in query {
        let name = name.as_str();
        if accepts.query.contains(&name)
            || (accepts.overrides && ResponseOverrides::PARAMETERS.contains(&name))
            || is_signature_parameter(name)
        {
            continue;
        }
        if name == "x-id" {
            // SDKs name the operation they mean; it must be this one.
            if value == op.name() {
                continue;
            }
            return Err(ApiError::InvalidArgument(format!(
                "x-id={value} asks for another operation than this request's {}",
                op.name()
            )));
        }
        if S3_PARAMETERS.contains(&name) || name.starts_with("response-") {
            return Err(ApiError::NotImplemented(format!(
                "{name}: this API does not implement it on {}",
                op.name()
            )));
        }
        return Err(ApiError::InvalidArgument(format!(
            "the query parameter {name:?} means nothing to {}",
            op.name()
        )));
    }
    for name in headers.keys() {
        let name = name.as_str();
        let s3_header = name.starts_with("x-amz-") || CONDITIONS.contains(&name);
        let accepted = accepts.headers.contains(&name)
            || accepts.prefixes.iter().any(|p| name.starts_with(p))
            || (matches!(op, Operation::PutObject(_)) && PUT_OBJECT_CHECKSUMS.contains(&name))
            || (ANY_ROUTE_HEADERS.contains(&name)
                && !(name == "x-amz-expected-bucket-owner" && op.bucket().is_none()));
        if s3_header && !accepted {
            return Err(ApiError::NotImplemented(format!(
                "the header {name} is not implemented by this API on {}",
                op.name()
            )));
        }
    }
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    const CONTENT_SHA256: http::HeaderName = http::HeaderName::from_static("x-amz-content-sha256");
    if header(CONTENT_SHA256).is_some_and(|v| v.starts_with("STREAMING-"))
        || header(http::header::CONTENT_ENCODING).is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"))
        })
    {
        return Err(ApiError::NotImplemented(
            "aws-chunked (streaming SigV4) bodies: send the body as it is".into(),
        ));
    }
    if let Operation::PutObject(put) = op
        && put
            .if_none_match
            .as_deref()
            .is_some_and(|v| v.trim() != "*")
    {
        return Err(ApiError::NotImplemented(
            "If-None-Match on PutObject takes only * (create if absent)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// Issue 12: no request is turned into another operation, and no
    /// header it relies on is dropped.
    #[test]
    fn what_an_operation_does_not_implement_is_refused() {
        use crate::route::{PathSource, route};
        use http::{HeaderMap, Method};
        let check = |method: &str, path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]| {
            let query: Vec<(String, String)> = query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut map = HeaderMap::new();
            for (n, v) in headers {
                map.append(
                    http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            let method: Method = method.parse().unwrap();
            let op = route(&method, PathSource::Raw(path), &query, &map, Bytes::new())?;
            supported(&op, &query, &map)
        };
        let code = |r: Result<(), ApiError>| r.err().map(|e| e.code().to_string());
        type Pairs<'a> = Vec<(&'a str, &'a str)>;
        let cases: Vec<(&str, &str, Pairs, Pairs, Option<&str>)> = vec![
            (
                "PUT",
                "/b-1/k",
                vec![("tagging", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "DELETE",
                "/b-1/k",
                vec![("tagging", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "DELETE",
                "/b-1",
                vec![("cors", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "DELETE",
                "/b-1",
                vec![("policy", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1",
                vec![("versions", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![("acl", "")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![("partNumber", "1")],
                vec![],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![("cachebust", "1")],
                vec![],
                Some("InvalidArgument"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![("x-id", "PutObject")],
                vec![],
                Some("InvalidArgument"),
            ),
            ("GET", "/b-1/k", vec![("x-id", "GetObject")], vec![], None),
            ("GET", "/b-1/k", vec![("versionId", "v1")], vec![], None),
            ("DELETE", "/b-1/k", vec![("versionId", "v1")], vec![], None),
            (
                "GET",
                "/b-1/k",
                vec![("X-Amz-Signature", "abc")],
                vec![],
                None,
            ),
            (
                "GET",
                "/b-1",
                vec![("list-type", "2"), ("max-keys", "0")],
                vec![],
                None,
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-copy-source", "/b-1/other")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-object-lock-mode", "GOVERNANCE")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-website-redirect-location", "/x")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-tagging", "a=b"), ("if-match", "\"e\"")],
                None,
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-server-side-encryption", "AES256")],
                None,
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-meta-a", "1"), ("x-amz-checksum-crc32", "AAAAAA==")],
                None,
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("if-none-match", "\"e\"")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("if-unmodified-since", "Wed, 21 Oct 2015 07:28:00 GMT")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("content-encoding", "aws-chunked")],
                Some("NotImplemented"),
            ),
            (
                "PUT",
                "/b-1/k",
                vec![],
                vec![("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
                Some("NotImplemented"),
            ),
            (
                "DELETE",
                "/b-1/k",
                vec![],
                vec![("if-match", "\"e\"")],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![],
                vec![
                    ("x-amz-date", "20261126T000000Z"),
                    ("x-amz-security-token", "t"),
                ],
                None,
            ),
            (
                "GET",
                "/b-1/k",
                vec![],
                vec![("x-amz-request-payer", "requester")],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1",
                vec![],
                vec![("if-none-match", "\"e\"")],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/",
                vec![],
                vec![("x-amz-expected-bucket-owner", "123456789012")],
                Some("NotImplemented"),
            ),
            (
                "GET",
                "/b-1",
                vec![],
                vec![("x-amz-expected-bucket-owner", "123456789012")],
                None,
            ),
            (
                "DELETE",
                "/b-1/k",
                vec![("uploadId", "")],
                vec![],
                Some("InvalidArgument"),
            ),
            (
                "GET",
                "/b-1/k",
                vec![("versionId", "")],
                vec![],
                Some("InvalidArgument"),
            ),
            (
                "GET",
                "/b-1",
                vec![("list-type", "1")],
                vec![],
                Some("NotImplemented"),
            ),
        ];
        for (method, path, query, headers, expected) in cases {
            let got = code(check(method, path, &query, &headers));
            assert_eq!(
                got.as_deref(),
                expected,
                "{method} {path} {query:?} {headers:?}"
            );
        }
    }
}
