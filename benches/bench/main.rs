//! `make bench`: what the proxy costs, measured side by side in one run on
//! this machine, printed as one Markdown table with targets.
//!
//! - Handler overhead: GET and PUT of 1 KB, 1 MB and 4 MB objects through the
//!   whole Lambda path (REST v1 event JSON -> [`s3_proxy::event`] -> handler
//!   -> response JSON, [`lambda::invoke_json`]) against the same aws-sdk-s3
//!   call made directly, interleaved, medians and ratios; and the 1 KB GET by
//!   instructions (callgrind), which a shared machine does not disturb.
//! - Bytes allocated per request on each side and the peak heap of one 4 MB
//!   GET, counted by the allocator of this binary (stats_alloc, peakmem-alloc).
//! - Cold start: the one-shot `s3-proxy-local invoke`, and the Lambda binary
//!   itself from exec to its first answer, served by a fake Lambda Runtime API:
//!   against the plain-HTTP store, then as in AWS, over HTTPS with the
//!   system's trust roots, at full CPU and under the CPU quota of a 256 MB and
//!   a 128 MB function; its first invocation against a warm one by
//!   instructions; trust roots from the system store against compiled-in ones.
//! - Size of the Lambda binary, as built and stripped.
//! - Local mode throughput: 1 KB GETs over HTTP through the emulator against
//!   the same SDK client straight to the store, and against presigned GETs.
//! - The embedded store: presigned 1 KB GETs against s3s-fs (the store it
//!   replaced) in the same run, and one 1000-key page of a 100,000-key bucket.
//! - Stream mode: a 64 MB GET streamed by the Lambda binary to a fake Runtime
//!   API against an SDK GET into a sink (first byte, total), and the binary's
//!   peak RSS streaming 100 MB and 10 MB.
//!
//! Everything runs on 127.0.0.1 against the embedded store (over a temporary
//! folder) started in this process. Targets are reported, not
//! enforced: the run exits 0 whatever it measures. Run by `cargo test`
//! (no `--bench` argument) it does nothing.

#[path = "../../tests/common/bytes.rs"]
mod bytes;
#[path = "../../tests/common/fault.rs"]
#[allow(dead_code)] // the stream rows' rate-limited link uses its server loop
mod fault;
#[path = "../../tests/common/runtime.rs"]
#[allow(dead_code)] // shared with tests/runtime.rs, which uses all of it
mod runtime;

use hyper::body::Bytes;
use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait};
use runtime::{FakeRuntime, Function};
use s3_proxy::App;
use s3_proxy::config::Config;
use s3_proxy::lambda;
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::serve_gateway;
use s3_proxy::local::server::{self, Running};
use stats_alloc::{Region, StatsAlloc};
use std::alloc::System;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The parts of the benchmark, one module each; they share this file's
// imports, constants and helpers.
mod cold_start;
mod cpu_quota;
mod instructions;
mod overhead;
mod store;
mod streaming;
mod throughput;
mod tls;

use cold_start::{
    S3Target, binary_size, cold_start_https, cold_start_lambda, cold_start_local, vm_hwm_kb,
};
use overhead::{memory, overhead};
use store::{store_listing, store_throughput};
use streaming::streaming;
use throughput::throughput;

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
/// `s3-proxy-local` as `cargo bench` builds it; `make bench` passes the
/// build `make invoke` runs (the `local` profile) in `S3_PROXY_LOCAL_BIN`.
const BENCH_LOCAL_BIN: &str = env!("CARGO_BIN_EXE_s3-proxy-local");

/// The `s3-proxy-local` binary the one-shot invoke rows run.
fn local_bin() -> PathBuf {
    match std::env::var_os("S3_PROXY_LOCAL_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(BENCH_LOCAL_BIN),
    }
}
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == instructions::COUNT_ARG) {
        return instructions::child(&args[at + 1..]);
    }
    if !args.iter().any(|a| a == "--bench") {
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
    let only: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    match runtime.block_on(run(&only)) {
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

impl Bench {
    /// The store on a free loopback port over a temporary folder, with the
    /// benchmark's buckets and the object `events/get-object.json` reads.
    async fn start() -> Result<Self, BoxError> {
        let dir = tempfile::tempdir()?;
        let store = server::start_store(dir.path(), "127.0.0.1:0".parse()?).await?;
        let config = Config::default();
        let client = server::local_client(&store.url(), config.backend_timeout);
        let app = Arc::new(App::new(config, client.clone()));
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
        Ok(Self {
            store,
            _dir: dir,
            client,
            gateway: Gateway::new(app, "prod"),
        })
    }
}

/// The parts of the run, in order; `make bench ONLY="cold tls"` runs some.
const PARTS: [&str; 9] = [
    "overhead",
    "instructions",
    "memory",
    "throughput",
    "store",
    "cold",
    "tls",
    "stream",
    "size",
];

async fn run(only: &[String]) -> Result<(), BoxError> {
    let started = Instant::now();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if let Some(unknown) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        return Err(format!("unknown part {unknown:?}: the parts are {PARTS:?}").into());
    }
    let bench = Bench::start().await?;
    let mut rows = Vec::new();
    if wanted("overhead") {
        eprintln!("bench: handler overhead ...");
        for (size, label, iterations) in
            [(KB, "1 KB", 2000), (MB, "1 MB", 200), (4 * MB, "4 MB", 80)]
        {
            overhead(&bench, size, label, iterations, &mut rows).await?;
        }
    }
    if wanted("instructions") {
        eprintln!("bench: instructions per request (callgrind) ...");
        instructions::per_request_rows(&mut rows)?;
    }
    if wanted("memory") {
        eprintln!("bench: memory ...");
        memory(&bench, &mut rows).await?;
    }
    if wanted("throughput") {
        eprintln!("bench: local mode throughput ...");
        throughput(&bench, &mut rows).await?;
    }
    if wanted("store") {
        eprintln!("bench: embedded store ...");
        store_throughput(&bench, &mut rows).await?;
        store_listing(&bench, &mut rows).await?;
    }
    if wanted("cold") {
        eprintln!("bench: cold start ...");
        cold_start_local(&mut rows)?;
        cold_start_lambda(&bench, &mut rows).await?;
    }
    if wanted("tls") {
        eprintln!("bench: cold start over HTTPS, full CPU and under CPU quotas ...");
        let https_store = tls::https_store(bench.store.addr).await?;
        let https = S3Target {
            url: https_store.url.clone(),
            ca_file: Some(https_store.ca_file.clone()),
            roots: https_store.roots,
        };
        cold_start_https(&https, &mut rows).await?;
        cpu_quota::cold_start_quota(&https, &mut rows).await?;
        eprintln!("bench: first invocation against a warm one, trust roots (callgrind) ...");
        instructions::first_invocation_rows(&https, &mut rows).await?;
        tls::roots_row(&https_store, &mut rows)?;
    }
    if wanted("stream") {
        eprintln!("bench: stream mode ...");
        streaming(&bench, &mut rows).await?;
    }
    if wanted("size") {
        binary_size(&mut rows)?;
    }
    print_table(&rows, started.elapsed());
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
