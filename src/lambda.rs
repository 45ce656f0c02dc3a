//! The Lambda boundary: event JSON -> [`Request`] -> handler -> response JSON.
//!
//! Events are read by [`crate::event`], in one pass, as lambda_http reads
//! them (its event types cost more than the rest of the boundary); answers
//! are shaped as lambda_http shapes them. Its `Adapter` (event -> `http::Request` ->
//! `IntoResponse`) is not used, for three reasons measured or met here:
//! - it panics on input a client controls: a body marked `isBase64Encoded`
//!   that is not base64 (`expect`), a Host / X-Forwarded-Proto that does not
//!   make a URL (`unwrap`); the handler needs no URL at all;
//! - its response conversion re-derives text-or-binary from the Content-Type
//!   and decodes "text" lossily, corrupting binary bodies served as text;
//! - it copies the whole event into a `RawValue`, then the body again, then
//!   decodes base64 into a third buffer: 15 MB of copies for a 4 MB upload.
//!
//! Here an upload costs one copy of its base64 text (serde_json's `String`),
//! decoded in place, and a download one base64 encoding, written straight
//! into the answer's JSON: `raw -> JSON with base64`. base64 is
//! base64-simd's (SIMD, already in the binary through aws-smithy-types).
//! lambda_runtime's response path is not used either ([`runtime`] says
//! why): the binary posts the bytes [`invoke_json`] writes, which are the
//! bytes the emulator, the tests and the benchmark get from it.
//!
//! In stream mode ([`stream`]) the events are read the same way; the answers
//! go back as Lambda response streams instead of this JSON.

use crate::app::{App, Request};
use crate::error::ApiError;
use bytes::Bytes;
use http::HeaderMap;
use lambda_http::{Body, Context};
use serde::Serialize;

pub use lambda_http::lambda_runtime::Error;

pub mod runtime;
pub mod stream;

pub use crate::event::Event;

/// The Lambda proxy integration's response, in API Gateway's format for the
/// event's version: REST puts every header in `multiValueHeaders`; HTTP API
/// takes `headers` (repeated names joined with commas) and Set-Cookie as
/// `cookies`. Written as lambda_http writes its responses, by
/// [`ProxyResponse::to_json`].
#[derive(Debug)]
pub struct ProxyResponse {
    rest: bool,
    status: u16,
    headers: HeaderMap,
    cookies: Vec<String>,
    body: ProxyBody,
}

#[derive(Debug)]
enum ProxyBody {
    None,
    Text(String),
    /// Raw bytes, base64-encoded straight into the answer's JSON.
    Binary(Vec<u8>),
}

impl ProxyResponse {
    /// The answer's JSON, in one buffer sized once. A binary body is
    /// base64-encoded straight into it (SIMD): base64 needs no JSON
    /// escaping, and going through a string of its own cost a second
    /// buffer, a validating scan and a copy of 1.33 times the object
    /// (docs/performance.md).
    pub fn to_json(&self) -> Vec<u8> {
        let engine = base64_simd::STANDARD;
        let body = match &self.body {
            ProxyBody::None => 0,
            ProxyBody::Text(text) => text.len() + text.len() / 8,
            ProxyBody::Binary(bytes) => engine.encoded_length(bytes.len()),
        };
        let mut json = Vec::with_capacity(body + 256 + 64 * self.headers.len());
        // Everything but a binary body and `isBase64Encoded`, through serde:
        // strings and numbers only, so it always serializes, and a compact
        // struct always ends with its `}`.
        let _ = serde_json::to_writer(&mut json, &Head(self));
        json.pop();
        match &self.body {
            ProxyBody::Binary(bytes) => {
                json.extend_from_slice(br#","body":""#);
                engine.encode_append(bytes, &mut json);
                json.extend_from_slice(br#"","isBase64Encoded":true}"#);
            }
            _ => json.extend_from_slice(br#","isBase64Encoded":false}"#),
        }
        json
    }
}

/// The fields of a [`ProxyResponse`] serde writes: all but a binary body
/// and `isBase64Encoded`.
struct Head<'a>(&'a ProxyResponse);

impl Serialize for Head<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let response = self.0;
        let mut out = serializer.serialize_struct("ProxyResponse", 5)?;
        out.serialize_field("statusCode", &response.status)?;
        if response.rest {
            out.serialize_field("headers", &HeadersJson::Empty)?;
            out.serialize_field("multiValueHeaders", &HeadersJson::Multi(&response.headers))?;
        } else {
            out.serialize_field("headers", &HeadersJson::Joined(&response.headers))?;
            out.serialize_field("cookies", &response.cookies)?;
        }
        if let ProxyBody::Text(text) = &response.body {
            out.serialize_field("body", text)?;
        }
        out.end()
    }
}

