//! Stream mode at the Lambda boundary (`RESPONSE_MODE=stream`): events come
//! as in buffered mode; answers go back with Lambda response streaming, the
//! way API Gateway's `response-streaming-invocations` integration reads them
//! ([`crate::stream`] writes the bytes).
//!
//! [`super::runtime`] runs the loop; lambda_runtime's response path is not
//! used. In lambda_runtime 1.5 (`requests.rs`) a stream that fails midway
//! has its error text written into the body as data, `Lambda-Runtime-
//! Function-Error-Type: ...`, after which the body ends normally: the client
//! would get a short, corrupted object that looks complete. Here the answer
//! is POSTed by [`answer`] with lambda_runtime's own Runtime API client, and a
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

use super::runtime::{BoxError, Post};
use super::{Event, request};
use crate::app::App;
use crate::stream::{StreamBody, Wire};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response};
use http_body::Frame;
use lambda_runtime::Context;
use lambda_runtime_api_client::body::Body;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::oneshot;

/// Answers one invocation with a stream, posted chunk by chunk as S3
/// delivers them; returns once it is sent whole or has failed. The answer
/// is made inside the POST's body: the POST's head goes out while S3 is
/// still answering, off the time to the first byte.
pub(super) async fn answer(
    app: Arc<App>,
    post: Post,
    payload: Bytes,
    context: Context,
) -> Result<(), BoxError> {
    let answer = Box::pin(async move { respond(&app, &payload, context).await });
    let (done, sent) = oneshot::channel();
    let body = RuntimeBody {
        state: State::Answering(answer),
        request_id: post.request_id.clone(),
        _done: done,
    };
    let request = post
        .to("response")
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
    let (sent_whole, _) = tokio::join!(post.send(request), sent);
    sent_whole
}

/// The streamed answer to one invocation's payload: a proxy event's, or an
/// empty 200 for anything else.
pub async fn respond(app: &App, payload: &[u8], context: Context) -> Response<StreamBody> {
    // Read as text, as in buffered mode (`lambda::invoke_json`): serde_json
    // then does not check each string's UTF-8 again.
    let text = std::str::from_utf8(payload).unwrap_or_default();
    if let Ok(event) = serde_json::from_str::<Event>(text) {
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
