//! `make loadtest`: the local mode under load, over real HTTP on 127.0.0.1.
//!
//! 20,000 requests from 64 concurrent workers against the API Gateway
//! emulator (`serve_gateway`) over the embedded store: PUT, GET, HEAD, list
//! and DELETE of small objects, text and binary, empty to 64 KB, keys sent
//! both as `a%2Fb` and as `a/b`, with and without the stage prefix. Every
//! answer is checked (status, and bytes for GET), so an error is anything a
//! client would notice. It reports p50/p99 latency, the process's peak RSS and
//! its RSS at 25/50/75/100% of the run, and exits non-zero on any error.
//! Run by `cargo test` (no `--bench` argument) it does nothing.

#[path = "../tests/common/bytes.rs"]
mod bytes;

use bytes::random_bytes;
use s3_proxy::App;
use s3_proxy::config::Config;
use s3_proxy::local::gateway::Gateway;
use s3_proxy::local::serve_gateway;
use s3_proxy::local::server;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REQUESTS: usize = 20_000;
const CONCURRENCY: usize = 64;
/// Keys each worker cycles through.
const KEYS_PER_WORKER: usize = 4;
const BUCKET: &str = "loadtest";
/// The whole run stops here, finished or not.
const DEADLINE: Duration = Duration::from_secs(300);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        println!("loadtest: skipped (run it with `make loadtest`)");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadtest: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the workers share.
struct Shared {
    http: reqwest::Client,
    base: String,
    tickets: AtomicUsize,
    done: AtomicUsize,
    errors: Mutex<Vec<String>>,
    /// (percent of the run, RSS in KiB) when that many requests had finished.
    rss: Mutex<Vec<(usize, u64)>>,
}

