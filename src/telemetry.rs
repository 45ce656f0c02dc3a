//! Logging: JSON lines (CloudWatch-friendly) with `RUST_LOG` filtering.
//! Bodies, headers and credentials are never logged; requests are logged by
//! `app` with their ids, operation, bucket, status and duration.

use tracing_subscriber::EnvFilter;

/// JSON logs for the Lambda function.
pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Compact human-readable logs for local runs.
pub fn init_text() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
