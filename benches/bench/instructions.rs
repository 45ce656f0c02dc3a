//! Instruction counts (valgrind's callgrind): deterministic where wall time
//! on a shared machine is not.
//!
//! - Per request: this bench binary runs itself under callgrind in a counting
//!   mode (`--count WORKLOAD N`): the embedded store, the handler and the SDK
//!   client in one thread, then one request to set up connections and N
//!   requests of one kind. Callgrind writes the counts at the start of each
//!   request (`--dump-before`), so each request is counted on its own; the
//!   median over a few such processes is the row's. The store runs in the
//!   process, so its share is in both columns, as in the latency rows.
//! - Whole processes (the Lambda binary's init and invocations): see
//!   `cold_start::first_invocation`.

use super::*;

/// Requests counted per process, and processes per workload: a process's
/// requests differ by about 1% (the clock, the allocator's state), and
/// processes by as much again (hash seeds, addresses).
pub(crate) const REQUESTS: usize = 30;
pub(crate) const PROCESSES: usize = 3;

/// [`request_starts`] as callgrind names it.
const REQUEST_STARTS: &str = "bench::instructions::request_starts";

/// The argument that selects the counting mode.
pub(crate) const COUNT_ARG: &str = "--count";

/// What one counting run repeats: a GET of 1 KB, each way.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Workload {
    /// GET 1 KB through the Lambda path (`lambda::invoke_json`).
    ProxyGet,
    /// The same GET with the SDK client straight to the store.
    SdkGet,
    /// GET 1 KB over HTTP through the emulator (reqwest -> emulator -> handler).
    EmulatorGet,
    /// A presigned GET over HTTP straight to the store (reqwest).
    PresignedGet,
    /// The trust roots as the SDK's client loads them (`SSL_CERT_FILE` or
    /// the system's store, rustls-native-certs) into a rustls root store.
    RootsSystem,
    /// Compiled-in roots (webpki-roots) into a rustls root store.
    RootsWebpki,
}

impl Workload {
    const ALL: [Self; 6] = [
        Self::ProxyGet,
        Self::SdkGet,
        Self::EmulatorGet,
        Self::PresignedGet,
        Self::RootsSystem,
        Self::RootsWebpki,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::ProxyGet => "proxy-get",
            Self::SdkGet => "sdk-get",
            Self::EmulatorGet => "emulator-get",
            Self::PresignedGet => "presigned-get",
            Self::RootsSystem => "roots-system",
            Self::RootsWebpki => "roots-webpki",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// `valgrind` on the PATH, or why not.
pub(crate) fn valgrind() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("valgrind"))
        .find(|p| p.is_file())
        .ok_or("no valgrind on the PATH")?;
    match Command::new(&found)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(found),
        Ok(s) => Err(format!("valgrind --version exited {s}")),
        Err(e) => Err(format!("valgrind does not run: {e}")),
    }
}

/// `cmd` under callgrind (its environment only), its counts written to
/// `out`; read them with [`total_instructions`].
pub(crate) fn under_callgrind(cmd: &Command, out: &Path) -> Result<Command, BoxError> {
    let mut wrapped = Command::new(valgrind()?);
    wrapped
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()));
    if cmd.get_args().any(|a| a == COUNT_ARG) {
        wrapped.arg(format!("--dump-before={REQUEST_STARTS}"));
    }
    wrapped
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    wrapped.stdout(Stdio::null()).stderr(Stdio::null());
    Ok(wrapped)
}

/// The instructions a callgrind output file counts (its `totals:` line).
/// With `S3_PROXY_BENCH_CALLGRIND=DIR` the file is also kept in DIR, for
/// `callgrind_annotate`.
pub(crate) fn total_instructions(out: &Path) -> Result<u64, BoxError> {
    if let Some(dir) = std::env::var_os("S3_PROXY_BENCH_CALLGRIND") {
        let name = out.file_name().unwrap_or_default();
        let _ = std::fs::copy(out, Path::new(&dir).join(name));
    }
    let text = std::fs::read_to_string(out)?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()).into())
}

/// Instructions of one request of `workload`: the median of [`REQUESTS`]
/// requests in each of [`PROCESSES`] processes.
pub(crate) fn per_request(workload: Workload) -> Result<u64, BoxError> {
    per_request_with(workload, &[])
}

