//! Stream mode (`RESPONSE_MODE=stream`): the Lambda binary streaming a 64 MB
//! GET to a fake Runtime API (which counts the bytes and drops them, as a
//! client would) against the same GET made directly with aws-sdk-s3 into a
//! sink, interleaved; and the binary's peak RSS streaming 100 MB and 10 MB.
//!
//! Twice: at the store's full loopback speed (GB/s: what the function's own
//! cost per byte shows against), and with both sides' S3 connections through
//! a link at one S3 connection's rate (AWS's S3 performance guidelines plan
//! one connection per 85-90 MB/s), where a function that paced its chunks or
//! held them back would still show (one that buffered the object shows in
//! the first byte at full speed).

use super::*;

/// One S3 connection's rate, for [`carry`].
const S3_RATE: u64 = 90 * MB as u64;

/// Rows for stream mode.
pub(crate) async fn streaming(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    for (key, size) in [
        ("stream-10MB", 10 * MB),
        ("stream-64MB", 64 * MB),
        ("stream-100MB", 100 * MB),
    ] {
        bench
            .client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(Bytes::from(pattern(size)).into())
            .send()
            .await?;
    }
    let profile = tempfile::tempdir()?;
    let full = pairs(
        bench,
        profile.path(),
        &bench.client,
        &bench.store.url(),
        21,
        2,
    )
    .await?;
    full.rows(rows, "at the store's full speed", true);
    // Both sides' S3 connections through a link at that rate.
    let store = bench.store.addr;
    let link = super::fault::fault(move |client| async move {
        let _ = carry(client, store, S3_RATE).await;
    })
    .await;
    let client = server::local_client(&link.url(), Config::default().backend_timeout);
    let paced = pairs(bench, profile.path(), &client, &link.url(), 9, 1).await?;
    // The link does not model S3's first-byte latency: that row is context.
    paced.rows(rows, "at one S3 connection's rate (90 MB/s)", false);
    peak_rss(bench, profile.path(), rows).await
}

/// `rounds` pairs of a streamed 64 MB GET and a direct one (`client`), both
/// from S3 at `s3`, after `warm` unmeasured pairs (connections, page cache).
async fn pairs(
    bench: &Bench,
    profile: &Path,
    client: &aws_sdk_s3::Client,
    s3: &str,
    rounds: usize,
    warm: usize,
) -> Result<Pairs, BoxError> {
    let mut lambda = StreamingLambda::start(profile, s3).await?;
    let event = lambda_event(bench, "stream-64MB");
    for i in 0..warm {
        lambda.get(&format!("warm-{i}"), &event, 64 * MB).await?;
        direct_get(client, "stream-64MB", 64 * MB).await?;
    }
    let mut measured = Pairs::default();
    for i in 0..rounds {
        let pid = lambda.function.0.id();
        let cpu = move || cold_start::cpu_time(pid).unwrap_or_default();
        let before = cpu();
        let proxy = lambda.get(&format!("round-{i}"), &event, 64 * MB).await?;
        measured.cpu.push(cpu().saturating_sub(before));
        let direct = direct_get(client, "stream-64MB", 64 * MB).await?;
        measured.queued.push((proxy.first_from_queue, direct.0));
        measured.first.push((proxy.first, direct.0));
        measured.total.push((proxy.total, direct.1));
    }
    Ok(measured)
}

/// What [`pairs`] measured: (streamed, direct) times of each pair.
#[derive(Default)]
struct Pairs {
    first: Vec<(Duration, Duration)>,
    total: Vec<(Duration, Duration)>,
    /// The streamed first byte from the bench's queueing the event.
    queued: Vec<(Duration, Duration)>,
    /// The function's CPU time of each streamed GET.
    cpu: Vec<Duration>,
}

