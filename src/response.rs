//! Responses: pure. `Outcome | ApiError -> http::Response<lambda_http::Body>`.
//!
//! This module owns the text-or-binary decision for every body. lambda_http
//! marks a response `isBase64Encoded` exactly when its body is
//! `Body::Binary`, so the variant chosen here is what API Gateway receives:
//! - object bytes go out as `Body::Binary` when API Gateway will decode them
//!   (the request's first Accept value matches binaryMediaTypes);
//! - otherwise as `Body::Text` when they are UTF-8, which passes unchanged;
//! - otherwise the bytes cannot cross API Gateway intact, and the client gets
//!   406 saying which Accept to send, rather than silently corrupted data.
//!
//! Listings and errors are S3's XML documents, or JSON when the first Accept
//! value is `application/json`.

use crate::error::{ApiError, ErrorBody};
use crate::media::{BinaryMediaTypes, first_accept_value};
use crate::s3::{BucketList, ObjectList, ObjectMeta, Outcome, Stored, UploadPlan};
use http::{HeaderValue, Response, StatusCode};
use lambda_http::Body;
use serde::Serialize;

const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// What the client asked for, read from the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// The request's Accept header, whole.
    pub accept: Option<String>,
    /// A HEAD request: headers only, whatever happens.
    pub head: bool,
}

impl Negotiation {
    fn wants_json(&self) -> bool {
        self.accept
            .as_deref()
            .and_then(first_accept_value)
            .is_some_and(|v| v.eq_ignore_ascii_case("application/json"))
    }
}

