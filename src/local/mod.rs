//! Local mode (`make run`, `make invoke`): the API as the deployed stage
//! serves it, on a laptop, without AWS or Docker.
//!
//! - [`store`]: the embedded S3 store (s3s for the protocol, SQLite and blob
//!   files for storage; docs/local-store.md).
//! - [`server`]: the store on loopback, the guarded accept loop (Host check,
//!   timeouts, backoff), and S3 clients that never probe instance metadata.
//! - [`gateway`]: the API Gateway REST emulator around the same handler the
//!   Lambda runs ([`crate::lambda::invoke_json`]), called in-process;
//!   [`stream`]: the same in stream mode (`RESPONSE_MODE=stream`).
//! - [`serve_gateway`] / [`run`] / [`invoke`]: the HTTP front and the command.

pub mod gateway;
pub mod server;
pub mod store;
pub mod stream;

use crate::app::App;
use crate::config::Config;
use crate::config::ResponseMode;
use crate::s3;
use gateway::{
    API_GATEWAY_LIMIT, Gateway, GatewayError, HttpRequest, HttpResponse, new_request_id,
};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Bytes, Incoming};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the proxy's S3 calls go.
pub enum S3Endpoint {
    /// The embedded store over this folder, started on a free loopback port.
    Embedded(PathBuf),
    /// An S3-compatible endpoint named by `AWS_ENDPOINT_URL_S3` (or real S3),
    /// with credentials from the environment.
    Environment,
}

impl S3Endpoint {
    /// `AWS_ENDPOINT_URL_S3` set: that endpoint; else the embedded store.
    pub fn choose(data: PathBuf) -> Self {
        match std::env::var("AWS_ENDPOINT_URL_S3") {
            Ok(v) if !v.trim().is_empty() => Self::Environment,
            _ => Self::Embedded(data),
        }
    }
}

/// An App over the chosen backend; the embedded store (if any) runs as long
/// as the returned guard lives.
pub async fn app_for(
    endpoint: S3Endpoint,
    config: Config,
) -> Result<(App, Option<server::Running>), Box<dyn std::error::Error + Send + Sync>> {
    app_with_store_at(
        endpoint,
        config,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        false,
    )
    .await
}

/// [`app_for`] with the embedded store (if any) on `store_addr`; `sweep`:
/// clear what crashes left in the data folder (long-running servers only).
async fn app_with_store_at(
    backend: S3Endpoint,
    config: Config,
    store_addr: SocketAddr,
    sweep: bool,
) -> Result<(App, Option<server::Running>), Box<dyn std::error::Error + Send + Sync>> {
    match backend {
        S3Endpoint::Embedded(data) => {
            let store = server::start_store_with(&data, store_addr, &[], sweep).await?;
            let client = server::local_client(&store.url(), config.backend_timeout);
            Ok((App::new(config, client), Some(store)))
        }
        S3Endpoint::Environment => {
            // A region from the environment, else us-east-1: never the
            // instance-metadata probe aws-config falls back to.
            let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
                .unwrap_or_else(|| server::LOCAL_REGION.to_string());
            let config = Config {
                force_path_style: std::env::var("S3_FORCE_PATH_STYLE").is_err()
                    || config.force_path_style,
                ..config
            };
            let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region))
                .http_client(s3::client::http_client(
                    s3::client::endpoint_from_env().as_deref(),
                ))
                .load()
                .await;
            let client = s3::client::from_sdk_config(&config, &shared)?;
            Ok((App::new(config, client), None))
        }
    }
}

/// Serves the emulated API on `listener` until the task is dropped.
pub async fn serve_gateway(listener: tokio::net::TcpListener, gateway: Arc<Gateway>) {
    let guard = server::Guard::of(&listener);
    serve_gateway_with(listener, gateway, guard).await
}

/// A buffered answer, or a streamed one relayed as it comes.
type GatewayBody = Either<Full<Bytes>, stream::Relay>;

/// [`serve_gateway`] with explicit host names and limits.
pub async fn serve_gateway_with(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    guard: server::Guard,
) {
    let service = hyper::service::service_fn(move |req| {
        let gateway = gateway.clone();
        async move { Ok::<_, Infallible>(handle_http(&gateway, req).await) }
    });
    server::serve_with(listener, service, guard).await
}

async fn handle_http(
    gateway: &Gateway,
    req: http::Request<Incoming>,
) -> http::Response<GatewayBody> {
    let (parts, body) = req.into_parts();
    let head = parts.method == http::Method::HEAD;
    let origin = parts
        .headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let too_long = || gateway.own_answer(GatewayError::RequestTooLarge, origin, &new_request_id());
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let streaming = gateway.app.config.response_mode == ResponseMode::Stream;
    let response = if declared.is_some_and(|n| n > API_GATEWAY_LIMIT) {
        too_long()
    } else {
        match Limited::new(body, API_GATEWAY_LIMIT).collect().await {
            Err(_) => too_long(),
            Ok(collected) => {
                let request = HttpRequest {
                    method: parts.method.to_string(),
                    target: parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into()),
                    headers: parts
                        .headers
                        .iter()
                        .filter_map(|(n, v)| {
                            Some((n.as_str().to_string(), v.to_str().ok()?.to_string()))
                        })
                        .collect(),
                    body: collected.to_bytes().to_vec(),
                };
                if streaming {
                    return relayed(gateway.call_streaming(request).await);
                }
                gateway.call(request).await
            }
        }
    };
    to_hyper(response, head).map(Either::Left)
}

