//! Properties over many random inputs (proptest):
//! - any key and body round-trips through PUT, HEAD, GET, DELETE;
//! - no event, however malformed, makes the function panic, hang or answer
//!   outside HTTP (the fuzzing of event parsing, routing and base64);
//! - no encoding of a bucket name reaches a bucket outside ALLOWED_BUCKETS.
//!
//! Case counts are kept CI-sized; `PROPTEST_CASES=20000 cargo test --test
//! properties --release` runs a longer campaign.

mod common;

use common::{Harness, parse_response};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use s3_proxy::config::Config;
use s3_proxy::local::gateway::HttpRequest;
use std::sync::Arc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Key segments: anything S3 takes except what a file system folds away
/// (`.`, `..`, empty), which the local store refuses by design.
fn key_strategy() -> impl Strategy<Value = String> {
    let segment = "[a-zA-Z0-9 +%&=;,!'()*@$~_.\\-éü日本✓]{1,12}"
        .prop_filter("dot segments", |s| s != "." && s != "..");
    prop::collection::vec(segment, 1..4)
        .prop_map(|segments| segments.join("/"))
        // aws-sdk-s3 refuses white-space-only keys (a clear 400, see route.rs).
        .prop_filter("white space only", |key| !key.trim().is_empty())
}

/// The key as a client puts it in a URL: every segment encoded, and the
/// slashes either kept or sent as %2F.
fn key_path(key: &str, encode_slashes: bool) -> String {
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let glue = if encode_slashes { "%2F" } else { "/" };
    key.split('/').map(encode).collect::<Vec<_>>().join(glue)
}