/// Builds a response from a successful outcome.
pub fn render(
    outcome: Outcome,
    neg: &Negotiation,
    binary: &BinaryMediaTypes,
) -> Result<Response<Body>, ApiError> {
    let mut builder = ResponseParts::new(StatusCode::OK);
    let body = match outcome {
        Outcome::Buckets(list) => builder.document(neg, buckets_xml(&list), buckets_json(&list)),
        Outcome::Objects(list) => builder.document(neg, objects_xml(&list), objects_json(&list)),
        Outcome::BucketCreated { location } => {
            builder.header_opt("location", location.as_deref());
            Body::Empty
        }
        Outcome::BucketDeleted | Outcome::ObjectDeleted { version_id: None } => {
            builder.status = StatusCode::NO_CONTENT;
            Body::Empty
        }
        Outcome::ObjectDeleted {
            version_id: Some(version),
        } => {
            builder.status = StatusCode::NO_CONTENT;
            builder.header("x-amz-version-id", &version);
            Body::Empty
        }
        Outcome::ObjectHead(meta) => {
            builder.object_headers(&meta);
            Body::Empty
        }
        Outcome::Object { meta, body } => {
            builder.object_headers(&meta);
            if meta.content_range.is_some() {
                builder.status = StatusCode::PARTIAL_CONTENT;
            }
            object_body(body, &meta, neg, binary)?
        }
        Outcome::TooLargeToInline { url, meta } => {
            builder.status = StatusCode::TEMPORARY_REDIRECT;
            builder.object_headers(&meta);
            builder.header("location", &url);
            // The client follows the Location; nothing of the object is here.
            builder.headers.remove(http::header::CONTENT_LENGTH);
            Body::Empty
        }
        Outcome::ObjectStored(stored) | Outcome::UploadCompleted(stored) => {
            builder.stored_headers(&stored);
            Body::Empty
        }
        Outcome::UploadPlan(plan) => builder.document(neg, plan_xml(&plan), plan_json(&plan)),
        Outcome::UploadAborted => {
            builder.status = StatusCode::NO_CONTENT;
            Body::Empty
        }
    };
    Ok(builder.finish(if neg.head { Body::Empty } else { body }))
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
        let doc = ErrorBody {
            code: err.code().to_string(),
            message: err.public_message(),
            resource: (!resource.is_empty()).then(|| resource.to_string()),
            request_id: request_id.to_string(),
            s3_request_id: err.s3_request_id().map(str::to_string),
        };
        builder.document(
            neg,
            to_xml(&doc),
            serde_json::to_value(&doc).unwrap_or_default(),
        )
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

    fn header(&mut self, name: &str, value: &str) {
        // A value S3 accepted but HTTP cannot carry is dropped, not fatal.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.append(name, value);
        }
    }

    fn header_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.header(name, value);
        }
    }

    /// An XML document, or its JSON twin when the client asked for JSON.
    fn document(&mut self, neg: &Negotiation, xml: String, json: serde_json::Value) -> Body {
        if neg.wants_json() {
            self.header("content-type", "application/json");
            Body::Text(json.to_string())
        } else {
            self.header("content-type", "application/xml");
            Body::Text(xml)
        }
    }

    fn object_headers(&mut self, meta: &ObjectMeta) {
        // API Gateway gives a response without Content-Type `application/json`:
        // an object S3 keeps no type for is served the way S3 serves it.
        let content_type = meta
            .content_type
            .as_deref()
            .unwrap_or(mime::APPLICATION_OCTET_STREAM.as_ref());
        self.header("content-type", content_type);
        self.header("content-length", &meta.content_length.to_string());
        self.header("accept-ranges", "bytes");
        self.header_opt("content-range", meta.content_range.as_deref());
        self.header_opt("etag", meta.etag.as_deref());
        self.header_opt("last-modified", meta.last_modified.as_deref());
        self.header_opt("timestamp", meta.date.as_deref());
        self.header_opt("cache-control", meta.cache_control.as_deref());
        self.header_opt("content-disposition", meta.content_disposition.as_deref());
        self.header_opt("content-encoding", meta.content_encoding.as_deref());
        self.header_opt("content-language", meta.content_language.as_deref());
        self.header_opt("expires", meta.expires.as_deref());
        self.header_opt("x-amz-storage-class", meta.storage_class.as_deref());
        self.header_opt("x-amz-version-id", meta.version_id.as_deref());
        self.header_opt("x-amz-request-id", meta.request_id.as_deref());
        for (name, value) in &meta.metadata {
            self.header(&format!("x-amz-meta-{name}"), value);
        }
    }

    fn stored_headers(&mut self, stored: &Stored) {
        self.header_opt("etag", stored.etag.as_deref());
        self.header_opt("x-amz-version-id", stored.version_id.as_deref());
        self.header_opt("x-amz-request-id", stored.request_id.as_deref());
        self.header_opt("timestamp", stored.date.as_deref());
        for (name, value) in &stored.checksums {
            self.header(name, value);
        }
    }

    fn finish(self, body: Body) -> Response<Body> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

fn to_xml<T: Serialize>(doc: &T) -> String {
    let mut out = String::from(XML_DECLARATION);
    // Serializing plain structs of strings and numbers cannot fail.
    if let Err(e) = quick_xml::se::to_writer(&mut out, doc) {
        tracing::error!(error = %e, "XML serialization failed");
    }
    out
}

/// How to finish a multipart upload, stage-relative.
fn complete_path(plan: &UploadPlan) -> Option<String> {
    let key = percent_encoding::utf8_percent_encode(&plan.key, KEY_SEGMENT).to_string();
    plan.upload_id.as_ref().map(|id| {
        format!(
            "POST /{}/{key}?uploadId={}",
            plan.bucket,
            percent_encoding::utf8_percent_encode(id, KEY_SEGMENT)
        )
    })
}

/// Everything but unreserved characters and `/` is escaped in a key path.
const KEY_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

#[derive(Serialize)]
#[serde(rename = "PresignedUpload", rename_all = "PascalCase")]
struct PlanXml<'a> {
    bucket: &'a str,
    key: &'a str,
    expires_in: u64,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    header: Vec<HeaderXml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part_size: Option<u64>,
    part: Vec<PartXml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HeaderXml<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PartXml<'a> {
    part_number: i32,
    url: &'a str,
}

