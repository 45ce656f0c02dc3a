//! Stream mode through the emulator (`RESPONSE_MODE=stream make run`): the
//! handler invoked as Lambda response streaming invokes it, its prelude and
//! bytes relayed as API Gateway relays them, against a real S3 server (the
//! embedded store, or moto with `make test-moto`). Objects come back raw
//! (no base64, no binaryMediaTypes, no 406) with the headers of buffered
//! mode; Range answers 206; errors are S3-style answers; past
//! STREAM_MAX_BYTES a GET still answers 307. Over HTTP, bytes reach the
//! client while S3 is still sending, and an S3 that stops midway cuts the
//! client's transfer short. Fault servers listen on 127.0.0.1 and stop with
//! their test.

mod common;

use common::fault::{Then, held_object};
use common::{Harness, put_large, random_bytes, upload_in_parts};
use s3_proxy::App;
use s3_proxy::config::{Config, ResponseMode};
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::{serve_gateway, server};
use s3_proxy::media::BinaryMediaTypes;
use std::sync::Arc;
use std::time::Duration;

const MB: usize = 1024 * 1024;

fn stream_config() -> Config {
    Config {
        response_mode: ResponseMode::Stream,
        stream_max_bytes: 16 * MB as u64,
        // Only image/png is decoded by API Gateway in buffered mode.
        binary_media_types: BinaryMediaTypes::parse("image/png").unwrap(),
        ..Config::default()
    }
}

fn get(path: &str) -> HttpRequest {
    HttpRequest::new("GET", path)
}

/// Headers that name one request or one moment, not the object.
fn object_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut kept: Vec<_> = headers
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "x-amz-request-id" | "x-amzn-requestid" | "timestamp"
            )
        })
        .cloned()
        .collect();
    kept.sort();
    kept
}

#[tokio::test]
async fn objects_stream_raw_with_the_headers_of_buffered_mode() {
    let h = Harness::with_config(stream_config()).await;
    let bucket = h.new_bucket("stream").await;
    let big = random_bytes(12 * MB, 12);
    put_large(
        &h.client,
        &bucket,
        "big.bin",
        "application/octet-stream",
        &big,
    )
    .await;
    let out = h.call_streaming(get(&format!("/{bucket}/big.bin"))).await;
    assert_eq!((out.status, out.cut), (200, false), "{}", out.text());
    assert_eq!(out.header("content-length"), Some("12582912"));
    assert!(
        out.body == big,
        "12 MB byte for byte, past API Gateway's 10 MB"
    );

    // Invalid UTF-8 under text/plain, a type binaryMediaTypes does not name:
    // buffered mode must refuse it (406); a stream carries it as it is.
    let latin1 = b"caf\xe9 cr\xe8me".to_vec();
    put_large(&h.client, &bucket, "menu.txt", "text/plain", &latin1).await;
    let accept_text = get(&format!("/{bucket}/menu.txt")).header("accept", "text/plain");
    assert_eq!(h.call(accept_text.clone()).await.status, 406);
    let out = h.call_streaming(accept_text.clone()).await;
    assert_eq!((out.status, &out.body), (200, &latin1));

    // The same headers as buffered mode gives the same object.
    let buffered = Gateway::new(
        Arc::new(App::new(Config::default(), h.client.clone())),
        "prod",
    );
    let whole = buffered.call(accept_text).await;
    assert_eq!(whole.status, 200);
    assert_eq!(object_headers(&out.headers), object_headers(&whole.headers));
    h.cleanup().await;
}

/// An object uploaded in parts with a CRC32 (as `aws s3 cp` uploads large
/// files) has S3's COMPOSITE checksum, `<crc of the parts' crcs>-<parts>`,
/// which is no checksum of the bytes: the function's SDK must not check the
/// stream against it. Asked for, it is answered as S3 answers it, on HEAD
/// and on the streamed GET, whose bytes arrive whole.
#[tokio::test]
async fn an_object_uploaded_in_parts_streams_with_its_composite_checksum() {
    let h = Harness::with_config(stream_config()).await;
    let bucket = h.new_bucket("composite").await;
    let parts = [random_bytes(5 * MB, 21), random_bytes(1000, 22)];
    let c = &h.client;
    upload_in_parts(c, &bucket, "parts.bin", &parts).await;
    // As the backend's HEAD answers it.
    let direct = c.head_object().bucket(&bucket).key("parts.bin");
    let direct = direct.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
    let direct = direct.send().await.unwrap();
    let composite = direct
        .checksum_crc32()
        .expect("a composite CRC32")
        .to_string();
    // S3's form, which the embedded store answers (moto's HEAD leaves out
    // the part count and the type); the function answers what its S3 does.
    let kind = direct.checksum_type().map(|t| t.as_str().to_string());
    if h.data_dir().is_some() {
        assert!(composite.ends_with("-2"), "{composite}");
        assert_eq!(kind.as_deref(), Some("COMPOSITE"));
    }

    let path = format!("/{bucket}/parts.bin");
    let head = HttpRequest::new("HEAD", &path).header("x-amz-checksum-mode", "ENABLED");
    let head = h.call(head).await;
    assert_eq!(head.status, 200, "{}", head.text());
    assert_eq!(
        head.header("x-amz-checksum-crc32"),
        Some(composite.as_str())
    );
    assert_eq!(head.header("x-amz-checksum-type"), kind.as_deref());
    let asked = get(&path).header("x-amz-checksum-mode", "ENABLED");
    let out = h.call_streaming(asked).await;
    assert_eq!((out.status, out.cut), (200, false), "{}", out.text());
    // moto's GET adds the part count its HEAD leaves out: compared with the
    // backend's own GET.
    let direct = c.get_object().bucket(&bucket).key("parts.bin");
    let direct = direct.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
    let direct = direct.send().await.unwrap();
    assert_eq!(out.header("x-amz-checksum-crc32"), direct.checksum_crc32());
    assert!(out.body == parts.concat(), "the bytes, whole");
    h.cleanup().await;
}

