//! Cold starts (one-shot invoke, the Lambda binary at a fake Runtime API) and binary size.

use super::*;

// --- cold start -------------------------------------------------------------

const COLD_RUNS: usize = 20;

/// `s3-proxy-local invoke --data <dir> events/get-object.json`, exec to exit.
pub(crate) fn cold_start_local(rows: &mut Vec<Row>) -> Result<(), BoxError> {
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

/// The Lambda binary from exec to its first response POSTed to a fake Lambda
/// Runtime API on loopback: its real cold start (runtime init, config,
/// aws-config, S3 client, one GET against the embedded store), minus the
/// microVM and the download of the code. Each run gets a runtime of its own.
pub(crate) async fn cold_start_lambda(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let event = std::fs::read_to_string(Path::new(EVENTS).join("get-object.json"))?;
    let profile = tempfile::tempdir()?;
    let missing = profile.path().join("none").display().to_string();
    let (lambda, _) = lambda_bin();
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for i in 0..COLD_RUNS + 2 {
        let mut runtime = FakeRuntime::start().await?;
        let mut env = runtime.lambda_env(&bench.store.url(), &missing);
        env.push(("RUST_LOG", "info".into()));
        runtime.send("bench-request", event.clone()).await;
        let started = Instant::now();
        let function = Function(
            Command::new(&lambda)
                .env_clear()
                .envs(env)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let posted = runtime.posted(Duration::from_secs(10)).await;
        let t = started.elapsed();
        let hwm = vm_hwm_kb(function.0.id());
        drop(function);
        let posted = posted.ok_or("the Lambda binary did not answer within 10 s")?;
        let body = String::from_utf8_lossy(&posted.body);
        if posted.kind != "response" || !body.contains("\"statusCode\":200") {
            return Err(format!("the Lambda binary posted {}: {body:.300}", posted.kind).into());
        }
        if i >= 2 {
            times.push(t);
            if let Some(kb) = hwm {
                rss.push(kb);
            }
        }
    }
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

/// The peak resident set of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
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
