//! The Lambda function (`bootstrap`): tracing, configuration, S3 client,
//! warm-up, run. One event at a time: a single-threaded runtime
//! (docs/performance.md, "Cold start in AWS").

use s3_proxy::{App, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    s3_proxy::telemetry::init_json();
    let app = App::from_env().await?;
    app.warm_up().await;
    lambda::runtime::run(app).await
}
