//! Serving on loopback: the embedded S3 store, the accept loop every local
//! server shares (the store, the emulator, the tests' fake Runtime API), and
//! the S3 client that talks to the store (or to any endpoint) without
//! touching instance metadata.
//!
//! Every connection is guarded:
//! - `Host` must name the address served (a loopback name or address when
//!   bound to loopback, or a name given with `--allow-host`): a web page that
//!   rebinds its DNS name to 127.0.0.1 gets 421, never an answer;
//! - headers must arrive within [`Limits::header_read`], which also bounds
//!   how long an idle keep-alive connection stays open, and a connection
//!   that moves no byte for [`Limits::idle`] is closed;
//! - accept errors (EMFILE when out of file descriptors) back off instead of
//!   spinning.

use super::store::LocalStore;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The static credentials of the embedded store. They sign real SigV4
/// requests, checked by s3s; they open nothing outside this machine.
pub const LOCAL_ACCESS_KEY: &str = "s3-proxy-local";
pub const LOCAL_SECRET_KEY: &str = "s3-proxy-local-secret";
pub const LOCAL_REGION: &str = "us-east-1";

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Time limits on every connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To receive a request's headers, counted from when the connection
    /// starts waiting for them (so also the longest idle keep-alive).
    pub header_read: Duration,
    /// Without any byte read or written, mid-request included.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// Which `Host` values a server answers.
#[derive(Debug, Clone)]
pub struct Hosts {
    bound: IpAddr,
    names: Arc<Vec<String>>,
}

impl Hosts {
    /// The address `bound` (loopback names with it when it is loopback, any
    /// address when it is unspecified) and the extra `names`.
    pub fn new(bound: IpAddr, names: &[String]) -> Self {
        Self {
            bound,
            names: Arc::new(names.iter().map(|n| normalize(n)).collect()),
        }
    }

    /// Does a request with this `Host` (or `:authority`) belong here?
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host.map(strip_port).map(normalize) else {
            return false;
        };
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return self.bound.is_unspecified()
                || ip == self.bound
                || (self.bound.is_loopback() && ip.is_loopback());
        }
        let loopback_name = host == "localhost" || host.ends_with(".localhost");
        (loopback_name && (self.bound.is_loopback() || self.bound.is_unspecified()))
            || self.names.contains(&host)
    }
}

fn normalize(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `name:port`, `[v6]:port` -> the name or address.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// Accept errors back off: 10 ms doubling to 1 s, back to 10 ms after an
/// accepted connection.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub fn failed(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Binds a listener, with a clear message when the port is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (the port is in use: pick another with --port or PORT=...)"
        } else {
            ""
        };
        std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{hint}"))
    })
}

/// Listening anywhere but loopback needs `allow_remote`, and says what it
/// exposes.
pub fn check_exposure(addr: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !allow_remote {
        return Err(format!(
            "refusing to listen on {addr}: the local API and store have no authentication of their own, \
             so anyone who can reach that address could read, write and delete everything they serve. \
             Listen on 127.0.0.1 (the default), or pass --allow-remote if that is really what you want"
        ));
    }
    eprintln!(
        "WARNING: listening on {addr}, off loopback: the local API has no authentication; \
         anyone who can reach this address can read, write and delete everything it serves"
    );
    Ok(())
}

/// Starts the embedded S3 store over `data` on `addr` (port 0: any free port).
pub async fn start_store(data: &Path, addr: SocketAddr) -> std::io::Result<Running> {
    start_store_with(data, addr, &[], false).await
}

/// [`start_store`], answering also for the `Host` names given; `sweep`: clear
/// what crashes left behind (for long-running servers, not one-shot calls).
pub async fn start_store_with(
    data: &Path,
    addr: SocketAddr,
    names: &[String],
    sweep: bool,
) -> std::io::Result<Running> {
    let store = LocalStore::open(data).map_err(|e| {
        std::io::Error::other(format!(
            "the data folder {} is not usable: {e}",
            data.display()
        ))
    })?;
    if sweep {
        store.sweep_in_background();
    }
    let listener = bind(addr).await?;
    let addr = listener.local_addr()?;
    let service = store_service(store);
    let guard = Guard::answering(addr.ip(), names);
    let task = tokio::spawn(serve_with(listener, service, guard));
    Ok(Running { addr, task })
}

