//! Cold starts (one-shot invoke, the Lambda binary at a fake Runtime API) and binary size.

use super::*;

// --- cold start -------------------------------------------------------------

const COLD_RUNS: usize = 20;

/// `s3-proxy-local invoke --data <dir> events/get-object.json`, exec to exit.
pub(crate) fn cold_start_local(rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let data = tempfile::tempdir()?;
    let local = local_bin();
    let invoke = |event: &str| {
        let mut cmd = Command::new(&local);
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

/// Where the Lambda binary's S3 calls go in a cold-start run.
pub(crate) struct S3Target {
    pub(crate) url: String,
    /// The roots the function trusts, the CA that signed the endpoint's
    /// certificate among them, given as a user gives a private CA:
    /// `SSL_CERT_FILE`.
    pub(crate) ca_file: Option<PathBuf>,
    /// How many certificates `ca_file` holds.
    pub(crate) roots: usize,
}

/// One cold start, as Lambda reports it: init (exec to the first poll for
/// an event) and the first invocation (that poll to the answer).
pub(crate) struct ColdStart {
    pub(crate) total: Duration,
    pub(crate) init: Duration,
    pub(crate) first_invocation: Duration,
    /// VmHWM of the function after its answer.
    pub(crate) hwm_kb: Option<u64>,
    /// CPU time of the function (all its threads) until its answer.
    pub(crate) cpu: Option<Duration>,
}

/// How a cold start is run: how the function is started (`spawn` says
/// when, just before exec), and what is done when its init ends, at its
/// first poll for an event, before the event is handed out (with the
/// function's pid).
pub(crate) struct Launch<'a> {
    pub(crate) spawn: &'a dyn Fn(Command) -> std::io::Result<(std::process::Child, Instant)>,
    pub(crate) at_first_poll: Option<&'a dyn Fn(u32) -> std::io::Result<()>>,
}

/// Starts `cmd` as it is, at full CPU.
pub(crate) const AT_FULL_CPU: Launch<'static> = Launch {
    spawn: &spawn_now,
    at_first_poll: None,
};

/// The Lambda binary from exec to its first response POSTed to a fake Lambda
/// Runtime API on loopback: its real cold start (runtime init, config,
/// aws-config, S3 client, one GET of `events/get-object.json`), minus the
/// microVM and the download of the code. Each run gets a runtime of its own.
pub(crate) async fn cold_start_once(
    target: &S3Target,
    launch: &Launch<'_>,
) -> Result<ColdStart, BoxError> {
    let event = std::fs::read_to_string(Path::new(EVENTS).join("get-object.json"))?;
    let profile = tempfile::tempdir()?;
    let missing = profile.path().join("none").display().to_string();
    let mut runtime = FakeRuntime::start().await?;
    let env = function_env(&runtime, target, &missing);
    if launch.at_first_poll.is_none() {
        runtime.send("bench-request", event.clone()).await;
    }
    let mut cmd = Command::new(lambda_bin().0);
    cmd.env_clear()
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (child, started) = (launch.spawn)(cmd)?;
    let function = Function(child);
    let mut sent = None;
    if let Some(at_first_poll) = launch.at_first_poll {
        let deadline = started + Duration::from_secs(10);
        while runtime.polls().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        at_first_poll(function.0.id())?;
        sent = Some(Instant::now());
        runtime.send("bench-request", event).await;
    }
    let posted = runtime.posted(Duration::from_secs(10)).await;
    let hwm_kb = vm_hwm_kb(function.0.id());
    let cpu = cpu_time(function.0.id());
    drop(function);
    let posted = posted.ok_or("the Lambda binary did not answer within 10 s")?;
    let body = String::from_utf8_lossy(&posted.body);
    if posted.kind != "response" || !body.contains("\"statusCode\":200") {
        return Err(format!("the Lambda binary posted {}: {body:.300}", posted.kind).into());
    }
    let first_poll = runtime.polls().first().copied().unwrap_or(posted.started);
    let init = first_poll.saturating_duration_since(started);
    let first_invocation = posted
        .started
        .saturating_duration_since(sent.unwrap_or(first_poll));
    Ok(ColdStart {
        total: init + first_invocation,
        init,
        first_invocation,
        hwm_kb,
        cpu,
    })
}

