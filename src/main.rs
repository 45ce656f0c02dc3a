//! The Lambda function (`bootstrap`): tracing, configuration, S3 client, run.

use lambda_http::lambda_runtime::{self, service_fn};
use s3_proxy::config::ResponseMode;
use s3_proxy::{App, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    s3_proxy::telemetry::init_json();
    let app = App::from_env().await?;
    let app = &app;
    if app.config.response_mode == ResponseMode::Stream {
        return lambda::stream::run(app.clone()).await;
    }
    lambda_runtime::run(service_fn(move |event| lambda::invoke(app, event))).await
}
