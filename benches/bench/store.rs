//! The embedded store itself (issue 13): its presigned-GET throughput beside
//! the s3s-fs store it replaced, served the same way in the same run, and the
//! time to list one page of a large bucket.

use super::throughput::load;
use super::*;

/// s3s-fs over its own folder, behind s3s with the same credentials and the
/// same accept loop as the embedded store.
async fn start_s3s_fs(dir: &Path) -> Result<(String, tokio::task::JoinHandle<()>), BoxError> {
    let fs = s3s_fs::FileSystem::new(dir).map_err(|e| format!("s3s-fs: {e:?}"))?;
    let service = {
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            server::LOCAL_ACCESS_KEY,
            server::LOCAL_SECRET_KEY,
        ));
        builder.build()
    };
    let listener = server::bind("127.0.0.1:0".parse()?).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((url, tokio::spawn(server::serve(listener, service))))
}

/// A presigned GET of a fresh 1 KB object in `client`'s store.
async fn presigned_1kb(client: &aws_sdk_s3::Client, bucket: &str) -> Result<String, BoxError> {
    use aws_sdk_s3::presigning::PresigningConfig;
    client.create_bucket().bucket(bucket).send().await?;
    client
        .put_object()
        .bucket(bucket)
        .key("one-kb")
        .body(Bytes::from(pattern(KB)).into())
        .send()
        .await?;
    Ok(client
        .get_object()
        .bucket(bucket)
        .key("one-kb")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600))?)
        .await?
        .uri()
        .to_string())
}

pub(crate) async fn store_throughput(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    const CONCURRENCY: usize = 16;
    const REQUESTS: usize = 3000;
    const ROUNDS: usize = 3;
    let dir = tempfile::tempdir()?;
    let (fs_url, serving) = start_s3s_fs(dir.path()).await?;
    let fs_client = server::local_client(&fs_url, Duration::from_secs(30));
    let ours = presigned_1kb(&bench.client, "vs-s3s-fs").await?;
    let theirs = presigned_1kb(&fs_client, "vs-s3s-fs").await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    load(&http, &ours, CONCURRENCY, 200).await?;
    load(&http, &theirs, CONCURRENCY, 200).await?;
    let mut our_rates = Vec::new();
    let mut their_rates = Vec::new();
    for round in 0..ROUNDS {
        // Alternate which goes first.
        for mine in [round % 2 == 0, round % 2 == 1] {
            if mine {
                our_rates.push(load(&http, &ours, CONCURRENCY, REQUESTS).await?);
            } else {
                their_rates.push(load(&http, &theirs, CONCURRENCY, REQUESTS).await?);
            }
        }
    }
    serving.abort();
    our_rates.sort_by(f64::total_cmp);
    their_rates.sort_by(f64::total_cmp);
    let (o, t) = (our_rates[ROUNDS / 2], their_rates[ROUNDS / 2]);
    rows.push(
        Row::new(
            format!(
                "Embedded store: presigned 1 KB GET/s, {CONCURRENCY} concurrent (this store vs s3s-fs 0.14, same server loop)"
            ),
            format!("{o:.0}/s"),
        )
        .direct(format!("{t:.0}/s"))
        .ratio(o / t)
        .target(">= 1.00", o / t >= 1.0),
    );
    Ok(())
}

pub(crate) async fn store_listing(bench: &Bench, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    const KEYS: usize = 100_000;
    const WRITERS: usize = 32;
    let bucket = "hundred-thousand";
    let client = &bench.client;
    client.create_bucket().bucket(bucket).send().await?;
    let key = |i: usize| format!("photos/{:03}/img-{i:06}.jpg", i % 997);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let client = client.clone();
        tasks.spawn(async move {
            for i in (w..KEYS).step_by(WRITERS) {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key(i))
                    .body(Bytes::from_static(b"").into())
                    .send()
                    .await?;
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "bench: {KEYS} keys stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for i in 0..21 {
        let start_after = key((i * 4_999) % KEYS);
        let t = Instant::now();
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .start_after(&start_after)
            .max_keys(1000)
            .send()
            .await?;
        times.push(t.elapsed());
        if page.contents().len() != 1000 && page.is_truncated() == Some(true) {
            return Err(format!("a page of {} keys", page.contents().len()).into());
        }
    }
    let t = median(&mut times);
    rows.push(
        Row::new(
            format!("Embedded store: one 1000-key ListObjectsV2 page of a {KEYS}-key bucket (SDK call, median of 21)"),
            ms(t),
        )
        .target("< 50 ms", t < Duration::from_millis(50)),
    );
    Ok(())
}