/// The store as an HTTP service: s3s with SigV4 (the local credentials),
/// every answer naming its request, as S3's do (s3s sends no id), a ranged
/// HEAD answered 206.
pub fn store_service(
    store: LocalStore,
) -> impl hyper::service::Service<
    http::Request<hyper::body::Incoming>,
    Response = http::Response<s3s::Body>,
    Error = s3s::HttpError,
    Future = impl Future<Output = Result<http::Response<s3s::Body>, s3s::HttpError>> + Send,
> + Clone
+ Send
+ 'static {
    let service = {
        let mut builder = S3ServiceBuilder::new(store);
        builder.set_auth(SimpleAuth::from_single(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY));
        builder.build()
    };
    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let service = service.clone();
        let head = req.method() == http::Method::HEAD;
        let conflict = conflicting_subresources(req.uri().query());
        async move {
            let mut response = match conflict {
                Some(refused) => refused,
                None => hyper::service::Service::call(&service, req).await?,
            };
            if let Ok(id) = http::HeaderValue::from_str(&super::gateway::new_request_id()) {
                response.headers_mut().insert("x-amz-request-id", id);
            }
            // A ranged HEAD is 206 in S3; s3s 0.14 answers 200 (and ignores
            // the status an operation sets).
            if head
                && response.status() == http::StatusCode::OK
                && response.headers().contains_key(http::header::CONTENT_RANGE)
            {
                *response.status_mut() = http::StatusCode::PARTIAL_CONTENT;
            }
            Ok::<_, s3s::HttpError>(response)
        }
    })
}

/// The query keys that name an operation (`?tagging`, `?uploadId`, ...), as
/// s3s 0.14 routes by them.
pub const SUBRESOURCES: [&str; 34] = [
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
];

/// S3's 400 `InvalidArgument` for a request naming two operations
/// (`GET ?tagging&uploadId`: GetObjectTagging or ListParts?), which s3s would
/// route to the first its own order checks, dropping the other; `None` for
/// any other request. No SDK sends such a request.
fn conflicting_subresources(query: Option<&str>) -> Option<http::Response<s3s::Body>> {
    let mut named: Vec<&str> = url::form_urlencoded::parse(query?.as_bytes())
        .filter_map(|(key, _)| SUBRESOURCES.iter().copied().find(|s| *s == key))
        .collect();
    named.sort();
    named.dedup();
    if named.len() < 2 {
        return None;
    }
    let message = format!("Conflicting query string parameters: {}", named.join(", "));
    let error = s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, message);
    error.to_http_response().ok()
}

/// What every connection of a server is held to.
#[derive(Debug, Clone)]
pub struct Guard {
    pub hosts: Hosts,
    pub limits: Limits,
}

impl Guard {
    /// The default limits, answering the `Host` of `bound` and `names`.
    pub fn answering(bound: IpAddr, names: &[String]) -> Self {
        Self {
            hosts: Hosts::new(bound, names),
            limits: Limits::default(),
        }
    }

    /// [`Self::answering`] the address `listener` is bound to only.
    pub fn of(listener: &TcpListener) -> Self {
        let bound = listener
            .local_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Self::answering(bound, &[])
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type GuardedBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// Serves `service` on every connection `listener` accepts, until the task
/// is dropped, answering the `Host` of the bound address only, with the
/// default limits.
pub async fn serve<S, B>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let guard = Guard::of(&listener);
    serve_with(listener, service, guard).await
}

/// [`serve`] with explicit host names and limits.
pub async fn serve_with<S, B>(listener: TcpListener, service: S, guard: Guard)
where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut http = ConnBuilder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(guard.limits.header_read);
    let hosts = guard.hosts.clone();
    let guarded = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let service = service.clone();
        let allowed = {
            let host = req.uri().authority().map(|a| a.as_str()).or_else(|| {
                req.headers()
                    .get(http::header::HOST)
                    .and_then(|v| v.to_str().ok())
            });
            hosts.allows(host)
        };
        async move {
            if !allowed {
                return Ok::<_, std::io::Error>(misdirected());
            }
            let response = service.call(req).await.map_err(io_error)?;
            Ok(response.map(|b| b.map_err(io_error::<B::Error>).boxed_unsync()))
        }
    });
    let mut backoff = Backoff::default();
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => {
                backoff.succeeded();
                socket
            }
            Err(e) => {
                let delay = backoff.failed();
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "accept failed");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        // Without TCP_NODELAY a body written after its headers waits for the
        // client's delayed ACK (docs/performance.md).
        let _ = socket.set_nodelay(true);
        let activity = Activity::new();
        let io = Watched {
            io: socket,
            activity: activity.clone(),
        };
        let conn = http
            .serve_connection(TokioIo::new(io), guarded.clone())
            .into_owned();
        let idle = guard.limits.idle;
        tokio::spawn(async move {
            tokio::pin!(conn);
            loop {
                let quiet = activity.quiet_for();
                if quiet >= idle {
                    break; // dropping the connection closes it
                }
                tokio::select! {
                    _ = &mut conn => break,
                    _ = tokio::time::sleep(idle - quiet) => {}
                }
            }
        });
    }
}

