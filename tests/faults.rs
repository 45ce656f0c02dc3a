//! Backend faults, injected by real servers on loopback: one that stalls,
//! one that answers 503 SlowDown, one that corrupts bodies in flight.
//! Every server here listens on 127.0.0.1 and is stopped by its test.

mod common;

use common::fault::{Fault, fault, read_head};
use common::{Harness, parse_response, random_bytes};
use s3_proxy::config::Config;
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::server;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn call(app: Arc<s3_proxy::App>, req: HttpRequest) -> common::Out {
    let gw = Gateway::new(app.clone(), "prod");
    let event = gw.event_json(&req, "fault-request");
    let mut context = lambda_http::Context::default();
    context.request_id = "fault-request".into();
    parse_response(
        &s3_proxy::lambda::invoke_json(&app, &event, context)
            .await
            .unwrap(),
    )
}

fn app_for(url: &str, timeout: Duration) -> Arc<s3_proxy::App> {
    let config = Config {
        backend_timeout: timeout,
        ..Config::default()
    };
    Arc::new(s3_proxy::App::new(
        config,
        server::local_client(url, timeout),
    ))
}

#[tokio::test]
async fn a_stalled_backend_is_a_504_within_the_configured_timeout() {
    let stall = fault(|mut socket| async move {
        read_head(&mut socket).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let app = app_for(
        &format!("http://{}", stall.addr),
        Duration::from_millis(800),
    );
    let started = Instant::now();
    let out = call(app, HttpRequest::new("GET", "/some-bucket/k")).await;
    assert_eq!(out.status, 504, "{}", out.text());
    assert_eq!(out.code(), "GatewayTimeout");
    assert!(out.text().contains("<RequestId>fault-request</RequestId>"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn throttling_is_a_503_with_retry_after_once_the_sdk_gives_up() {
    let attempts = Arc::new(Mutex::new(0u32));
    let seen = attempts.clone();
    let slow = fault(move |mut socket| {
        let seen = seen.clone();
        async move {
            read_head(&mut socket).await;
            *seen.lock().unwrap() += 1;
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>\
                <RequestId>REQ123</RequestId></Error>";
            let response = format!(
                "HTTP/1.1 503 Slow Down\r\ncontent-type: application/xml\r\nx-amz-request-id: REQ123\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    })
    .await;
    let app = app_for(&format!("http://{}", slow.addr), Duration::from_secs(20));
    let out = call(app, HttpRequest::new("GET", "/some-bucket/k")).await;
    assert_eq!(out.status, 503, "{}", out.text());
    assert_eq!(out.code(), "SlowDown");
    assert_eq!(out.header("retry-after"), Some("1"));
    assert_eq!(out.header("x-amz-request-id"), Some("REQ123"));
    assert!(out.text().contains("<RequestId>fault-request</RequestId>"));
    assert!(
        *attempts.lock().unwrap() >= 2,
        "the SDK retried before giving up"
    );
}

#[tokio::test]
async fn a_garbled_backend_answer_is_a_5xx_without_internals() {
    let garbled = fault(|mut socket| async move {
        read_head(&mut socket).await;
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n<nope")
            .await;
    })
    .await;
    let app = app_for(&format!("http://{}", garbled.addr), Duration::from_secs(5));
    let out = call(app, HttpRequest::new("GET", "/")).await;
    assert!(out.status >= 500, "{}", out.text());
    assert!(
        !out.text().contains("127.0.0.1") && !out.text().contains("nope"),
        "{}",
        out.text()
    );
}

/// A loopback man-in-the-middle between the proxy and the store that flips
/// one byte of every request body it forwards.
#[tokio::test]
async fn a_body_corrupted_on_its_way_to_s3_is_refused_not_stored() {
    let h = Harness::start().await;
    if h.external {
        return; // the corrupting relay needs the embedded store's address
    }
    let bucket = h.new_bucket("mitm").await;
    let store = h.store.as_ref().unwrap().addr;
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    let relay = fault(move |mut client| {
        let seen = seen.clone();
        async move {
            let Ok(mut upstream) = tokio::net::TcpStream::connect(store).await else {
                return;
            };
            let head = read_head(&mut client).await;
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_lowercase());
            let _ = upstream.write_all(&head).await;
            // Flip the 200th body byte (inside the payload of a 1000-byte PUT).
            let mut buf = vec![0u8; 64 * 1024];
            let mut sent = 0usize;
            let (mut up_read, mut up_write) = upstream.into_split();
            let (mut cl_read, mut cl_write) = client.into_split();
            let to_store = async move {
                while let Ok(n) = cl_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if (sent..sent + n).contains(&200) {
                        buf[200 - sent] ^= 0x55;
                    }
                    sent += n;
                    if up_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            };
            let to_client = async move {
                let _ = tokio::io::copy(&mut up_read, &mut cl_write).await;
            };
            tokio::join!(to_store, to_client);
        }
    })
    .await;
    let app = app_for(&format!("http://{}", relay.addr), Duration::from_secs(10));
    let body = random_bytes(1000, 42);
    let req = HttpRequest::new("PUT", &format!("/{bucket}/guarded.bin")).body(body);
    let out = call(app, req).await;
    assert!(
        out.status >= 400,
        "a corrupted body must be refused: {} {}",
        out.status,
        out.text()
    );
    let put_head = heads
        .lock()
        .unwrap()
        .iter()
        .find(|h| h.starts_with("put "))
        .cloned()
        .unwrap_or_default();
    assert!(
        put_head.contains("x-amz-checksum-crc64nvme"),
        "the proxy sends S3's default checksum of the bytes it received: {put_head}"
    );
    assert_eq!(
        h.get(&bucket, "guarded.bin").await.status,
        404,
        "nothing was stored"
    );
    h.cleanup().await;
}

/// An `https://` endpoint gets TLS (rustls on ring, the system's roots): the
/// first bytes on the wire are a TLS ClientHello naming the host. The server
/// here is not TLS, so the call fails, as a 502, not a panic or a hang.
#[tokio::test]
async fn https_endpoints_speak_tls() {
    let hello = Arc::new(Mutex::new(Vec::new()));
    let seen = hello.clone();
    let server = fault(move |mut socket| {
        let seen = seen.clone();
        async move {
            let mut buf = vec![0u8; 4096];
            if let Ok(n) = socket.read(&mut buf).await {
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    })
    .await;
    let url = format!("https://localhost:{}", server.addr.port());
    let app = app_for(&url, Duration::from_secs(5));
    let out = call(app, HttpRequest::new("GET", "/bucket/key")).await;
    assert_eq!(out.status, 502, "{}", out.text());
    let hello = hello.lock().unwrap().clone();
    // A TLS handshake record (0x16), version 3.x, carrying SNI "localhost".
    assert!(hello.len() > 5, "nothing was sent");
    assert_eq!((hello[0], hello[1]), (0x16, 0x03), "{:02x?}", &hello[..5]);
    assert!(
        hello.windows(9).any(|w| w == b"localhost"),
        "no SNI in the ClientHello"
    );
}

/// A server that answers every request with the same raw HTTP response.
async fn canned(response: String) -> Fault {
    let response = Arc::new(response);
    fault(move |mut socket| {
        let response = response.clone();
        async move {
            read_head(&mut socket).await;
            let _ = socket.write_all(response.as_bytes()).await;
        }
    })
    .await
}

fn error_response(status: &str, extra_headers: &str, code: &str, message: &str) -> String {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>REQ9</RequestId></Error>"
    );
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\nx-amz-request-id: REQ9\r\n{extra_headers}\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Issue 12: S3's AccessDenied and KMS messages can name the account, the
/// role and the key; the caller gets S3's code and a generic message.
#[tokio::test]
async fn access_and_kms_errors_keep_their_code_and_hide_their_detail() {
    let secret = "User: arn:aws:iam::123456789012:role/s3-proxy-role is not authorized \
                  to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/abcd";
    for (status, code, generic) in [
        ("403 Forbidden", "AccessDenied", "Access Denied"),
        (
            "400 Bad Request",
            "KMS.DisabledException",
            "The object's KMS key could not be used",
        ),
    ] {
        let server = canned(error_response(status, "", code, secret)).await;
        let app = app_for(&format!("http://{}", server.addr), Duration::from_secs(5));
        let out = call(app, HttpRequest::new("GET", "/bucket/key")).await;
        assert_eq!(out.code(), code, "{}", out.text());
        assert!(out.text().contains(generic), "{}", out.text());
        assert!(!out.text().contains("arn:aws"), "{}", out.text());
        assert!(!out.text().contains("123456789012"), "{}", out.text());
    }
}

/// Issue 12: a bucket in another region is a clear 4xx naming its region,
/// not "the backend could not be reached".
#[tokio::test]
async fn a_bucket_in_another_region_is_named_as_such() {
    let redirect = error_response(
        "301 Moved Permanently",
        "x-amz-bucket-region: eu-west-3\r\n",
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint.",
    );
    let server = canned(redirect).await;
    let app = app_for(&format!("http://{}", server.addr), Duration::from_secs(5));
    for method in ["GET", "HEAD"] {
        let out = call(app.clone(), HttpRequest::new(method, "/bucket/key")).await;
        assert_eq!(out.status, 400, "{method}: {}", out.text());
        assert_eq!(
            out.header("x-amz-bucket-region"),
            Some("eu-west-3"),
            "{method}"
        );
        if method == "GET" {
            assert_eq!(out.code(), "PermanentRedirect");
            assert!(out.text().contains("eu-west-3"), "{}", out.text());
        }
    }
}

/// Issue 12: a body that fails the checksum the storage sent with it is a
/// 502 that says so (moto, for one, stored some bodies empty), not a 500.
#[tokio::test]
async fn a_body_that_fails_its_checksum_is_a_502_saying_so() {
    let body = "these are not the bytes the checksum is of";
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-amz-request-id: REQ9\r\n\
         x-amz-checksum-crc32: AAAAAA==\r\netag: \"e\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let server = canned(response).await;
    let app = app_for(&format!("http://{}", server.addr), Duration::from_secs(5));
    let mut req = HttpRequest::new("GET", "/bucket/key");
    req = req.header("x-amz-checksum-mode", "ENABLED");
    let out = call(app, req).await;
    assert_eq!(out.status, 502, "{}", out.text());
    assert_eq!(out.code(), "BadGateway");
    assert!(out.text().contains("corrupted body"), "{}", out.text());
}

/// What S3 says of an object's life and protection (lifecycle expiry, a
/// Glacier restore, archive tiers, replication, object lock, a website
/// redirect, metadata it could not carry) reaches the client, on GET and
/// HEAD, as S3 answered it.
#[tokio::test]
async fn the_objects_life_and_protection_headers_are_answered() {
    let state = [
        (
            "x-amz-expiration",
            "expiry-date=\"Fri, 23 Dec 2026 00:00:00 GMT\", rule-id=\"old\"",
        ),
        (
            "x-amz-restore",
            "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2026 00:00:00 GMT\"",
        ),
        ("x-amz-replication-status", "COMPLETED"),
        ("x-amz-object-lock-mode", "GOVERNANCE"),
        (
            "x-amz-object-lock-retain-until-date",
            "2027-01-01T00:00:00.000Z",
        ),
        ("x-amz-object-lock-legal-hold", "ON"),
        ("x-amz-website-redirect-location", "/elsewhere"),
        ("x-amz-missing-meta", "2"),
        // With x-amz-checksum-mode, the checksum's type beside its value.
        ("x-amz-checksum-crc32", "NhCmhg=="),
        ("x-amz-checksum-type", "FULL_OBJECT"),
    ];
    let headers: String = state.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-amz-request-id: REQ9\r\n\
         x-amz-archive-status: DEEP_ARCHIVE_ACCESS\r\n{headers}etag: \"e\"\r\n\
         content-length: 5\r\nconnection: close\r\n\r\nhello"
    );
    let server = canned(response).await;
    let app = app_for(&format!("http://{}", server.addr), Duration::from_secs(5));
    for method in ["GET", "HEAD"] {
        let req = HttpRequest::new(method, "/bucket/key").header("x-amz-checksum-mode", "ENABLED");
        let out = call(app.clone(), req).await;
        assert_eq!(out.status, 200, "{method}: {}", out.text());
        for (name, value) in state {
            assert_eq!(out.header(name), Some(value), "{method} {name}");
        }
        // The archive tier is HeadObject's (GetObject of such an object is
        // S3's 403 InvalidObjectState).
        let archived = (method == "HEAD").then_some("DEEP_ARCHIVE_ACCESS");
        assert_eq!(out.header("x-amz-archive-status"), archived, "{method}");
    }
    // Without x-amz-checksum-mode neither the checksum nor its type.
    let out = call(app, HttpRequest::new("GET", "/bucket/key")).await;
    assert_eq!(out.header("x-amz-checksum-type"), None);
    assert_eq!(out.header("x-amz-checksum-crc32"), None);
    assert_eq!(out.header("x-amz-restore"), Some(state[1].1));
}
