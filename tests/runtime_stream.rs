//! The Lambda binary in stream mode (`RESPONSE_MODE=stream`), under
//! lambda_runtime, as API Gateway's streaming integration invokes it: the
//! fake Runtime API of `tests/common/runtime.rs` hands it REST v1 events and
//! reads each answer as Lambda does, chunk by chunk (prelude, eight NUL
//! bytes, raw body, trailers). A 64 MB object comes back byte for byte, a
//! Range as a 206, a missing key as an S3-style 404 before any body byte,
//! and an S3 that stops midway as a stream that ends with Lambda's error
//! trailers, never as a complete-looking answer.
//! The store, the fault server and the Runtime API listen on 127.0.0.1 and
//! stop with the test; the function process is killed at the end.

mod common;

use common::fault::{Then, held_object};
use common::random_bytes;
use common::runtime::{FakeRuntime, Function, Posted};
use s3_proxy::App;
use s3_proxy::config::Config;
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::server;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MB: usize = 1024 * 1024;
const WAIT: Duration = Duration::from_secs(60);

/// The REST v1 event API Gateway sends for `req` (the emulator builds it).
fn event(req: HttpRequest) -> String {
    let client = server::local_client("http://127.0.0.1:9", Duration::from_secs(1));
    let gateway = Gateway::new(Arc::new(App::new(Config::default(), client)), "prod");
    gateway.event_json(&req, "api-gateway-request")
}

/// The Lambda binary in stream mode against `runtime`, S3 at `s3`.
fn function(runtime: &FakeRuntime, s3: &str, dir: &Path) -> Function {
    let missing = dir.join("no-aws-config");
    let mut env = runtime.lambda_env(s3, missing.to_str().unwrap());
    env.push(("RUST_LOG", "info".into()));
    env.push(("RESPONSE_MODE", "stream".into()));
    Function::spawn(
        env!("CARGO_BIN_EXE_s3-proxy"),
        env,
        Some(&dir.join("function.log")),
    )
    .expect("the s3-proxy binary starts")
}

async fn invoke(runtime: &mut FakeRuntime, id: &str, event: String) -> Posted {
    runtime.send(id, event).await;
    let posted = runtime
        .posted(WAIT)
        .await
        .unwrap_or_else(|| panic!("{id}: no answer within {WAIT:?}"));
    assert_eq!(posted.request_id, id);
    assert_eq!(posted.invocation_id, Some(format!("inv-{id}")));
    assert_eq!(posted.kind, "response", "{id}: {:?}", posted.body);
    assert!(posted.prelude.is_some(), "{id}: not a streamed answer");
    posted
}

