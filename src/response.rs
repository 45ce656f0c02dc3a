//! Responses: pure. `Outcome | ApiError -> http::Response<lambda_http::Body>`.
//!
//! This module owns the text-or-binary decision for every body. The Lambda
//! boundary ([`crate::lambda`]) marks an answer `isBase64Encoded` exactly
//! when its body is `Body::Binary`, so the variant chosen here is what API
//! Gateway receives:
//! - object bytes go out as `Body::Binary` when API Gateway will decode them
//!   (the request's first Accept value matches binaryMediaTypes);
//! - otherwise as `Body::Text` when they are UTF-8, which passes unchanged;
//! - otherwise the bytes cannot cross API Gateway intact, and the client gets
//!   406 saying which Accept to send, rather than silently corrupted data.
//!
//! Listings, upload plans and errors are [`crate::documents`], written once
//! in the negotiated format: XML, or JSON when the first Accept value is
//! `application/json`.

use crate::documents::{
    self, ErrorDocument, Format, ListAllMyBucketsResult, ListBucketResult, PresignedUpload,
};
use crate::error::ApiError;
use crate::media::{BinaryMediaTypes, first_accept_value};
use crate::outcome::{EncryptionHeaders, ObjectMeta, Outcome, Stored};
use http::{HeaderValue, Response, StatusCode};
use lambda_http::Body;
use serde::Serialize;

/// What the client asked for, read from the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// The request's Accept header, whole.
    pub accept: Option<String>,
    /// A HEAD request: headers only, whatever happens.
    pub head: bool,
}

impl Negotiation {
    /// The format of documents: JSON when the first Accept value asks for it.
    pub fn format(&self) -> Format {
        let json = self
            .accept
            .as_deref()
            .and_then(first_accept_value)
            .is_some_and(|v| v.eq_ignore_ascii_case("application/json"));
        if json { Format::Json } else { Format::Xml }
    }
}

/// Builds a response from a successful outcome.
pub fn render(
    outcome: Outcome,
    neg: &Negotiation,
    binary: &BinaryMediaTypes,
) -> Result<Response<Body>, ApiError> {
    let mut builder = ResponseParts::new(StatusCode::OK);
    let format = neg.format();
    let body = match outcome {
        Outcome::Buckets(list) => builder.document(
            format,
            &ListAllMyBucketsResult {
                format,
                list: &list,
            },
        ),
        Outcome::Objects(list) => {
            let list = match format {
                Format::Xml => documents::xml_carriable(list),
                Format::Json => list,
            };
            builder.document(
                format,
                &ListBucketResult {
                    format,
                    list: &list,
                },
            )
        }
        Outcome::BucketCreated { location } => {
            builder.header_opt("location", location.as_deref());
            Body::Empty
        }
        Outcome::BucketDeleted => {
            builder.status = StatusCode::NO_CONTENT;
            Body::Empty
        }
        Outcome::ObjectDeleted {
            version_id,
            delete_marker,
        } => {
            builder.status = StatusCode::NO_CONTENT;
            builder.header_opt("x-amz-version-id", version_id.as_deref());
            if delete_marker {
                builder.header("x-amz-delete-marker", "true");
            }
            Body::Empty
        }
        Outcome::ObjectHead(meta) => {
            builder.object_headers(&meta);
            if meta.content_range.is_some() {
                builder.status = StatusCode::PARTIAL_CONTENT;
            }
            Body::Empty
        }
        Outcome::Object { meta, body } => {
            builder = ResponseParts::object(&meta);
            object_body(body, &meta, neg, binary)?
        }
        Outcome::TooLargeToInline { url, meta } => {
            builder.status = StatusCode::TEMPORARY_REDIRECT;
            builder.object_headers(&meta);
            builder.header("location", &url);
            // The client follows the Location; nothing of the object is here.
            builder.headers.remove(http::header::CONTENT_LENGTH);
            // The URL expires within minutes: no cache may keep the redirect
            // for as long as the object's own Cache-Control says.
            builder.headers.remove(http::header::EXPIRES);
            builder.headers.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            );
            Body::Empty
        }
        Outcome::ObjectStored(stored) | Outcome::UploadCompleted(stored) => {
            builder.stored_headers(&stored);
            Body::Empty
        }
        Outcome::UploadPlan(plan) if format == Format::Xml && !documents::xml_safe(&plan.key) => {
            return Err(ApiError::InvalidArgument(
                "the key holds a character XML 1.0 cannot carry: ask with Accept: application/json"
                    .into(),
            ));
        }
        Outcome::UploadPlan(plan) => builder.document(
            format,
            &PresignedUpload {
                format,
                plan: &plan,
            },
        ),
        Outcome::UploadAborted => {
            builder.status = StatusCode::NO_CONTENT;
            Body::Empty
        }
    };
    Ok(builder.finish(if neg.head { Body::Empty } else { body }))
}

