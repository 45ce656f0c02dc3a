//! Handler overhead (the Lambda path against the same SDK call) and memory.

use super::*;

// --- handler overhead -------------------------------------------------------

/// The same GET or PUT through the Lambda path and straight to the store,
/// interleaved (alternating which goes first), `iterations` times each.
pub(crate) async fn overhead(
    bench: &Bench,
    size: usize,
    label: &str,
    iterations: usize,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let body = Bytes::from(pattern(size));
    let get_key = format!("get-{label}").replace(' ', "");
    let put_proxy_key = format!("put-proxy-{label}").replace(' ', "");
    let put_direct_key = format!("put-direct-{label}").replace(' ', "");
    bench
        .client
        .put_object()
        .bucket(BUCKET)
        .key(&get_key)
        .content_type("application/octet-stream")
        .body(body.clone().into())
        .send()
        .await?;

    // The events API Gateway would send; building them is API Gateway's work
    // (it base64-encodes the upload), not the function's, so it is not timed.
    let get_event = bench.gateway.event_json(
        &HttpRequest::new("GET", &format!("/{BUCKET}/{get_key}")).header("accept", "*/*"),
        "bench",
    );
    let put_event = bench.gateway.event_json(
        &HttpRequest::new("PUT", &format!("/{BUCKET}/{put_proxy_key}"))
            .header("content-type", "application/octet-stream")
            .body(body.to_vec()),
        "bench",
    );

    // Both paths answer what they should before anything is timed.
    let answer = proxy(bench, &get_event).await?;
    check_get_answer(&answer, &body)?;
    let answer = proxy(bench, &put_event).await?;
    if status_of(&answer)? != 200 {
        let answer = String::from_utf8_lossy(&answer);
        return Err(format!("proxy PUT {label} answered {answer:.300}").into());
    }
    if direct_get(bench, &get_key).await? != body {
        return Err(format!("direct GET {label} returned other bytes").into());
    }

    let warmup = (iterations / 10).max(3);
    let mut get = Samples::default();
    let mut put = Samples::default();
    for i in 0..warmup + iterations {
        let keep = i >= warmup;
        let proxy_first = i % 2 == 0;
        for proxy_turn in [proxy_first, !proxy_first] {
            let t = if proxy_turn {
                timed(proxy(bench, &get_event)).await?
            } else {
                timed(direct_get(bench, &get_key)).await?
            };
            get.push(keep, proxy_turn, t);
        }
        for proxy_turn in [proxy_first, !proxy_first] {
            let t = if proxy_turn {
                timed(proxy(bench, &put_event)).await?
            } else {
                timed(direct_put(bench, &put_direct_key, &body)).await?
            };
            put.push(keep, proxy_turn, t);
        }
    }

    // Bytes allocated by one request, each side (median of a few).
    let runs = 9;
    let mut alloc = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..runs {
        alloc[0].push(allocated(proxy(bench, &get_event)).await?);
        alloc[1].push(allocated(direct_get(bench, &get_key)).await?);
        alloc[2].push(allocated(proxy(bench, &put_event)).await?);
        alloc[3].push(allocated(direct_put(bench, &put_direct_key, &body)).await?);
    }
    let alloc = alloc.map(|mut v| median_u64(&mut v));

    let (get_target, put_target) = match size {
        KB => (Some(1.10), Some(1.10)),
        s if s == 4 * MB => (Some(1.25), Some(1.25)),
        _ => (None, None),
    };
    for (op, samples, target, bytes_proxy, bytes_direct) in [
        ("GET", &mut get, get_target, alloc[0], alloc[1]),
        ("PUT", &mut put, put_target, alloc[2], alloc[3]),
    ] {
        let p = median(&mut samples.proxy);
        let d = median(&mut samples.direct);
        let ratio = p.as_secs_f64() / d.as_secs_f64();
        let mut row = Row::new(
            format!("{op} {label}: median latency, Lambda path vs SDK call"),
            ms(p),
        )
        .direct(ms(d))
        .ratio(ratio);
        if let Some(t) = target {
            row = row.target(format!("<= {t:.2}"), ratio <= t);
        }
        rows.push(row);
        rows.push(
            Row::new(
                format!("{op} {label}: bytes allocated per request"),
                format!(
                    "{} ({:.1}x object)",
                    bytes(bytes_proxy),
                    bytes_proxy as f64 / size as f64
                ),
            )
            .direct(format!(
                "{} ({:.1}x object)",
                bytes(bytes_direct),
                bytes_direct as f64 / size as f64
            ))
            .ratio(bytes_proxy as f64 / bytes_direct.max(1) as f64),
        );
    }
    Ok(())
}

