//! A fake Lambda Runtime API on loopback, for running the Lambda binary as
//! AWS runs it: the function polls `GET .../runtime/invocation/next`, gets
//! the events handed to [`FakeRuntime::send`] one by one, and posts each
//! answer to `.../invocation/{id}/response` (or `/error`), which
//! [`FakeRuntime::posted`] returns. A streamed answer (header
//! `Lambda-Runtime-Function-Response-Mode: streaming`) is read as Lambda
//! reads it: chunk by chunk, recording when its bytes arrive, the prelude
//! split from the body at the eight NUL bytes, and its trailers (a failure
//! midway). Shared by `tests/runtime.rs` and the benchmark (`#[path]`-included
//! there). One runtime serves one function process: dropping it stops the
//! server and every pending `/next`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc, watch};

/// What separates a streamed answer's prelude from its body.
const DELIMITER: [u8; 8] = [0; 8];

/// What the function posted for one invocation.
#[derive(Debug)]
pub struct Posted {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    /// The answer (a buffered one whole; a streamed one after its prelude),
    /// unless the runtime only counts bytes ([`FakeRuntime::start_counting`]).
    pub body: Bytes,
    /// The streamed answer's prelude (JSON), `None` for a buffered answer.
    pub prelude: Option<serde_json::Value>,
    /// Bytes of the answer after its prelude (all of a buffered one), and
    /// the number of chunks they came in.
    pub body_len: u64,
    pub body_chunks: usize,
    /// When the request's head arrived, when the first byte after the
    /// prelude arrived (`None`: an empty body), and when its end arrived.
    pub started: Instant,
    pub first_body_byte: Option<Instant>,
    pub finished: Instant,
    /// The trailers that ended a streamed answer, if any.
    pub trailers: Option<http::HeaderMap>,
    /// The `Lambda-Runtime-Invocation-Id` the answer echoed (the runtime
    /// hands out `inv-{request_id}`).
    pub invocation_id: Option<String>,
    /// When the invocation's event was handed out to the function.
    pub handed_out: Option<Instant>,
}

impl Posted {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A streamed answer's status.
    pub fn status(&self) -> Option<u64> {
        self.prelude.as_ref()?["statusCode"].as_u64()
    }

    /// A streamed answer's single-valued header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.prelude.as_ref()?["headers"][name].as_str()
    }

    /// The error a streamed answer reported midway, in its trailers.
    pub fn stream_error(&self) -> Option<&str> {
        self.trailers
            .as_ref()?
            .get("lambda-runtime-function-error-type")?
            .to_str()
            .ok()
    }
}

struct Queues {
    events: Mutex<mpsc::Receiver<(String, String)>>,
    posted: mpsc::Sender<Posted>,
    /// Bytes received so far of the answer being posted, after its prelude.
    progress: watch::Sender<u64>,
    keep_bodies: bool,
    /// When each `GET .../invocation/next` arrived: the first one ends the
    /// function's init, as Lambda counts it.
    polls: std::sync::Mutex<Vec<Instant>>,
    /// When each invocation's event was handed out (the answer to `/next`
    /// made), by request id: the invocation's start, as Lambda counts it.
    handed_out: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

pub struct FakeRuntime {
    pub addr: SocketAddr,
    events: mpsc::Sender<(String, String)>,
    posted: mpsc::Receiver<Posted>,
    progress: watch::Receiver<u64>,
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
        Self::start_with(true).await
    }

    /// Like [`Self::start`], but answers' bytes are counted and dropped, not
    /// kept: a sink, as a client streaming a large object would be.
    pub async fn start_counting() -> std::io::Result<Self> {
        Self::start_with(false).await
    }