/// A GET's answer whose body is streamed (stream mode): the status and
/// headers [`render`] gives the same object, Content-Length included.
pub fn streamed_object<B>(meta: &ObjectMeta, body: B) -> Response<B> {
    ResponseParts::object(meta).finish(body)
}

/// An HTML index page ([`crate::html`]), with its strict
/// Content-Security-Policy.
pub fn html_page(page: String) -> Response<Body> {
    let mut builder = ResponseParts::new(StatusCode::OK);
    for (name, value) in crate::html::HEADERS {
        builder.header(name, value);
    }
    builder.header(
        "content-security-policy",
        &crate::html::CONTENT_SECURITY_POLICY,
    );
    builder.finish(Body::Text(page))
}

/// The answer to an accepted CORS preflight: 200, no body, the preflight
/// headers ([`crate::cors::Cors::preflight`]).
pub fn preflight(headers: http::HeaderMap) -> Response<Body> {
    let mut builder = ResponseParts::new(StatusCode::OK);
    builder.headers = headers;
    builder.finish(Body::Empty)
}

/// The bytes of an object, as a body API Gateway will hand over intact.
fn object_body(
    bytes: bytes::Bytes,
    meta: &ObjectMeta,
    neg: &Negotiation,
    binary: &BinaryMediaTypes,
) -> Result<Body, ApiError> {
    if bytes.is_empty() {
        return Ok(Body::Empty);
    }
    if binary.decodes_for_accept(neg.accept.as_deref()) {
        return Ok(Body::Binary(Vec::from(bytes)));
    }
    match String::from_utf8(Vec::from(bytes)) {
        Ok(text) => Ok(Body::Text(text)),
        Err(_) => Err(ApiError::NotAcceptable {
            content_type: meta
                .content_type
                .clone()
                .unwrap_or_else(|| mime::APPLICATION_OCTET_STREAM.to_string()),
            binary_media_types: binary.to_string(),
        }),
    }
}

/// Builds the response for an error. `request_id` names this invocation.
pub fn render_error(
    err: &ApiError,
    neg: &Negotiation,
    request_id: &str,
    resource: &str,
) -> Response<Body> {
    let status = err.status();
    let mut builder = ResponseParts::new(status);
    for (name, value) in err.headers() {
        builder.header(name, &value);
    }
    builder.header_opt("x-amz-request-id", err.s3_request_id());
    let no_body = neg.head || status == StatusCode::NOT_MODIFIED;
    let body = if no_body {
        Body::Empty
    } else {
        let doc = ErrorDocument {
            code: err.code().to_string(),
            message: err.public_message(),
            resource: (!resource.is_empty()).then(|| resource.to_string()),
            request_id: request_id.to_string(),
            s3_request_id: err.s3_request_id().map(str::to_string),
        };
        builder.document(neg.format(), &doc)
    };
    builder.finish(body)
}

/// Headers gathered in order, then turned into a response once.
struct ResponseParts {
    status: StatusCode,
    headers: http::HeaderMap,
}

