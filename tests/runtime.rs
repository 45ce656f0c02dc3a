//! The Lambda binary under lambda_runtime, as AWS runs it: `target/.../s3-proxy`
//! is started against a fake Lambda Runtime API on loopback, which hands it the
//! events of `events/` one by one and collects what it posts back. This is the
//! one path the other suites do not take: lambda_runtime reading the event
//! (through serde_path_to_error) into `lambda::Event` and writing
//! `lambda::ProxyResponse`.
//! The Runtime API and the S3 store listen on 127.0.0.1 and stop with the test;
//! the function process is killed at the end.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::runtime::{FakeRuntime, Function};
use s3_proxy::local::server;
use std::time::Duration;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("events/{name}")).unwrap()
}

#[tokio::test]
async fn the_lambda_binary_answers_events_through_lambda_runtime() {
    let data = common::temp_dir();
    let store = server::start_store(data.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    let mut runtime = FakeRuntime::start().await.unwrap();
    let missing = data.path().join("no-aws-config");
    let mut env = runtime.lambda_env(&store.url(), missing.to_str().unwrap());
    env.push(("RUST_LOG", "warn".into()));
    let _function = Function::spawn(env!("CARGO_BIN_EXE_s3-proxy"), env, None)
        .expect("the s3-proxy binary starts");

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
        runtime.send(&id, event).await;
        let posted = runtime
            .posted(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("{name}: no answer within 20 s"));
        assert_eq!(posted.request_id, id, "{name}");
        assert_eq!(posted.kind, kind, "{name}: {:?}", posted.body);
        assert_eq!(
            posted.invocation_id,
            Some(format!("inv-{id}")),
            "{name}: the answer echoes Lambda-Runtime-Invocation-Id"
        );
        if kind == "error" {
            assert_eq!(posted.json()["errorType"], "InvalidEvent", "{name}");
            continue;
        }
        let answer = posted.json();
        assert_eq!(answer["statusCode"], status, "{name}: {}", answer);
        if name == "get-binary" {
            assert_eq!(answer["isBase64Encoded"], true);
            let body = STANDARD.decode(answer["body"].as_str().unwrap()).unwrap();
            assert_eq!(body, png, "the PNG comes back byte for byte");
            assert_eq!(answer["multiValueHeaders"]["content-type"][0], "image/png");
        }
        if name == "get-http-api-v2" {
            // HTTP API answers use `headers`, not `multiValueHeaders`.
            assert!(answer["headers"]["content-type"].is_string(), "{}", answer);
        }
    }
}
