//! A fake Lambda Runtime API on loopback, for running the Lambda binary as
//! AWS runs it: the function polls `GET .../runtime/invocation/next`, gets
//! the events handed to [`FakeRuntime::send`] one by one, and posts each
//! answer to `.../invocation/{id}/response` (or `/error`), which
//! [`FakeRuntime::posted`] returns. Shared by `tests/runtime.rs` and the
//! benchmark (`#[path]`-included there). One runtime serves one function
//! process: dropping it stops the server and every pending `/next`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};

/// What the function posted for one invocation.
#[derive(Debug)]
pub struct Posted {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    pub body: Bytes,
    /// When the post arrived.
    pub at: Instant,
}

impl Posted {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct Queues {
    events: Mutex<mpsc::Receiver<(String, String)>>,
    posted: mpsc::Sender<Posted>,
    /// When each `GET .../invocation/next` arrived: the first one ends the
    /// function's init, as Lambda counts it.
    polls: std::sync::Mutex<Vec<Instant>>,
}

pub struct FakeRuntime {
    pub addr: SocketAddr,
    events: mpsc::Sender<(String, String)>,
    posted: mpsc::Receiver<Posted>,
    queues: Arc<Queues>,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

impl FakeRuntime {
    /// Listens on a free 127.0.0.1 port.
    pub async fn start() -> std::io::Result<Self> {
        let (events, queue) = mpsc::channel(16);
        let (posted_tx, posted) = mpsc::channel(16);
        let queues = Arc::new(Queues {
            events: Mutex::new(queue),
            posted: posted_tx,
            polls: std::sync::Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving_queues = queues.clone();
        let service = hyper::service::service_fn(move |req| {
            let queues = serving_queues.clone();
            async move { Ok::<_, Infallible>(route(&queues, req).await) }
        });
        let serving = tokio::spawn(s3_proxy::local::server::serve(listener, service));
        Ok(Self {
            addr,
            events,
            posted,
            queues,
            serving,
        })
    }

    /// When each poll for the next event arrived, in order.
    pub fn polls(&self) -> Vec<Instant> {
        self.queues
            .polls
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Hands out `event` (JSON) as invocation `request_id`, at the next poll.
    pub async fn send(&self, request_id: &str, event: String) {
        let _ = self.events.send((request_id.to_string(), event)).await;
    }

    /// The next answer the function posts, if one comes within `wait`.
    pub async fn posted(&mut self, wait: Duration) -> Option<Posted> {
        tokio::time::timeout(wait, self.posted.recv())
            .await
            .ok()
            .flatten()
    }

    /// The environment Lambda gives a function, pointed at this runtime, with
    /// S3 at `s3_endpoint` under the embedded store's static credentials and
    /// no AWS configuration files (`missing` names a file that does not exist).
    pub fn lambda_env(&self, s3_endpoint: &str, missing: &str) -> Vec<(&'static str, String)> {
        use s3_proxy::local::server::{LOCAL_ACCESS_KEY, LOCAL_REGION, LOCAL_SECRET_KEY};
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "s3-proxy".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_REGION", LOCAL_REGION.into()),
            ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_KEY.into()),
            ("AWS_ENDPOINT_URL_S3", s3_endpoint.into()),
            ("S3_FORCE_PATH_STYLE", "true".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", missing.into()),
            ("AWS_SHARED_CREDENTIALS_FILE", missing.into()),
        ]
    }
}

/// The three routes of the Runtime API a function uses.
async fn route(queues: &Queues, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if req.method() == http::Method::GET && path.ends_with("/runtime/invocation/next") {
        if let Ok(mut polls) = queues.polls.lock() {
            polls.push(Instant::now());
        }
        let next = queues.events.lock().await.recv().await;
        let Some((request_id, event)) = next else {
            // No more events: the function waits here until it is stopped.
            return std::future::pending().await;
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 30_000;
        let mut response = http::Response::new(Full::new(Bytes::from(event)));
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:s3-proxy".into(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".into(),
            ),
            ("content-type", "application/json".into()),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        return response;
    }
    // POST /2018-06-01/runtime/invocation/{id}/response | /error
    let at = Instant::now();
    let mut parts = path.rsplit('/');
    let kind = parts.next().unwrap_or_default().to_string();
    let request_id = parts.next().unwrap_or_default().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let _ = queues
        .posted
        .send(Posted {
            request_id,
            kind,
            body,
            at,
        })
        .await;
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}

/// A function process, killed when dropped.
pub struct Function(pub std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
