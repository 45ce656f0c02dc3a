//! s3-proxy: an S3 proxy REST API as one AWS Lambda function behind API
//! Gateway (REST, Lambda proxy integration).
//!
//! The data flow, one module per arrow:
//!
//! ```text
//! API Gateway event --lambda--> app::Request --route--> operation::Operation
//!     --policy--> (allowed) --s3--> outcome::Outcome --response--> http::Response
//!     --lambda--> lambda::ProxyResponse (JSON)
//! ```
//!
//! - [`lambda`]: the event boundary: events read by [`event`] in one pass,
//!   bodies base64-decoded in place; the handler's response as API
//!   Gateway's proxy-integration JSON, or, in stream mode
//!   ([`lambda::stream`]), posted as a Lambda response stream.
//! - [`stream`]: stream mode's answers: JSON prelude, eight NUL bytes, the
//!   raw body (a GetObject's read from S3 as it is sent on).
//! - [`app`]: the handler; runs the pipeline for one request and logs it.
//! - [`route`]: pure; path, method, query and headers to an [`operation::Operation`].
//! - [`operation`]: the operations, named as S3 names them, and their inputs.
//! - [`policy`]: pure; whether the configuration allows an operation, and
//!   which buckets a listing may show.
//! - [`s3`]: the only module that talks to S3 (and builds its client).
//! - [`outcome`]: what S3 answered.
//! - [`response`]: pure; outcomes and errors to HTTP responses, owning the
//!   text-or-binary decision for every body.
//! - [`documents`]: the XML (or JSON) documents read and written.
//! - [`html`]: pure; listings as pages for people in a browser (HTML index).
//! - [`cors`]: pure; which browser origins may call the API, their answer
//!   headers and the preflight.
//! - [`error`]: [`error::ApiError`], the one error type, and the one table
//!   from error code to status.
//! - [`config`], [`media`], [`telemetry`]: the environment, API Gateway's
//!   binaryMediaTypes, logging.
//! - `local` (feature `local`): the API Gateway REST emulator and the embedded
//!   S3 store behind `make run`.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod cors;
pub mod documents;
pub mod error;
pub mod event;
pub mod html;
pub mod lambda;
pub mod media;
pub mod operation;
pub mod outcome;
pub mod policy;
pub mod response;
pub mod route;
pub mod s3;
pub mod stream;
pub mod telemetry;

#[cfg(feature = "local")]
pub mod local;

pub use app::App;
pub use config::Config;
pub use error::ApiError;
