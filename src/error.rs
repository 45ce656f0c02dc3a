//! `ApiError`: the one error type of the proxy.
//!
//! Every failure — a bad request caught before S3, an error S3 answered, a
//! backend that cannot be reached — becomes an `ApiError`. It knows its HTTP
//! status (one table, [`status_for_code`], which its code names) and renders itself as the S3-style
//! `<Error>` document (or JSON when the client asked for it). A 5xx body never
//! carries internal detail: the detail is logged by the caller before the
//! conversion, and the body says only what S3 would say.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as SmithyResponse;
use http::StatusCode;

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No route matches the path (only reachable with a hand-written event).
    #[error("no such resource: {0}")]
    NoSuchResource(String),
    /// The path exists but not for this method.
    #[error("method {method} is not allowed here (allowed: {allow})")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("The specified bucket is not valid: {0:?}")]
    InvalidBucketName(String),
    #[error("Your key is too long: {len} bytes (S3 allows 1024)")]
    KeyTooLong { len: usize },
    /// A request argument (query parameter or header) that S3 would refuse.
    #[error("{0}")]
    InvalidArgument(String),
    /// An `x-amz-storage-class` that names no storage class (empty).
    #[error("The storage class you specified is not valid: {0}")]
    InvalidStorageClass(String),
    /// A request S3 would refuse as a whole (a header given twice).
    #[error("{0}")]
    InvalidRequest(String),
    /// Content-MD5 is not the MD5 of the body the proxy received.
    #[error("The Content-MD5 you specified did not match what we received.")]
    BadDigest,
    /// An `x-amz-checksum-*` (its algorithm named as S3 names it) is not the
    /// checksum of the body the proxy received.
    #[error("The {0} you specified did not match the calculated checksum.")]
    ChecksumMismatch(&'static str),
    #[error("The Content-MD5 you specified was invalid.")]
    InvalidDigest,
    #[error("The XML you provided was not well-formed: {0}")]
    MalformedXml(String),
    /// The event said `isBase64Encoded: true` but the body is not base64.
    #[error("The request body is marked isBase64Encoded but is not valid base64")]
    InvalidBase64,
    /// A request body over the inline limit: the upload must go to S3 directly.
    #[error(
        "The request body is {size} bytes; this API accepts at most {limit} bytes inline. \
         Ask for a presigned upload URL with POST {upload_path}?uploads and PUT the bytes there"
    )]
    PayloadTooLarge {
        size: usize,
        limit: usize,
        upload_path: String,
    },
    /// The object is binary but the client's Accept header does not match the
    /// API's binaryMediaTypes, so API Gateway would hand it base64 text.
    #[error(
        "The object is binary ({content_type}); send an Accept header that matches the \
         API's binaryMediaTypes ({binary_media_types}) to receive its bytes"
    )]
    NotAcceptable {
        content_type: String,
        binary_media_types: String,
    },
    /// Blocked by configuration (ALLOWED_BUCKETS, READ_ONLY, ...).
    #[error("{0}")]
    AccessDenied(String),
    /// A sub-resource, parameter or header this API does not implement.
    #[error("Not implemented: {0}")]
    NotImplemented(String),
    /// The bucket lives in another region than the one this API calls
    /// (S3's 301 PermanentRedirect).
    #[error(
        "The bucket is in another region{}; this API reaches S3 in its own region",
        .bucket_region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    WrongRegion { bucket_region: Option<String> },
    /// S3 answered with an error: its code and message are kept.
    #[error("S3 answered {code}: {message}")]
    S3 {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// A conditional GET whose condition says "you already have it"; the
    /// validators S3 sent go back with the 304.
    #[error("Not Modified")]
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// S3 could not be reached (connection refused, DNS, TLS).
    #[error("The storage backend could not be reached")]
    BackendUnreachable,
    /// S3 answered something that is not an S3 answer.
    #[error("The storage backend sent an answer that could not be read")]
    BadBackendAnswer(String),
    /// A PUT asked for server-side encryption the storage did not confirm:
    /// the object may be stored without it, and the client must know.
    #[error(
        "The storage backend did not confirm the encryption asked for ({0}): \
         the object may be stored without it"
    )]
    EncryptionNotConfirmed(String),
    /// The object's bytes did not match the checksum the storage sent with
    /// them (the detail, which checksum, is logged).
    #[error("The storage backend returned a corrupted body: its checksum did not match")]
    CorruptedBody(String),
    /// S3 did not answer in time.
    #[error("The storage backend did not answer in time")]
    BackendTimeout,
    /// A CORS preflight (`OPTIONS`) refused: `AccessForbidden` (403), or
    /// `BadRequest` (400) when it is not a preflight at all, as S3 answers.
    #[error("{0}")]
    Cors(#[from] crate::cors::Refusal),
    /// Anything else: the detail is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The one table from error code to HTTP status: S3's codes and the
/// proxy's own. A code it does not know keeps `fallback` (the status S3
/// sent, for S3's codes; 500 for ours).
pub fn status_for_code(code: &str, fallback: u16) -> StatusCode {
    let status = match code {
        "NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload" | "NoSuchVersion"
        | "NoSuchResource" => 404,
        "AccessDenied"
        | "AllAccessDisabled"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "AccountProblem"
        | "RequestTimeTooSkewed"
        | "AccessForbidden" => 403,
        "BucketNotEmpty"
        | "BucketAlreadyExists"
        | "BucketAlreadyOwnedByYou"
        | "OperationAborted"
        | "ConditionalRequestConflict" => 409,
        "PreconditionFailed" => 412,
        "InvalidRange" => 416,
        "NotModified" => 304,
        "InvalidBucketName"
        | "KeyTooLongError"
        | "InvalidArgument"
        | "InvalidRequest"
        | "MalformedXML"
        | "BadDigest"
        | "InvalidDigest"
        | "InvalidBase64"
        | "InvalidLocationConstraint"
        | "IllegalLocationConstraintException"
        | "InvalidStorageClass"
        | "EntityTooSmall"
        | "InvalidBucketAclWithObjectOwnership"
        | "AccessControlListNotSupported"
        | "MetadataTooLarge"
        | "InvalidPart"
        | "InvalidPartOrder"
        | "XAmzContentSHA256Mismatch"
        | "BadRequest" => 400,
        "MethodNotAllowed" => 405,
        "NotAcceptable" => 406,
        "MissingContentLength" => 411,
        "EntityTooLarge" => 413,
        "NotImplemented" => 501,
        "PermanentRedirect" => 400,
        "BadGateway" => 502,
        "SlowDown" | "ServiceUnavailable" => 503,
        "GatewayTimeout" => 504,
        "InternalError" => 500,
        _ => fallback,
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

impl ApiError {
    /// The HTTP status: the one the code has in [`status_for_code`].
    pub fn status(&self) -> StatusCode {
        let fallback = match self {
            Self::S3 { status, .. } => *status,
            _ => 500,
        };
        status_for_code(self.code(), fallback)
    }

    /// The S3-style error code.
    pub fn code(&self) -> &str {
        match self {
            Self::NoSuchResource(_) => "NoSuchResource",
            Self::MethodNotAllowed { .. } => "MethodNotAllowed",
            Self::InvalidBucketName(_) => "InvalidBucketName",
            Self::KeyTooLong { .. } => "KeyTooLongError",
            Self::InvalidArgument(_) => "InvalidArgument",
            Self::InvalidStorageClass(_) => "InvalidStorageClass",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::MalformedXml(_) => "MalformedXML",
            Self::BadDigest | Self::ChecksumMismatch(_) => "BadDigest",
            Self::InvalidDigest => "InvalidDigest",
            Self::InvalidBase64 => "InvalidBase64",
            Self::PayloadTooLarge { .. } => "EntityTooLarge",
            Self::NotAcceptable { .. } => "NotAcceptable",
            Self::AccessDenied(_) => "AccessDenied",
            Self::NotImplemented(_) => "NotImplemented",
            Self::WrongRegion { .. } => "PermanentRedirect",
            Self::S3 { code, .. } => code,
            Self::NotModified { .. } => "NotModified",
            Self::BackendUnreachable
            | Self::BadBackendAnswer(_)
            | Self::CorruptedBody(_)
            | Self::EncryptionNotConfirmed(_) => "BadGateway",
            Self::BackendTimeout => "GatewayTimeout",
            Self::Internal(_) => "InternalError",
            Self::Cors(refusal) => refusal.code(),
        }
    }

    /// The message a client sees. Server-side failures say nothing internal.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "We encountered an internal error. Please try again.".into(),
            Self::BadBackendAnswer(_) => {
                "The storage backend sent an answer that could not be read".into()
            }
            Self::CorruptedBody(_) => {
                "The storage backend returned a corrupted body: its checksum did not match".into()
            }
            Self::S3 { message, code, .. } if message.is_empty() || self.hides_detail() => {
                default_message(code).into()
            }
            Self::S3 { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// An S3 error whose message can name the account, the role or a KMS
    /// key ARN (access denied, KMS failures): the caller gets S3's code
    /// with a generic message; the whole message goes to the log.
    pub fn hides_detail(&self) -> bool {
        matches!(self, Self::S3 { status, code, .. } if *status == 403 || code.starts_with("KMS."))
    }

    /// Headers that belong with this error (`Allow` for a 405, `Retry-After`
    /// for a throttled request).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed { allow, .. } => vec![("allow", (*allow).to_string())],
            Self::NotModified {
                etag,
                last_modified,
            } => [("etag", etag), ("last-modified", last_modified)]
                .into_iter()
                .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
                .collect(),
            Self::S3 { .. } if self.status() == StatusCode::SERVICE_UNAVAILABLE => {
                vec![("retry-after", "1".to_string())]
            }
            Self::WrongRegion {
                bucket_region: Some(region),
            } => vec![("x-amz-bucket-region", region.clone())],
            _ => Vec::new(),
        }
    }

    /// The S3 request id, when S3 answered.
    pub fn s3_request_id(&self) -> Option<&str> {
        match self {
            Self::S3 { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Maps any aws-sdk-s3 error, keeping S3's code and message.
    pub fn from_sdk<E>(err: SdkError<E, SmithyResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                if status == 304 {
                    return Self::not_modified(ctx.raw());
                }
                let meta = ctx.err();
                if let Some(wrong) = Self::wrong_region(ctx.raw(), meta.code()) {
                    return wrong;
                }
                if status < 400 {
                    return Self::BadBackendAnswer(format!(
                        "status {status} with an error: {err:?}"
                    ));
                }
                let code = meta
                    .code()
                    .map(str::to_string)
                    .unwrap_or_else(|| code_for_status(status).to_string());
                Self::S3 {
                    status,
                    code,
                    message: meta.message().unwrap_or_default().to_string(),
                    request_id: ctx
                        .raw()
                        .headers()
                        .get("x-amz-request-id")
                        .map(str::to_string),
                }
            }
            SdkError::TimeoutError(_) => Self::BackendTimeout,
            SdkError::DispatchFailure(failure) => {
                if failure.is_timeout() {
                    Self::BackendTimeout
                } else {
                    Self::BackendUnreachable
                }
            }
            SdkError::ResponseError(ctx) => {
                let status = ctx.raw().status().as_u16();
                if status == 304 {
                    Self::not_modified(ctx.raw())
                } else if let Some(wrong) = Self::wrong_region(ctx.raw(), None) {
                    wrong
                } else {
                    Self::BadBackendAnswer(format!(
                        "unreadable S3 response (status {status}): {err:?}"
                    ))
                }
            }
            _ => Self::Internal(format!("{err:?}")),
        }
    }
}

impl ApiError {
    /// S3's answer for a bucket in another region: 301 PermanentRedirect
    /// (no body on HEAD), or a signature scoped to the wrong region.
    fn wrong_region(raw: &SmithyResponse, code: Option<&str>) -> Option<Self> {
        let bucket_region = raw.headers().get("x-amz-bucket-region").map(str::to_string);
        let redirect = raw.status().as_u16() == 301 || code == Some("PermanentRedirect");
        let region_mismatch =
            code == Some("AuthorizationHeaderMalformed") && bucket_region.is_some();
        (redirect || region_mismatch).then_some(Self::WrongRegion { bucket_region })
    }

    fn not_modified(raw: &SmithyResponse) -> Self {
        let header = |name| raw.headers().get(name).map(str::to_string);
        Self::NotModified {
            etag: header("etag"),
            last_modified: header("last-modified"),
        }
    }
}

/// The code S3 means by a bare status (HEAD answers carry no body).
fn code_for_status(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        403 => "AccessDenied",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        503 => "SlowDown",
        500 => "InternalError",
        _ => "UnknownError",
    }
}

fn default_message(code: &str) -> &'static str {
    match code {
        "NotFound" | "NoSuchKey" => "The specified key does not exist.",
        "NoSuchBucket" => "The specified bucket does not exist.",
        "AccessDenied"
        | "AllAccessDisabled"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "AccountProblem" => "Access Denied",
        code if code.starts_with("KMS.") => "The object's KMS key could not be used",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "SlowDown" => "Please reduce your request rate.",
        _ => "The request could not be completed.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_codes_keep_their_meaning() {
        let cases = [
            ("NoSuchKey", 500, 404),
            ("NoSuchBucket", 500, 404),
            ("NotFound", 404, 404),
            ("AccessDenied", 403, 403),
            ("BucketNotEmpty", 409, 409),
            ("BucketAlreadyExists", 409, 409),
            ("BucketAlreadyOwnedByYou", 409, 409),
            ("PreconditionFailed", 412, 412),
            ("InvalidRange", 416, 416),
            ("NotModified", 304, 304),
            ("InvalidBucketName", 400, 400),
            ("SlowDown", 503, 503),
            ("SomethingNew", 418, 418),
        ];
        for (code, sent, expected) in cases {
            assert_eq!(status_for_code(code, sent).as_u16(), expected, "{code}");
        }
    }

    #[test]
    fn every_variant_has_its_status_in_the_one_table() {
        let cases = [
            (ApiError::NoSuchResource("/x".into()), 404),
            (
                ApiError::MethodNotAllowed {
                    method: "POST".into(),
                    allow: "GET",
                },
                405,
            ),
            (ApiError::InvalidBucketName("B".into()), 400),
            (ApiError::KeyTooLong { len: 2000 }, 400),
            (ApiError::InvalidArgument("x".into()), 400),
            (ApiError::InvalidStorageClass("x".into()), 400),
            (ApiError::InvalidRequest("x".into()), 400),
            (ApiError::BadDigest, 400),
            (ApiError::ChecksumMismatch("CRC32"), 400),
            (ApiError::InvalidDigest, 400),
            (ApiError::MalformedXml("x".into()), 400),
            (ApiError::InvalidBase64, 400),
            (
                ApiError::PayloadTooLarge {
                    size: 2,
                    limit: 1,
                    upload_path: "/b/k".into(),
                },
                413,
            ),
            (
                ApiError::NotAcceptable {
                    content_type: "image/png".into(),
                    binary_media_types: "image/png".into(),
                },
                406,
            ),
            (ApiError::AccessDenied("x".into()), 403),
            (
                ApiError::NotModified {
                    etag: None,
                    last_modified: None,
                },
                304,
            ),
            (ApiError::BackendUnreachable, 502),
            (ApiError::BadBackendAnswer("x".into()), 502),
            (ApiError::CorruptedBody("x".into()), 502),
            (ApiError::EncryptionNotConfirmed("SSE-C".into()), 502),
            (ApiError::NotImplemented("x".into()), 501),
            (
                ApiError::WrongRegion {
                    bucket_region: None,
                },
                400,
            ),
            (ApiError::BackendTimeout, 504),
            (ApiError::Internal("x".into()), 500),
        ];
        for (err, status) in cases {
            assert_eq!(err.status().as_u16(), status, "{}", err.code());
        }
    }

    #[test]
    fn server_errors_hide_internals() {
        let err = ApiError::Internal("connection to 10.0.0.1 failed: secret detail".into());
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.public_message().contains("10.0.0.1"));
        assert_eq!(
            ApiError::BackendUnreachable.status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            ApiError::BackendTimeout.status(),
            StatusCode::GATEWAY_TIMEOUT
        );
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let err = ApiError::MethodNotAllowed {
            method: "POST".into(),
            allow: "GET, PUT, DELETE",
        };
        assert_eq!(
            err.headers(),
            vec![("allow", "GET, PUT, DELETE".to_string())]
        );
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let err = ApiError::S3 {
            status: 503,
            code: "SlowDown".into(),
            message: String::new(),
            request_id: None,
        };
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.headers()[0].0, "retry-after");
        assert_eq!(err.public_message(), "Please reduce your request rate.");
    }
}
