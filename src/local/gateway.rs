//! An API Gateway REST emulator: HTTP request -> REST v1 proxy event -> the
//! Lambda handler, in-process -> response JSON -> HTTP response, converting
//! each way as API Gateway does:
//! - the stage is reachable as `/{stage}/...` and as `/...`;
//! - `resource`, `path` (stage-free, still percent-encoded) and
//!   `pathParameters` (`folder`, greedy `item`) as the template's resources
//!   `/`, `/{folder}`, `/{folder}/{item+}` produce them;
//! - headers and query parameters in single- and multi-value forms (query
//!   values decoded);
//! - a request body is base64-encoded (`isBase64Encoded: true`) when its
//!   Content-Type matches binaryMediaTypes;
//! - a response marked `isBase64Encoded` is decoded only when the request's
//!   first Accept value matches binaryMediaTypes, else passed on as base64
//!   text, exactly as API Gateway does;
//! - 413 over 10 MB of request body or 6 MB of Lambda request payload, 502
//!   "Internal server error" for a malformed or oversized Lambda response;
//!   these answers of API Gateway's own are written as the template's
//!   GatewayResponses write them ([`GatewayError`]): S3's `<Error>` document
//!   and the CORS headers API Gateway sets ([`crate::cors::Cors::gateway_headers`]).
//!
//! IAM authorization is not emulated: the local API is open on loopback.

use crate::app::App;
use crate::lambda;
use crate::media::BinaryMediaTypes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// API Gateway REST's request payload limit.
pub const API_GATEWAY_LIMIT: usize = 10 * 1024 * 1024;
/// Lambda's synchronous invocation payload limit, each way.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// An HTTP request as the emulator receives it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The request target as sent: percent-encoded path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_string(),
            target: target.to_string(),
            ..Self::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub(crate) fn first_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The HTTP response the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// API Gateway's own answers the emulator makes, each under the template's
/// GatewayResponse of its kind (`x-amazon-apigateway-gateway-responses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// Over API Gateway's 10 MB of request body.
    RequestTooLarge,
    /// Over Lambda's 6 MB of request payload (the body once base64-encoded
    /// in the event): the message says where large uploads go instead.
    PayloadTooLarge,
    /// A Lambda answer API Gateway cannot read ("Malformed Lambda proxy
    /// response", or over 6 MB), or none (the invocation failed: a panic
    /// of the handler): its 502, under `DEFAULT_5XX`.
    BadLambdaAnswer,
}

impl GatewayError {
    /// The GatewayResponse type whose template writes the answer.
    pub fn kind(self) -> &'static str {
        match self {
            Self::RequestTooLarge | Self::PayloadTooLarge => "REQUEST_TOO_LARGE",
            Self::BadLambdaAnswer => "DEFAULT_5XX",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::RequestTooLarge | Self::PayloadTooLarge => 413,
            Self::BadLambdaAnswer => 502,
        }
    }

    /// The `<Code>` the template's document gives that type.
    fn code(self) -> &'static str {
        match self {
            Self::RequestTooLarge | Self::PayloadTooLarge => "EntityTooLarge",
            Self::BadLambdaAnswer => "InternalError",
        }
    }

    /// API Gateway's `$context.error.message`.
    fn message(self) -> &'static str {
        match self {
            Self::RequestTooLarge => "Request Too Long",
            Self::PayloadTooLarge => {
                "Request Too Long: the Lambda request payload limit is 6 MB; \
                 upload large objects with a presigned URL (POST /{folder}/{item}?uploads)"
            }
            Self::BadLambdaAnswer => "Internal server error",
        }
    }
}

