//! s3-proxy: an S3 proxy REST API as one AWS Lambda function behind API
//! Gateway (REST, Lambda proxy integration).
//!
//! The data flow, one module per arrow:
//!
//! ```text
//! API Gateway event --lambda--> app::Request --app--> route::Operation
//!     --s3--> s3::Outcome --response--> http::Response --lambda--> response JSON
//! ```
//!
//! - [`lambda`]: the event boundary: lambda_http's event types, read without
//!   copying the event, bodies base64-decoded in place; answers in API
//!   Gateway's proxy format.
//! - [`app`]: the handler; reads the request, runs the pipeline, logs.
//! - [`route`]: pure; path, method, query and headers to an [`route::Operation`].
//! - [`s3`]: the only module that talks to S3.
//! - [`response`]: pure; outcomes and errors to HTTP responses, owning the
//!   text-or-binary decision for every body.
//! - [`error`]: [`error::ApiError`], the one error type.
//! - [`config`], [`media`]: the environment and API Gateway's binaryMediaTypes.
//! - [`cors`]: pure; which browser origins may call the API, their answer
//!   headers and the preflight.
//! - [`html`]: pure; listings as pages for people in a browser (HTML index).
//! - `local` (feature `local`): the API Gateway REST emulator and the embedded
//!   S3 store behind `make run`.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod cors;
pub mod error;
pub mod html;
pub mod lambda;
pub mod media;
pub mod response;
pub mod route;
pub mod s3;
pub mod telemetry;

#[cfg(feature = "local")]
pub mod local;

pub use app::App;
pub use config::Config;
pub use error::ApiError;
