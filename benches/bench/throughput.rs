//! Local mode throughput: the emulator over HTTP against the same SDK client
//! straight to the store (the target), and against presigned GETs (context).

use super::*;

// --- local mode throughput --------------------------------------------------

/// 1 KB GETs: over HTTP through the emulator, with the SDK client straight to
/// the store, and presigned over HTTP straight to the store; the same
/// concurrency, rounds interleaved.
pub(crate) async fn throughput(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    use aws_sdk_s3::presigning::PresigningConfig;
    const CONCURRENCY: usize = 16;
    const REQUESTS: usize = 3000;
    const ROUNDS: usize = 3;
    let key = "throughput-1KB";
    bench
        .client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(Bytes::from(pattern(KB)).into())
        .send()
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}/{BUCKET}/{key}", listener.local_addr()?);
    let serving = tokio::spawn(serve_gateway(listener, Arc::new(bench.gateway.clone())));
    let presigned = bench
        .client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600))?)
        .await?
        .uri()
        .to_string();
    let http = reqwest::Client::builder().no_proxy().build()?;
    // Warm both paths (connections, page cache).
    load(&http, &api, CONCURRENCY, 200).await?;
    load(&http, &presigned, CONCURRENCY, 200).await?;
    load_sdk(&bench.client, key, CONCURRENCY, 200).await?;
    let mut proxy_rates = Vec::new();
    let mut direct_rates = Vec::new();
    let mut sdk_rates = Vec::new();
    for _ in 0..ROUNDS {
        proxy_rates.push(load(&http, &api, CONCURRENCY, REQUESTS).await?);
        direct_rates.push(load(&http, &presigned, CONCURRENCY, REQUESTS).await?);
        sdk_rates.push(load_sdk(&bench.client, key, CONCURRENCY, REQUESTS).await?);
    }
    serving.abort();
    for rates in [&mut proxy_rates, &mut direct_rates, &mut sdk_rates] {
        rates.sort_by(f64::total_cmp);
    }
    let (p, d) = (proxy_rates[ROUNDS / 2], direct_rates[ROUNDS / 2]);
    let sdk = sdk_rates[ROUNDS / 2];
    // The target compares like with like: a signed S3 call through the
    // emulator against the same signed call straight to the store. Presigned
    // GETs skip signing and the SDK: context only (docs/performance.md).
    let ratio = p / sdk;
    rows.push(
        Row::new(
            format!(
                "Local mode: 1 KB GET/s over HTTP, {CONCURRENCY} concurrent: the emulator vs \
                 the same aws-sdk-s3 client straight to the store"
            ),
            format!("{p:.0}/s"),
        )
        .direct(format!("{sdk:.0}/s"))
        .ratio(ratio)
        .target(">= 0.85", ratio >= 0.85),
    );
    rows.push(
        Row::new(
            format!(
                "(context) the emulator vs presigned GETs to the store (no signing, no SDK; \
                 the former target, >= 0.80), {CONCURRENCY} concurrent"
            ),
            format!("{p:.0}/s"),
        )
        .direct(format!("{d:.0}/s"))
        .ratio(p / d),
    );
    rows.push(
        Row::new(
            format!(
                "(context) the aws-sdk-s3 client straight to the store vs presigned GETs, \
                 {CONCURRENCY} concurrent"
            ),
            format!("{sdk:.0}/s"),
        )
        .direct(format!("{d:.0}/s"))
        .ratio(sdk / d),
    );
    Ok(())
}

/// The same GETs made with the SDK client (SigV4 signing, its orchestrator).
async fn load_sdk(
    client: &aws_sdk_s3::Client,
    key: &str,
    concurrency: usize,
    total: usize,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, key) = (client.clone(), key.to_string());
        tasks.spawn(async move {
            for _ in 0..total / concurrency {
                let out = client.get_object().bucket(BUCKET).key(&key).send().await?;
                let body = out.body.collect().await?.into_bytes();
                if body.len() != KB {
                    return Err::<(), BoxError>(format!("GET {key}: {} bytes", body.len()).into());
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((total / concurrency * concurrency) as f64 / started.elapsed().as_secs_f64())
}

/// `total` GETs of `url` from `concurrency` tasks; requests per second.
pub(crate) async fn load(
    http: &reqwest::Client,
    url: &str,
    concurrency: usize,
    total: usize,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url) = (http.clone(), url.to_string());
        tasks.spawn(async move {
            for _ in 0..total / concurrency {
                let response = http.get(&url).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                if status != 200 || body.len() != KB {
                    return Err::<(), BoxError>(format!("GET {url}: {status}").into());
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((total / concurrency * concurrency) as f64 / started.elapsed().as_secs_f64())
}
