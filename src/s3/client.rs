//! The S3 client: aws-sdk-s3 over the HTTPS stack chosen here, with the
//! proxy's timeouts, from aws-config's default chain (the Lambda) or from
//! static credentials (local stores, tests).

use crate::config::Config;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::time::Duration;

/// A client from aws-config's default chain (region, credentials,
/// `AWS_ENDPOINT_URL_S3`), as the Lambda runs.
///
/// Lambda gives the function its role's credentials in the environment,
/// which the default chain would read first; naming that provider when they
/// are there keeps aws-config from building the rest of the chain, whose
/// web-identity provider builds an STS client, and with it a TLS connector
/// of its own (1.2 M instructions of init, docs/performance.md).
pub async fn from_env(config: &Config) -> Result<Client, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(config.backend_timeout))
        .http_client(http_client(endpoint_from_env().as_deref()));
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    from_sdk_config(config, &loader.load().await)
}

/// A client from an already loaded aws-config, with the proxy's addressing
/// and timeouts.
pub fn from_sdk_config(config: &Config, shared: &aws_config::SdkConfig) -> Result<Client, String> {
    Ok(Client::from_conf(s3_config(config, shared)?.build()))
}

fn s3_config(
    config: &Config,
    shared: &aws_config::SdkConfig,
) -> Result<aws_sdk_s3::config::Builder, String> {
    if shared.region().is_none() {
        return Err("no AWS region: set AWS_REGION".into());
    }
    Ok(aws_sdk_s3::config::Builder::from(shared)
        .force_path_style(config.force_path_style)
        .timeout_config(timeouts(config.backend_timeout)))
}

/// A client for an S3-compatible endpoint with static credentials and a
/// fixed region: aws-config's provider chain (and its instance-metadata
/// probes) is never consulted.
pub fn static_client(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
    timeout: Duration,
) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .http_client(http_client(Some(endpoint)))
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            access_key, secret_key, None, None, "static",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .timeout_config(timeouts(timeout))
        .build();
    Client::from_conf(config)
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
///   and parsing the system's root certificates was half of a local cold
///   start, with nothing to verify (docs/performance.md).
///
/// Over HTTPS the trust roots are the system's, as rustls-native-certs finds
/// them: `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (how a user behind a
/// TLS-inspecting proxy adds its CA), else the distribution's bundle. Loading
/// them is 9 M instructions (PEM decoding), paid in init by
/// [`warm_up`]; compiled-in roots (webpki-roots) would cost almost nothing,
/// but this connector takes roots only from the system or as PEM, which costs
/// the same decoding (docs/performance.md, "Cold start in AWS").
pub fn http_client(endpoint: Option<&str>) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{
        Provider, TlsContext, TrustStore, rustls_provider::CryptoMode,
    };
    use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig};
    let plain_http = endpoint.is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"));
    let trust = TrustStore::default().with_native_roots(!plain_http);
    let context = TlsContext::builder().with_trust_store(trust).build().ok();
    let client = aws_smithy_http_client::Builder::new().build_with_connector_fn(
        move |settings, components| {
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
        },
    );
    SharedHttpClient::new(super::DateCatching(client))
}

/// How long init waits for [`warm_up`]'s answer: well inside Lambda's
/// 10 s init, and short enough that a function whose network is not there
/// yet starts anyway.
pub const WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// Pays in init what the first S3 call would pay in the first invocation
/// (docs/performance.md, "Cold start in AWS"): the TLS connector and its
/// trust roots, the credentials, the endpoint resolver and signer, the
/// orchestrator's lazily built state, and a TLS connection, which the pool
/// keeps for the first request. One cheap call does all of it: HeadBucket
/// on the first bucket `ALLOWED_BUCKETS` names exactly (with virtual-hosted
/// addressing its host is where that bucket's requests go), else
/// ListBuckets (the regional endpoint, which path-style requests share).
/// Any answer will do (a 403 opens the connection as well as a 200); the
/// call never fails init: without an answer within [`WARM_UP_TIMEOUT`] the
/// first request connects as it would have.
pub async fn warm_up(client: &Client, config: &Config) {
    let bucket = config.allowed_buckets.iter().find(|b| !b.ends_with('*'));
    let started = std::time::Instant::now();
    let call = async {
        match bucket {
            Some(bucket) => answered(client.head_bucket().bucket(bucket).send().await),
            None => answered(client.list_buckets().max_buckets(1).send().await),
        }
    };
    let result = tokio::time::timeout(WARM_UP_TIMEOUT, call).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let bucket = bucket.map(String::as_str);
    match result {
        Ok(Ok(())) => tracing::debug!(bucket, duration_ms, "S3 answered the warm-up call"),
        Ok(Err(error)) => {
            tracing::warn!(bucket, duration_ms, error, "S3 warm-up call failed")
        }
        Err(_) => tracing::warn!(bucket, duration_ms, "S3 did not answer the warm-up call"),
    }
}

/// A service error is an answer (the connection is open); anything else
/// (no connection, no TLS, a timeout) is not.
fn answered<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), String>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) | Err(SdkError::ServiceError(_)) => Ok(()),
        Err(e) => Err(DisplayErrorContext(e).to_string()),
    }
}

/// Connect within 3 s; the whole call (retries included) within the
/// backend timeout, so that a slow S3 is a clean 504.
pub fn timeouts(backend_timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(backend_timeout)
        .build()
}
