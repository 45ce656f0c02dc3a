//! The embedded store as a process (`s3-proxy-local store`), as `make store`
//! and `make run` run it: killed mid-upload, fed 1 GB, sharing its folder
//! with another process, starved of file descriptors, started over the
//! previous store's layout (issue 13). Every server listens on 127.0.0.1 and
//! is killed when its test ends.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use s3_proxy::local::server;
use s3_proxy::local::store::LocalStore;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_s3-proxy-local");

/// A store process; killed when dropped.
struct StoreProcess {
    child: Child,
    port: u16,
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StoreProcess {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> Client {
        server::local_client(&self.url(), Duration::from_secs(120))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `s3-proxy-local --data <data> store --s3-port <free>`, behind `wrapper`
/// (e.g. `prlimit ...`) if given; returns once it accepts connections.
fn spawn_store(data: &Path, wrapper: &[&str]) -> StoreProcess {
    let port = free_port();
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    let child = command
        .arg("--data")
        .arg(data)
        .args(["store", "--s3-port", &port.to_string()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = StoreProcess { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the store process did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

/// A presigned PUT of `total` bytes written over a raw connection, `chunk`
/// repeated; stops after `send` bytes (to leave an upload unfinished).
/// Returns the connection and the MD5 of what was sent.
async fn presigned_put(
    client: &Client,
    bucket: &str,
    key: &str,
    total: u64,
    send: u64,
    chunk: &[u8],
) -> (tokio::net::TcpStream, String) {
    let presigned = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
        .await
        .unwrap();
    raw_put(presigned.uri(), total, send, chunk).await
}

async fn raw_put(
    uri: &str,
    total: u64,
    send: u64,
    chunk: &[u8],
) -> (tokio::net::TcpStream, String) {
    use md5::Digest;
    let uri: http::Uri = uri.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n",
        uri.path_and_query().unwrap()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut md5 = md5::Md5::new();
    let mut sent = 0u64;
    while sent < send {
        let n = (send - sent).min(chunk.len() as u64) as usize;
        if stream.write_all(&chunk[..n]).await.is_err() {
            // The store answered before the end (an error): status_of reads it.
            break;
        }
        md5.update(&chunk[..n]);
        sent += n as u64;
    }
    let hex: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (stream, hex)
}

async fn status_of(mut stream: tokio::net::TcpStream) -> String {
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// User + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

async fn body_of(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_store_killed_mid_upload_keeps_the_previous_object_and_a_consistent_database() {
    let dir = common::temp_dir();
    let store = spawn_store(dir.path(), &[]);
    let c = store.client();
    c.create_bucket().bucket("kill").send().await.unwrap();
    c.put_object()
        .bucket("kill")
        .key("k")
        .body(ByteStream::from_static(b"version 1"))
        .send()
        .await
        .unwrap();
    let chunk = common::random_bytes(1 << 20, 9);
    // 16 MB of 64 MB sent, then the process dies.
    let (stream, _) = presigned_put(&c, "kill", "k", 64 << 20, 16 << 20, &chunk).await;
    let (other, _) = presigned_put(&c, "kill", "new", 64 << 20, 8 << 20, &chunk).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(store); // SIGKILL
    drop((stream, other));

    let store = spawn_store(dir.path(), &[]);
    let c = store.client();
    assert_eq!(body_of(&c, "kill", "k").await, b"version 1");
    let listed = c.list_objects_v2().bucket("kill").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["k"], "no partial object");
    let opened = LocalStore::open(dir.path()).unwrap();
    let health = opened.check().unwrap();
    assert!(health.database.is_empty(), "{health:?}");
    assert!(health.broken.is_empty(), "{health:?}");
    // What the killed uploads left is unnamed, and swept once old enough.
    assert!(health.incoming > 0, "{health:?}");
    for entry in std::fs::read_dir(dir.path().join("_incoming")).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(entry.unwrap().path())
            .unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
    }
    assert!(opened.sweep().unwrap() > 0);
    assert_eq!(opened.check().unwrap().incoming, 0);
    // And the store goes on.
    c.put_object()
        .bucket("kill")
        .key("k")
        .body(ByteStream::from_static(b"version 2"))
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&c, "kill", "k").await, b"version 2");
}

#[tokio::test]
async fn a_1_gb_upload_streams_to_disk_with_flat_memory() {
    let dir = common::temp_dir();
    let store = spawn_store(dir.path(), &[]);
    let c = store.client();
    c.create_bucket().bucket("big").send().await.unwrap();
    let chunk = common::random_bytes(1 << 20, 5);
    let total = 1u64 << 30;
    let (stream, md5) = presigned_put(&c, "big", "gigabyte", total, total, &chunk).await;
    let answer = status_of(stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    let head = c
        .head_object()
        .bucket("big")
        .key("gigabyte")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(total as i64));
    assert_eq!(head.e_tag(), Some(format!("\"{md5}\"").as_str()));
    // Deleted before the next upload: the test needs 1 GB of disk, not 1.4.
    c.delete_object()
        .bucket("big")
        .key("gigabyte")
        .send()
        .await
        .unwrap();
    // Multipart, through presigned part URLs: 3 parts of 128 MB.
    let up = c
        .create_multipart_upload()
        .bucket("big")
        .key("parts")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut parts = Vec::new();
    for n in 1..=3 {
        let presigned = c
            .upload_part()
            .bucket("big")
            .key("parts")
            .upload_id(id)
            .part_number(n)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
            .await
            .unwrap();
        let (stream, md5) = raw_put(presigned.uri(), 128 << 20, 128 << 20, &chunk).await;
        let answer = status_of(stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(format!("\"{md5}\""))
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("big")
        .key("parts")
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("big")
        .key("parts")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(3 << 27));
    let peak = vm_hwm_kb(store.pid());
    assert!(
        peak < 100 * 1024,
        "peak RSS {peak} kB for 1.4 GB of uploads"
    );
}

#[tokio::test]
async fn two_processes_share_one_store() {
    let dir = common::temp_dir();
    let a = spawn_store(dir.path(), &[]);
    let b = server::start_store(dir.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ca = a.client();
    let cb = server::local_client(&b.url(), Duration::from_secs(60));
    ca.create_bucket().bucket("shared").send().await.unwrap();
    cb.put_object()
        .bucket("shared")
        .key("from-b")
        .body(ByteStream::from_static(b"written by b"))
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&ca, "shared", "from-b").await, b"written by b");
    // Create-only writes through both processes: still one winner.
    let clients = Arc::new([ca.clone(), cb.clone()]);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let clients = clients.clone();
        tasks.spawn(async move {
            clients[i % 2]
                .put_object()
                .bucket("shared")
                .key("once")
                .if_none_match("*")
                .body(ByteStream::from(vec![b'x'; 1000]))
                .send()
                .await
                .is_ok()
        });
    }
    let mut wins = 0;
    while let Some(ok) = tasks.join_next().await {
        wins += usize::from(ok.unwrap());
    }
    assert_eq!(wins, 1);
    // `make invoke` over the same folder while both serve it.
    let out = Command::new(BIN)
        .arg("invoke")
        .arg("--data")
        .arg(dir.path())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/list-buckets.json"
        ))
        .env_remove("AWS_ENDPOINT_URL_S3")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("\"statusCode\":200") && text.contains("shared"),
        "{text:.500}"
    );
}

#[tokio::test]
async fn out_of_file_descriptors_the_accept_loop_backs_off() {
    let dir = common::temp_dir();
    let store = spawn_store(dir.path(), &["prlimit", "--nofile=64:64"]);
    let c = store.client();
    c.create_bucket().bucket("fds").send().await.unwrap();
    // More connections than descriptors: accept fails with EMFILE.
    let mut held = Vec::new();
    for _ in 0..120 {
        held.push(
            tokio::net::TcpStream::connect(("127.0.0.1", store.port))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds = std::fs::read_dir(format!("/proc/{}/fd", store.pid()))
        .unwrap()
        .count();
    assert!(
        fds >= 60,
        "the store holds {fds} descriptors: not out of them"
    );
    let before = cpu_ticks(store.pid());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_ticks(store.pid()) - before;
    eprintln!("{fds} descriptors, {spent} ticks of CPU in 2 s");
    // A loop retrying at once would burn ~200 ticks (2 s of CPU) here.
    assert!(
        spent < 40,
        "{spent} ticks of CPU in 2 s while out of descriptors"
    );
    drop(held);
    // Descriptors back: the store answers again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.list_buckets().send().await {
            Ok(out) => {
                assert_eq!(out.buckets().len(), 1);
                break;
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "no answer after descriptors came back: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A data folder of the previous store (s3s-fs) is imported on first start,
/// with its ETags, content types and metadata; the old files are kept aside.
#[tokio::test]
async fn the_previous_stores_layout_is_imported() {
    let dir = common::temp_dir();
    let png = common::random_bytes(70_000, 4);
    let (etag_a, etag_b) = {
        let fs = s3s_fs::FileSystem::new(dir.path()).unwrap();
        let service = {
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(
                server::LOCAL_ACCESS_KEY,
                server::LOCAL_SECRET_KEY,
            ));
            builder.build()
        };
        let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = tokio::spawn(server::serve(listener, service));
        let c = server::local_client(&url, Duration::from_secs(30));
        c.create_bucket().bucket("old").send().await.unwrap();
        c.create_bucket().bucket("empty").send().await.unwrap();
        let a = c
            .put_object()
            .bucket("old")
            .key("a.txt")
            .content_type("text/plain")
            .metadata("origin", "s3s-fs")
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await
            .unwrap();
        let b = c
            .put_object()
            .bucket("old")
            .key("photos/2024/b.png")
            .content_type("image/png")
            .body(ByteStream::from(png.clone()))
            .send()
            .await
            .unwrap();
        serving.abort();
        (
            a.e_tag().unwrap().to_string(),
            b.e_tag().unwrap().to_string(),
        )
    };
    // A hidden file of someone else's (macOS leaves these) is no obstacle.
    std::fs::write(dir.path().join(".DS_Store"), "finder").unwrap();
    let store = server::start_store(dir.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let c = server::local_client(&store.url(), Duration::from_secs(30));
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, ["empty", "old"]);
    let a = c
        .get_object()
        .bucket("old")
        .key("a.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(a.e_tag(), Some(etag_a.as_str()));
    assert_eq!(a.content_type(), Some("text/plain"));
    assert_eq!(a.metadata().unwrap()["origin"], "s3s-fs");
    assert_eq!(a.body.collect().await.unwrap().to_vec(), b"hello");
    let b = c
        .get_object()
        .bucket("old")
        .key("photos/2024/b.png")
        .send()
        .await
        .unwrap();
    assert_eq!(b.e_tag(), Some(etag_b.as_str()));
    assert!(b.body.collect().await.unwrap().to_vec() == png);
    assert!(dir.path().join("_s3s-fs-backup/old/a.txt").exists());
    assert!(!dir.path().join("old").exists());

    // A folder that is neither: refused, with what to do.
    let foreign = common::temp_dir();
    std::fs::write(foreign.path().join("notes.txt"), "mine").unwrap();
    let err = server::start_store(foreign.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not an s3-proxy store") && err.contains("--data"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(foreign.path().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn listening_off_loopback_needs_the_flag() {
    let dir = common::temp_dir();
    let out = Command::new(BIN)
        .arg("--data")
        .arg(dir.path())
        .args(["--host", "0.0.0.0", "store", "--s3-port", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("--allow-remote") && text.contains("no authentication"),
        "{text}"
    );
}
