//! The handler: [`Request`] -> `Response<Body>` (or, in stream mode,
//! `Response<StreamBody>`).
//!
//! It runs `route -> policy -> s3 -> response` for one request and logs it
//! once, with its outcome. Errors are logged here, before they are turned
//! into S3-style answers (which never carry internal detail).

use crate::config::Config;
use crate::error::ApiError;
use crate::html;
use crate::operation::Operation;
use crate::outcome::Outcome;
use crate::policy;
use crate::response::{self, Negotiation};
use crate::route::{self, PathSource};
use crate::s3::{self, Backend, ObjectGet};
use crate::stream::StreamBody;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use lambda_http::Body;
use std::collections::HashMap;
use std::time::Instant;

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
    /// The API resource that matched (REST): `/`, `/{folder}`, ...
    pub resource: Option<String>,
    /// Query parameters in order, repeated names kept.
    pub query: Vec<(String, String)>,
    /// The body, base64-decoded when the event said so.
    pub body: Bytes,
    /// The Lambda invocation's request id, else API Gateway's.
    pub request_id: String,
    /// Who called: the IAM principal API Gateway authenticated (its ARN).
    pub caller: Option<String>,
    /// The caller's address as API Gateway saw it (not X-Forwarded-For,
    /// which the client writes).
    pub source_ip: Option<String>,
}

/// Everything a request needs, built once at start-up.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub backend: Backend,
}

/// What the request log line says beyond the request itself, learnt on the way.
#[derive(Debug, Default)]
struct Routed {
    /// The S3 operation's name, once routed.
    operation: Option<&'static str>,
    bucket: Option<String>,
}