#[derive(Default)]
struct Samples {
    proxy: Vec<Duration>,
    direct: Vec<Duration>,
}

impl Samples {
    fn push(&mut self, keep: bool, proxy: bool, t: Duration) {
        match (keep, proxy) {
            (false, _) => {}
            (true, true) => self.proxy.push(t),
            (true, false) => self.direct.push(t),
        }
    }
}

/// One event through the Lambda boundary and the handler: the Lambda's own work.
async fn proxy(bench: &Bench, event: &str) -> Result<Vec<u8>, BoxError> {
    let mut context = lambda_http::Context::default();
    context.request_id = "bench".into();
    let json = lambda::invoke_json(&bench.gateway.app, event, context).await?;
    Ok(black_box(json))
}

async fn direct_get(bench: &Bench, key: &str) -> Result<Bytes, BoxError> {
    let out = bench
        .client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await?;
    Ok(black_box(out.body.collect().await?.into_bytes()))
}

async fn direct_put(bench: &Bench, key: &str, body: &Bytes) -> Result<(), BoxError> {
    let out = bench
        .client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .content_type("application/octet-stream")
        .body(body.clone().into())
        .send()
        .await?;
    black_box(out);
    Ok(())
}

async fn timed<T>(f: impl Future<Output = Result<T, BoxError>>) -> Result<Duration, BoxError> {
    let t = Instant::now();
    f.await?;
    Ok(t.elapsed())
}

/// Bytes allocated (in total, whatever was freed again) while `f` ran.
async fn allocated<T>(f: impl Future<Output = Result<T, BoxError>>) -> Result<u64, BoxError> {
    let region = Region::new(&STATS);
    let out = f.await?;
    let change = region.change();
    drop(out);
    Ok(change.bytes_allocated as u64)
}

fn status_of(answer: &[u8]) -> Result<u64, BoxError> {
    let v: serde_json::Value = serde_json::from_slice(answer)?;
    v["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no statusCode in {:.300}", String::from_utf8_lossy(answer)).into())
}

fn check_get_answer(answer: &[u8], expected: &[u8]) -> Result<(), BoxError> {
    use base64::Engine;
    let v: serde_json::Value = serde_json::from_slice(answer)?;
    let body = v["body"].as_str().unwrap_or_default();
    let bytes = if v["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(body)?
    } else {
        body.as_bytes().to_vec()
    };
    if v["statusCode"].as_u64() != Some(200) || bytes != expected {
        let answer = String::from_utf8_lossy(answer);
        return Err(format!("proxy GET answered {answer:.300}").into());
    }
    Ok(())
}

// --- memory -----------------------------------------------------------------

/// Peak live heap above what was live before, during one 4 MB GET.
pub(crate) async fn memory(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let size = 4 * MB;
    let key = "get-4MB";
    let event = bench.gateway.event_json(
        &HttpRequest::new("GET", &format!("/{BUCKET}/{key}")),
        "bench",
    );
    let mut proxy_peaks = Vec::new();
    let mut direct_peaks = Vec::new();
    for _ in 0..5 {
        GLOBAL.reset_peak_memory();
        drop(proxy(bench, &event).await?);
        proxy_peaks.push(GLOBAL.get_peak_memory() as u64);
        GLOBAL.reset_peak_memory();
        drop(direct_get(bench, key).await?);
        direct_peaks.push(GLOBAL.get_peak_memory() as u64);
    }
    let p = median_u64(&mut proxy_peaks);
    let d = median_u64(&mut direct_peaks);
    let times = p as f64 / size as f64;
    rows.push(
        Row::new(
            "GET 4 MB: peak heap above baseline during one request",
            format!("{} ({times:.1}x object)", bytes(p)),
        )
        .direct(format!(
            "{} ({:.1}x object)",
            bytes(d),
            d as f64 / size as f64
        ))
        .ratio(p as f64 / d.max(1) as f64)
        .target("<= 4x object", times <= 4.0),
    );
    Ok(())
}
