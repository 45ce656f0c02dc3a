//! Stream mode at the Lambda boundary (`RESPONSE_MODE=stream`): events come
//! as in buffered mode; answers go back with Lambda response streaming, the
//! way API Gateway's `response-streaming-invocations` integration reads them
//! ([`crate::stream`] writes the bytes).
//!
//! lambda_runtime's `Runtime` still polls the Runtime API, builds each
//! invocation's `Context` and its tracing span; its response path is not
//! used. In lambda_runtime 1.5 (`requests.rs`) a stream that fails midway
//! has its error text written into the body as data, `Lambda-Runtime-
//! Function-Error-Type: ...`, after which the body ends normally: the client
//! would get a short, corrupted object that looks complete. Here the answer
//! is POSTed by [`post`] with lambda_runtime's own Runtime API client, and a
//! failure midway is reported as the Runtime API documents it, in the
//! `Lambda-Runtime-Function-Error-Type` / `-Body` trailers, so Lambda marks
//! the invocation failed and does not end the stream as a success.
//!
//! Besides proxy events, API Gateway is reported (by one library,
//! turul-mcp-aws-lambda, from observation; AWS does not document it) to
//! invoke a streaming function once more after a stream, with a payload
//! carrying `invokeCompletionStatus`. Such a payload, or any other that is
//! not a proxy event, is answered with an empty 200 and logged below error
//! level: no failed invocation, no error log.

use super::{Event, request};
use crate::app::App;
use crate::stream::{StreamBody, Wire};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, Method, Response};
use lambda_runtime::tower::{Service, layer::layer_fn, service_fn};
use lambda_runtime::{BoxFuture, Context, LambdaEvent, LambdaInvocation, Runtime};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::task::Poll;

type BoxError = lambda_runtime::Error;

/// Runs the function in stream mode until the Runtime API goes away.
pub async fn run(app: &App) -> Result<(), BoxError> {
    let endpoint =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    let client = PooledClient::builder()
        .with_endpoint(endpoint.parse()?)
        .build();
    let streaming = Streaming {
        app,
        client: Arc::new(client),
    };
    // The handler `Runtime::new` wants is never called: the layer above it
    // answers every invocation.
    let unused = service_fn(|_: LambdaEvent<serde::de::IgnoredAny>| async {
        Err::<(), BoxError>("stream mode answers in its own layer".into())
    });
    Runtime::new(unused)
        .layer(layer_fn(move |_| streaming.clone()))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .run()
        .await
}

/// Answers each invocation with a streamed response.
#[derive(Clone)]
struct Streaming<'a> {
    app: &'a App,
    client: Arc<PooledClient>,
}

impl<'a> Service<LambdaInvocation> for Streaming<'a> {
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<'a, Result<(), BoxError>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let (app, client) = (self.app, self.client.clone());
        Box::pin(async move {
            let LambdaInvocation { body, context, .. } = invocation;
            let request_id = context.request_id.clone();
            let response = respond(app, &body, context).await;
            post(&client, &request_id, Wire::new(response)).await
        })
    }
}

/// The streamed answer to one invocation's payload: a proxy event's, or an
/// empty 200 for anything else.
pub async fn respond(app: &App, payload: &[u8], context: Context) -> Response<StreamBody> {
    if let Ok(event) = serde_json::from_slice::<Event>(payload) {
        return match request(event, &context) {
            Ok(req) => app.handle_streaming(req).await,
            Err(bad) => app.refuse(bad.request, bad.error).map(StreamBody::from),
        };
    }
    match serde_json::from_slice::<Completion>(payload) {
        Ok(completion) => tracing::debug!(
            request_id = context.request_id,
            status = completion.status.get(),
            "stream completion notification"
        ),
        Err(_) => tracing::warn!(
            request_id = context.request_id,
            bytes = payload.len(),
            "not an API Gateway proxy event: answered with an empty 200"
        ),
    }
    Response::new(StreamBody::from(lambda_http::Body::Empty))
}

/// What API Gateway is reported to send after a stream.
#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(borrow, rename = "invokeCompletionStatus")]
    status: &'a RawValue,
}

/// The trailers that report a failure midway.
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";

/// POSTs the answer to `/runtime/invocation/{id}/response` as it is
/// produced, in chunks as they come; returns once it is sent whole or has
/// failed. Only an unreachable Runtime API is an error (the runtime stops,
/// as lambda_runtime's own response path does).
async fn post(client: &PooledClient, request_id: &str, mut wire: Wire) -> Result<(), BoxError> {
    let (mut sender, body) = Body::channel();
    let request = build_request()
        .method(Method::POST)
        .uri(format!(
            "/2018-06-01/runtime/invocation/{request_id}/response"
        ))
        .header("lambda-runtime-function-response-mode", "streaming")
        .header(http::header::TRANSFER_ENCODING, "chunked")
        .header(http::header::TRAILER, format!("{ERROR_TYPE}, {ERROR_BODY}"))
        .header(
            http::header::CONTENT_TYPE,
            "application/vnd.awslambda.http-integration-response",
        )
        .body(body)?;
    let send = async move {
        while let Some(chunk) = wire.next_chunk().await {
            let error = match chunk {
                Ok(bytes) => match sender.send_data(bytes).await {
                    Ok(()) => continue,
                    // The Runtime API closed the request; `call` says why.
                    Err(_) => return,
                },
                Err(error) => error,
            };
            tracing::error!(request_id, error = %error, "the answer failed midway");
            let mut trailers = HeaderMap::new();
            let body = serde_json::json!({
                "errorType": "S3BodyInterrupted",
                "errorMessage": "the object's body failed midway",
            });
            trailers.insert(ERROR_TYPE, HeaderValue::from_static("S3BodyInterrupted"));
            if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(body.to_string())) {
                trailers.insert(ERROR_BODY, value);
            }
            let _ = sender.send_trailers(trailers).await;
            return;
        }
        // Dropping the sender ends the body.
    };
    let (response, ()) = tokio::join!(client.call(request), send);
    let status = response?.status();
    if !status.is_success() {
        tracing::error!(
            request_id,
            status = status.as_u16(),
            "the Runtime API refused the answer"
        );
    }
    Ok(())
}