/// The emulated REST API: a stage, its binaryMediaTypes, and the handler.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub app: Arc<App>,
    pub stage: String,
    pub binary: BinaryMediaTypes,
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// A request id shaped like API Gateway's (a UUID).
pub fn new_request_id() -> String {
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    let hex = format!(
        "{:016x}{:016x}",
        splitmix64(seed ^ n),
        splitmix64(seed.wrapping_add(n).rotate_left(17))
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A well-mixed 64-bit hash (SplitMix64's finalizer).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The invocation's answer, or `None` when the handler panicked: Lambda
/// then reports the invocation failed, and API Gateway answers its 502
/// rather than dropping the client's connection.
pub(crate) async fn unless_it_panics<F: std::future::Future>(invocation: F) -> Option<F::Output> {
    use futures_util::FutureExt;
    let answered = std::panic::AssertUnwindSafe(invocation)
        .catch_unwind()
        .await;
    if answered.is_err() {
        tracing::error!("the handler panicked: the invocation failed");
    }
    answered.ok()
}

impl Gateway {
    pub fn new(app: Arc<App>, stage: &str) -> Self {
        let binary = app.config.binary_media_types.clone();
        Self {
            app,
            stage: stage.to_string(),
            binary,
        }
    }

    /// One of API Gateway's own answers as the template's GatewayResponses
    /// write it: S3's `<Error>` document (the code of its type, API
    /// Gateway's message, the request id) and the CORS headers they set.
    pub fn own_answer(
        &self,
        error: GatewayError,
        origin: Option<&str>,
        request_id: &str,
    ) -> HttpResponse {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>\
             <Message><![CDATA[{}]]></Message><RequestId>{request_id}</RequestId></Error>",
            error.code(),
            error.message(),
        );
        let mut headers = vec![
            ("content-type".to_string(), "application/xml".to_string()),
            ("x-amzn-requestid".to_string(), request_id.to_string()),
        ];
        for (name, value) in self.app.config.cors.gateway_headers(origin) {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.push((name.as_str().to_string(), value));
        }
        HttpResponse {
            status: error.status(),
            headers,
            body: body.into_bytes(),
        }
    }

    /// Serves one HTTP request end to end.
    pub async fn call(&self, req: HttpRequest) -> HttpResponse {
        let origin = req.first_header("origin");
        let (event, context) = match self.invocation(&req) {
            Ok(invocation) => invocation,
            Err(refused) => return refused,
        };
        let request_id = context.request_id.clone();
        // Boxed: the handler's future is large (see `call_streaming`).
        let invoked =
            unless_it_panics(Box::pin(lambda::invoke_json(&self.app, &event, context))).await;
        let response = match invoked {
            Some(Ok(json)) => json,
            Some(Err(e)) => {
                tracing::error!(error = %e, "the event did not parse");
                return self.own_answer(GatewayError::BadLambdaAnswer, origin, &request_id);
            }
            None => return self.own_answer(GatewayError::BadLambdaAnswer, origin, &request_id),
        };
        self.response(&response, req.first_header("accept"), origin, &request_id)
    }

    /// The event and the invocation's context for a request, or API
    /// Gateway's refusal of a request too large to pass on.
    pub(crate) fn invocation(
        &self,
        req: &HttpRequest,
    ) -> Result<(String, lambda_http::Context), HttpResponse> {
        let request_id = new_request_id();
        let origin = req.first_header("origin");
        if req.body.len() > API_GATEWAY_LIMIT {
            return Err(self.own_answer(GatewayError::RequestTooLarge, origin, &request_id));
        }
        let event = self.event_json(req, &request_id);
        if event.len() > LAMBDA_PAYLOAD_LIMIT {
            return Err(self.own_answer(GatewayError::PayloadTooLarge, origin, &request_id));
        }
        let mut context = lambda_http::Context::default();
        context.request_id = request_id;
        Ok((event, context))
    }

    /// [`Self::event`] as the JSON the Lambda receives.
    pub fn event_json(&self, req: &HttpRequest, request_id: &str) -> String {
        // Header values are strings and maps have string keys: the typed
        // event always serializes.
        serde_json::to_string(&self.event(req, request_id)).unwrap_or_default()
    }

    /// The REST v1 proxy event API Gateway would send for this request.
    pub fn event(&self, req: &HttpRequest, request_id: &str) -> ApiGatewayProxyRequest {
        let (raw_path, raw_query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let path = self.strip_stage(raw_path);
        let (resource, path_parameters) = resource_of(&path);

        // `headers` keeps the last value of a repeated header, as API
        // Gateway's does; `multiValueHeaders` keeps them all, in order.
        let mut headers = HeaderMap::new();
        let mut multi_value_headers = HeaderMap::new();
        for (name, value) in &req.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name.clone(), value.clone());
                multi_value_headers.append(name, value);
            }
        }
        let mut query: HashMap<String, String> = HashMap::new();
        let mut multi_query: HashMap<String, Vec<String>> = HashMap::new();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            query.insert(k.clone(), v.clone());
            multi_query.entry(k).or_default().push(v);
        }

        // API Gateway takes a request without Content-Type as application/json.
        let content_type = req
            .first_header("content-type")
            .unwrap_or("application/json");
        let (body, is_base64_encoded) = if req.body.is_empty() {
            (None, false)
        } else if self.binary.matches(content_type) {
            (Some(STANDARD.encode(&req.body)), true)
        } else {
            // API Gateway treats an unmatched body as UTF-8 text.
            (Some(String::from_utf8_lossy(&req.body).into_owned()), false)
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let method: http::Method = req.method.parse().unwrap_or_default();

        let mut identity = ApiGatewayRequestIdentity::default();
        identity.source_ip = Some("127.0.0.1".into());
        identity.user_agent = req.first_header("user-agent").map(str::to_string);
        let mut context = ApiGatewayProxyRequestContext::default();
        context.account_id = Some("123456789012".into());
        context.apiid = Some("local".into());
        context.resource_id = Some("local".into());
        context.resource_path = Some(resource.into());
        context.http_method = method.clone();
        context.stage = Some(self.stage.clone());
        context.request_id = Some(request_id.into());
        // The path as the client sent it, stage included or not (the HTML
        // index's links follow it).
        context.path = Some(raw_path.to_string());
        context.protocol = Some("HTTP/1.1".into());
        context.request_time_epoch = now.as_millis() as i64;
        context.domain_name = Some(req.first_header("host").unwrap_or("127.0.0.1").into());
        context.identity = identity;

        let mut event = ApiGatewayProxyRequest::default();
        event.resource = Some(resource.into());
        event.path = Some(path);
        event.http_method = method;
        event.headers = headers;
        event.multi_value_headers = multi_value_headers;
        event.query_string_parameters = QueryMap::from(query);
        event.multi_value_query_string_parameters = QueryMap::from(multi_query);
        event.path_parameters = path_parameters;
        event.request_context = context;
        event.body = body;
        event.is_base64_encoded = is_base64_encoded;
        event
    }

    /// `/prod/bucket/key` and `/bucket/key` both reach the stage.
    fn strip_stage(&self, raw_path: &str) -> String {
        let prefix = format!("/{}", self.stage);
        let path = match raw_path.strip_prefix(&prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => raw_path,
        };
        if path.is_empty() {
            "/".into()
        } else {
            path.into()
        }
    }

    /// Turns the Lambda's response JSON into what the client receives, with
    /// the invocation's request id.
    pub fn response(
        &self,
        lambda_json: &[u8],
        accept: Option<&str>,
        origin: Option<&str>,
        request_id: &str,
    ) -> HttpResponse {
        let internal = || self.own_answer(GatewayError::BadLambdaAnswer, origin, request_id);
        if lambda_json.len() > LAMBDA_PAYLOAD_LIMIT {
            tracing::error!(
                bytes = lambda_json.len(),
                "Lambda response over the 6 MB payload limit"
            );
            return internal();
        }
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(lambda_json) else {
            return internal();
        };
        let Some((status, mut headers)) = status_and_headers(&doc) else {
            return internal();
        };
        let is_base64 = doc
            .get("isBase64Encoded")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let text = match doc.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return internal(),
        };
        let body = if is_base64 && self.binary.decodes_for_accept(accept) {
            match STANDARD.decode(text.as_bytes()) {
                Ok(bytes) => bytes,
                Err(_) => return internal(),
            }
        } else {
            text.into_bytes()
        };
        headers.push(("x-amzn-requestid".into(), request_id.to_string()));
        HttpResponse {
            status,
            headers,
            body,
        }
    }
}

