//! The Lambda boundary: `LambdaEvent<LambdaRequest> -> LambdaResponse`.
//!
//! Events go through lambda_http's own machinery — its event deserializer,
//! its `Adapter` (event -> `http::Request`) and its response serializer — so
//! the JSON API Gateway receives is exactly what the deployed runtime sends.
//!
//! Two things differ from `lambda_http::run(handler)`. The response goes in
//! as [`AsBuilt`], so lambda_http keeps the body variant `response` chose.
//! And one step comes first. lambda_http's event-to-request conversion panics on
//! two kinds of input a client controls: a body marked `isBase64Encoded` that
//! is not base64 (`expect("failed to decode aws base64 encoded body")`), and a
//! Host / X-Forwarded-Proto / path that does not make a URL (`unwrap()`). A
//! panic would surface as an opaque 502. [`prepare`] finds both first: the
//! body is decoded here, once, and a faulty event is defused and answered 400
//! by the handler.

use crate::app::App;
use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::HeaderMap;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, IntoResponse, LambdaEvent, Request, Service, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

pub use lambda_http::lambda_runtime::Error;

/// What [`prepare`] learned about an event before lambda_http converts it.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The request body, decoded here when it was base64.
    pub body: Option<Bytes>,
    /// The event is faulty: answer this error.
    pub early: Option<ApiError>,
}

/// Handles one invocation, as the Lambda runtime calls it.
/// The answer is lambda_http's own response type (`LambdaResponse`, which it
/// does not export by name), serialized by the runtime.
pub async fn invoke(
    app: &App,
    event: LambdaEvent<LambdaRequest>,
) -> Result<impl serde::Serialize + Send + use<>, Infallible> {
    let LambdaEvent {
        mut payload,
        context,
    } = event;
    let prepared = prepare(&mut payload);
    let mut prepared = Some(prepared);
    let mut adapter = Adapter::from(service_fn(move |req: Request| {
        let prepared = prepared.take().unwrap_or_default();
        async move {
            Ok::<_, Infallible>(AsBuilt(
                app.answer(req, prepared.body, prepared.early).await,
            ))
        }
    }));
    adapter.call(LambdaEvent::new(payload, context)).await
}

/// A response whose body variant is final.
///
/// lambda_http's `IntoResponse for Response<B>` re-derives text-or-binary
/// from the Content-Type header and decodes "text" types lossily, so a
/// `Body::Binary` served as `text/plain` (or with no Content-Type) would be
/// corrupted. `response` already chose the variant with API Gateway's rules;
/// this wrapper hands it to lambda_http untouched.
pub struct AsBuilt(pub http::Response<lambda_http::Body>);

impl IntoResponse for AsBuilt {
    fn into_response(
        self,
    ) -> Pin<Box<dyn Future<Output = http::Response<lambda_http::Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// Runs one event given as JSON, returning the response JSON: the path the
/// Lambda runtime takes, without the Runtime API around it. Used by the
/// one-shot invoke mode, the local emulator and the tests.
pub async fn invoke_json(
    app: &App,
    event: &str,
    context: Context,
) -> Result<String, serde_json::Error> {
    let payload: LambdaRequest = serde_json::from_str(event)?;
    let response = match invoke(app, LambdaEvent::new(payload, context)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    serde_json::to_string(&response)
}

/// Decodes a base64 body and defuses what would make lambda_http panic.
pub fn prepare(payload: &mut LambdaRequest) -> Prepared {
    match payload {
        LambdaRequest::ApiGatewayV1(ev) => {
            let mut prepared = take_body(&mut ev.body, &mut ev.is_base64_encoded);
            let ctx = &ev.request_context;
            let path = ev.path.as_deref().unwrap_or_default();
            if !url_builds(
                &ev.headers,
                ctx.domain_name.as_deref(),
                ctx.stage.as_deref(),
                path,
            ) {
                strip_url_parts(&mut ev.headers);
                strip_url_parts(&mut ev.multi_value_headers);
                ev.request_context.domain_name = None;
                ev.request_context.stage = None;
                ev.path = Some("/".into());
                ev.path_parameters.clear();
                prepared.early = Some(malformed_url());
            }
            prepared
        }
        LambdaRequest::ApiGatewayV2(ev) => {
            let mut prepared = take_body(&mut ev.body, &mut ev.is_base64_encoded);
            let ctx = &ev.request_context;
            let path = ev.raw_path.as_deref().unwrap_or_default();
            if !url_builds(
                &ev.headers,
                ctx.domain_name.as_deref(),
                ctx.stage.as_deref(),
                path,
            ) {
                strip_url_parts(&mut ev.headers);
                ev.request_context.domain_name = None;
                ev.request_context.stage = None;
                ev.raw_path = Some("/".into());
                ev.path_parameters.clear();
                prepared.early = Some(malformed_url());
            }
            prepared
        }
        _ => Prepared::default(),
    }
}

fn malformed_url() -> ApiError {
    ApiError::MalformedEvent("the Host, X-Forwarded-Proto or path does not form a URL".into())
}

/// Would lambda_http's URL building succeed for this event? It puts the
/// stage in front of the path (unless `$default` or already there), takes
/// the Host header or the context's domain name, then parses.
fn url_builds(
    headers: &HeaderMap,
    domain_name: Option<&str>,
    stage: Option<&str>,
    path: &str,
) -> bool {
    let path = match stage.filter(|s| *s != "$default") {
        Some(stage) if !path.starts_with(&format!("/{stage}/")) => format!("/{stage}{path}"),
        _ => path.to_string(),
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(domain_name);
    uri_builds(headers, host, &path)
}

/// Takes a base64 body out of the event, decoded. Text bodies stay for
/// lambda_http to carry.
fn take_body(body: &mut Option<String>, is_base64: &mut bool) -> Prepared {
    if !*is_base64 {
        return Prepared::default();
    }
    *is_base64 = false;
    let Some(encoded) = body.take() else {
        return Prepared::default();
    };
    match STANDARD.decode(encoded.as_bytes()) {
        Ok(bytes) => Prepared {
            body: Some(Bytes::from(bytes)),
            early: None,
        },
        Err(_) => Prepared {
            body: None,
            early: Some(ApiError::InvalidBase64),
        },
    }
}

/// Mirrors lambda_http's `build_request_uri`: would its `Url::parse(..)
/// .unwrap()` and `Request::builder().uri(..)` both succeed?
fn uri_builds(headers: &HeaderMap, host: Option<&str>, path: &str) -> bool {
    let url = match host {
        None => url::Url::parse(&format!("http://localhost{path}")).map(|u| u.path().to_string()),
        Some(host) => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|s| s.to_str().ok())
                .unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map(|u| u.to_string())
        }
    };
    url.is_ok_and(|u| http::Uri::try_from(u).is_ok())
}

fn strip_url_parts(headers: &mut HeaderMap) {
    headers.remove(http::header::HOST);
    headers.remove("x-forwarded-proto");
}