impl ColdStart {
    /// "init X + first invocation Y, Z of CPU"
    pub(crate) fn parts(&self) -> String {
        let cpu = self.cpu.map(|c| format!(", {} of CPU", ms(c)));
        format!(
            "init {} + first invocation {}{}",
            ms(self.init),
            ms(self.first_invocation),
            cpu.unwrap_or_default()
        )
    }
}

/// The environment Lambda gives the function, with S3 at `target`.
pub(crate) fn function_env(
    runtime: &FakeRuntime,
    target: &S3Target,
    missing: &str,
) -> Vec<(&'static str, String)> {
    let mut env = runtime.lambda_env(&target.url, missing);
    env.push(("RUST_LOG", "info".into()));
    if let Some(ca) = &target.ca_file {
        env.push(("SSL_CERT_FILE", ca.display().to_string()));
    }
    env
}

fn spawn_now(mut cmd: Command) -> std::io::Result<(std::process::Child, Instant)> {
    let started = Instant::now();
    Ok((cmd.spawn()?, started))
}

/// `runs` cold starts after two unmeasured ones, `pause` apart.
pub(crate) async fn cold_starts(
    target: &S3Target,
    runs: usize,
    pause: Duration,
    launch: &Launch<'_>,
) -> Result<Vec<ColdStart>, BoxError> {
    let mut measured = Vec::new();
    for i in 0..runs + 2 {
        tokio::time::sleep(pause).await;
        let run = cold_start_once(target, launch).await?;
        if i >= 2 {
            measured.push(run);
        }
    }
    Ok(measured)
}

/// The median of each part of `runs`.
pub(crate) fn medians(runs: &[ColdStart]) -> ColdStart {
    let of =
        |part: fn(&ColdStart) -> Duration| median(&mut runs.iter().map(part).collect::<Vec<_>>());
    let mut cpu: Vec<Duration> = runs.iter().filter_map(|r| r.cpu).collect();
    let mut hwm: Vec<u64> = runs.iter().filter_map(|r| r.hwm_kb).collect();
    ColdStart {
        total: of(|r| r.total),
        init: of(|r| r.init),
        first_invocation: of(|r| r.first_invocation),
        hwm_kb: (!hwm.is_empty()).then(|| median_u64(&mut hwm)),
        cpu: (!cpu.is_empty()).then(|| median(&mut cpu)),
    }
}

/// Plain HTTP to the store, at full CPU: the function's own start-up.
pub(crate) async fn cold_start_lambda(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let target = S3Target {
        url: bench.store.url(),
        ca_file: None,
        roots: 0,
    };
    let run = medians(&cold_starts(&target, COLD_RUNS, Duration::ZERO, &AT_FULL_CPU).await?);
    rows.push(
        Row::new(
            format!(
                "Cold start, Lambda binary: exec to first response at a fake Runtime API \
                 (init + one GET, plain-HTTP store), median of {COLD_RUNS} ({})",
                run.parts()
            ),
            ms(run.total),
        )
        .target("< 15 ms", run.total < Duration::from_millis(15)),
    );
    Ok(())
}

/// The same over HTTPS, trusting the store's test CA through
/// `SSL_CERT_FILE`: what a cold start in AWS runs, at full CPU.
pub(crate) async fn cold_start_https(
    https: &S3Target,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let run = medians(&cold_starts(https, COLD_RUNS, Duration::ZERO, &AT_FULL_CPU).await?);
    rows.push(
        Row::new(
            format!(
                "Cold start over HTTPS (TLS to the store, {} root certificates incl. the test CA \
                 in SSL_CERT_FILE), full CPU: exec to first response, median of {COLD_RUNS} ({})",
                https.roots,
                run.parts()
            ),
            ms(run.total),
        )
        .target("< 20 ms", run.total < Duration::from_millis(20)),
    );
    if let Some(kb) = run.hwm_kb {
        rows.push(
            Row::new(
                "Peak RSS of the Lambda binary after its first answer over HTTPS \
                 (VmHWM, median)",
                bytes(kb * 1024),
            )
            .target("< 16 MB", kb * 1024 < 16 * MB as u64),
        );
    }
    Ok(())
}

/// The CPU time of a live process, all threads: the sum of their
/// `schedstat` (nanoseconds on a CPU).
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

/// The peak resident set of a live process, from /proc.
pub(crate) fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// --- binary size ------------------------------------------------------------

pub(crate) fn binary_size(rows: &mut Vec<Row>) -> Result<(), BoxError> {
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
