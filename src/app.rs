//! The handler: `lambda_http::Request -> Response<Body>`.
//!
//! It reads what routing needs out of the request (path parameters or the
//! stage-free raw path, query, headers, body), then runs
//! `route -> authorize -> s3 -> response`. Nothing below this module sees a
//! `lambda_http::Request`. Every request is logged once, with its outcome.

use crate::config::Config;
use crate::error::ApiError;
use crate::response::{self, Negotiation};
use crate::route::{self, PathSource};
use crate::s3::{Backend, Outcome};
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use bytes::Bytes;
use http::{Method, Response};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use std::time::{Duration, Instant};

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
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.answer(req, None, None).await
    }

    /// Serves one request. `body` replaces the request's body when the event's
    /// base64 body was decoded before lambda_http saw it; `early` is an error
    /// already found in the event, answered without going further.
    pub async fn answer(
        &self,
        req: Request,
        body: Option<Bytes>,
        early: Option<ApiError>,
    ) -> Response<Body> {
        let started = Instant::now();
        let request_id = request_id(&req);
        let neg = Negotiation {
            accept: header(&req, "accept"),
            head: req.method() == Method::HEAD,
        };
        let resource = req.raw_http_path().to_string();
        let method = req.method().clone();
        let result = match early {
            Some(err) => Err(("Unrouted", None, err)),
            None => self.serve(req, body, &neg).await,
        };
        let (operation, bucket, response) = match result {
            Ok((op, bucket, response)) => (op, bucket, response),
            Err((op, bucket, err)) => {
                if err.status().is_server_error() {
                    tracing::error!(request_id, operation = op, error = %err, "request failed");
                }
                let response = response::render_error(&err, &neg, &request_id, &resource);
                (op, bucket, response)
            }
        };
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
        decoded: Option<Bytes>,
        neg: &Negotiation,
    ) -> Result<
        (&'static str, Option<String>, Response<Body>),
        (&'static str, Option<String>, ApiError),
    > {
        let (parts, body) = req.into_parts();
        let params = parts.path_parameters();
        // Greedy `{proxy+}` at the root carries the whole path; `{folder}` and
        // `{item}`/`{item+}` carry it in pieces.
        let proxy_path = params.first("proxy").map(|p| format!("/{p}"));
        let source = match (params.first("folder"), &proxy_path) {
            (Some(folder), _) => PathSource::Params {
                folder,
                item: params.first("item"),
            },
            (None, Some(path)) => PathSource::Raw(path),
            (None, None) => PathSource::Raw(parts.raw_http_path()),
        };
        let query: Vec<(String, String)> = parts
            .query_string_parameters_ref()
            .map(|q| {
                q.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let body = match (decoded, body) {
            (Some(bytes), _) => bytes,
            (None, body) => match body {
                Body::Empty => Bytes::new(),
                Body::Text(text) => Bytes::from(text),
                Body::Binary(bytes) => Bytes::from(bytes),
                _ => Bytes::new(),
            },
        };
        let op = route::route(&parts.method, source, &query, &parts.headers, body)
            .map_err(|e| ("Unrouted", None, e))?;
        let (name, bucket) = (op.name(), op.bucket().map(str::to_string));
        let upload_path = parts.raw_http_path().to_string();
        route::authorize(&self.config, &op, &upload_path).map_err(|e| (name, bucket.clone(), e))?;
        let outcome = self
            .backend
            .execute(op)
            .await
            .map_err(|e| (name, bucket.clone(), e))?;
        let outcome = self.filter_buckets(outcome);
        let response = response::render(outcome, neg, &self.config.binary_media_types)
            .map_err(|e| (name, bucket.clone(), e))?;
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

pub fn timeouts(config: &Config) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(config.backend_timeout)
        .build()
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The id a client can quote: the Lambda invocation's, else API Gateway's.
fn request_id(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref()
        && !ctx.request_id.is_empty()
    {
        return ctx.request_id.clone();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_default()
}
