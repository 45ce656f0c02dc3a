//! Logging: JSON lines (CloudWatch-friendly) with `RUST_LOG` filtering.
//! Bodies, headers and credentials are never logged; requests are logged by
//! `app` with their ids, operation, bucket, status and duration.
//!
//! `RUST_LOG` is read as a list of `level` or `target=level` directives
//! (`info`, `warn,s3_proxy=debug`), tracing-subscriber's `Targets`: the
//! regex-based `EnvFilter` (span and field filters) made the Lambda binary
//! larger for little use (docs/performance.md). A value that does not parse
//! means `info`.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// JSON logs for the Lambda function.
pub fn init_json() {
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter())
        .try_init();
}

/// Compact human-readable logs for local runs.
pub fn init_text() {
    let layer = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter())
        .try_init();
}
