//! `make bench`: what the proxy costs, measured side by side in one run on
//! this machine, printed as one Markdown table with targets.
//!
//! - Handler overhead: GET and PUT of 1 KB, 1 MB and 4 MB objects through the
//!   whole Lambda path (REST v1 event JSON -> event types -> handler ->
//!   response JSON, [`lambda::invoke_json`]) against the same aws-sdk-s3 call
//!   made directly, interleaved, medians and ratios.
//! - Bytes allocated per request on each side and the peak heap of one 4 MB
//!   GET, counted by the allocator of this binary (stats_alloc, peakmem-alloc).
//! - Cold start: the one-shot `s3-proxy-local invoke`, and the Lambda binary
//!   itself from exec to its first answer, served by a fake Lambda Runtime API.
//! - Size of the Lambda binary, as built and stripped.
//! - Local mode throughput: 1 KB GETs over HTTP through the emulator against
//!   presigned GETs straight to the store, same client, same concurrency.
//!
//! Everything runs on 127.0.0.1 against the embedded store (s3s-fs over a
//! temporary folder) started in this process. Targets are reported, not
//! enforced: the run exits 0 whatever it measures. Run by `cargo test`
//! (no `--bench` argument) it does nothing.

#[path = "../tests/common/bytes.rs"]
mod bytes;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait};
use s3_proxy::App;
use s3_proxy::config::Config;
use s3_proxy::lambda;
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::serve_gateway;
use s3_proxy::local::server::{self, Running};
use stats_alloc::{Region, StatsAlloc};
use std::alloc::System;
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts every allocation of this process: total bytes (stats_alloc) and the
/// peak of live bytes since the last reset (peakmem-alloc). The store runs in
/// this process too, so its allocations count on both sides alike.
static STATS: StatsAlloc<System> = StatsAlloc::system();
#[global_allocator]
static GLOBAL: PeakMemAlloc<&StatsAlloc<System>> = PeakMemAlloc::new(&STATS);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const KB: usize = 1024;
const MB: usize = 1024 * 1024;
const BUCKET: &str = "bench";
/// The bucket and key `events/get-object.json` reads.
const DEMO_BUCKET: &str = "s3-proxy-demo";
const DEMO_KEY: &str = "test/test.txt";
const LOCAL_BIN: &str = env!("CARGO_BIN_EXE_s3-proxy-local");
/// The Lambda binary as `cargo bench` builds it (with the `local` feature).
/// `make bench` passes the deployable build in `S3_PROXY_LAMBDA_BIN` instead.
const BENCH_LAMBDA_BIN: &str = env!("CARGO_BIN_EXE_s3-proxy");

/// The Lambda binary to measure, and how it was built.
fn lambda_bin() -> (PathBuf, &'static str) {
    match std::env::var_os("S3_PROXY_LAMBDA_BIN") {
        Some(path) if !path.is_empty() => {
            (PathBuf::from(path), "--no-default-features, as deployed")
        }
        _ => (
            PathBuf::from(BENCH_LAMBDA_BIN),
            "with the `local` feature, as `cargo bench` builds it",
        ),
    }
}
const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events");

fn main() -> std::process::ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        println!("bench: skipped (run it with `make bench`)");
        return std::process::ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: no tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One line of the table.
