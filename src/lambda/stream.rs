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
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response};
use http_body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use lambda_runtime::tower::{Service, layer::layer_fn, service_fn};
use lambda_runtime::{BoxFuture, Context, LambdaEvent, LambdaInvocation, Runtime};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::oneshot;

type BoxError = lambda_runtime::Error;

/// Runs the function in stream mode until the Runtime API goes away.
pub async fn run(app: App) -> Result<(), BoxError> {
    let endpoint =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    // TCP_NODELAY: the prelude, the delimiter and the first bytes are small
    // writes that must not wait for the Runtime API's ACKs.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = PooledClient::builder()
        .with_connector(connector)
        .with_endpoint(endpoint.parse()?)
        .build();
    let streaming = Streaming {
        app: Arc::new(app),
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
struct Streaming {
    app: Arc<App>,
    client: Arc<PooledClient>,
}

impl Service<LambdaInvocation> for Streaming {
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<(), BoxError>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let (app, client) = (self.app.clone(), self.client.clone());
        let LambdaInvocation { body, context, .. } = invocation;
        let request_id = context.request_id.clone();
        // The answer is made inside the POST's body: the POST's head goes
        // out while S3 is still answering, off the time to the first byte.
        let answer = Box::pin(async move { respond(&app, &body, context).await });
        Box::pin(async move { post(&client, &request_id, answer).await })
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

/// POSTs the answer to `/runtime/invocation/{id}/response`, chunk by chunk
/// as S3 delivers them; returns once it is sent whole or has failed. Only
/// an unreachable Runtime API is an error (the runtime stops, as with
/// lambda_runtime's own response path).
async fn post(client: &PooledClient, request_id: &str, answer: Answer) -> Result<(), BoxError> {
    let (done, sent) = oneshot::channel();
    let body = RuntimeBody {
        state: State::Answering(answer),
        request_id: request_id.to_string(),
        _done: done,
    };
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
        .body(Body::new(body))?;
    // The Runtime API answers once it has the whole stream; the body's end
    // (or its drop, when the connection fails) is awaited too, so that the
    // next invocation never starts while this one is still sending.
    let (response, _) = tokio::join!(client.call(request), sent);
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

/// The handler's work for one invocation, up to its answer's head.
type Answer = Pin<Box<dyn Future<Output = Response<StreamBody>> + Send>>;

/// The answer as the POST's body, polled by the connection itself: the
/// handler's work, then the prelude, the delimiter and the body's chunks,
/// and on a failure midway the error trailers instead of an end that would
/// look complete.
struct RuntimeBody {
    state: State,
    request_id: String,
    /// Dropped with the body: tells [`post`] the body is done.
    _done: oneshot::Sender<()>,
}

enum State {
    Answering(Answer),
    Sending(Box<Wire>),
    Ended,
}

impl http_body::Body for RuntimeBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let wire = loop {
            match &mut self.state {
                State::Answering(answer) => {
                    let response = std::task::ready!(answer.as_mut().poll(cx));
                    self.state = State::Sending(Box::new(Wire::new(response)));
                }
                State::Sending(wire) => break wire,
                State::Ended => return Poll::Ready(None),
            }
        };
        let error = match std::task::ready!(wire.poll_chunk(cx)) {
            Some(Ok(bytes)) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
            None => {
                self.state = State::Ended;
                return Poll::Ready(None);
            }
            Some(Err(error)) => error,
        };
        self.state = State::Ended;
        let request_id = self.request_id.as_str();
        tracing::error!(request_id, error = %error, "the answer failed midway");
        Poll::Ready(Some(Ok(Frame::trailers(error_trailers()))))
    }
}

/// `Lambda-Runtime-Function-Error-Type` and `-Body` (base64 JSON), as the
/// Runtime API takes an error after a stream has started.
fn error_trailers() -> HeaderMap {
    let body = serde_json::json!({
        "errorType": "S3BodyInterrupted",
        "errorMessage": "the object's body failed midway",
    });
    let mut trailers = HeaderMap::new();
    trailers.insert(ERROR_TYPE, HeaderValue::from_static("S3BodyInterrupted"));
    if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(body.to_string())) {
        trailers.insert(ERROR_BODY, value);
    }
    trailers
}