impl ResponseParts {
    fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: http::HeaderMap::with_capacity(16),
        }
    }

    /// A GET's status (206 for a range) and the object's headers.
    fn object(meta: &ObjectMeta) -> Self {
        let status = match meta.content_range {
            Some(_) => StatusCode::PARTIAL_CONTENT,
            None => StatusCode::OK,
        };
        let mut parts = Self::new(status);
        parts.object_headers(meta);
        parts
    }

    fn header(&mut self, name: &str, value: &str) {
        if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
            self.put(name, value);
        }
    }

    fn header_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.header(name, value);
        }
    }

    /// A header whose name is known here (not parsed per response).
    fn put(&mut self, name: http::HeaderName, value: &str) {
        // A value S3 accepted but HTTP cannot carry is dropped, not fatal.
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.append(name, value);
        }
    }

    fn put_opt(&mut self, name: http::HeaderName, value: Option<&str>) {
        if let Some(value) = value {
            self.put(name, value);
        }
    }

    /// A document in the negotiated format, with its Content-Type.
    fn document<T: Serialize>(&mut self, format: Format, doc: &T) -> Body {
        self.header("content-type", format.content_type());
        Body::Text(format.write(doc))
    }

    fn object_headers(&mut self, meta: &ObjectMeta) {
        // API Gateway gives a response without Content-Type `application/json`:
        // an object S3 keeps no type for is served the way S3 serves it.
        let content_type = meta
            .content_type
            .as_deref()
            .unwrap_or(mime::APPLICATION_OCTET_STREAM.as_ref());
        use http::header::{self as h, HeaderName};
        // Names made at compile time, not parsed per response.
        const TIMESTAMP: HeaderName = HeaderName::from_static("timestamp");
        const STORAGE_CLASS: HeaderName = HeaderName::from_static("x-amz-storage-class");
        const VERSION_ID: HeaderName = HeaderName::from_static("x-amz-version-id");
        const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
        self.put(h::CONTENT_TYPE, content_type);
        self.headers
            .append(h::CONTENT_LENGTH, HeaderValue::from(meta.content_length));
        self.headers
            .append(h::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        self.put_opt(h::CONTENT_RANGE, meta.content_range.as_deref());
        self.put_opt(h::ETAG, meta.etag.as_deref());
        self.put_opt(h::LAST_MODIFIED, meta.last_modified.as_deref());
        self.put_opt(TIMESTAMP, meta.date.as_deref());
        self.put_opt(h::CACHE_CONTROL, meta.cache_control.as_deref());
        self.put_opt(h::CONTENT_DISPOSITION, meta.content_disposition.as_deref());
        self.put_opt(h::CONTENT_ENCODING, meta.content_encoding.as_deref());
        self.put_opt(h::CONTENT_LANGUAGE, meta.content_language.as_deref());
        self.put_opt(h::EXPIRES, meta.expires.as_deref());
        self.put_opt(STORAGE_CLASS, meta.storage_class.as_deref());
        self.put_opt(VERSION_ID, meta.version_id.as_deref());
        self.put_opt(REQUEST_ID, meta.request_id.as_deref());
        if let Some(count) = meta.tag_count {
            self.header("x-amz-tagging-count", &count.to_string());
        }
        self.encryption_headers(&meta.encryption);
        for (name, value) in meta.checksums.iter().chain(&meta.state) {
            self.header(name, value);
        }
        for (name, value) in &meta.metadata {
            self.header(&format!("x-amz-meta-{name}"), value);
        }
    }

    /// How S3 says the object is encrypted, echoed.
    fn encryption_headers(&mut self, e: &EncryptionHeaders) {
        // The names whole, not formatted per response (every GET carries them).
        const SSE: &str = "x-amz-server-side-encryption";
        self.header_opt(SSE, e.algorithm.as_deref());
        self.header_opt(
            "x-amz-server-side-encryption-aws-kms-key-id",
            e.kms_key_id.as_deref(),
        );
        if let Some(enabled) = e.bucket_key_enabled {
            let enabled = if enabled { "true" } else { "false" };
            self.header("x-amz-server-side-encryption-bucket-key-enabled", enabled);
        }
        self.header_opt(
            "x-amz-server-side-encryption-customer-algorithm",
            e.customer_algorithm.as_deref(),
        );
        self.header_opt(
            "x-amz-server-side-encryption-customer-key-md5",
            e.customer_key_md5.as_deref(),
        );
    }

    fn stored_headers(&mut self, stored: &Stored) {
        self.header_opt("etag", stored.etag.as_deref());
        self.header_opt("x-amz-version-id", stored.version_id.as_deref());
        self.header_opt("x-amz-request-id", stored.request_id.as_deref());
        self.header_opt("timestamp", stored.date.as_deref());
        for (name, value) in &stored.checksums {
            self.header(name, value);
        }
        self.encryption_headers(&stored.encryption);
    }

    fn finish<B>(self, body: B) -> Response<B> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{BucketEntry, BucketList, ObjectEntry, ObjectList};
    use bytes::Bytes;

    fn all() -> BinaryMediaTypes {
        BinaryMediaTypes::parse("*/*").unwrap()
    }

    fn neg(accept: Option<&str>) -> Negotiation {
        Negotiation {
            accept: accept.map(str::to_string),
            head: false,
        }
    }

    fn object(content_type: Option<&str>, bytes: &'static [u8]) -> Outcome {
        Outcome::Object {
            meta: ObjectMeta {
                content_type: content_type.map(str::to_string),
                content_length: bytes.len() as i64,
                etag: Some("\"abc\"".into()),
                last_modified: Some("Wed, 25 Nov 2026 06:00:00 GMT".into()),
                date: Some("Wed, 25 Nov 2026 07:00:00 GMT".into()),
                metadata: vec![("owner".into(), "ana".into())],
                ..Default::default()
            },
            body: Bytes::from_static(bytes),
        }
    }

    #[test]
    fn object_bodies_never_lose_bytes() {
        let every = all();
        let png = BinaryMediaTypes::parse("image/png").unwrap();
        let invalid_utf8: &'static [u8] = b"caf\xe9";
        // (binary types, accept, content type, bytes, expected variant)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &BinaryMediaTypes,
            Option<&str>,
            Option<&str>,
            &'static [u8],
            &str,
        )> = vec![
            (&every, None, Some("image/png"), b"\x89PNG", "binary"),
            (
                &every,
                Some("text/plain"),
                Some("text/plain"),
                invalid_utf8,
                "binary",
            ),
            (&every, None, None, invalid_utf8, "binary"),
            (
                &every,
                None,
                Some("text/plain; charset=latin1"),
                invalid_utf8,
                "binary",
            ),
            (&every, None, Some("application/json"), b"{}", "binary"),
            (
                &png,
                Some("image/png"),
                Some("image/png"),
                b"\x89PNG",
                "binary",
            ),
            (
                &png,
                Some("text/plain"),
                Some("text/plain"),
                b"hello",
                "text",
            ),
            (&png, Some("*/*"), Some("text/plain"), invalid_utf8, "406"),
            (&png, None, Some("image/png"), b"\x89PNG", "406"),
            (&every, None, Some("text/plain"), b"", "empty"),
        ];
        for (types, accept, content_type, bytes, expected) in cases {
            let got = render(object(content_type, bytes), &neg(accept), types);
            let label = format!("{types} {accept:?} {content_type:?}");
            match (got, expected) {
                (Ok(r), "binary") => assert_eq!(r.body(), &Body::Binary(bytes.to_vec()), "{label}"),
                (Ok(r), "text") => assert_eq!(r.body().as_ref(), bytes, "{label}"),
                (Ok(r), "empty") => assert_eq!(r.body(), &Body::Empty, "{label}"),
                (Err(e), "406") => assert_eq!(e.status(), StatusCode::NOT_ACCEPTABLE, "{label}"),
                (got, _) => panic!("{label}: {got:?}"),
            }
        }
    }

    #[test]
    fn object_headers_carry_what_s3_keeps() {
        let r = render(object(None, b"x"), &neg(None), &all()).unwrap();
        let h = r.headers();
        let cases = [
            ("content-type", "application/octet-stream"),
            ("content-length", "1"),
            ("etag", "\"abc\""),
            ("last-modified", "Wed, 25 Nov 2026 06:00:00 GMT"),
            ("timestamp", "Wed, 25 Nov 2026 07:00:00 GMT"),
            ("accept-ranges", "bytes"),
            ("x-amz-meta-owner", "ana"),
        ];
        for (name, value) in cases {
            assert_eq!(
                h.get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{name}"
            );
        }
    }

    #[test]
    fn head_and_get_agree_on_headers() {
        let Outcome::Object { meta, .. } = object(Some("text/plain"), b"hello") else {
            unreachable!()
        };
        let get = render(object(Some("text/plain"), b"hello"), &neg(None), &all()).unwrap();
        let head = render(
            Outcome::ObjectHead(meta),
            &Negotiation {
                accept: None,
                head: true,
            },
            &all(),
        )
        .unwrap();
        assert_eq!(get.headers(), head.headers());
        assert_eq!(head.body(), &Body::Empty);
    }

    #[test]
    fn documents_come_in_the_negotiated_format() {
        let list = ObjectList {
            name: "b-1".into(),
            contents: vec![ObjectEntry {
                key: "a/x & y.txt".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let cases = [
            (
                None,
                "application/xml",
                "<Contents><Key>a/x &amp; y.txt</Key>",
            ),
            (
                Some("text/html"),
                "application/xml",
                "<ListBucketResult xmlns=",
            ),
            (
                Some("application/json"),
                "application/json",
                r#""Key":"a/x & y.txt""#,
            ),
            (
                Some("application/json;q=1, */*"),
                "application/json",
                r#""Name":"b-1""#,
            ),
        ];
        for (accept, content_type, part) in cases {
            let r = render(Outcome::Objects(list.clone()), &neg(accept), &all()).unwrap();
            assert_eq!(r.headers()["content-type"], content_type, "{accept:?}");
            let Body::Text(text) = r.body() else { panic!() };
            assert!(text.contains(part), "{accept:?}: {text}");
        }
        let buckets = BucketList {
            buckets: vec![BucketEntry {
                name: "b-1".into(),
                creation_date: None,
            }],
            ..Default::default()
        };
        let r = render(Outcome::Buckets(buckets), &neg(None), &all()).unwrap();
        let Body::Text(xml) = r.body() else { panic!() };
        assert!(
            xml.contains("<Buckets><Bucket><Name>b-1</Name></Bucket></Buckets>"),
            "{xml}"
        );
    }

    #[test]
    fn errors_are_s3_documents_without_internals() {
        let err = ApiError::Internal("db password is hunter2".into());
        let r = render_error(&err, &neg(None), "req-1", "/b-1/k");
        assert_eq!(r.status(), 500);
        let Body::Text(xml) = r.body() else { panic!() };
        assert!(xml.contains("<Code>InternalError</Code>"));
        assert!(xml.contains("<RequestId>req-1</RequestId>"));
        assert!(!xml.contains("hunter2"));

        let r = render_error(
            &ApiError::InvalidBase64,
            &neg(Some("application/json")),
            "req-2",
            "",
        );
        let Body::Text(json) = r.body() else { panic!() };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["Code"], "InvalidBase64");
        assert_eq!(v["RequestId"], "req-2");

        let head = Negotiation {
            accept: None,
            head: true,
        };
        let r = render_error(
            &ApiError::NotModified {
                etag: Some("\"e\"".into()),
                last_modified: None,
            },
            &head,
            "r",
            "",
        );
        assert_eq!(r.status(), 304);
        assert_eq!(r.body(), &Body::Empty);
        assert_eq!(r.headers()["etag"], "\"e\"");
    }
}