struct Row {
    measure: String,
    proxy: String,
    direct: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

impl Row {
    fn new(measure: impl Into<String>, proxy: impl Into<String>) -> Self {
        Self {
            measure: measure.into(),
            proxy: proxy.into(),
            direct: String::new(),
            ratio: String::new(),
            target: String::new(),
            met: None,
        }
    }
    fn direct(mut self, direct: impl Into<String>) -> Self {
        self.direct = direct.into();
        self
    }
    fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = format!("{ratio:.2}");
        self
    }
    fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

/// The store, the handler over it, and a direct client to the same store.
struct Bench {
    store: Running,
    _dir: tempfile::TempDir,
    client: aws_sdk_s3::Client,
    gateway: Gateway,
}

async fn run() -> Result<(), BoxError> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let store = server::start_store(dir.path(), "127.0.0.1:0".parse()?).await?;
    let config = Config::default();
    let client = server::local_client(&store.url(), config.backend_timeout);
    let app = Arc::new(App::new(config, client.clone()));
    let bench = Bench {
        store,
        _dir: dir,
        client: client.clone(),
        gateway: Gateway::new(app, "prod"),
    };
    client.create_bucket().bucket(BUCKET).send().await?;
    client.create_bucket().bucket(DEMO_BUCKET).send().await?;
    client
        .put_object()
        .bucket(DEMO_BUCKET)
        .key(DEMO_KEY)
        .content_type("text/plain")
        .body(Bytes::from_static(b"Hello from s3-proxy!\n").into())
        .send()
        .await?;

    let mut rows = Vec::new();
    eprintln!("bench: handler overhead ...");
    for (size, label, iterations) in [(KB, "1 KB", 2000), (MB, "1 MB", 200), (4 * MB, "4 MB", 80)] {
        overhead(&bench, size, label, iterations, &mut rows).await?;
    }
    eprintln!("bench: memory ...");
    memory(&bench, &mut rows).await?;
    eprintln!("bench: local mode throughput ...");
    throughput(&bench, &mut rows).await?;
    eprintln!("bench: cold start ...");
    cold_start_local(&mut rows)?;
    cold_start_lambda(&bench, &mut rows).await?;
    binary_size(&mut rows)?;

    print_table(&rows, started.elapsed());
    Ok(())
}

// --- handler overhead -------------------------------------------------------