impl App {
    /// Configuration from the environment and an S3 client from aws-config's
    /// default chain (region, credentials, `AWS_ENDPOINT_URL_S3`).
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let s3 = s3::client::from_env(&config).await?;
        let backend = Backend::new(s3, config.inline_limit, config.presign_expiry);
        Ok(Self { config, backend })
    }

    /// One S3 call in init, so that the first request finds the client
    /// built and a connection open ([`s3::client::warm_up`]); never fails.
    pub async fn warm_up(&self) {
        s3::client::warm_up(self.backend.client(), &self.config).await;
    }

    pub fn new(config: Config, client: aws_sdk_s3::Client) -> Self {
        let backend = Backend::new(client, config.inline_limit, config.presign_expiry);
        Self { config, backend }
    }

    /// Serves one request. Never fails: errors become S3-style responses.
    pub async fn handle(&self, mut req: Request) -> Response<Body> {
        let mut ex = Exchange::of(&mut req);
        let result = self.serve(req, &ex.neg, &mut ex.routed).await;
        let mut response = ex.respond(result);
        self.finish(&ex, &mut response);
        response
    }

    /// Serves one request in stream mode: as [`Self::handle`], except that a
    /// GetObject's body is not read here but streamed from S3 as the answer
    /// is sent, up to `STREAM_MAX_BYTES` (a larger answer is the usual 307).
    /// Errors found before the answer starts are the usual S3-style answers.
    /// The request is logged once its status is known.
    pub async fn handle_streaming(&self, mut req: Request) -> Response<StreamBody> {
        let mut ex = Exchange::of(&mut req);
        let result = self.serve_streaming(req, &ex.neg, &mut ex.routed).await;
        let mut response = result.unwrap_or_else(|err| ex.respond(Err(err)).map(StreamBody::from));
        self.finish(&ex, &mut response);
        response
    }

    /// Answers a request whose event could not be read whole (a body that
    /// is not valid base64): `error`, logged like any other request.
    pub fn refuse(&self, mut req: Request, error: ApiError) -> Response<Body> {
        let ex = Exchange::of(&mut req);
        let mut response = ex.respond(Err(error));
        self.finish(&ex, &mut response);
        response
    }

    /// The CORS headers every answer carries (but a refused preflight's, as
    /// S3 answers one: the browser blocks the request either way, and says
    /// why), then the request's log line.
    fn finish<B>(&self, ex: &Exchange, response: &mut Response<B>) {
        let refused_preflight = ex.who.method == Method::OPTIONS && !response.status().is_success();
        if !refused_preflight {
            let origin = ex.who.origin.as_deref();
            self.config.cors.decorate(origin, response.headers_mut());
        }
        ex.log(response.status(), response.headers());
    }

    async fn serve(
        &self,
        req: Request,
        neg: &Negotiation,
        routed: &mut Routed,
    ) -> Result<Response<Body>, ApiError> {
        match self.prepare(req, neg, routed)? {
            Prepared::Answer(response) => Ok(response),
            Prepared::Call(call) => {
                let outcome = self.backend.execute(call.op, call.owner.as_deref()).await?;
                self.render(outcome, neg, call.html.as_deref())
            }
        }
    }

    async fn serve_streaming(
        &self,
        req: Request,
        neg: &Negotiation,
        routed: &mut Routed,
    ) -> Result<Response<StreamBody>, ApiError> {
        let call = match self.prepare(req, neg, routed)? {
            Prepared::Answer(response) => return Ok(response.map(StreamBody::from)),
            Prepared::Call(call) => call,
        };
        let Call { op, owner, html } = *call;
        let owner = owner.as_deref();
        let outcome = match op {
            Operation::GetObject(read) => {
                let (max, idle) = (self.config.stream_max_bytes, self.config.backend_timeout);
                match self
                    .backend
                    .get_object_streamed(read, owner, max, idle)
                    .await?
                {
                    ObjectGet::Streamed { meta, body } => {
                        return Ok(response::streamed_object(&meta, StreamBody::Object(body)));
                    }
                    ObjectGet::Done(outcome) => outcome,
                }
            }
            op => self.backend.execute(op, owner).await?,
        };
        Ok(self
            .render(outcome, neg, html.as_deref())?
            .map(StreamBody::from))
    }

    /// Routes and allows the request: the S3 call to make, or (a CORS
    /// preflight) the answer itself.
    fn prepare(
        &self,
        req: Request,
        neg: &Negotiation,
        routed: &mut Routed,
    ) -> Result<Prepared, ApiError> {
        if req.method == Method::OPTIONS {
            // A CORS preflight, whatever the path: the request it announces
            // gets its own answer (a bad name's 400 too).
            routed.operation = Some("Preflight");
            let headers = self.config.cors.preflight(&req.headers)?;
            return Ok(Prepared::Answer(response::preflight(headers)));
        }
        let html = self.config.html_index
            && req.method == Method::GET
            && html::wants_html(neg.accept.as_deref());
        policy::payload_hash(&req.headers, &req.body)?;
        let path =
            PathSource::of_event(req.resource.as_deref(), &req.path_parameters, &req.raw_path);
        let mut op: Operation =
            route::route(&req.method, path, &req.query, &req.headers, req.body)?;
        if html && let Operation::ListObjectsV2 { list, .. } = &mut op {
            // A page shows one level, folders first, with names as they are
            // (HTML carries any key; encoding-type=url is for XML clients).
            list.delimiter.get_or_insert_with(|| "/".into());
            list.url_encoded = false;
        }
        routed.operation = Some(op.name());
        routed.bucket = op.bucket().map(str::to_string);
        policy::supported(&op, &req.query, &req.headers)?;
        policy::authorize(&self.config, &op, &req.raw_path)?;
        let owner = policy::bucket_owner(&self.config, &req.headers)?;
        if let Operation::GetObject(read) = &mut op {
            read.inline_as_text = !self
                .config
                .binary_media_types
                .decodes_for_accept(neg.accept.as_deref());
        }
        Ok(Prepared::Call(Box::new(Call {
            op,
            owner,
            html: html.then_some(req.client_path),
        })))
    }

    /// The outcome as the answer negotiated: S3's documents, or the HTML
    /// index (`html`: the path the browser asked for).
    fn render(
        &self,
        outcome: Outcome,
        neg: &Negotiation,
        html: Option<&str>,
    ) -> Result<Response<Body>, ApiError> {
        match (policy::visible(&self.config, outcome), html) {
            (Outcome::Buckets(list), Some(client_path)) => {
                let mount = html::mount_of(client_path, None);
                Ok(response::html_page(html::buckets_page(&list, &mount)))
            }
            (Outcome::Objects(list), Some(client_path)) => {
                let mount = html::mount_of(client_path, Some(&list.name));
                Ok(response::html_page(html::objects_page(&list, &mount)))
            }
            (outcome, _) => response::render(outcome, neg, &self.config.binary_media_types),
        }
    }
}

