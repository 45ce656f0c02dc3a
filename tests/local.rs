//! Local mode as a user meets it: the API Gateway emulator on a free
//! loopback port, driven with a real HTTP client, over the embedded store.

mod common;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use common::random_bytes;
use s3_proxy::config::Config;
use s3_proxy::local::gateway::Gateway;
use s3_proxy::local::{self, server};
use std::path::Path;
use std::sync::Arc;

/// The emulator and its store on loopback; both stop when dropped.
struct Local {
    base: String,
    _store: Option<server::Running>,
    serving: tokio::task::JoinHandle<()>,
    http: reqwest::Client,
}

impl Drop for Local {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

async fn start(data: &Path, config: Config) -> Local {
    let (app, store) = local::app_for(local::S3Endpoint::Embedded(data.to_path_buf()), config)
        .await
        .unwrap();
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let gateway = Arc::new(Gateway::new(Arc::new(app), "prod"));
    let serving = tokio::spawn(local::serve_gateway(listener, gateway));
    Local {
        base,
        _store: Some(store.unwrap()),
        serving,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn every_operation_over_http_with_and_without_the_stage() {
    let dir = common::temp_dir();
    let l = start(dir.path(), Config::default()).await;
    let b = &l.base;

    let r = l.http.put(format!("{b}/prod/photos")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let png = random_bytes(300_000, 3);
    let r = l
        .http
        .put(format!("{b}/photos/cats%2Fcat.png"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("etag").is_some());

    let r = l
        .http
        .get(format!("{b}/prod/photos/cats/cat.png"))
        .header("accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());

    let text = "plain text, ünïcode\n";
    let r = l
        .http
        .put(format!("{b}/photos/notes.txt"))
        .header("content-type", "text/plain; charset=utf-8")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = l
        .http
        .get(format!("{b}/photos/notes.txt"))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), text);

    let r = l
        .http
        .head(format!("{b}/photos/cats/cat.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "300000");

    let r = l
        .http
        .get(format!("{b}/photos?prefix=cats/"))
        .send()
        .await
        .unwrap();
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains("<Key>cats/cat.png</Key>") && !xml.contains("notes.txt"),
        "{xml}"
    );

    let r = l.http.get(format!("{b}/")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("<Name>photos</Name>"));

    let r = l.http.post(format!("{b}/photos")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, PUT, DELETE");

    for key in ["cats/cat.png", "notes.txt"] {
        let r = l
            .http
            .delete(format!("{b}/photos/{key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let r = l.http.delete(format!("{b}/photos")).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn responses_convert_the_way_api_gateway_converts_them() {
    let dir = common::temp_dir();
    let config = Config {
        binary_media_types: s3_proxy::media::BinaryMediaTypes::parse("image/png").unwrap(),
        ..Config::default()
    };
    let l = start(dir.path(), config).await;
    let b = &l.base;
    l.http.put(format!("{b}/imgs")).send().await.unwrap();
    let png = random_bytes(1000, 5);
    let r = l
        .http
        .put(format!("{b}/imgs/a.png"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // First Accept value matches binaryMediaTypes: the bytes.
    let r = l
        .http
        .get(format!("{b}/imgs/a.png"))
        .header("accept", "image/png, */*")
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    // It does not: API Gateway could not deliver the bytes, and says so.
    let r = l
        .http
        .get(format!("{b}/imgs/a.png"))
        .header("accept", "text/html, image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
}

#[tokio::test]
async fn deleting_a_non_empty_bucket_is_refused_and_loses_nothing() {
    let dir = common::temp_dir();
    let l = start(dir.path(), Config::default()).await;
    let b = &l.base;
    l.http.put(format!("{b}/keep")).send().await.unwrap();
    l.http
        .put(format!("{b}/keep/deep/file.txt"))
        .body("precious")
        .send()
        .await
        .unwrap();
    let r = l.http.delete(format!("{b}/keep")).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>BucketNotEmpty</Code>")
    );
    let r = l
        .http
        .get(format!("{b}/keep/deep/file.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "precious");
}

/// Keys are names, never paths: the store files bytes under random ids, so
/// a key full of dot segments is just a key (S3 takes it too), and nothing
/// is written or read outside the data folder.
#[tokio::test]
async fn no_key_reaches_outside_the_data_folder() {
    let parent = common::temp_dir();
    let data = parent.path().join("data");
    let l = start(&data, Config::default()).await;
    let b = &l.base;
    l.http.put(format!("{b}/jail")).send().await.unwrap();
    l.http.put(format!("{b}/other")).send().await.unwrap();
    l.http
        .put(format!("{b}/other/secret.txt"))
        .body("SECRET-CONTENT")
        .send()
        .await
        .unwrap();
    std::fs::write(parent.path().join("outside.txt"), "OUTSIDE-CONTENT").unwrap();

    let attempts = [
        "../escape.txt",
        "..%2Fescape.txt",
        "..%2F..%2Fescape.txt",
        "%2E%2E%2F%2E%2E%2Foutside.txt",
        "a/../../other/secret.txt",
        "..%2Fother%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "a//b",
    ];
    // Sent byte for byte (an HTTP client library would fold the dot segments
    // before they reach the server).
    let addr = l.base.trim_start_matches("http://");
    for (i, key) in attempts.iter().enumerate() {
        let mine = format!("pwned-{i}");
        let (status, _) = raw_request(addr, "PUT", &format!("/jail/{key}"), mine.as_bytes()).await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "PUT {key}: {status}"
        );
        let (status, text) = raw_request(addr, "GET", &format!("/jail/{key}"), b"").await;
        assert!(
            !text.contains("SECRET-CONTENT") && !text.contains("OUTSIDE-CONTENT"),
            "GET {key}: {text}"
        );
        // What a key reads is what was written under that very key.
        if status == 200 {
            assert!(text.ends_with(&mine), "GET {key}: {text}");
        }
    }
    // Nothing was written anywhere but in the store's own files.
    assert!(!parent.path().join("escape.txt").exists());
    let mut names: Vec<String> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["data", "outside.txt"]);
    for entry in std::fs::read_dir(&data).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with('_'),
            "unexpected {name} in the data folder"
        );
    }
    assert_eq!(
        std::fs::read_to_string(parent.path().join("outside.txt")).unwrap(),
        "OUTSIDE-CONTENT"
    );
    let r = l
        .http
        .get(format!("{b}/other/secret.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "SECRET-CONTENT");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = common::temp_dir();
    let png = random_bytes(70_000, 11);
    {
        let l = start(dir.path(), Config::default()).await;
        l.http.put(format!("{}/kept", l.base)).send().await.unwrap();
        let r = l
            .http
            .put(format!("{}/kept/x.png", l.base))
            .header("content-type", "image/png")
            .header("x-amz-meta-origin", "first-run")
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let l = start(dir.path(), Config::default()).await;
    let r = l
        .http
        .get(format!("{}/kept/x.png", l.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-amz-meta-origin"], "first-run");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
}

#[tokio::test]
async fn bodies_over_api_gateways_limit_get_413() {
    let dir = common::temp_dir();
    let l = start(dir.path(), Config::default()).await;
    l.http.put(format!("{}/big", l.base)).send().await.unwrap();
    let r = l
        .http
        .put(format!("{}/big/huge.bin", l.base))
        .body(vec![0u8; 10 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Over Lambda's 6 MB payload once base64-encoded, under API Gateway's 10 MB.
    let r = l
        .http
        .put(format!("{}/big/five.bin", l.base))
        .body(vec![0u8; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("presigned"));
}

#[tokio::test]
async fn a_busy_port_and_an_unusable_data_folder_fail_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = server::bind(taken.local_addr().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");

    let file = tempfile::NamedTempFile::new().unwrap();
    let err = server::start_store(&file.path().join("data"), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("data folder"), "{err}");
}

/// One HTTP/1.1 request with the target exactly as given; (status, body).
async fn raw_request(addr: &str, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    raw_request_to(addr, addr, method, target, body).await
}

/// [`raw_request`] naming `host` in its Host header.
async fn raw_request_to(
    addr: &str,
    host: &str,
    method: &str,
    target: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Regression (found by tests/properties.rs, then issue 13): an object `k`
/// and objects under `k/` (and the folder marker `k/`) coexist, as in S3;
/// deleting the last key under a prefix leaves no trace of the prefix.
#[tokio::test]
async fn an_object_and_a_prefix_of_the_same_name_coexist() {
    let dir = common::temp_dir();
    let l = start(dir.path(), Config::default()).await;
    let b = &l.base;
    l.http.put(format!("{b}/fold")).send().await.unwrap();
    let put =
        |path: &str, body: &'static str| l.http.put(format!("{b}/fold/{path}")).body(body).send();
    assert_eq!(put("k/deep/x", "1").await.unwrap().status(), 200);
    let r = l
        .http
        .delete(format!("{b}/fold/k/deep/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(put("k", "object k").await.unwrap().status(), 200);
    assert_eq!(put("k/y", "2").await.unwrap().status(), 200);
    assert_eq!(put("k/", "").await.unwrap().status(), 200);
    for (path, body) in [("k", "object k"), ("k/y", "2"), ("k/", "")] {
        let r = l.http.get(format!("{b}/fold/{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.text().await.unwrap(), body, "{path}");
    }
    let r = l.http.get(format!("{b}/fold")).send().await.unwrap();
    let xml = r.text().await.unwrap();
    let keys: Vec<&str> = xml
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .collect();
    assert_eq!(keys, ["k", "k/", "k/y"], "{xml}");
}

/// Regression (issue 13): a web page whose DNS name rebinds to 127.0.0.1
/// could drive the local API from a browser. Only the served address and
/// loopback names are answered.
#[tokio::test]
async fn requests_for_another_host_get_421() {
    let dir = common::temp_dir();
    let l = start(dir.path(), Config::default()).await;
    let addr = l.base.trim_start_matches("http://").to_string();
    let port = addr.rsplit(':').next().unwrap().to_string();
    l.http.put(format!("{}/mine", l.base)).send().await.unwrap();
    for host in [
        "attacker.example",
        "attacker.example:80",
        "localhost.attacker.example",
    ] {
        let (status, text) = raw_request_to(&addr, host, "GET", "/mine", b"").await;
        assert_eq!(status, 421, "Host {host}: {text}");
        let (status, _) = raw_request_to(&addr, host, "DELETE", "/mine", b"").await;
        assert_eq!(status, 421, "Host {host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]".to_string(),
    ] {
        let (status, text) = raw_request_to(&addr, &host, "GET", "/mine", b"").await;
        assert_eq!(status, 200, "Host {host}: {text}");
    }
}

/// S3 as a connector that makes the handler panic: while sending the
/// request, or midway through an object's body.
#[derive(Debug, Clone, Copy)]
enum Panicking {
    BeforeTheAnswer,
    Midway,
}

/// A 1 MB body that gives 64 KB, then panics.
struct PanicsMidway(bool);

impl http_body::Body for PanicsMidway {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        assert!(!self.0, "a bug midway through the body");
        self.0 = true;
        let chunk = bytes::Bytes::from(vec![7u8; 64 * 1024]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

impl HttpConnector for Panicking {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        use aws_smithy_types::body::SdkBody;
        match self {
            Self::BeforeTheAnswer => panic!("a bug before the answer"),
            Self::Midway => {
                let body = SdkBody::from_body_1_x(PanicsMidway(false));
                let mut response = HttpResponse::new(200.try_into().unwrap(), body);
                for (name, value) in [
                    ("content-length", "1048576"),
                    ("content-type", "application/octet-stream"),
                    ("etag", "\"0123456789abcdef0123456789abcdef\""),
                    ("last-modified", "Thu, 26 Nov 2026 12:00:00 GMT"),
                ] {
                    response.headers_mut().insert(name, value);
                }
                HttpConnectorFuture::ready(Ok(response))
            }
        }
    }
}

impl HttpClient for Panicking {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(*self)
    }
}

/// The emulator over an S3 client that panics as `panicking` says.
async fn start_panicking(mode: s3_proxy::config::ResponseMode, panicking: Panicking) -> Local {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "k", "s", None, None, "test",
        ))
        .endpoint_url("http://127.0.0.1:9")
        .force_path_style(true)
        .http_client(panicking)
        .build();
    let app = s3_proxy::App::new(
        Config {
            response_mode: mode,
            ..Config::default()
        },
        aws_sdk_s3::Client::from_conf(config),
    );
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let gateway = Arc::new(Gateway::new(Arc::new(app), "prod"));
    Local {
        base,
        _store: None,
        serving: tokio::spawn(local::serve_gateway(listener, gateway)),
        http: reqwest::Client::new(),
    }
}

/// A panic of the handler fails the invocation, as in Lambda: API Gateway
/// answers its 502 (the template's DEFAULT_5XX document), and the next
/// request is served; midway through a streamed body the stream is cut, so
/// the client sees a short transfer, never a complete-looking one.
#[tokio::test]
async fn a_panicking_handler_fails_its_invocation_not_the_emulator() {
    use s3_proxy::config::ResponseMode;
    for mode in [ResponseMode::Buffered, ResponseMode::Stream] {
        for panicking in [Panicking::BeforeTheAnswer, Panicking::Midway] {
            let local = start_panicking(mode, panicking).await;
            let url = format!("{}/prod/bucket/key", local.base);
            if mode == ResponseMode::Stream && matches!(panicking, Panicking::Midway) {
                // The cut comes before hyper flushed the head with the
                // first chunk: the request fails (API Gateway, having the
                // prelude, would send the head; either way the transfer
                // fails).
                let answer = match local.http.get(&url).send().await {
                    Ok(answer) => answer.bytes().await.map(|b| b.len()),
                    Err(e) => Err(e),
                };
                assert!(answer.is_err(), "the cut stream must fail: {answer:?}");
                continue;
            }
            // Twice: the emulator goes on after a panic.
            for _ in 0..2 {
                let answer = local.http.get(&url).send().await.unwrap();
                assert_eq!(answer.status(), 502, "{mode:?} {panicking:?}");
                assert!(answer.headers().contains_key("x-amzn-requestid"));
                let text = answer.text().await.unwrap();
                assert!(text.contains("<Code>InternalError</Code>"), "{text}");
            }
        }
    }
}