enum HeadersJson<'a> {
    Empty,
    Multi(&'a HeaderMap),
    Joined(&'a HeaderMap),
}

impl Serialize for HeadersJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let headers = match self {
            Self::Empty => return serializer.serialize_map(Some(0))?.end(),
            Self::Multi(h) | Self::Joined(h) => h,
        };
        let mut map = serializer.serialize_map(Some(headers.keys_len()))?;
        for name in headers.keys() {
            let values = Values(headers.get_all(name));
            match self {
                Self::Multi(_) => map.serialize_entry(name.as_str(), &values)?,
                _ => map.serialize_entry(name.as_str(), &values.joined())?,
            }
        }
        map.end()
    }
}

/// The values of one header, as a JSON array.
struct Values<'a>(http::header::GetAll<'a, http::HeaderValue>);

impl Values<'_> {
    fn joined(&self) -> String {
        let values: Vec<_> = self.0.iter().map(text).collect();
        values.join(",")
    }
}

impl Serialize for Values<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(text))
    }
}

/// Header values are visible ASCII (`HeaderValue::from_str`); anything else
/// is replaced rather than failing the answer.
fn text(value: &http::HeaderValue) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

/// Answers one event's JSON with the response's JSON: what the Lambda
/// binary does between receiving an invocation and posting its answer
/// ([`runtime`]), and what the one-shot invoke mode, the local emulator, the
/// tests and the benchmark call. An event that is not a proxy event is an
/// error. The event comes as text: serde_json then takes its strings as
/// they are instead of checking each one's UTF-8 again (5 k instructions of
/// an 80 k request).
pub async fn invoke_json(
    app: &App,
    event: &str,
    context: Context,
) -> Result<Vec<u8>, serde_json::Error> {
    let payload: Event = serde_json::from_str(event)?;
    let rest = matches!(payload, Event::Rest(_));
    let response = match request(payload, &context) {
        Ok(request) => app.handle(request).await,
        Err(bad) => app.refuse(bad.request, bad.error),
    };
    Ok(ProxyResponse::new(rest, response).to_json())
}

/// An event the handler cannot serve as sent (its body is not the base64 it
/// claims to be): what was read of it, and why it is refused.
#[derive(Debug)]
pub struct BadEvent {
    pub request: Request,
    pub error: ApiError,
}

/// What the handler reads of an event, moved out of it (no copies).
pub fn request(event: Event, context: &Context) -> Result<Request, Box<BadEvent>> {
    let event = event.into_parts();
    let mut request = event.request;
    if !context.request_id.is_empty() {
        request.request_id.clone_from(&context.request_id);
    }
    match body(event.body, event.is_base64_encoded) {
        Ok(body) => Ok(Request { body, ..request }),
        Err(error) => Err(Box::new(BadEvent { request, error })),
    }
}

/// The request body: text as it came (no copy), base64 decoded in place in
/// the buffer serde_json filled. Invalid base64 is an error to answer.
fn body(body: Option<String>, is_base64: bool) -> Result<Bytes, ApiError> {
    let Some(body) = body else {
        return Ok(Bytes::new());
    };
    if !is_base64 {
        return Ok(Bytes::from(body));
    }
    let mut buf = body.into_bytes();
    let len = base64_simd::STANDARD
        .decode_inplace(&mut buf)
        .map_err(|_| ApiError::InvalidBase64)?
        .len();
    buf.truncate(len);
    Ok(Bytes::from(buf))
}

