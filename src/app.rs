//! The handler: [`Request`] -> `Response<Body>`.
//!
//! It reads what routing needs out of the request (path parameters or the
//! stage-free raw path, query, headers, body), then runs
//! `route -> authorize -> s3 -> response`. Every request is logged once,
//! with its outcome.

use crate::config::Config;
use crate::error::ApiError;
use crate::html;
use crate::response::{self, Negotiation};
use crate::route::{self, Operation, PathSource};
use crate::s3::{Backend, Outcome};
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use lambda_http::Body;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the handler reads of one API Gateway event ([`crate::lambda`] moves
/// it out of a REST v1 or HTTP API v2 event).
#[derive(Debug, Default)]
pub struct Request {
    pub method: Method,
    pub headers: HeaderMap,
    /// `{folder}` and `{item}` / `{item+}`, or `{proxy+}`, as API Gateway
    /// passed them (still percent-encoded for REST APIs).
    pub path_parameters: HashMap<String, String>,
    /// The stage-free path: the event's `path` (REST) or `rawPath` (HTTP API).
    pub raw_path: String,
    /// The path as the browser sent it, stage or custom domain base path
    /// included (`requestContext.path`; HTTP API: `rawPath`): where the
    /// HTML index's links point.
    pub client_path: String,
    /// Query parameters in order, repeated names kept.
    pub query: Vec<(String, String)>,
    /// The body, base64-decoded when the event said so.
    pub body: Bytes,
    /// A fault found in the event itself (a body that is not base64).
    pub early: Option<ApiError>,
    /// The Lambda invocation's request id, else API Gateway's.
    pub request_id: String,
}

/// Everything a request needs, built once at start-up.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub backend: Backend,
}