fn plan_xml(plan: &UploadPlan) -> String {
    to_xml(&PlanXml {
        bucket: &plan.bucket,
        key: &plan.key,
        expires_in: plan.expires_in,
        method: "PUT",
        url: plan.url.as_deref(),
        header: plan
            .headers
            .iter()
            .map(|(name, value)| HeaderXml { name, value })
            .collect(),
        upload_id: plan.upload_id.as_deref(),
        part_size: plan.part_size,
        part: plan
            .parts
            .iter()
            .map(|(n, url)| PartXml {
                part_number: *n,
                url,
            })
            .collect(),
        complete: complete_path(plan),
    })
}

fn plan_json(plan: &UploadPlan) -> serde_json::Value {
    serde_json::json!({
        "Bucket": plan.bucket,
        "Key": plan.key,
        "ExpiresIn": plan.expires_in,
        "Method": "PUT",
        "Url": plan.url,
        "Headers": plan.headers.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "UploadId": plan.upload_id,
        "PartSize": plan.part_size,
        "Parts": plan.parts.iter().map(|(n, url)| serde_json::json!({"PartNumber": n, "Url": url})).collect::<Vec<_>>(),
        "Complete": complete_path(plan),
    })
}

#[derive(Serialize)]
#[serde(rename = "ListAllMyBucketsResult")]
struct BucketsXml<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none")]
    owner: Option<OwnerXml<'a>>,
    #[serde(rename = "Buckets")]
    buckets: BucketsInner<'a>,
}

#[derive(Serialize)]
struct OwnerXml<'a> {
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "DisplayName", skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
}

#[derive(Serialize)]
struct BucketsInner<'a> {
    #[serde(rename = "Bucket")]
    bucket: Vec<BucketXml<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketXml<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_date: Option<&'a str>,
}

fn buckets_xml(list: &BucketList) -> String {
    let owner = (list.owner_id.is_some() || list.owner_name.is_some()).then_some(OwnerXml {
        id: list.owner_id.as_deref(),
        display_name: list.owner_name.as_deref(),
    });
    to_xml(&BucketsXml {
        xmlns: S3_XMLNS,
        owner,
        buckets: BucketsInner {
            bucket: list
                .buckets
                .iter()
                .map(|b| BucketXml {
                    name: &b.name,
                    creation_date: b.creation_date.as_deref(),
                })
                .collect(),
        },
    })
}

fn buckets_json(list: &BucketList) -> serde_json::Value {
    serde_json::json!({
        "Buckets": list.buckets.iter().map(|b| serde_json::json!({
            "Name": b.name,
            "CreationDate": b.creation_date,
        })).collect::<Vec<_>>(),
        "Owner": { "ID": list.owner_id, "DisplayName": list.owner_name },
    })
}

#[derive(Serialize)]
#[serde(rename = "ListBucketResult", rename_all = "PascalCase")]
struct ObjectsXml<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    name: &'a str,
    prefix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delimiter: Option<&'a str>,
    max_keys: i32,
    key_count: i32,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_continuation_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_after: Option<&'a str>,
    contents: Vec<ContentXml<'a>>,
    common_prefixes: Vec<PrefixXml<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContentXml<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified: Option<&'a str>,
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    etag: Option<&'a str>,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_class: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixXml<'a> {
    prefix: &'a str,
}

