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
//! the invocation failed and does not end the stream as a success. A panic
//! of the handler, before the answer or midway, is reported the same way
//! (`Panic`): the answer is polled in the POST connection's task, where an
//! uncaught panic would fail the POST and stop the runtime.
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
use crate::error::ApiError;
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
use std::panic::AssertUnwindSafe;
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
        // The body is polled in the connection's task, not the runtime's: a
        // panic here would end that task, fail the POST and stop the
        // runtime. Caught, it fails this invocation only, as in buffered
        // mode: the error trailers, whether or not bytes went out before.
        let body = &mut *self;
        let (error_type, message) = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            body.poll_answer(cx)
        })) {
            Ok(Poll::Ready(Some(Err(error)))) => {
                tracing::error!(request_id = body.request_id, error = %error, "the answer failed midway");
                ("S3BodyInterrupted", "the object's body failed midway")
            }
            Ok(Poll::Ready(Some(Ok(bytes)))) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
            Ok(Poll::Ready(None)) => {
                body.state = State::Ended;
                return Poll::Ready(None);
            }
            Ok(Poll::Pending) => return Poll::Pending,
            Err(_) => {
                tracing::error!(request_id = body.request_id, "the handler panicked");
                ("Panic", "the handler panicked")
            }
        };
        body.state = State::Ended;
        Poll::Ready(Some(Ok(Frame::trailers(error_trailers(
            error_type, message,
        )))))
    }
}

impl RuntimeBody {
    /// The handler's work, then the answer's next chunk: `None` at its end.
    fn poll_answer(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Bytes, ApiError>>> {
        loop {
            match &mut self.state {
                State::Answering(answer) => {
                    let response = std::task::ready!(answer.as_mut().poll(cx));
                    self.state = State::Sending(Box::new(Wire::new(response)));
                }
                State::Sending(wire) => return wire.poll_chunk(cx),
                State::Ended => return Poll::Ready(None),
            }
        }
    }
}

/// `Lambda-Runtime-Function-Error-Type` and `-Body` (base64 JSON), as the
/// Runtime API takes an error after a stream has started.
fn error_trailers(error_type: &'static str, message: &str) -> HeaderMap {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
    let mut trailers = HeaderMap::new();
    trailers.insert(ERROR_TYPE, HeaderValue::from_static(error_type));
    if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(body.to_string())) {
        trailers.insert(ERROR_BODY, value);
    }
    trailers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::ObjectBody;
    use crate::stream::StreamBody;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_smithy_types::body::SdkBody;
    use http_body::Body as _;
    use std::convert::Infallible;
    use std::time::Duration;

    /// A body from S3 that sends one chunk, then panics (or ends short).
    struct FromS3 {
        chunk: Option<Bytes>,
        panics: bool,
    }

    impl http_body::Body for FromS3 {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match (self.chunk.take(), self.panics) {
                (Some(chunk), _) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                (None, true) => panic!("a bug in the body"),
                (None, false) => Poll::Ready(None),
            }
        }
    }

    /// An object answer of 100 announced bytes whose body is `from_s3`.
    fn object(from_s3: FromS3) -> Response<StreamBody> {
        let stream = ByteStream::new(SdkBody::from_body_1_x(from_s3));
        let body = ObjectBody::new(stream, 100, Duration::from_secs(30));
        Response::new(StreamBody::Object(Box::new(body)))
    }

    /// Every frame the Runtime API would get, to the end of the body.
    async fn frames(answer: Answer) -> Vec<Frame<Bytes>> {
        let (done, _sent) = oneshot::channel();
        let mut body = RuntimeBody {
            state: State::Answering(answer),
            request_id: "test".into(),
            _done: done,
        };
        let mut frames = Vec::new();
        while let Some(frame) = next(&mut body).await {
            frames.push(frame.unwrap());
        }
        assert!(next(&mut body).await.is_none(), "a body stays ended");
        frames
    }

    async fn next(body: &mut RuntimeBody) -> Option<Result<Frame<Bytes>, Infallible>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    /// The error the trailers report: (type, the decoded body's errorType).
    fn reported(trailers: &HeaderMap) -> (&str, String) {
        let body = STANDARD.decode(&trailers[ERROR_BODY]).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let type_ = trailers[ERROR_TYPE].to_str().unwrap();
        (type_, body["errorType"].as_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn a_panic_before_the_answer_fails_the_invocation_with_the_error_trailers() {
        let answer: Answer = Box::pin(async { panic!("a bug in the handler") });
        let frames = frames(answer).await;
        assert_eq!(frames.len(), 1, "no byte of an answer, only the trailers");
        let trailers = frames[0].trailers_ref().expect("the error trailers");
        assert_eq!(reported(trailers), ("Panic", "Panic".into()));
    }

    #[tokio::test]
    async fn a_panic_midway_ends_the_stream_with_the_error_trailers() {
        let first = Bytes::from_static(b"first");
        let from_s3 = FromS3 {
            chunk: Some(first.clone()),
            panics: true,
        };
        let answer: Answer = Box::pin(async move { object(from_s3) });
        let frames = frames(answer).await;
        let data: Vec<&Bytes> = frames.iter().filter_map(Frame::data_ref).collect();
        // The prelude, the delimiter, the chunk S3 sent; then the trailers.
        assert_eq!(data.len(), 3, "{data:?}");
        assert!(data[0].starts_with(b"{\"statusCode\":200"), "{data:?}");
        assert_eq!(data[1].as_ref(), crate::stream::DELIMITER);
        assert_eq!(data[2], &first);
        let trailers = frames[3].trailers_ref().expect("the error trailers");
        assert_eq!(reported(trailers), ("Panic", "Panic".into()));
    }

    #[tokio::test]
    async fn a_body_that_ends_short_is_reported_as_interrupted() {
        let from_s3 = FromS3 {
            chunk: Some(Bytes::from_static(b"first")),
            panics: false,
        };
        let answer: Answer = Box::pin(async move { object(from_s3) });
        let frames = frames(answer).await;
        let trailers = frames.last().and_then(Frame::trailers_ref).unwrap();
        let interrupted = "S3BodyInterrupted";
        assert_eq!(reported(trailers), (interrupted, interrupted.into()));
        assert_eq!(frames.len(), 4, "prelude, delimiter, chunk, trailers");
    }
}