impl App {
    /// Configuration from the environment and an S3 client from aws-config's
    /// default chain (region, credentials, `AWS_ENDPOINT_URL_S3`).
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts(&config))
            .http_client(http_client(endpoint_from_env().as_deref()))
            .load()
            .await;
        Self::from_sdk_config(config, &shared)
    }

    /// Builds the S3 client from an already loaded aws-config.
    pub fn from_sdk_config(config: Config, shared: &aws_config::SdkConfig) -> Result<Self, String> {
        if shared.region().is_none() {
            return Err("no AWS region: set AWS_REGION".into());
        }
        let s3_config = aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(config.force_path_style)
            .timeout_config(timeouts(&config))
            .build();
        Ok(Self::new(config, aws_sdk_s3::Client::from_conf(s3_config)))
    }

    pub fn new(config: Config, client: aws_sdk_s3::Client) -> Self {
        let backend = Backend::new(client, config.inline_limit, config.presign_expiry);
        Self { config, backend }
    }

    /// Serves one request. Never fails: errors become S3-style responses.
    pub async fn answer(&self, mut req: Request) -> Response<Body> {
        let started = Instant::now();
        let request_id = std::mem::take(&mut req.request_id);
        let neg = Negotiation {
            accept: req
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            head: req.method == Method::HEAD,
        };
        let resource = req.raw_path.clone();
        let method = req.method.clone();
        let origin = req
            .headers
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let result = match req.early.take() {
            Some(err) => Err(("Unrouted", None, err)),
            None => self.serve(req, &neg).await,
        };
        let (operation, bucket, mut response) = match result {
            Ok((op, bucket, response)) => (op, bucket, response),
            Err((op, bucket, err)) => {
                if err.status().is_server_error() {
                    tracing::error!(request_id, operation = op, error = %err, "request failed");
                }
                let response = response::render_error(&err, &neg, &request_id, &resource);
                (op, bucket, response)
            }
        };
        self.config
            .cors
            .decorate(origin.as_deref(), response.headers_mut());
        tracing::info!(
            request_id,
            method = %method,
            operation,
            bucket,
            status = response.status().as_u16(),
            s3_request_id = response.headers().get("x-amz-request-id").and_then(|v| v.to_str().ok()),
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }

    #[allow(clippy::type_complexity)]
    async fn serve(
        &self,
        req: Request,
        neg: &Negotiation,
    ) -> Result<
        (&'static str, Option<String>, Response<Body>),
        (&'static str, Option<String>, ApiError),
    > {
        if req.method == Method::OPTIONS {
            // A CORS preflight, whatever the path: the request it announces
            // gets its own answer (a bad name's 400 too).
            return match self.config.cors.preflight(&req.headers) {
                Ok(headers) => Ok(("Preflight", None, response::preflight(headers))),
                Err(refusal) => Err(("Preflight", None, refusal.into())),
            };
        }
        let html = self.config.html_index
            && req.method == Method::GET
            && html::wants_html(neg.accept.as_deref());
        let params = &req.path_parameters;
        // Greedy `{proxy+}` at the root carries the whole path; `{folder}` and
        // `{item}`/`{item+}` carry it in pieces.
        let proxy_path = params.get("proxy").map(|p| format!("/{p}"));
        let source = match (params.get("folder"), &proxy_path) {
            (Some(folder), _) => PathSource::Params {
                folder,
                item: params.get("item").map(String::as_str),
            },
            (None, Some(path)) => PathSource::Raw(path),
            (None, None) => PathSource::Raw(&req.raw_path),
        };
        let mut op = route::route(&req.method, source, &req.query, &req.headers, req.body)
            .map_err(|e| ("Unrouted", None, e))?;
        if html && let Operation::ListObjects { list, .. } = &mut op {
            // A page shows one level, folders first.
            list.delimiter.get_or_insert_with(|| "/".into());
        }
        let (name, bucket) = (op.name(), op.bucket().map(str::to_string));
        let upload_path = req.raw_path;
        route::authorize(&self.config, &op, &upload_path).map_err(|e| (name, bucket.clone(), e))?;
        let outcome = self
            .backend
            .execute(op)
            .await
            .map_err(|e| (name, bucket.clone(), e))?;
        let outcome = self.filter_buckets(outcome);
        let response = match outcome {
            Outcome::Buckets(list) if html => {
                let mount = html::mount_of(&req.client_path, None);
                response::html_page(html::buckets_page(&list, &mount))
            }
            Outcome::Objects(list) if html => {
                let mount = html::mount_of(&req.client_path, Some(&list.name));
                response::html_page(html::objects_page(&list, &mount))
            }
            outcome => response::render(outcome, neg, &self.config.binary_media_types)
                .map_err(|e| (name, bucket.clone(), e))?,
        };
        Ok((name, bucket, response))
    }

    /// ListBuckets shows only the buckets this API serves.
    fn filter_buckets(&self, outcome: Outcome) -> Outcome {
        match outcome {
            Outcome::Buckets(mut list) => {
                list.buckets.retain(|b| self.config.bucket_allowed(&b.name));
                Outcome::Buckets(list)
            }
            other => other,
        }
    }
}

/// The S3 endpoint aws-config will use, when the environment names one.
pub fn endpoint_from_env() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// The HTTP client for S3: the SDK's own (hyper, rustls, connection pool,
/// proxy settings from the environment), built as aws-smithy-runtime builds
/// its default, with two choices of ours:
/// - rustls on ring instead of aws-lc: the Lambda binary is smaller and
///   cross-compiles without aws-lc's C build;
/// - for a plain-HTTP endpoint (a local store) an empty trust store: loading
///   and parsing the system's root certificates (16 M instructions of PEM
///   decoding, about 4 ms here) was half of a local cold start, with nothing
///   to verify.
pub fn http_client(endpoint: Option<&str>) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{
        Provider, TlsContext, TrustStore, rustls_provider::CryptoMode,
    };
    use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig};
    let plain_http = endpoint.is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"));
    let trust = TrustStore::default().with_native_roots(!plain_http);
    let context = TlsContext::builder().with_trust_store(trust).build().ok();
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::rustls(CryptoMode::Ring));
        if let Some(context) = &context {
            connector = connector.tls_context(context.clone());
        }
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

pub fn timeouts(config: &Config) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(config.backend_timeout)
        .build()
}