fn objects_xml(list: &ObjectList) -> String {
    to_xml(&ObjectsXml {
        xmlns: S3_XMLNS,
        name: &list.name,
        prefix: list.prefix.as_deref().unwrap_or_default(),
        delimiter: list.delimiter.as_deref(),
        max_keys: list.max_keys,
        key_count: list.key_count,
        is_truncated: list.is_truncated,
        continuation_token: list.continuation_token.as_deref(),
        next_continuation_token: list.next_continuation_token.as_deref(),
        start_after: list.start_after.as_deref(),
        contents: list
            .contents
            .iter()
            .map(|o| ContentXml {
                key: &o.key,
                last_modified: o.last_modified.as_deref(),
                etag: o.etag.as_deref(),
                size: o.size,
                storage_class: o.storage_class.as_deref(),
            })
            .collect(),
        common_prefixes: list
            .common_prefixes
            .iter()
            .map(|p| PrefixXml { prefix: p })
            .collect(),
    })
}

fn objects_json(list: &ObjectList) -> serde_json::Value {
    serde_json::json!({
        "Name": list.name,
        "Prefix": list.prefix.as_deref().unwrap_or_default(),
        "Delimiter": list.delimiter,
        "MaxKeys": list.max_keys,
        "KeyCount": list.key_count,
        "IsTruncated": list.is_truncated,
        "ContinuationToken": list.continuation_token,
        "NextContinuationToken": list.next_continuation_token,
        "StartAfter": list.start_after,
        "Contents": list.contents.iter().map(|o| serde_json::json!({
            "Key": o.key,
            "LastModified": o.last_modified,
            "ETag": o.etag,
            "Size": o.size,
            "StorageClass": o.storage_class,
        })).collect::<Vec<_>>(),
        "CommonPrefixes": list.common_prefixes.iter()
            .map(|p| serde_json::json!({ "Prefix": p }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::{BucketEntry, ObjectEntry};
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
    fn listings_are_s3_xml_or_json() {
        let list = ObjectList {
            name: "b-1".into(),
            prefix: Some("a/".into()),
            delimiter: Some("/".into()),
            max_keys: 2,
            key_count: 2,
            is_truncated: true,
            next_continuation_token: Some("tok".into()),
            contents: vec![ObjectEntry {
                key: "a/x & y.txt".into(),
                last_modified: Some("2026-11-25T06:00:00Z".into()),
                etag: Some("\"e\"".into()),
                size: 5,
                storage_class: Some("STANDARD".into()),
            }],
            common_prefixes: vec!["a/sub/".into()],
            ..Default::default()
        };
        let r = render(Outcome::Objects(list.clone()), &neg(None), &all()).unwrap();
        let Body::Text(xml) = r.body() else { panic!() };
        assert!(xml.starts_with(XML_DECLARATION));
        for part in [
            "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
            "<Name>b-1</Name>",
            "<IsTruncated>true</IsTruncated>",
            "<NextContinuationToken>tok</NextContinuationToken>",
            "<Contents><Key>a/x &amp; y.txt</Key>",
            "<ETag>\"e\"</ETag><Size>5</Size>",
            "<CommonPrefixes><Prefix>a/sub/</Prefix></CommonPrefixes>",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        assert_eq!(r.headers()["content-type"], "application/xml");

        let r = render(
            Outcome::Objects(list),
            &neg(Some("application/json")),
            &all(),
        )
        .unwrap();
        let Body::Text(json) = r.body() else { panic!() };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["Contents"][0]["Key"], "a/x & y.txt");
        assert_eq!(v["NextContinuationToken"], "tok");
        assert_eq!(v["CommonPrefixes"][0]["Prefix"], "a/sub/");

        let buckets = BucketList {
            buckets: vec![BucketEntry {
                name: "b-1".into(),
                creation_date: Some("2026-11-25T06:00:00Z".into()),
            }],
            ..Default::default()
        };
        let r = render(Outcome::Buckets(buckets), &neg(None), &all()).unwrap();
        let Body::Text(xml) = r.body() else { panic!() };
        assert!(xml.contains(
            "<Buckets><Bucket><Name>b-1</Name><CreationDate>2026-11-25T06:00:00Z</CreationDate></Bucket></Buckets>"
        ), "{xml}");
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