impl Pairs {
    /// The rows, with the first byte's target or without (context).
    fn rows(mut self, rows: &mut Vec<Row>, how: &str, first_target: bool) {
        let n = self.first.len();
        // The machine is shared: a pair is measured under the same load, so
        // the ratio is the median of the pairs' ratios, beside each side's.
        let (pf, df, first_ratio) = medians(self.first.into_iter());
        let first = Row::new(
            format!(
                "Stream mode, 64 MB GET {how}: time to first body byte, the Lambda binary \
                 streaming to a fake Runtime API (from its handing out the event) vs an SDK \
                 GET into a sink (medians of {n} pairs)"
            ),
            ms(pf),
        )
        .direct(ms(df))
        .ratio(first_ratio);
        rows.push(match first_target {
            true => first.target("<= 1.2", first_ratio <= 1.2),
            false => first,
        });
        let (qf, qd, queued_ratio) = medians(self.queued.into_iter());
        rows.push(
            Row::new(
                "(context) the same first byte from the bench's queueing the event at the \
                 fake Runtime API (its wake-up and the event's trip to the function included)",
                ms(qf),
            )
            .direct(ms(qd))
            .ratio(queued_ratio),
        );
        let (pt, dt, total_ratio) = medians(self.total.into_iter());
        let rate = |t: Duration| format!("{} ({:.0} MB/s)", ms(t), 64.0 / t.as_secs_f64());
        rows.push(
            Row::new(
                format!("Stream mode, 64 MB GET {how}: total time, the same pairs"),
                rate(pt),
            )
            .direct(rate(dt))
            .ratio(total_ratio)
            .target("<= 1.1", total_ratio <= 1.1),
        );
        rows.push(Row::new(
            "(context) CPU time of the Lambda binary per 64 MB streamed (its threads' time on a CPU, median)",
            ms(median(&mut self.cpu)),
        ));
    }
}

/// One connection through the rate-limited link: each read from the store is
/// passed on, then the link waits until that read's bytes at `rate` are
/// due. An idle connection earns no credit, so the next answer does not
/// burst.
async fn carry(
    client: tokio::net::TcpStream,
    store: std::net::SocketAddr,
    rate: u64,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = tokio::net::TcpStream::connect(store).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_store, mut to_store) = server.into_split();
    let requests = async {
        tokio::io::copy(&mut from_client, &mut to_store).await?;
        to_store.shutdown().await
    };
    let answers = async {
        let mut buf = vec![0; 64 * 1024];
        let mut due = tokio::time::Instant::now();
        loop {
            let n = from_store.read(&mut buf).await?;
            if n == 0 {
                return to_client.shutdown().await;
            }
            to_client.write_all(&buf[..n]).await?;
            let now = tokio::time::Instant::now();
            // Idle for longer than a few reads' worth: start afresh.
            if now > due + Duration::from_millis(5) {
                due = now;
            }
            due += Duration::from_secs_f64(n as f64 / rate as f64);
            // Timers tick in milliseconds: a shorter wait is left owing
            // (the first body bytes after the headers are not held back).
            if due > now + Duration::from_millis(1) {
                tokio::time::sleep_until(due).await;
            }
        }
    };
    tokio::try_join!(requests, answers).map(|_| ())
}