/// The function's log lines at `level` (JSON lines).
fn log_lines(dir: &Path, level: &str) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("function.log")).unwrap_or_default();
    log.lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|v| v["level"].as_str() == Some(level))
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_lambda_binary_streams_objects_and_answers_everything_else_in_stream_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = server::start_store(dir.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let s3 = server::local_client(&store.url(), Duration::from_secs(60));
    let object = random_bytes(64 * MB, 64);
    s3.create_bucket().bucket("streamed").send().await.unwrap();
    common::put_large(&s3, "streamed", "video.bin", "video/mp4", &object).await;
    let logs = tempfile::tempdir().unwrap();
    let mut runtime = FakeRuntime::start().await.unwrap();
    let _function = function(&runtime, &store.url(), logs.path());

    // 64 MB, byte for byte, with the headers of buffered mode.
    let get = event(HttpRequest::new("GET", "/streamed/video.bin"));
    let posted = invoke(&mut runtime, "get-64mb", get).await;
    assert_eq!(posted.status(), Some(200));
    assert_eq!(posted.header("content-length"), Some("67108864"));
    assert_eq!(posted.header("content-type"), Some("video/mp4"));
    assert_eq!(posted.header("accept-ranges"), Some("bytes"));
    assert!(posted.header("etag").is_some_and(|e| e.starts_with('"')));
    assert_eq!(posted.stream_error(), None);
    assert!(posted.body == object, "the 64 MB came back byte for byte");
    eprintln!(
        "CHUNKS {} in {:?}",
        posted.body_chunks,
        posted.finished - posted.started
    );

    // A Range: 206, streamed too.
    let range = HttpRequest::new("GET", "/streamed/video.bin").header("range", "bytes=1000-1999");
    let posted = invoke(&mut runtime, "range", event(range)).await;
    assert_eq!(posted.status(), Some(206));
    assert_eq!(
        posted.header("content-range"),
        Some("bytes 1000-1999/67108864")
    );
    assert_eq!(posted.header("content-length"), Some("1000"));
    assert_eq!(&posted.body[..], &object[1000..2000]);

    // A missing key: the S3-style 404, found before any byte of a body.
    let missing = event(HttpRequest::new("GET", "/streamed/missing.bin"));
    let posted = invoke(&mut runtime, "missing", missing).await;
    assert_eq!(posted.status(), Some(404));
    assert_eq!(posted.header("content-type"), Some("application/xml"));
    let text = String::from_utf8_lossy(&posted.body).into_owned();
    assert!(text.contains("<Code>NoSuchKey</Code>"), "{text}");
    assert!(text.contains("<RequestId>missing</RequestId>"), "{text}");

    // Every other operation answers through the streaming protocol.
    let put = HttpRequest::new("PUT", "/streamed/small.txt")
        .header("content-type", "text/plain")
        .body("hello");
    let posted = invoke(&mut runtime, "put", event(put)).await;
    assert_eq!(posted.status(), Some(200));
    assert!(posted.header("etag").is_some());
    let list = event(HttpRequest::new("GET", "/streamed"));
    let posted = invoke(&mut runtime, "list", list).await;
    assert_eq!(posted.status(), Some(200));
    assert!(String::from_utf8_lossy(&posted.body).contains("<Key>small.txt</Key>"));
    let head = event(HttpRequest::new("HEAD", "/streamed/video.bin"));
    let posted = invoke(&mut runtime, "head", head).await;
    assert_eq!(
        (
            posted.status(),
            posted.header("content-length"),
            posted.body_len
        ),
        (Some(200), Some("67108864"), 0)
    );

    // What API Gateway sends after a stream: answered, not failed, no error log.
    let completion = r#"{"invokeCompletionStatus":{"status":"SUCCESS"}}"#.to_string();
    let posted = invoke(&mut runtime, "completion", completion).await;
    assert_eq!((posted.status(), posted.body_len), (Some(200), 0));
    let posted = invoke(&mut runtime, "other", r#"{"hello":"world"}"#.into()).await;
    assert_eq!(posted.status(), Some(200));
    assert_eq!(log_lines(logs.path(), "ERROR"), Vec::<String>::new());
}

/// An S3 that stops sending midway: the bytes it sent reach the Runtime
/// API while it holds the rest (they are streamed, not gathered), and the
/// answer ends with Lambda's error trailers after those bytes, short of
/// the Content-Length it announced.
#[tokio::test]
async fn a_backend_cut_midway_ends_the_stream_as_a_failure() {
    let object = random_bytes(4 * MB, 7);
    let (s3, release) = held_object(object.clone(), MB, Then::Cut).await;
    let logs = tempfile::tempdir().unwrap();
    let mut runtime = FakeRuntime::start().await.unwrap();
    let _function = function(&runtime, &s3.url(), logs.path());

    runtime
        .send("cut", event(HttpRequest::new("GET", "/bucket/cut.bin")))
        .await;
    assert!(
        runtime.received(MB as u64, WAIT).await,
        "the first MB reaches the Runtime API while S3 holds the rest"
    );
    release.notify_one();
    let posted = runtime.posted(WAIT).await.expect("an answer");
    assert_eq!(posted.kind, "response");
    assert_eq!(posted.status(), Some(200));
    assert_eq!(posted.header("content-length"), Some("4194304"));
    assert_eq!(posted.body_len, MB as u64, "what S3 sent, nothing more");
    assert!(posted.body == object[..MB], "and nothing else");
    assert_eq!(posted.stream_error(), Some("S3BodyInterrupted"));
    let errors = log_lines(logs.path(), "ERROR");
    assert!(
        errors.len() == 1 && errors[0].contains("\"request_id\":\"cut\""),
        "{errors:?}"
    );

    // The function serves on.
    let posted = invoke(&mut runtime, "next", r#"{"hello":"world"}"#.into()).await;
    assert_eq!(posted.status(), Some(200));
}
