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

const PUT_OBJECT_HEADERS: [&str; 13] = [
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
    // Which x-amz-checksum-* the client computed (checked against it).
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
                "encoding-type",
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

/// Is `name` (lowercase) an S3 request header (`x-amz-*`, `If-*`) that
/// some operation takes? A CORS preflight may ask for exactly these
/// ([`crate::cors`]); the request itself is still checked per operation.
pub fn s3_header_taken(name: &str) -> bool {
    const META: &str = "x-amz-meta-";
    OBJECT_READ_HEADERS.contains(&name)
        || PUT_OBJECT_HEADERS.contains(&name)
        || PUT_OBJECT_CHECKSUMS.contains(&name)
        || ANY_ROUTE_HEADERS.contains(&name)
        || (name.len() > META.len() && name.starts_with(META))
}

/// SigV4 query-string authentication (API Gateway checks it).
fn is_signature_parameter(name: &str) -> bool {
    name.len() > 6
        && name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("X-Amz-"))
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

/// `x-amz-content-sha256` as S3 reads it: `UNSIGNED-PAYLOAD`, the hex
/// SHA-256 of the body (checked against the body the API received: a
/// client that hashed its payload is told when the bytes changed on the
/// way, 400 XAmzContentSHA256Mismatch), or a streaming mode (refused by
/// [`supported`]); any other value is S3's 400 InvalidArgument.
pub fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(value) = headers.get("x-amz-content-sha256") else {
        return Ok(());
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "UNSIGNED-PAYLOAD" || value.starts_with("STREAMING-") {
        return Ok(());
    }
    let hex = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex {
        return Err(ApiError::InvalidArgument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
             STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
             STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, \
             STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
                .into(),
        ));
    }
    let mut sha256 = aws_smithy_checksums::ChecksumAlgorithm::Sha256.into_impl();
    sha256.update(body);
    let computed = hex::encode(sha256.finalize());
    if !computed.eq_ignore_ascii_case(value) {
        return Err(ApiError::S3 {
            status: 400,
            code: "XAmzContentSHA256Mismatch".into(),
            message: "The provided 'x-amz-content-sha256' header does not match what was computed."
                .into(),
            request_id: None,
        });
    }
    Ok(())
}

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
    for (i, (name, _)) in query.iter().enumerate() {
        if query[..i].iter().any(|(seen, _)| seen == name) {
            return Err(ApiError::InvalidArgument(format!(
                "the query parameter {name:?} is given more than once"
            )));
        }
    }
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
        if (s3_header || name == "range") && headers.get_all(name).iter().nth(1).is_some() {
            return Err(ApiError::InvalidRequest(format!(
                "the header {name} is given more than once"
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
mod tests;