/// Each side's median, and the median of the pairs' ratios.
fn medians(pairs: impl Iterator<Item = (Duration, Duration)>) -> (Duration, Duration, f64) {
    let (mut proxy, mut direct, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for (p, d) in pairs {
        ratios.push(p.as_secs_f64() / d.as_secs_f64());
        proxy.push(p);
        direct.push(d);
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or_default();
    (median(&mut proxy), median(&mut direct), ratio)
}

/// Peak RSS (VmHWM) of a fresh Lambda binary after streaming one object.
async fn peak_rss(bench: &Bench, profile: &Path, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let mut peaks = Vec::new();
    for (key, size) in [("stream-10MB", 10 * MB), ("stream-100MB", 100 * MB)] {
        let mut lambda = StreamingLambda::start(profile, &bench.store.url()).await?;
        lambda.get("rss", &lambda_event(bench, key), size).await?;
        let kb = vm_hwm_kb(lambda.function.0.id()).ok_or("no /proc/<pid>/status")?;
        peaks.push(kb * 1024);
    }
    let (small, large) = (peaks[0], peaks[1]);
    rows.push(
        Row::new(
            "Stream mode: peak RSS of the Lambda binary streaming a 100 MB object (VmHWM)",
            bytes(large),
        )
        .target("< 24 MB", large < 24 * MB as u64),
    );
    let grew = large.saturating_sub(small);
    rows.push(
        Row::new(
            "Stream mode: that peak RSS against streaming a 10 MB object",
            bytes(large),
        )
        .direct(bytes(small))
        .ratio(large as f64 / small as f64)
        .target("within 2 MB", grew <= 2 * MB as u64),
    );
    Ok(())
}

/// The GET event of `key`, as API Gateway sends it.
fn lambda_event(bench: &Bench, key: &str) -> String {
    let req = HttpRequest::new("GET", &format!("/{BUCKET}/{key}"));
    bench.gateway.event_json(&req, "bench-request")
}

/// The Lambda binary in stream mode at a fake Runtime API that counts bytes.
struct StreamingLambda {
    runtime: FakeRuntime,
    function: Function,
}

impl StreamingLambda {
    /// The function, its S3 at `s3`.
    async fn start(profile: &Path, s3: &str) -> Result<Self, BoxError> {
        let (lambda, _) = lambda_bin();
        let runtime = FakeRuntime::start_counting().await?;
        let missing = profile.join("none").display().to_string();
        let mut env = runtime.lambda_env(s3, &missing);
        env.push(("RUST_LOG", "warn".into()));
        env.push(("RESPONSE_MODE", "stream".into()));
        let function = Function::spawn(&lambda, env, None)?;
        Ok(Self { runtime, function })
    }

    /// One streamed GET of `size` bytes: from the Runtime API's handing
    /// out the event (its answer to the function's `/next`: where Lambda's
    /// invocation starts, and where the buffered rows' Lambda path starts)
    /// to the first body byte, and to the last; and the first body byte
    /// from the bench's queueing the event at the Runtime API.
    async fn get(&mut self, id: &str, event: &str, size: usize) -> Result<Streamed, BoxError> {
        let queued = Instant::now();
        self.runtime.send(id, event.to_string()).await;
        let posted = self
            .runtime
            .posted(Duration::from_secs(60))
            .await
            .ok_or("the streaming Lambda did not answer within 60 s")?;
        if posted.status() != Some(200) || posted.body_len != size as u64 {
            let status = posted.status();
            let got = posted.body_len;
            return Err(format!("streamed GET: status {status:?}, {got} of {size} bytes").into());
        }
        let first = posted.first_body_byte.ok_or("no body")?;
        let started = posted.handed_out.ok_or("no hand-out time")?;
        Ok(Streamed {
            first: first - started,
            total: posted.finished - started,
            first_from_queue: first - queued,
        })
    }
}

/// The times of one streamed GET ([`StreamingLambda::get`]).
struct Streamed {
    first: Duration,
    total: Duration,
    first_from_queue: Duration,
}

/// The same GET with the SDK, its body read chunk by chunk into a sink.
async fn direct_get(
    client: &aws_sdk_s3::Client,
    key: &str,
    size: usize,
) -> Result<(Duration, Duration), BoxError> {
    let started = Instant::now();
    let mut out = client.get_object().bucket(BUCKET).key(key).send().await?;
    let (mut first, mut got) = (None, 0);
    while let Some(chunk) = out.body.next().await {
        first.get_or_insert_with(|| started.elapsed());
        got += black_box(chunk?).len();
    }
    if got != size {
        return Err(format!("direct GET {key}: {got} of {size} bytes").into());
    }
    Ok((first.unwrap_or_default(), started.elapsed()))
}