/// What [`App::prepare`] leaves to do.
enum Prepared {
    /// Answered without S3 (a CORS preflight).
    Answer(Response<Body>),
    Call(Box<Call>),
}

/// An allowed S3 call.
struct Call {
    op: Operation,
    /// The account the bucket must belong to (`ExpectedBucketOwner`).
    owner: Option<String>,
    /// For the HTML index: the path the browser asked for.
    html: Option<String>,
}

/// One request as its answer and its log line need it: what is taken from
/// the request before it is consumed, and what routing learns on the way.
struct Exchange {
    started: Instant,
    request_id: String,
    neg: Negotiation,
    /// The path, as an error document's `Resource`.
    resource: String,
    who: Who,
    routed: Routed,
}

impl Exchange {
    fn of(req: &mut Request) -> Self {
        Self {
            started: Instant::now(),
            request_id: std::mem::take(&mut req.request_id),
            neg: negotiation(req),
            resource: req.raw_path.clone(),
            who: Who::of(req),
            routed: Routed::default(),
        }
    }

    /// The response, or the error rendered as one (logged first when it is
    /// the server's fault, or S3's refusal whose detail the answer hides).
    fn respond(&self, result: Result<Response<Body>, ApiError>) -> Response<Body> {
        result.unwrap_or_else(|err| {
            let (request_id, operation) = (
                self.request_id.as_str(),
                self.routed.operation.unwrap_or("Unrouted"),
            );
            if err.status().is_server_error() {
                tracing::error!(request_id, operation, error = %err, "request failed");
            } else if err.hides_detail() {
                // The caller gets a generic message; the whole one is kept here.
                tracing::warn!(request_id, operation, error = %err, "S3 refused the request");
            }
            response::render_error(&err, &self.neg, request_id, &self.resource)
        })
    }

    /// One line per request: who asked what, and what came of it.
    fn log(&self, status: StatusCode, headers: &HeaderMap) {
        let (who, routed) = (&self.who, &self.routed);
        tracing::info!(
            request_id = self.request_id,
            method = %who.method,
            caller = who.caller.as_deref(),
            source_ip = who.source_ip.as_deref(),
            operation = routed.operation.unwrap_or("Unrouted"),
            bucket = routed.bucket.as_deref(),
            status = status.as_u16(),
            s3_request_id = headers.get("x-amz-request-id").and_then(|v| v.to_str().ok()),
            duration_ms = self.started.elapsed().as_millis() as u64,
            "request"
        );
    }
}

fn negotiation(req: &Request) -> Negotiation {
    Negotiation {
        accept: req
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        head: req.method == Method::HEAD,
    }
}

/// The request log line's fields about the request itself, and its
/// `Origin` (for the CORS headers of its answer).
struct Who {
    method: Method,
    caller: Option<String>,
    source_ip: Option<String>,
    origin: Option<String>,
}

impl Who {
    fn of(req: &Request) -> Self {
        Self {
            method: req.method.clone(),
            caller: req.caller.clone(),
            source_ip: req.source_ip.clone(),
            origin: req
                .headers
                .get(http::header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }
}