/// A streamed answer: the prelude's status and headers (Content-Length
/// included, which frames the body), the body as it comes.
fn relayed(response: stream::StreamedResponse) -> http::Response<GatewayBody> {
    let body = Either::Right(response.body);
    http_response(response.status, response.headers.into_iter(), body)
}

fn to_hyper(response: HttpResponse, head: bool) -> http::Response<Full<Bytes>> {
    let body = Full::new(Bytes::from(response.body));
    // hyper sets Content-Length from the body, except for HEAD, where the
    // handler's value (the object's size) is the one to keep.
    let headers = response
        .headers
        .into_iter()
        .filter(|(name, _)| head || !name.eq_ignore_ascii_case("content-length"));
    http_response(response.status, headers, body)
}

fn http_response<B>(
    status: u16,
    headers: impl Iterator<Item = (String, String)>,
    body: B,
) -> http::Response<B> {
    let mut out = http::Response::new(body);
    *out.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// Where `make run` listens and whom it answers.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The emulator's address.
    pub addr: SocketAddr,
    /// Extra `Host` names to answer (besides the address and loopback names).
    pub names: Vec<String>,
    /// The embedded store's port on 127.0.0.1 (for `cargo lambda watch`);
    /// any free port if this one is taken.
    pub store_port: u16,
}

/// `make run`: the emulator on `listen.addr`, over the chosen backend.
pub async fn run(
    listen: Listen,
    backend: S3Endpoint,
    stage: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = Config::from_env()?;
    let embedded = matches!(backend, S3Endpoint::Embedded(_));
    let description = match &backend {
        S3Endpoint::Embedded(data) => format!("embedded S3 store in {}/", data.display()),
        S3Endpoint::Environment => format!(
            "S3 endpoint {}",
            std::env::var("AWS_ENDPOINT_URL_S3").unwrap_or_default()
        ),
    };
    let listener = server::bind(listen.addr).await?;
    let wanted = SocketAddr::from(([127, 0, 0, 1], listen.store_port));
    // The store's fixed port is where `cargo lambda watch` looks; another
    // process (`make store`) may serve the same folder there already.
    let store_addr = match std::net::TcpListener::bind(wanted) {
        Ok(probe) => {
            drop(probe);
            wanted
        }
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let (app, store) = app_with_store_at(backend, config, store_addr, true).await?;
    let gateway = Arc::new(Gateway::new(Arc::new(app), stage));
    let base = format!("http://{}", listener.local_addr()?);
    println!(
        "s3-proxy: API Gateway REST emulator on {base}/ (stage /{stage}/ or none), {description}"
    );
    if let (true, Some(store)) = (embedded, &store) {
        println!(
            "S3 endpoint of the store: {} (access key {}, secret {}, region {})",
            store.url(),
            server::LOCAL_ACCESS_KEY,
            server::LOCAL_SECRET_KEY,
            server::LOCAL_REGION
        );
    }
    match gateway.app.config.response_mode {
        ResponseMode::Buffered => println!("binaryMediaTypes: {}", gateway.binary),
        ResponseMode::Stream => println!(
            "response streaming (RESPONSE_MODE=stream): raw bytes, GETs up to {} bytes",
            gateway.app.config.stream_max_bytes
        ),
    }
    let cors = &gateway.app.config.cors;
    match &cors.origins {
        crate::cors::Origins::Off => {
            println!("CORS: off (set CORS_ALLOW_ORIGINS to call it from a web page)")
        }
        crate::cors::Origins::Any => println!("CORS: any origin (*)"),
        crate::cors::Origins::List(list) => println!("CORS: {}", list.join(", ")),
    }
    if gateway.app.config.html_index {
        println!("HTML index: open {base}/ in a browser");
    }
    println!("Try:");
    println!("  curl -X PUT {base}/my-bucket");
    println!("  curl -T photo.png -H 'Content-Type: image/png' {base}/my-bucket/photos/photo.png");
    println!("  curl {base}/my-bucket");
    let guard = server::Guard::answering(listen.addr.ip(), &listen.names);
    let serving = tokio::spawn(serve_gateway_with(listener, gateway, guard));
    tokio::select! {
        _ = serving => {}
        _ = tokio::signal::ctrl_c() => println!("stopped"),
    }
    Ok(())
}

/// `make invoke`: one event through the handler; prints the response JSON.
pub async fn invoke(
    event_file: &std::path::Path,
    endpoint: S3Endpoint,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let event = std::fs::read_to_string(event_file)
        .map_err(|e| format!("cannot read {}: {e}", event_file.display()))?;
    let (app, _store) = app_for(endpoint, Config::from_env()?).await?;
    let mut context = lambda_http::Context::default();
    context.request_id = gateway::new_request_id();
    let json = crate::lambda::invoke_json(&app, &event, context).await?;
    Ok(String::from_utf8(json)?)
}

/// `make store`: only the embedded S3 store, until Ctrl-C. Other processes
/// (`make run`, `make invoke`) may use the same folder meanwhile.
pub async fn serve_store(
    addr: SocketAddr,
    data: &std::path::Path,
    names: &[String],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = server::start_store_with(data, addr, names, true).await?;
    println!(
        "s3-proxy: embedded S3 store on {} over {}/ (access key {}, secret {}, region {})",
        store.url(),
        data.display(),
        server::LOCAL_ACCESS_KEY,
        server::LOCAL_SECRET_KEY,
        server::LOCAL_REGION
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