#[test]
fn any_key_and_body_round_trip() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let bucket = rt.block_on(h.new_bucket("prop"));
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(64),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let strategy = (
        key_strategy(),
        prop::collection::vec(any::<u8>(), 0..5000),
        prop::option::of(prop::sample::select(vec![
            "image/png",
            "text/plain",
            "text/plain; charset=latin1",
            "application/json",
            "application/xml",
        ])),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(key, body, content_type, encode_slashes)| {
            rt.block_on(async {
                let path = key_path(&key, encode_slashes);
                let out = h.put(&bucket, &path, content_type, &body).await;
                prop_assert_eq!(out.status, 200, "PUT {:?}: {}", key, out.text());
                let head = h
                    .call(HttpRequest::new("HEAD", &format!("/{bucket}/{path}")))
                    .await;
                prop_assert_eq!(head.status, 200);
                let length = body.len().to_string();
                prop_assert_eq!(head.header("content-length"), Some(length.as_str()));
                let got = h.get(&bucket, &key_path(&key, !encode_slashes)).await;
                prop_assert_eq!(got.status, 200);
                prop_assert!(got.body == body, "bytes differ for {:?}", key);
                let del = h
                    .call(HttpRequest::new("DELETE", &format!("/{bucket}/{path}")))
                    .await;
                prop_assert_eq!(del.status, 204);
                prop_assert_eq!(h.get(&bucket, &path).await.status, 404);
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(h.cleanup());
}

/// Arbitrary (mostly broken) API Gateway events.
fn event_strategy() -> impl Strategy<Value = String> {
    let method = prop::sample::select(vec![
        "GET", "PUT", "HEAD", "DELETE", "POST", "PATCH", "OPTIONS", "BREW", "",
    ]);
    let path = "(/[a-zA-Z0-9%._~+ \\-]{0,20}){0,4}/?";
    let body = prop::option::of("[ -~]{0,40}");
    let host = prop::option::of("[a-z0-9.:\\[\\] @-]{0,20}");
    let json_noise = prop::option::of("[{}\\[\\]\":,a-z0-9 ]{0,30}");
    (
        method,
        path,
        body,
        any::<bool>(),
        host,
        json_noise,
        any::<bool>(),
    )
        .prop_map(|(method, path, body, b64, host, noise, with_params)| {
            if let Some(noise) = noise.filter(|_| !with_params && b64) {
                return noise; // not an event at all
            }
            // A real event (every field API Gateway sends), with the parts a
            // client controls replaced.
            let mut event: serde_json::Value =
                serde_json::from_str(include_str!("../events/list-buckets.json")).unwrap();
            event["path"] = path.clone().into();
            event["httpMethod"] = method.into();
            event["requestContext"]["httpMethod"] = method.into();
            event["queryStringParameters"] = serde_json::json!({"max-keys": "7", "prefix": path});
            event["multiValueQueryStringParameters"] =
                serde_json::json!({"max-keys": ["7"], "prefix": [path]});
            event["body"] = body.into();
            event["isBase64Encoded"] = b64.into();
            if let Some(host) = host {
                event["headers"]["Host"] = host.clone().into();
                event["multiValueHeaders"]["Host"] = serde_json::json!([host]);
            }
            if with_params {
                event["pathParameters"] =
                    serde_json::json!({"proxy": path.trim_start_matches('/')});
            }
            event.to_string()
        })
}

#[test]
fn no_event_makes_the_function_panic_or_hang() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let app = h.gateway.app.clone();
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<String, usize>::new());
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(512),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    runner
        .run(&event_strategy(), |event| {
            let app = app.clone();
            let result = rt.block_on(async move {
                let call = s3_proxy::lambda::invoke_json(&app, &event, Default::default());
                tokio::time::timeout(std::time::Duration::from_secs(20), call).await
            });
            let Ok(parsed) = result else {
                return Err(TestCaseError::fail("the function hung"));
            };
            let label = match &parsed {
                Ok(json) => parse_response(json).status.to_string(),
                Err(_) => "not an event".to_string(),
            };
            *statuses.lock().unwrap().entry(label).or_default() += 1;
            // Not an API Gateway event: an error for the runtime to report.
            if let Ok(json) = parsed {
                let out = parse_response(&json);
                prop_assert!((200..600).contains(&out.status), "status {}", out.status);
                prop_assert!(
                    out.status != 500,
                    "500 for a client's event: {}",
                    out.text()
                );
            }
            Ok(())
        })
        .unwrap();
    eprintln!("answers by status: {:?}", statuses.lock().unwrap());
}

#[test]
fn no_encoding_reaches_a_bucket_outside_the_list() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let allowed = rt.block_on(h.new_bucket("allowed"));
    let secret = rt.block_on(h.new_bucket("secret"));
    rt.block_on(async {
        assert_eq!(
            h.put(&secret, "treasure.txt", None, b"TREASURE")
                .await
                .status,
            200
        );
        assert_eq!(
            h.put(&allowed, "public.txt", None, b"public").await.status,
            200
        );
    });
    let config = Config {
        allowed_buckets: vec![allowed.clone()],
        ..Config::default()
    };
    let app = Arc::new(s3_proxy::App::new(config, h.client.clone()));
    let gw = s3_proxy::local::gateway::Gateway::new(app.clone(), "prod");
    let upper = secret.to_uppercase();
    let encoded =
        percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    // Cyrillic 'е' (U+0435) for the Latin 'e' of "secret".
    let lookalike = secret.replace('e', "\u{435}");
    let attempts = vec![
        format!("/{secret}/treasure.txt"),
        format!("/{upper}/treasure.txt"),
        format!("/{encoded}/treasure.txt"),
        format!("/{secret}%2Ftreasure.txt"),
        format!("/{allowed}/..%2F{secret}%2Ftreasure.txt"),
        format!("/{allowed}/../{secret}/treasure.txt"),
        format!("/{allowed}%2F..%2F{secret}/treasure.txt"),
        format!("/{secret}./treasure.txt"),
        format!("/{secret}%2E/treasure.txt"),
        format!("/{lookalike}/treasure.txt"),
        format!("/{allowed}.{secret}/treasure.txt"),
        format!("/{allowed}/%2F{secret}/treasure.txt"),
        format!("/{secret}"),
        format!("/{secret}?prefix=t"),
    ];
    for target in attempts {
        for method in ["GET", "HEAD", "PUT", "DELETE"] {
            let event = gw.event_json(&HttpRequest::new(method, &target).body(b"x".to_vec()), "r");
            let out = parse_response(
                &rt.block_on(s3_proxy::lambda::invoke_json(
                    &app,
                    &event,
                    Default::default(),
                ))
                .unwrap(),
            );
            assert!(
                !out.text().contains("TREASURE"),
                "{method} {target}: {}",
                out.text()
            );
            if out.status < 300 {
                // Only the allowed bucket can answer, under a key of its own.
                assert!(
                    target.starts_with(&format!("/{allowed}/")),
                    "{method} {target}: {}",
                    out.status
                );
            }
        }
    }
    // The secret is where it was.
    let out = rt.block_on(h.get(&secret, "treasure.txt"));
    assert_eq!(out.body, b"TREASURE");
    let listing = parse_response(
        &rt.block_on(s3_proxy::lambda::invoke_json(
            &app,
            &gw.event_json(&HttpRequest::new("GET", "/"), "r"),
            Default::default(),
        ))
        .unwrap(),
    );
    assert!(!listing.text().contains(&secret), "{}", listing.text());
    rt.block_on(h.cleanup());
}
