//! The Lambda binary under lambda_runtime, as AWS runs it: `target/.../s3-proxy`
//! is started against a fake Lambda Runtime API on loopback, which hands it the
//! events of `events/` one by one and collects what it posts back. This is the
//! one path the other suites do not take: lambda_runtime reading the event
//! (through serde_path_to_error) into `lambda::Event` and writing `Answer`.
//! The Runtime API and the S3 store listen on 127.0.0.1 and stop with the test;
//! the function process is killed at the end.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use s3_proxy::local::server;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

/// What the function posted for one invocation.
#[derive(Debug)]
struct Posted {
    request_id: String,
    /// `response` or `error`.
    kind: String,
    body: serde_json::Value,
}

struct FakeRuntime {
    events: Mutex<mpsc::Receiver<(String, String)>>,
    posted: mpsc::Sender<Posted>,
}

async fn route(
    runtime: Arc<FakeRuntime>,
    req: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path.ends_with("/runtime/invocation/next") {
        let next = runtime.events.lock().await.recv().await;
        let Some((request_id, event)) = next else {
            // No more events: the function waits here until it is killed.
            std::future::pending::<()>().await;
            unreachable!()
        };
        let mut response = http::Response::new(Full::new(Bytes::from(event)));
        let headers = response.headers_mut();
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        for (name, value) in [
            ("lambda-runtime-aws-request-id", request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:s3-proxy".into(),
            ),
            ("content-type", "application/json".into()),
        ] {
            headers.insert(name, http::HeaderValue::from_str(&value).unwrap());
        }
        return response;
    }
    // POST /2018-06-01/runtime/invocation/{id}/response | /error
    let mut parts = path.rsplit('/');
    let kind = parts.next().unwrap_or_default().to_string();
    let request_id = parts.next().unwrap_or_default().to_string();
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let _ = runtime
        .posted
        .send(Posted {
            request_id,
            kind,
            body,
        })
        .await;
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}

/// The function process; killed when dropped.
struct Function(std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("events/{name}")).unwrap()
}

#[tokio::test]
async fn the_lambda_binary_answers_events_through_lambda_runtime() {
    let data = tempfile::tempdir().unwrap();
    let store = server::start_store(data.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    let (events, queue) = mpsc::channel(16);
    let (posted_tx, mut posted) = mpsc::channel(16);
    let runtime = Arc::new(FakeRuntime {
        events: Mutex::new(queue),
        posted: posted_tx,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let service = hyper::service::service_fn(move |req| {
        let runtime = runtime.clone();
        async move { Ok::<_, Infallible>(route(runtime, req).await) }
    });
    let serving = tokio::spawn(server::serve(listener, service));

    let missing = data.path().join("no-aws-config");
    let _function = Function(
        std::process::Command::new(env!("CARGO_BIN_EXE_s3-proxy"))
            .env_clear()
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", api.as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", "s3-proxy"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_REGION", server::LOCAL_REGION),
                ("AWS_ACCESS_KEY_ID", server::LOCAL_ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", server::LOCAL_SECRET_KEY),
                ("AWS_ENDPOINT_URL_S3", store.url().as_str()),
                ("S3_FORCE_PATH_STYLE", "true"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
                ("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap()),
                ("RUST_LOG", "warn"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the s3-proxy binary starts"),
    );

    // Events in order, each with what must come back.
    let png = STANDARD
        .decode(
            serde_json::from_str::<serde_json::Value>(&fixture("put-object-binary.json")).unwrap()
                ["body"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let cases: Vec<(&str, String, &str, u64)> = vec![
        ("create", fixture("create-bucket.json"), "response", 200),
        (
            "put-binary",
            fixture("put-object-binary.json"),
            "response",
            200,
        ),
        (
            "get-binary",
            fixture("get-object-binary.json"),
            "response",
            200,
        ),
        ("not-an-event", r#"{"hello": "world"}"#.into(), "error", 0),
        ("put-text", fixture("put-object.json"), "response", 200),
        (
            "get-http-api-v2",
            fixture("get-object-http-api-v2.json"),
            "response",
            200,
        ),
        (
            "bad-base64",
            fixture("error-invalid-base64.json"),
            "response",
            400,
        ),
    ];
    for (i, (name, event, kind, status)) in cases.into_iter().enumerate() {
        let id = format!("req-{i}-{name}");
        events.send((id.clone(), event)).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(20), posted.recv())
            .await
            .unwrap_or_else(|_| panic!("{name}: no answer within 20 s"))
            .unwrap();
        assert_eq!(answer.request_id, id, "{name}");
        assert_eq!(answer.kind, kind, "{name}: {:?}", answer.body);
        if kind == "error" {
            continue;
        }
        assert_eq!(answer.body["statusCode"], status, "{name}: {}", answer.body);
        if name == "get-binary" {
            assert_eq!(answer.body["isBase64Encoded"], true);
            let body = STANDARD
                .decode(answer.body["body"].as_str().unwrap())
                .unwrap();
            assert_eq!(body, png, "the PNG comes back byte for byte");
            assert_eq!(
                answer.body["multiValueHeaders"]["content-type"][0],
                "image/png"
            );
        }
        if name == "get-http-api-v2" {
            // HTTP API answers use `headers`, not `multiValueHeaders`.
            assert!(
                answer.body["headers"]["content-type"].is_string(),
                "{}",
                answer.body
            );
        }
    }
    serving.abort();
}