impl ProxyResponse {
    /// The response as API Gateway takes it. The body variant is final: `Binary`
    /// goes out base64-encoded with `isBase64Encoded: true`, `Text` as it is.
    pub fn new(rest: bool, response: http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Text(text) => ProxyBody::Text(text),
            Body::Binary(bytes) => ProxyBody::Binary(bytes),
            _ => ProxyBody::None,
        };
        let mut headers = parts.headers;
        let mut cookies = Vec::new();
        if !rest {
            cookies = headers
                .get_all(http::header::SET_COOKIE)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            headers.remove(http::header::SET_COOKIE);
        }
        Self {
            rest,
            status: parts.status.as_u16(),
            headers,
            cookies,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn rest_event(body: &str, base64: bool) -> String {
        serde_json::json!({
            "resource": "/{folder}/{item+}",
            "path": "/b/k",
            "httpMethod": "PUT",
            "headers": {"Accept": "*/*"},
            "multiValueHeaders": {"Accept": ["*/*"]},
            "pathParameters": {"folder": "b", "item": "k"},
            "requestContext": {"requestId": "r1", "stage": "prod", "httpMethod": "PUT"},
            "body": body,
            "isBase64Encoded": base64
        })
        .to_string()
    }

    fn parse(json: &str) -> Result<Request, Box<BadEvent>> {
        let event: Event = serde_json::from_str(json).unwrap();
        request(event, &Context::default())
    }

    #[test]
    fn base64_bodies_are_decoded_in_place() {
        let req = parse(&rest_event("AAH/", true)).unwrap();
        assert_eq!(&req.body[..], &[0u8, 1, 255]);
        assert_eq!(req.request_id, "r1");
        assert_eq!(req.method, Method::PUT);
        assert_eq!(req.raw_path, "/b/k");
        assert_eq!(req.path_parameters["item"], "k");
    }

    #[test]
    fn text_bodies_pass_unchanged_and_bad_base64_is_an_error() {
        assert_eq!(
            &parse(&rest_event("héllo", false)).unwrap().body[..],
            "héllo".as_bytes()
        );
        for bad in ["AAH", "not base64!", "AA=A"] {
            let bad_event = parse(&rest_event(bad, true)).unwrap_err();
            assert_eq!(bad_event.error, ApiError::InvalidBase64, "{bad:?}");
            assert_eq!(bad_event.request.request_id, "r1");
        }
    }

    #[test]
    fn http_api_events_keep_repeated_query_names() {
        let json = serde_json::json!({
            "version": "2.0",
            "rawPath": "/b",
            "rawQueryString": "prefix=a%2Bb+c&x=1&x=2",
            "headers": {"accept": "*/*"},
            "requestContext": {"http": {"method": "GET", "path": "/b"}, "requestId": "r2"},
            "isBase64Encoded": false
        })
        .to_string();
        let req = parse(&json).unwrap();
        assert_eq!(req.method, Method::GET);
        assert_eq!(
            req.query,
            [("prefix", "a+b c"), ("x", "1"), ("x", "2")].map(|(k, v)| (k.into(), v.into()))
        );
    }

    /// Issue 12: API Gateway decides text or binary on the first Accept
    /// value of `multiValueHeaders`; so does the handler.
    #[test]
    fn repeated_headers_keep_their_first_value_first() {
        let mut event: serde_json::Value = serde_json::from_str(&rest_event("", false)).unwrap();
        event["headers"] = serde_json::json!({"Accept": "image/png", "X-Only-Single": "1"});
        event["multiValueHeaders"] = serde_json::json!({"Accept": ["text/plain", "image/png"]});
        event["resource"] = "/".into();
        let req = parse(&event.to_string()).unwrap();
        let accept: Vec<_> = req.headers.get_all("accept").iter().collect();
        assert_eq!(accept, ["text/plain", "image/png"]);
        assert_eq!(req.headers["x-only-single"], "1");
        assert_eq!(req.resource.as_deref(), Some("/"));
    }

    #[test]
    fn anything_else_is_not_an_event() {
        for json in ["{}", "[]", "\"GET /\"", r#"{"httpMethod": 5}"#] {
            assert!(serde_json::from_str::<Event>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn binary_answers_are_base64_and_text_answers_are_not() {
        let binary = http::Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::Binary(vec![0xff, 0, b'a']))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&ProxyResponse::new(true, binary).to_json()).unwrap();
        assert_eq!(json["body"], "/wBh");
        assert_eq!(json["isBase64Encoded"], true);
        assert_eq!(json["multiValueHeaders"]["content-type"][0], "text/plain");

        let text = http::Response::builder()
            .header("set-cookie", "a=1")
            .header("x-amz-meta-m", "1")
            .header("x-amz-meta-m", "2")
            .body(Body::Text("ok".into()))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&ProxyResponse::new(false, text).to_json()).unwrap();
        assert_eq!(json["cookies"], serde_json::json!(["a=1"]));
        assert_eq!(json["headers"], serde_json::json!({"x-amz-meta-m": "1,2"}));
        assert_eq!(
            (json["body"].as_str(), json["isBase64Encoded"].as_bool()),
            (Some("ok"), Some(false))
        );
    }
}
