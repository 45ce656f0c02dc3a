//! Local mode throughput: the emulator over HTTP against the store direct.

use super::*;

// --- local mode throughput --------------------------------------------------

/// 1 KB GETs over HTTP: through the emulator, and presigned straight to the
/// store, with one reqwest client and the same concurrency.
pub(crate) async fn throughput(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    use aws_sdk_s3::presigning::PresigningConfig;
    const CONCURRENCY: usize = 16;
    const REQUESTS: usize = 3000;
    const ROUNDS: usize = 3;
    let key = "get-1KB";
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
    let ratio = p / d;
    rows.push(
        Row::new(
            format!("Local mode: 1 KB GET/s over HTTP, {CONCURRENCY} concurrent (emulator vs presigned to store)"),
            format!("{p:.0}/s"),
        )
        .direct(format!("{d:.0}/s"))
        .ratio(ratio)
        .target(">= 0.80", ratio >= 0.8),
    );
    rows.push(
        Row::new(
            format!(
                "(context) the same 1 KB GETs with the aws-sdk-s3 client straight to the store, {CONCURRENCY} concurrent"
            ),
            format!("{sdk:.0}/s"),
        )
        .direct(format!("{d:.0}/s"))
        .ratio(sdk / d),
    );
    rows.push(
        Row::new(
            "(context) the emulator against that aws-sdk-s3 client: what the proxy adds to a signed S3 call",
            format!("{p:.0}/s"),
        )
        .direct(format!("{sdk:.0}/s"))
        .ratio(p / sdk),
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
async fn load(
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