    async fn start_with(keep_bodies: bool) -> std::io::Result<Self> {
        let (events, queue) = mpsc::channel(16);
        let (posted_tx, posted) = mpsc::channel(16);
        let (progress_tx, progress) = watch::channel(0);
        let queues = Arc::new(Queues {
            events: Mutex::new(queue),
            posted: posted_tx,
            progress: progress_tx,
            keep_bodies,
            polls: std::sync::Mutex::new(Vec::new()),
            handed_out: Default::default(),
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
            progress,
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

    /// Waits until `bytes` of the answer being posted (after its prelude)
    /// have arrived, while the function is still sending it.
    pub async fn received(&mut self, bytes: u64, wait: Duration) -> bool {
        let until = self.progress.wait_for(|n| *n >= bytes);
        matches!(tokio::time::timeout(wait, until).await, Ok(Ok(_)))
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
        let handed_out = (request_id.clone(), Instant::now());
        let mut response = http::Response::new(Full::new(Bytes::from(event)));
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-invocation-id", format!("inv-{request_id}")),
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
        if let Ok(mut all) = queues.handed_out.lock() {
            all.insert(handed_out.0, handed_out.1);
        }
        return response;
    }
    // POST /2018-06-01/runtime/invocation/{id}/response | /error
    let started = Instant::now();
    let mut parts = path.rsplit('/');
    let kind = parts.next().unwrap_or_default().to_string();
    let request_id = parts.next().unwrap_or_default().to_string();
    let invocation_id = req
        .headers()
        .get("lambda-runtime-invocation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let handed_out = queues
        .handed_out
        .lock()
        .ok()
        .and_then(|mut all| all.remove(&request_id));
    let streamed = req
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v == "streaming");
    let posted = read_answer(queues, req.into_body(), streamed).await;
    let _ = queues
        .posted
        .send(Posted {
            request_id,
            kind,
            started,
            invocation_id,
            handed_out,
            ..posted
        })
        .await;
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}

/// Reads an answer frame by frame as it arrives: a streamed one's prelude
/// (up to the delimiter) apart from its body, and its trailers.
async fn read_answer(queues: &Queues, mut body: Incoming, streamed: bool) -> Posted {
    let mut head: Option<Vec<u8>> = streamed.then(Vec::new);
    let mut prelude = None;
    let mut kept = Vec::new();
    let (mut body_len, mut body_chunks, mut first_body_byte, mut trailers) = (0u64, 0, None, None);
    queues.progress.send_replace(0);
    while let Some(Ok(frame)) = body.frame().await {
        let frame = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                trailers = frame.into_trailers().ok();
                continue;
            }
        };
        let data = match &mut head {
            // Still in the prelude: the body starts after the delimiter.
            Some(buffer) => {
                buffer.extend_from_slice(&frame);
                let Some(at) = buffer.windows(8).position(|w| w == DELIMITER) else {
                    continue;
                };
                prelude = serde_json::from_slice(&buffer[..at]).ok();
                let rest = buffer.split_off(at + DELIMITER.len());
                head = None;
                Bytes::from(rest)
            }
            None => frame,
        };
        if data.is_empty() {
            continue;
        }
        first_body_byte.get_or_insert_with(Instant::now);
        body_len += data.len() as u64;
        body_chunks += 1;
        queues.progress.send_replace(body_len);
        if queues.keep_bodies {
            kept.extend_from_slice(&data);
        }
    }
    Posted {
        request_id: String::new(),
        kind: String::new(),
        body: Bytes::from(kept),
        prelude,
        body_len,
        body_chunks,
        started: Instant::now(),
        first_body_byte,
        finished: Instant::now(),
        trailers,
        invocation_id: None,
        handed_out: None,
    }
}

/// A function process, killed when dropped.
pub struct Function(pub std::process::Child);

impl Function {
    /// Starts the binary at `bin` with exactly `env`; what it prints goes to
    /// the file `log`, or nowhere.
    pub fn spawn(
        bin: impl AsRef<std::ffi::OsStr>,
        env: Vec<(&'static str, String)>,
        log: Option<&std::path::Path>,
    ) -> std::io::Result<Self> {
        use std::process::Stdio;
        let (out, err) = match log {
            Some(path) => {
                let file = std::fs::File::create(path)?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = std::process::Command::new(bin)
            .env_clear()
            .envs(env)
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Self(child))
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