async fn run() -> Result<bool, BoxError> {
    let dir = tempfile::tempdir()?;
    let store = server::start_store(dir.path(), "127.0.0.1:0".parse()?).await?;
    let config = Config::default();
    let client = server::local_client(&store.url(), config.backend_timeout);
    let gateway = Arc::new(Gateway::new(Arc::new(App::new(config, client)), "prod"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let serving = tokio::spawn(serve_gateway(listener, gateway));

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let created = http.put(format!("{base}/{BUCKET}")).send().await?;
    if created.status() != 200 {
        return Err(format!("create bucket: {}", created.status()).into());
    }
    let shared = Arc::new(Shared {
        http,
        base,
        tickets: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        errors: Mutex::new(Vec::new()),
        rss: Mutex::new(Vec::new()),
    });

    let rss_start = rss_kb("VmRSS").unwrap_or_default();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..CONCURRENCY {
        workers.spawn(worker(w, shared.clone()));
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    let finished = tokio::time::timeout(DEADLINE, async {
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(mut l) => latencies.append(&mut l),
                Err(e) => record(&shared, format!("a worker failed: {e}")),
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    serving.abort();
    if finished.is_err() {
        workers.abort_all();
        record(
            &shared,
            format!("the run did not finish within {DEADLINE:?}"),
        );
    }

    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let errors = shared.errors.lock().map(|e| e.clone()).unwrap_or_default();
    let mut rss = shared.rss.lock().map(|r| r.clone()).unwrap_or_default();
    rss.sort();
    let peak = rss_kb("VmHWM").unwrap_or_default();

    println!();
    println!(
        "loadtest: {} requests, {CONCURRENCY} concurrent, over HTTP to the local emulator on 127.0.0.1",
        latencies.len()
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| requests | {} |", latencies.len());
    println!("| errors | {} |", errors.len());
    println!("| wall time | {:.1} s |", elapsed.as_secs_f64());
    println!(
        "| throughput | {:.0} requests/s |",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!("| latency p50 | {} |", ms(pick(0.50)));
    println!("| latency p99 | {} |", ms(pick(0.99)));
    println!(
        "| latency max | {} |",
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!("| RSS before the run | {} |", mib(rss_start));
    for (percent, kb) in &rss {
        println!("| RSS at {percent}% | {} |", mib(*kb));
    }
    println!("| peak RSS (VmHWM) | {} |", mib(peak));
    if let (Some((_, first)), Some((_, last))) = (rss.first(), rss.last()) {
        let growth = *last as f64 / (*first).max(1) as f64;
        println!(
            "\nRSS from 25% to 100% of the run: x{growth:.2} ({})",
            if growth <= 1.25 { "flat" } else { "GROWING" }
        );
    }
    for e in errors.iter().take(10) {
        println!("error: {e}");
    }
    let ok = errors.is_empty() && latencies.len() == REQUESTS;
    println!(
        "{}",
        if ok {
            "loadtest: OK"
        } else {
            "loadtest: FAILED"
        }
    );
    Ok(ok)
}

/// One client: takes request tickets until all are given out, walking its own
/// keys through PUT -> GET -> HEAD -> list -> DELETE so every answer is known.
async fn worker(w: usize, shared: Arc<Shared>) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let mut step = 0usize;
    while shared.tickets.fetch_add(1, Ordering::Relaxed) < REQUESTS {
        let round = step / 5;
        let slot = round % KEYS_PER_WORKER;
        let object = Object::new(w, slot, round);
        let started = Instant::now();
        let result = request(&shared, &object, step % 5).await;
        latencies.push(started.elapsed());
        if let Err(e) = result {
            record(&shared, format!("worker {w} step {step}: {e}"));
        }
        step += 1;
        let done = shared.done.fetch_add(1, Ordering::Relaxed) + 1;
        if done.is_multiple_of(REQUESTS / 4)
            && let (Some(kb), Ok(mut rss)) = (rss_kb("VmRSS"), shared.rss.lock())
        {
            rss.push((done * 100 / REQUESTS, kb));
        }
    }
    latencies
}

/// The object a worker writes in one round of its cycle.
struct Object {
    /// Key path with `/` sent as several segments.
    segments: String,
    /// The same key, `/` sent as `%2F` in one segment.
    encoded: String,
    /// The worker's prefix, for listing.
    prefix: String,
    content_type: &'static str,
    body: Vec<u8>,
    /// Send through `/prod/...` rather than `/...`.
    staged: bool,
}

impl Object {
    fn new(w: usize, slot: usize, round: usize) -> Self {
        let sizes = [0, 1, 100, 1024, 4096, 16 * 1024, 64 * 1024];
        let size = sizes[(w + round) % sizes.len()];
        let binary = (w + round).is_multiple_of(2);
        let (content_type, ext, body) = if binary {
            (
                "application/octet-stream",
                "bin",
                random_bytes(size, (w * 7919 + round) as u64),
            )
        } else {
            (
                "text/plain; charset=utf-8",
                "txt",
                "s3-proxy load test ".bytes().cycle().take(size).collect(),
            )
        };
        let name = format!("w{w}/k{slot} r{round}.{ext}");
        Self {
            segments: name.replace(' ', "%20"),
            encoded: name.replace('/', "%2F").replace(' ', "%20"),
            prefix: format!("w{w}/"),
            content_type,
            body,
            staged: round % 2 == 1,
        }
    }
}

async fn request(shared: &Shared, o: &Object, op: usize) -> Result<(), BoxError> {
    let stage = if o.staged { "/prod" } else { "" };
    let base = &shared.base;
    let http = &shared.http;
    match op {
        0 => {
            let r = http
                .put(format!("{base}{stage}/{BUCKET}/{}", o.segments))
                .header("content-type", o.content_type)
                .body(o.body.clone())
                .send()
                .await?;
            expect(r.status(), 200, "PUT")?;
            if r.headers().get("etag").is_none() {
                return Err("PUT: no ETag".into());
            }
        }
        1 => {
            let r = http
                .get(format!("{base}{stage}/{BUCKET}/{}", o.encoded))
                .send()
                .await?;
            expect(r.status(), 200, "GET")?;
            let body = r.bytes().await?;
            if body.as_ref() != o.body.as_slice() {
                return Err(format!("GET: {} bytes back, {} put", body.len(), o.body.len()).into());
            }
        }
        2 => {
            let r = http
                .head(format!("{base}{stage}/{BUCKET}/{}", o.segments))
                .send()
                .await?;
            expect(r.status(), 200, "HEAD")?;
            let length = r
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if length != Some(o.body.len()) {
                return Err(
                    format!("HEAD: Content-Length {length:?}, {} put", o.body.len()).into(),
                );
            }
        }
        3 => {
            let r = http
                .get(format!("{base}{stage}/{BUCKET}?prefix={}", o.prefix))
                .send()
                .await?;
            expect(r.status(), 200, "list")?;
            let text = r.text().await?;
            if !text.contains("<ListBucketResult") || !text.contains(&o.prefix) {
                return Err(format!("list: {text:.200}").into());
            }
        }
        _ => {
            let r = http
                .delete(format!("{base}{stage}/{BUCKET}/{}", o.encoded))
                .send()
                .await?;
            expect(r.status(), 204, "DELETE")?;
        }
    }
    Ok(())
}

fn expect(got: reqwest::StatusCode, want: u16, what: &str) -> Result<(), BoxError> {
    if got.as_u16() == want {
        Ok(())
    } else {
        Err(format!("{what}: {got}, expected {want}").into())
    }
}

fn record(shared: &Shared, error: String) {
    if let Ok(mut errors) = shared.errors.lock() {
        errors.push(error);
    }
}

/// A field of /proc/self/status, in KiB.
fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}