/// [`per_request`] with environment variables for the counting processes.
pub(crate) fn per_request_with(workload: Workload, env: &[(&str, &Path)]) -> Result<u64, BoxError> {
    let mut counts = Vec::new();
    for run in 0..PROCESSES {
        counts.extend(count_requests(workload, env, run)?);
    }
    Ok(median_u64(&mut counts))
}

/// The instructions of each of [`REQUESTS`] requests in one counting process.
fn count_requests(
    workload: Workload,
    env: &[(&str, &Path)],
    run: usize,
) -> Result<Vec<u64>, BoxError> {
    let dir = tempfile::tempdir()?;
    let name = format!("{}-{run}", workload.name());
    let out = dir.path().join(&name);
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args([COUNT_ARG, workload.name(), &REQUESTS.to_string()]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let status = under_callgrind(&cmd, &out)?.status()?;
    if !status.success() {
        return Err(format!("callgrind {}: exited {status}", workload.name()).into());
    }
    // Dump 1 is the set-up, 2 the first request; 3 to REQUESTS + 1 the
    // counted ones (the last one's count is in the final file, with the
    // teardown).
    (3..=REQUESTS + 1)
        .map(|dump| total_instructions(&dir.path().join(format!("{name}.{dump}"))))
        .collect()
}

/// The GET 1 KB row by instructions: the Lambda path against the SDK call.
pub(crate) fn per_request_rows(rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let measure = format!(
        "GET 1 KB: instructions per request (callgrind, median of {PROCESSES} x {REQUESTS}), \
         Lambda path vs SDK call"
    );
    if let Err(why) = valgrind() {
        rows.push(Row::new(measure, format!("skipped: {why}")));
        return Ok(());
    }
    let proxy = per_request(Workload::ProxyGet)?;
    let direct = per_request(Workload::SdkGet)?;
    let ratio = proxy as f64 / direct as f64;
    rows.push(
        Row::new(measure, kilo(proxy))
            .direct(kilo(direct))
            .ratio(ratio)
            .target("<= 1.10", ratio <= 1.10),
    );
    // What stands between the emulator's throughput and the SDK's (the
    // throughput rows): the same GET over HTTP through the emulator, and a
    // presigned GET (no signing, no SDK) over HTTP.
    let emulator = per_request(Workload::EmulatorGet)?;
    let presigned = per_request(Workload::PresignedGet)?;
    rows.push(
        Row::new(
            "(context) the same GET over HTTP through the emulator (reqwest -> emulator -> \
             Lambda path) vs the SDK call, instructions per request",
            kilo(emulator),
        )
        .direct(kilo(direct))
        .ratio(emulator as f64 / direct as f64),
    );
    rows.push(
        Row::new(
            "(context) a presigned GET over HTTP straight to the store (reqwest, no signing) \
             vs the SDK call, instructions per request",
            kilo(presigned),
        )
        .direct(kilo(direct))
        .ratio(presigned as f64 / direct as f64),
    );
    Ok(())
}

/// Instructions as `1,234 k`.
pub(crate) fn kilo(n: u64) -> String {
    let k = (n + 500) / 1000;
    let (high, low) = (k / 1000, k % 1000);
    if high > 0 {
        format!("{high},{low:03} k")
    } else {
        format!("{low} k")
    }
}

/// The counting mode: `--count WORKLOAD N`. Everything on one thread, so
/// that two runs count the same instructions.
pub(crate) fn child(args: &[String]) -> std::process::ExitCode {
    let parsed = match args {
        [workload, n] => Workload::parse(workload).zip(n.parse::<usize>().ok()),
        _ => None,
    };
    let Some((workload, n)) = parsed else {
        eprintln!("bench: usage: {COUNT_ARG} WORKLOAD N");
        return std::process::ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: no tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(count(workload, n)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn count(workload: Workload, n: usize) -> Result<(), BoxError> {
    if let Workload::RootsSystem | Workload::RootsWebpki = workload {
        for i in 0..n + 1 {
            request_starts(i);
            black_box(tls::load_roots(matches!(workload, Workload::RootsSystem)));
        }
        return Ok(());
    }
    let bench = Bench::start().await?;
    let key = "count-1KB";
    bench
        .client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(Bytes::from(pattern(KB)).into())
        .send()
        .await?;
    let event = bench.gateway.event_json(
        &HttpRequest::new("GET", &format!("/{BUCKET}/{key}")).header("accept", "*/*"),
        "bench",
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}/{BUCKET}/{key}", listener.local_addr()?);
    let serving = tokio::spawn(serve_gateway(listener, Arc::new(bench.gateway.clone())));
    let presigned = bench
        .client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(
            Duration::from_secs(3600),
        )?)
        .await?
        .uri()
        .to_string();
    let http = reqwest::Client::builder().no_proxy().build()?;
    // One request first: connections and lazily built state are set-up.
    for i in 0..n + 1 {
        request_starts(i);
        let len = match workload {
            Workload::ProxyGet => {
                let json = lambda::invoke_json(&bench.gateway.app, &event, context()).await?;
                json.len()
            }
            Workload::SdkGet => {
                let out = bench
                    .client
                    .get_object()
                    .bucket(BUCKET)
                    .key(key)
                    .send()
                    .await?;
                out.body.collect().await?.into_bytes().len()
            }
            Workload::EmulatorGet => http.get(&api).send().await?.bytes().await?.len(),
            Workload::PresignedGet => http.get(&presigned).send().await?.bytes().await?.len(),
            Workload::RootsSystem | Workload::RootsWebpki => 0,
        };
        black_box(len);
    }
    serving.abort();
    Ok(())
}

/// Marks where each request starts: callgrind dumps its counts on entry
/// (`--dump-before`), so that each request is counted on its own.
#[inline(never)]
fn request_starts(i: usize) {
    black_box(i);
}

fn context() -> lambda_http::Context {
    let mut context = lambda_http::Context::default();
    context.request_id = "bench".into();
    context
}

// --- the Lambda binary: first invocation against a warm one -----------------

/// Instructions of the Lambda binary's first invocation against a warm one
/// (over HTTPS, the store's test CA in `SSL_CERT_FILE`): with every one-time
/// cost paid in init, the first invocation is no dearer than the next.
///
/// `I(k)` counts the process from exec until it polls for event `k + 1`,
/// having answered `k` GETs, then stops it (SIGTERM: callgrind writes its
/// counts). Init is `I(0)`, the first invocation `I(1) - I(0)`, a warm one
/// `I(2) - I(1)`.
pub(crate) async fn first_invocation_rows(
    https: &cold_start::S3Target,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let measure =
        "Lambda binary over HTTPS, instructions (callgrind): first invocation vs a warm one";
    if let Err(why) = valgrind() {
        rows.push(Row::new(measure, format!("skipped: {why}")));
        return Ok(());
    }
    let mut totals = Vec::new();
    for events in 0..3 {
        totals.push(process_instructions(https, events).await?);
    }
    let init = totals[0];
    let first = totals[1].saturating_sub(totals[0]);
    let warm = totals[2].saturating_sub(totals[1]);
    let ratio = first as f64 / warm.max(1) as f64;
    rows.push(
        Row::new(measure, kilo(first))
            .direct(kilo(warm))
            .ratio(ratio)
            .target("<= 1.5", ratio <= 1.5),
    );
    rows.push(Row::new(
        "(context) the same process, instructions of init (exec to its first poll for an event)",
        kilo(init),
    ));
    Ok(())
}

/// `I(events)`: see [`first_invocation_rows`].
async fn process_instructions(
    target: &cold_start::S3Target,
    events: usize,
) -> Result<u64, BoxError> {
    let event = std::fs::read_to_string(Path::new(EVENTS).join("get-object.json"))?;
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("none").display().to_string();
    let out = dir.path().join(format!("lambda-{events}-events"));
    let mut runtime = FakeRuntime::start().await?;
    let env = cold_start::function_env(&runtime, target, &missing);
    for i in 0..events {
        runtime.send(&format!("count-{i}"), event.clone()).await;
    }
    let mut cmd = Command::new(lambda_bin().0);
    cmd.envs(env);
    let function = Function(under_callgrind(&cmd, &out)?.spawn()?);
    for i in 0..events {
        let posted = runtime
            .posted(Duration::from_secs(120))
            .await
            .ok_or_else(|| format!("no answer to event {i} under callgrind within 120 s"))?;
        if posted.kind != "response" || posted.json()["statusCode"].as_u64() != Some(200) {
            return Err(format!("under callgrind, event {i}: {:?}", posted.body).into());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while runtime.polls().len() <= events {
        if Instant::now() > deadline {
            return Err("the Lambda binary did not poll again under callgrind".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Idle in its poll: stop it; callgrind writes the counts on SIGTERM.
    let pid = function.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    let mut function = function;
    function.0.wait()?;
    total_instructions(&out)
}
