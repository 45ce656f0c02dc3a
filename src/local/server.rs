//! Serving on loopback: the embedded S3 store, and the S3 client that talks
//! to it (or to any endpoint) without touching instance metadata.

use super::store::LocalStore;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
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

/// Binds a loopback listener, with a clear message when the port is taken.
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

/// Starts the embedded S3 store over `data` on `addr` (port 0: any free port).
pub async fn start_store(data: &Path, addr: SocketAddr) -> std::io::Result<Running> {
    let store = LocalStore::open(data).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("the data folder {} is not usable: {e}", data.display()),
        )
    })?;
    let service = {
        let mut builder = S3ServiceBuilder::new(store);
        builder.set_auth(SimpleAuth::from_single(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY));
        builder.build()
    };
    let listener = bind(addr).await?;
    let addr = listener.local_addr()?;
    // Like S3, every answer names its request (s3s sends no id).
    let with_id = hyper::service::service_fn(move |req| {
        let service = service.clone();
        async move {
            let mut response = hyper::service::Service::call(&service, req).await?;
            if let Ok(id) = http::HeaderValue::from_str(&super::gateway::new_request_id()) {
                response.headers_mut().insert("x-amz-request-id", id);
            }
            Ok::<_, s3s::HttpError>(response)
        }
    });
    let task = tokio::spawn(serve(listener, with_id));
    Ok(Running { addr, task })
}

/// Serves `service` on every connection `listener` accepts, until the task
/// is dropped: the store and the emulator alike.
pub async fn serve<S, B>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        // Without TCP_NODELAY a body written after its headers waits for the
        // client's delayed ACK (docs/performance.md).
        let _ = socket.set_nodelay(true);
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
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
