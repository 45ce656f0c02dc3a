//! The Lambda binary's loop, in both response modes. lambda_runtime's
//! `Runtime` polls the Runtime API for the next invocation and builds its
//! `Context` and tracing span; the answer is made and POSTed here:
//! - buffered: the bytes [`super::invoke_json`] writes, to `/response`.
//!   lambda_runtime's own response path takes a type that serde writes, and
//!   serde_json writes prepared text (a base64 body) only through
//!   `RawValue`, which scans and copies it once more: 40% of a 4 MB GET's
//!   overhead (docs/performance.md);
//! - stream: [`super::stream`], as a Lambda response stream.
//!
//! As lambda_runtime's path does, each answer echoes the invocation's
//! `Lambda-Runtime-Invocation-Id` (with it the Runtime API refuses an answer
//! to an invocation that timed out), a payload that is not a proxy event
//! (buffered mode) and a panic of the handler are reported to `/error` as
//! the invocation's failure (stream mode: in the stream's error trailers),
//! and only an unreachable Runtime API stops the runtime.

use super::stream;
use crate::app::App;
use crate::config::ResponseMode;
use bytes::Bytes;
use http::{HeaderValue, Method};
use hyper_util::client::legacy::connect::HttpConnector;
use lambda_runtime::tower::{Service, layer::layer_fn, service_fn};
use lambda_runtime::{BoxFuture, Context, LambdaEvent, LambdaInvocation, Runtime};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};
use std::sync::Arc;
use std::task::Poll;

pub(super) type BoxError = lambda_runtime::Error;

const INVOCATION_ID: &str = "lambda-runtime-invocation-id";

/// Runs the function until the Runtime API goes away.
pub async fn run(app: App) -> Result<(), BoxError> {
    let endpoint =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    // TCP_NODELAY: a streamed answer's prelude, delimiter and first bytes
    // are small writes that must not wait for the Runtime API's ACKs.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = PooledClient::builder()
        .with_connector(connector)
        .with_endpoint(endpoint.parse()?)
        .build();
    let invoke = Invoke {
        app: Arc::new(app),
        client: Arc::new(client),
    };
    // The handler `Runtime::new` wants is never called: the layer above it
    // answers every invocation.
    let unused = service_fn(|_: LambdaEvent<serde::de::IgnoredAny>| async {
        Err::<(), BoxError>("the answers are posted by lambda::runtime".into())
    });
    Runtime::new(unused)
        .layer(layer_fn(move |_| invoke.clone()))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .run()
        .await
}

/// Answers each invocation and posts the answer.
#[derive(Clone)]
struct Invoke {
    app: Arc<App>,
    client: Arc<PooledClient>,
}

impl Service<LambdaInvocation> for Invoke {
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<(), BoxError>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let LambdaInvocation {
            parts,
            body,
            context,
        } = invocation;
        let post = Post {
            client: self.client.clone(),
            request_id: context.request_id.clone(),
            invocation_id: parts.headers.get(INVOCATION_ID).cloned(),
        };
        let app = self.app.clone();
        match app.config.response_mode {
            ResponseMode::Buffered => Box::pin(buffered(app, post, body, context)),
            ResponseMode::Stream => Box::pin(stream::answer(app, post, body, context)),
        }
    }
}

/// One buffered answer: the handler's JSON, or the invocation's failure.
async fn buffered(
    app: Arc<App>,
    post: Post,
    event: Bytes,
    context: Context,
) -> Result<(), BoxError> {
    // A task of its own: a panic ends the task, not the runtime. Boxed
    // first: the handler's future is large, and spawning moves it more
    // than once (callgrind: 100 k instructions of copies an invocation).
    let answered = tokio::spawn(Box::pin(async move {
        let event = std::str::from_utf8(&event).map_err(|e| e.to_string())?;
        let json = super::invoke_json(&app, event, context).await;
        json.map_err(|e| e.to_string())
    }))
    .await;
    let request = match answered {
        Ok(Ok(json)) => post.to("response").body(Body::from(json))?,
        Ok(Err(error)) => {
            let request_id = post.request_id.as_str();
            tracing::error!(request_id, error, "not an API Gateway proxy event");
            let message = format!("not an API Gateway proxy event: {error}");
            post.failure("InvalidEvent", &message)?
        }
        Err(_) => post.failure("Panic", "the handler panicked")?,
    };
    post.send(request).await
}

/// Where one invocation's answer goes.
pub(super) struct Post {
    client: Arc<PooledClient>,
    pub(super) request_id: String,
    invocation_id: Option<HeaderValue>,
}

impl Post {
    /// A POST to the invocation's `response` or `error`.
    pub(super) fn to(&self, kind: &str) -> http::request::Builder {
        let uri = format!("/2018-06-01/runtime/invocation/{}/{kind}", self.request_id);
        let builder = build_request().method(Method::POST).uri(uri);
        match &self.invocation_id {
            Some(id) => builder.header(INVOCATION_ID, id.clone()),
            None => builder,
        }
    }

    /// The invocation's failure, as lambda_runtime reports one.
    fn failure(&self, error_type: &str, message: &str) -> Result<http::Request<Body>, BoxError> {
        let diagnostic = serde_json::json!({"errorType": error_type, "errorMessage": message});
        Ok(self
            .to("error")
            .header("lambda-runtime-function-error-type", "unhandled")
            .body(Body::from(diagnostic.to_string()))?)
    }

    /// Sends `request`; only an unreachable Runtime API is an error.
    pub(super) async fn send(&self, request: http::Request<Body>) -> Result<(), BoxError> {
        let status = self.client.call(request).await?.status();
        if !status.is_success() {
            tracing::error!(
                request_id = self.request_id,
                status = status.as_u16(),
                "the Runtime API refused the answer"
            );
        }
        Ok(())
    }
}