/// The status and headers of a Lambda answer (or of a streamed answer's
/// prelude): `multiValueHeaders`, overridden per name by `headers`, as API
/// Gateway merges them. `None` without a valid `statusCode`.
pub(crate) fn status_and_headers(
    doc: &serde_json::Map<String, Value>,
) -> Option<(u16, Vec<(String, String)>)> {
    let status = doc
        .get("statusCode")
        .and_then(Value::as_u64)
        .filter(|s| (100..600).contains(s))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(Value::Object(multi)) = doc.get("multiValueHeaders") {
        for (name, values) in multi {
            for value in values.as_array().into_iter().flatten() {
                headers.push((name.to_ascii_lowercase(), value_text(value)));
            }
        }
    }
    if let Some(Value::Object(single)) = doc.get("headers") {
        for (name, value) in single {
            let name = name.to_ascii_lowercase();
            headers.retain(|(n, _)| *n != name);
            headers.push((name, value_text(value)));
        }
    }
    Some((status as u16, headers))
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Query values reach the Lambda decoded.
fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The template's resources: `/`, `/{folder}`, `/{folder}/{item+}`. Path
/// parameters keep the request's percent-encoding, as REST APIs pass them.
fn resource_of(path: &str) -> (&'static str, HashMap<String, String>) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let params = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    if trimmed.is_empty() {
        return ("/", HashMap::new());
    }
    match trimmed.split_once('/') {
        None | Some((_, "")) => {
            let folder = trimmed.trim_end_matches('/');
            ("/{folder}", params(&[("folder", folder)]))
        }
        Some((folder, item)) => (
            "/{folder}/{item+}",
            params(&[("folder", folder), ("item", item)]),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_and_parameters_match_the_template() {
        type Params<'a> = &'a [(&'a str, &'a str)];
        let cases: [(&str, &str, Params); 5] = [
            ("/", "/", &[]),
            ("/b-1", "/{folder}", &[("folder", "b-1")]),
            ("/b-1/", "/{folder}", &[("folder", "b-1")]),
            (
                "/b-1/a%2Fb.txt",
                "/{folder}/{item+}",
                &[("folder", "b-1"), ("item", "a%2Fb.txt")],
            ),
            (
                "/b-1/a/b c.txt",
                "/{folder}/{item+}",
                &[("folder", "b-1"), ("item", "a/b c.txt")],
            ),
        ];
        for (path, resource, params) in cases {
            let params = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(resource_of(path), (resource, params), "{path}");
        }
    }

    #[test]
    fn request_ids_are_unique_and_uuid_shaped() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