/// Errors of the served service and its bodies, as one concrete type.
fn io_error<E: Into<BoxError>>(e: E) -> std::io::Error {
    std::io::Error::other(e.into())
}

fn misdirected() -> http::Response<GuardedBody> {
    let body = "This server answers only requests addressed to it (Host: a loopback name or address, \
                or a name given with --allow-host).\n";
    let mut response = http::Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *response.status_mut() = http::StatusCode::MISDIRECTED_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

/// When a connection last moved a byte.
#[derive(Debug, Clone)]
struct Activity {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A socket that records its activity.
struct Watched<T> {
    io: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

pub use crate::s3::client::static_client;

/// A client for the embedded store at `url`.
pub fn local_client(url: &str, timeout: Duration) -> aws_sdk_s3::Client {
    static_client(
        url,
        LOCAL_ACCESS_KEY,
        LOCAL_SECRET_KEY,
        LOCAL_REGION,
        timeout,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_served_host_is_answered() {
        let loopback = Hosts::new(IpAddr::from([127, 0, 0, 1]), &["dev.example".to_string()]);
        let anywhere = Hosts::new(IpAddr::from([0, 0, 0, 0]), &[]);
        let lan = Hosts::new(IpAddr::from([192, 168, 1, 5]), &[]);
        let cases: Vec<(&Hosts, Option<&str>, bool)> = vec![
            (&loopback, Some("127.0.0.1:3000"), true),
            (&loopback, Some("127.0.0.1"), true),
            (&loopback, Some("localhost:3000"), true),
            (&loopback, Some("LOCALHOST."), true),
            (&loopback, Some("app.localhost:9100"), true),
            (&loopback, Some("[::1]:3000"), true),
            (&loopback, Some("127.1.2.3:3000"), true),
            (&loopback, Some("dev.example:3000"), true),
            // DNS rebinding: a name that resolves here, but is not ours.
            (&loopback, Some("evil.example:3000"), false),
            (&loopback, Some("localhost.evil.example"), false),
            (&loopback, Some("192.168.1.5:3000"), false),
            (&loopback, Some(""), false),
            (&loopback, None, false),
            (&anywhere, Some("10.0.0.7:3000"), true),
            (&anywhere, Some("localhost"), true),
            (&anywhere, Some("evil.example"), false),
            (&lan, Some("192.168.1.5:3000"), true),
            (&lan, Some("127.0.0.1:3000"), false),
            (&lan, Some("localhost:3000"), false),
        ];
        for (hosts, host, allowed) in cases {
            assert_eq!(hosts.allows(host), allowed, "{host:?} against {hosts:?}");
        }
    }

    #[test]
    fn accept_errors_back_off_up_to_a_second_and_reset() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..10)
            .map(|_| backoff.failed().as_millis() as u64)
            .collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    #[test]
    fn off_loopback_needs_the_flag() {
        let local: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let open: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert!(check_exposure(local, false).is_ok());
        let refusal = check_exposure(open, false).unwrap_err();
        assert!(
            refusal.contains("--allow-remote") && refusal.contains("no authentication"),
            "{refusal}"
        );
        assert!(check_exposure(open, true).is_ok());
    }
}