#[tokio::test]
async fn ranges_errors_and_the_stream_limit_answer_as_in_buffered_mode() {
    let h = Harness::with_config(stream_config()).await;
    let bucket = h.new_bucket("srange").await;
    let body = random_bytes(17 * MB, 17);
    put_large(&h.client, &bucket, "video.mp4", "video/mp4", &body).await;
    let path = format!("/{bucket}/video.mp4");

    let out = h
        .call_streaming(get(&path).header("range", "bytes=1048576-2097151"))
        .await;
    assert_eq!(out.status, 206, "{}", out.text());
    assert_eq!(
        out.header("content-range"),
        Some("bytes 1048576-2097151/17825792")
    );
    assert_eq!(out.header("content-length"), Some("1048576"));
    assert!(out.body == body[MB..2 * MB]);

    // Over STREAM_MAX_BYTES (16 MB here): the usual 307, nothing streamed.
    let out = h.call_streaming(get(&path)).await;
    assert_eq!(out.status, 307, "{}", out.text());
    assert!(
        out.header("location")
            .is_some_and(|l| l.contains("video.mp4"))
    );
    assert_eq!((out.header("content-length"), out.body.len()), (None, 0));

    let out = h.call_streaming(get(&format!("/{bucket}/none.bin"))).await;
    assert_eq!(out.status, 404);
    assert!(
        out.text().contains("<Code>NoSuchKey</Code>"),
        "{}",
        out.text()
    );
    let out = h
        .call_streaming(get(&path).header("range", "bytes=17825792-"))
        .await;
    assert_eq!(out.status, 416);
    assert!(out.text().contains("<Code>InvalidRange</Code>"));

    // Every other operation, through the streaming protocol.
    let put = HttpRequest::new("PUT", &format!("/{bucket}/note.txt"))
        .header("content-type", "text/plain")
        .body("hi");
    let out = h.call_streaming(put).await;
    assert_eq!(out.status, 200);
    assert!(out.header("etag").is_some());
    let out = h
        .call_streaming(get(&format!("/{bucket}")).header("accept", "application/json"))
        .await;
    assert_eq!(out.header("content-type"), Some("application/json"));
    assert!(out.text().contains(r#""Key":"note.txt""#), "{}", out.text());
    let out = h.call_streaming(HttpRequest::new("HEAD", &path)).await;
    assert_eq!(
        (out.status, out.header("content-length")),
        (200, Some("17825792"))
    );
    assert!(out.body.is_empty());
    let out = h
        .call_streaming(HttpRequest::new("DELETE", &format!("/{bucket}/note.txt")))
        .await;
    assert_eq!((out.status, out.body.len()), (204, 0));
    h.cleanup().await;
}

/// The emulator on a loopback port in stream mode, over S3 at `s3`.
async fn emulator(s3: &str) -> (String, tokio::task::JoinHandle<()>) {
    let config = stream_config();
    let client = server::local_client(s3, config.backend_timeout);
    let gateway = Arc::new(Gateway::new(Arc::new(App::new(config, client)), "prod"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, tokio::spawn(serve_gateway(listener, gateway)))
}

/// An S3 that holds the rest of a body after its first MB: the client has
/// that MB before S3 sends more, then gets the whole object (`Finish`) or a
/// transfer cut short of its Content-Length (`Cut`).
#[tokio::test]
async fn bytes_reach_the_client_as_s3_sends_them_and_a_cut_shows() {
    let object = random_bytes(3 * MB, 3);
    for then in [Then::Finish, Then::Cut] {
        let (s3, release) = held_object(object.clone(), MB, then).await;
        let (api, serving) = emulator(&s3.url()).await;
        let mut response = reqwest::get(format!("{api}/bucket/held.bin"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.content_length(), Some(3 * MB as u64));
        let mut got = Vec::new();
        while got.len() < MB {
            let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
                .await
                .expect("the first MB arrives while S3 holds the rest")
                .unwrap()
                .expect("more bytes");
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got.len(), MB, "{then:?}: nothing past what S3 sent");
        release.notify_one();
        let rest = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => got.extend_from_slice(&chunk),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        match then {
            Then::Finish => {
                assert!(rest.is_ok(), "{rest:?}");
                assert!(got == object);
            }
            Then::Cut => {
                assert!(rest.is_err(), "the client sees a truncated transfer");
                assert!(got == object[..MB], "{} bytes", got.len());
            }
        }
        serving.abort();
    }
}