/// The same GET or PUT through the Lambda path and straight to the store,
/// interleaved (alternating which goes first), `iterations` times each.
async fn overhead(
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
async fn proxy(bench: &Bench, event: &str) -> Result<String, BoxError> {
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

fn status_of(answer: &str) -> Result<u64, BoxError> {
    let v: serde_json::Value = serde_json::from_str(answer)?;
    v["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no statusCode in {answer:.300}").into())
}

fn check_get_answer(answer: &str, expected: &[u8]) -> Result<(), BoxError> {
    use base64::Engine;
    let v: serde_json::Value = serde_json::from_str(answer)?;
    let body = v["body"].as_str().unwrap_or_default();
    let bytes = if v["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(body)?
    } else {
        body.as_bytes().to_vec()
    };
    if v["statusCode"].as_u64() != Some(200) || bytes != expected {
        return Err(format!("proxy GET answered {answer:.300}").into());
    }
    Ok(())
}

// --- memory -----------------------------------------------------------------

/// Peak live heap above what was live before, during one 4 MB GET.
async fn memory(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
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

// --- local mode throughput --------------------------------------------------

/// 1 KB GETs over HTTP: through the emulator, and presigned straight to the
/// store, with one reqwest client and the same concurrency.
async fn throughput(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
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

// --- cold start -------------------------------------------------------------

const COLD_RUNS: usize = 20;

/// `s3-proxy-local invoke --data <dir> events/get-object.json`, exec to exit.
fn cold_start_local(rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let data = tempfile::tempdir()?;
    let invoke = |event: &str| {
        let mut cmd = Command::new(LOCAL_BIN);
        cmd.args(["invoke", "--data"])
            .arg(data.path())
            .arg(Path::new(EVENTS).join(event))
            .env_clear();
        cmd
    };
    for event in ["create-bucket.json", "put-object.json", "get-object.json"] {
        let out = invoke(event).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.contains("\"statusCode\":200") {
            return Err(format!("s3-proxy-local invoke {event}: {text:.300}").into());
        }
    }
    let mut times = Vec::new();
    for i in 0..COLD_RUNS + 2 {
        let started = Instant::now();
        let status = invoke("get-object.json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let t = started.elapsed();
        if !status.success() {
            return Err(format!("s3-proxy-local invoke exited {status}").into());
        }
        if i >= 2 {
            times.push(t);
        }
    }
    let wall = median(&mut times);
    rows.push(
        Row::new(
            format!(
                "Cold start, one-shot `s3-proxy-local invoke` get-object (exec to exit, \
                 includes starting the embedded store), median of {COLD_RUNS}"
            ),
            ms(wall),
        )
        .target("< 15 ms", wall < Duration::from_millis(15)),
    );
    // Peak RSS from wait4's rusage, as GNU time reports it.
    let rss = max_rss_kb(|| invoke("get-object.json"), 5)?;
    rows.push(match rss {
        Some(kb) => Row::new(
            "Peak RSS of that one-shot invoke (max of 5)",
            bytes(kb * 1024),
        )
        .target("< 16 MB", kb * 1024 < 16 * MB as u64),
        None => Row::new("Peak RSS of that one-shot invoke", "n/a (no /usr/bin/time)"),
    });
    Ok(())
}

/// The largest maxrss (KiB) over `runs` runs of the command under
/// `/usr/bin/time -f %M`; None when GNU time is not installed.
fn max_rss_kb(command: impl Fn() -> Command, runs: usize) -> Result<Option<u64>, BoxError> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return Ok(None);
    }
    let out_dir = tempfile::tempdir()?;
    let report = out_dir.path().join("rss");
    let mut max = 0;
    for _ in 0..runs {
        let inner = command();
        let mut cmd = Command::new(time);
        cmd.arg("-f").arg("%M").arg("-o").arg(&report);
        cmd.arg(inner.get_program()).args(inner.get_args());
        cmd.env_clear();
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        if !status.success() {
            return Err(format!("/usr/bin/time {:?} exited {status}", inner.get_program()).into());
        }
        let text = std::fs::read_to_string(&report)?;
        let kb: u64 = text
            .trim()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .parse()?;
        max = max.max(kb);
    }
    Ok(Some(max))
}

/// What the fake Runtime API hands out and what it got back.
struct FakeRuntime {
    event: String,
    /// Serve the event on the next `/next` (once per run).
    armed: AtomicBool,
    /// Where the function's answer (or error) goes.
    answer: Mutex<Option<tokio::sync::oneshot::Sender<(String, String)>>>,
}

/// The Lambda binary from exec to its first response POSTed to a fake Lambda
/// Runtime API on loopback: its real cold start (runtime init, config,
/// aws-config, S3 client, one GET against the embedded store), minus the
/// microVM and the download of the code.
async fn cold_start_lambda(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let runtime = Arc::new(FakeRuntime {
        event: std::fs::read_to_string(Path::new(EVENTS).join("get-object.json"))?,
        armed: AtomicBool::new(false),
        answer: Mutex::new(None),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    let serving = tokio::spawn(serve_runtime(listener, runtime.clone()));
    let profile = tempfile::tempdir()?;
    let missing = profile.path().join("none");
    let env: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API", api),
        ("AWS_LAMBDA_FUNCTION_NAME", "s3-proxy".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_REGION", server::LOCAL_REGION.into()),
        ("AWS_ACCESS_KEY_ID", server::LOCAL_ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", server::LOCAL_SECRET_KEY.into()),
        ("AWS_ENDPOINT_URL_S3", bench.store.url()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", missing.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", missing.display().to_string()),
        ("RUST_LOG", "info".into()),
    ];
    let (lambda, _) = lambda_bin();
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for i in 0..COLD_RUNS + 2 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *runtime.answer.lock().map_err(|_| "poisoned")? = Some(tx);
        runtime.armed.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let mut child = Command::new(&lambda)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let answer = tokio::time::timeout(Duration::from_secs(10), rx).await;
        let t = started.elapsed();
        let hwm = vm_hwm_kb(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let (path, body) = answer
            .map_err(|_| "the Lambda binary did not answer within 10 s")?
            .map_err(|_| "the fake Runtime API dropped the answer")?;
        if !path.ends_with("/response") || !body.contains("\"statusCode\":200") {
            return Err(format!("the Lambda binary posted to {path}: {body:.300}").into());
        }
        if i >= 2 {
            times.push(t);
            if let Some(kb) = hwm {
                rss.push(kb);
            }
        }
    }
    serving.abort();
    let wall = median(&mut times);
    rows.push(
        Row::new(
            format!(
                "Cold start, Lambda binary: exec to first response at a fake Runtime API \
                 (init + one GET), median of {COLD_RUNS}"
            ),
            ms(wall),
        )
        .target("< 15 ms", wall < Duration::from_millis(15)),
    );
    if !rss.is_empty() {
        let kb = median_u64(&mut rss);
        rows.push(
            Row::new(
                "Peak RSS of the Lambda binary after its first answer (VmHWM, median)",
                bytes(kb * 1024),
            )
            .target("< 16 MB", kb * 1024 < 16 * MB as u64),
        );
    }
    Ok(())
}

/// The three routes of the Lambda Runtime API a function uses.
async fn serve_runtime(listener: tokio::net::TcpListener, runtime: Arc<FakeRuntime>) {
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let runtime = runtime.clone();
        async move { Ok::<_, Infallible>(runtime_route(&runtime, req).await) }
    });
    server::serve(listener, service).await
}

async fn runtime_route(
    runtime: &FakeRuntime,
    req: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if req.method() == http::Method::GET && path.ends_with("/runtime/invocation/next") {
        if !runtime.armed.swap(false, Ordering::SeqCst) {
            // One event per run: the function waits here until it is killed.
            std::future::pending::<()>().await;
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 30_000;
        let mut response = http::Response::new(Full::new(Bytes::from(runtime.event.clone())));
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", "bench-request".to_string()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:s3-proxy".to_string(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".to_string(),
            ),
            ("content-type", "application/json".to_string()),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        return response;
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    if let Ok(mut answer) = runtime.answer.lock()
        && let Some(tx) = answer.take()
    {
        let _ = tx.send((path, body));
    }
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}

/// The peak resident set of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// --- binary size ------------------------------------------------------------

fn binary_size(rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let (lambda, how) = lambda_bin();
    let built = std::fs::metadata(&lambda)?.len();
    let dir = tempfile::tempdir()?;
    let stripped: PathBuf = dir.path().join("bootstrap");
    let strip_ok = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&lambda)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let size = if strip_ok {
        std::fs::metadata(&stripped)?.len()
    } else {
        built
    };
    rows.push(
        Row::new(
            format!(
                "Lambda binary `s3-proxy` ({how}), {} (as built: {})",
                if strip_ok {
                    "stripped"
                } else {
                    "not stripped (no `strip`)"
                },
                bytes(built)
            ),
            bytes(size),
        )
        .target("<= 8 MB", size <= 8 * MB as u64),
    );
    Ok(())
}

// --- output -----------------------------------------------------------------

fn print_table(rows: &[Row], elapsed: Duration) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "s3-proxy benchmark: {cpu}, {cores} cores, embedded store on 127.0.0.1, {:.0} s",
        elapsed.as_secs_f64()
    );
    println!();
    println!("| measure | s3-proxy | direct | ratio | target | met |");
    println!("|---|---:|---:|---:|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**MISSED**",
            None => "",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.measure, r.proxy, r.direct, r.ratio, r.target, met
        );
    }
    let missed = rows.iter().filter(|r| r.met == Some(false)).count();
    println!();
    println!(
        "{} of {} targets met",
        rows.iter().filter(|r| r.met == Some(true)).count(),
        rows.iter().filter(|r| r.met.is_some()).count()
    );
    if missed > 0 {
        println!("(targets are reported, not enforced)");
    }
}

fn pattern(len: usize) -> Vec<u8> {
    // Not compressible, not UTF-8: a binary object.
    bytes::random_bytes(len, 0x9e37_79b9_7f4a_7c15)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn median_u64(v: &mut [u64]) -> u64 {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= MB as u64 => format!("{:.1} MB", n as f64 / MB as f64),
        n if n >= KB as u64 => format!("{:.1} KB", n as f64 / KB as f64),
        n => format!("{n} B"),
    }
}
