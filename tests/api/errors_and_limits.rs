//! Errors, policy and limits through the event path: S3's error codes, bad
//! requests, configuration enforced before S3, 413 and 307 at the inline
//! limit, an unreachable backend, and lists under concurrent writes.

use super::*;
#[tokio::test]
async fn s3_errors_keep_their_meaning() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("err").await;
    assert_eq!(
        h.put(&bucket, "k.txt", Some("text/plain"), b"hello")
            .await
            .status,
        200
    );
    let etag = h
        .get(&bucket, "k.txt")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let missing = h.bucket_name("missing");

    let get = |path: &str| HttpRequest::new("GET", path);
    // (request, status, code; "" = no body expected)
    let cases: Vec<(HttpRequest, u16, &str)> = vec![
        (get(&format!("/{bucket}/nope.txt")), 404, "NoSuchKey"),
        (
            HttpRequest::new("HEAD", &format!("/{bucket}/nope.txt")),
            404,
            "",
        ),
        (get(&format!("/{missing}/k.txt")), 404, "NoSuchBucket"),
        (get(&format!("/{missing}")), 404, "NoSuchBucket"),
        (
            HttpRequest::new("DELETE", &format!("/{missing}")),
            404,
            "NoSuchBucket",
        ),
        (
            HttpRequest::new("DELETE", &format!("/{bucket}")),
            409,
            "BucketNotEmpty",
        ),
        (get("/Bad_Bucket/k"), 400, "InvalidBucketName"),
        (
            get(&format!("/{bucket}/{}", "k".repeat(1025))),
            400,
            "KeyTooLongError",
        ),
        (
            HttpRequest::new("PATCH", &format!("/{bucket}/k.txt")),
            405,
            "MethodNotAllowed",
        ),
        (
            HttpRequest::new("POST", &format!("/{bucket}/k.txt")),
            400,
            "InvalidArgument",
        ),
        (
            HttpRequest::new("PUT", &format!("/{}", h.bucket_name("xml")))
                .body(b"<CreateBucketConfiguration>".to_vec()),
            400,
            "MalformedXML",
        ),
        (
            get(&format!("/{bucket}/k.txt")).header("if-match", "\"0000\""),
            412,
            "PreconditionFailed",
        ),
        (
            get(&format!("/{bucket}/k.txt")).header("if-none-match", &etag),
            304,
            "",
        ),
        (
            get(&format!("/{bucket}/k.txt"))
                .header("if-modified-since", "Wed, 01 Jan 2100 00:00:00 GMT"),
            304,
            "",
        ),
        (
            get(&format!("/{bucket}/k.txt")).header("range", "bytes=100-200"),
            416,
            "InvalidRange",
        ),
        (
            get(&format!("/{bucket}?max-keys=-1")),
            400,
            "InvalidArgument",
        ),
    ];
    for (req, status, code) in cases {
        let label = format!("{} {}", req.method, req.target);
        let out = h.call(req).await;
        assert_eq!(out.status, status, "{label}: {}", out.text());
        if code.is_empty() {
            assert!(out.body.is_empty(), "{label} has no body");
        } else {
            assert_eq!(out.code(), code, "{label}: {}", out.text());
            assert!(
                out.text()
                    .contains("<RequestId>test-request-id</RequestId>"),
                "{label}"
            );
        }
    }
    // The 405 names what is allowed.
    let out = h
        .call(HttpRequest::new("PATCH", &format!("/{bucket}")))
        .await;
    assert_eq!(out.header("allow"), Some("GET, PUT, DELETE"));
    // Nothing was deleted by the refused DeleteBucket.
    assert_eq!(h.get(&bucket, "k.txt").await.body, b"hello");
    // Re-creating your own bucket: S3 answers 409 BucketAlreadyOwnedByYou
    // (200 in us-east-1 on AWS).
    let out = h.call(HttpRequest::new("PUT", &format!("/{bucket}"))).await;
    assert!(
        out.status == 409 || (h.external && out.status == 200),
        "{}",
        out.text()
    );
    h.cleanup().await;
}

#[tokio::test]
async fn bad_requests_are_answered_not_crashed() {
    let h = Harness::start().await;
    // A body marked base64 that is not: lambda_http alone would panic.
    let event = std::fs::read_to_string("events/error-invalid-base64.json").unwrap();
    let out = h.invoke(&event).await;
    assert_eq!(out.status, 400, "{}", out.text());
    assert_eq!(out.code(), "InvalidBase64");

    // A Host header that makes no URL (lambda_http's Adapter would panic):
    // the proxy builds no URL from it and serves the request.
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("events/list-buckets.json").unwrap())
            .unwrap();
    event["headers"]["Host"] = "bad host name".into();
    event["multiValueHeaders"]["Host"] = serde_json::json!(["bad host name"]);
    let out = h.invoke(&event.to_string()).await;
    assert_eq!(out.status, 200, "{}", out.text());
}

#[tokio::test]
async fn configuration_is_enforced_before_s3() {
    let h = Harness::start().await;
    let open_bucket = h.new_bucket("open").await;
    let other_bucket = h.new_bucket("other").await;
    assert_eq!(h.put(&open_bucket, "k", None, b"data").await.status, 200);

    let config = Config {
        allowed_buckets: vec![open_bucket.clone()],
        read_only: true,
        inline_limit: 1024,
        ..Config::default()
    };
    let limited = s3_proxy::App::new(config, h.client.clone());
    let gw = s3_proxy::local::gateway::Gateway::new(std::sync::Arc::new(limited), "prod");
    let call = |req: HttpRequest| {
        let event = gw.event_json(&req, "r");
        let app = gw.app.clone();
        async move {
            common::parse_response(
                &s3_proxy::lambda::invoke_json(&app, &event, Default::default())
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(
        call(HttpRequest::new("GET", &format!("/{open_bucket}/k")))
            .await
            .body,
        b"data"
    );
    let out = call(HttpRequest::new("GET", &format!("/{other_bucket}"))).await;
    assert_eq!((out.status, out.code()), (403, "AccessDenied".into()));
    let out = call(HttpRequest::new("PUT", &format!("/{open_bucket}/k")).body(b"x".to_vec())).await;
    assert_eq!((out.status, out.code()), (403, "AccessDenied".into()));
    let out = call(HttpRequest::new("GET", "/")).await;
    assert!(
        out.text().contains(&open_bucket) && !out.text().contains(&other_bucket),
        "{}",
        out.text()
    );
    h.cleanup().await;
}

#[tokio::test]
async fn uploads_over_the_inline_limit_get_413_with_the_way_forward() {
    let config = Config {
        inline_limit: 4096,
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let bucket = h.new_bucket("big").await;
    let out = h
        .put(&bucket, "big.bin", None, &random_bytes(4097, 1))
        .await;
    assert_eq!(out.status, 413, "{}", out.text());
    assert_eq!(out.code(), "EntityTooLarge");
    assert!(
        out.text()
            .contains(&format!("POST /{bucket}/big.bin?uploads")),
        "{}",
        out.text()
    );
    h.cleanup().await;
}

#[tokio::test]
async fn objects_over_the_inline_limit_redirect_to_a_presigned_url() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("large").await;
    let big = random_bytes(5 * 1024 * 1024, 99);
    // Stored directly: the upload path for such objects is a presigned PUT.
    h.client
        .put_object()
        .bucket(&bucket)
        .key("big.bin")
        .body(big.clone().into())
        .send()
        .await
        .unwrap();
    let out = h.get(&bucket, "big.bin").await;
    assert_eq!(out.status, 307, "{}", out.text());
    assert!(out.body.is_empty());
    let location = out.header("location").expect("Location").to_string();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    let fetched = reqwest::get(&location).await.unwrap();
    assert_eq!(fetched.status(), 200);
    let bytes = fetched.bytes().await.unwrap();
    assert!(
        bytes.as_ref() == big.as_slice(),
        "presigned bytes equal the object"
    );
    // A range that fits inline is served inline, as 206.
    let out = h
        .call(HttpRequest::new("GET", &format!("/{bucket}/big.bin")).header("range", "bytes=10-19"))
        .await;
    assert_eq!(out.status, 206);
    assert_eq!(out.body, &big[10..20]);
    assert_eq!(out.header("content-range"), Some("bytes 10-19/5242880"));
    h.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_backend_is_a_502_without_internals() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client =
        s3_proxy::local::server::local_client(&format!("http://127.0.0.1:{port}"), common::TIMEOUT);
    let app = std::sync::Arc::new(s3_proxy::App::new(Config::default(), client));
    let gw = s3_proxy::local::gateway::Gateway::new(app.clone(), "prod");
    let event = gw.event_json(&HttpRequest::new("GET", "/some-bucket/k"), "r");
    let json = s3_proxy::lambda::invoke_json(&app, &event, Default::default())
        .await
        .unwrap();
    let out = common::parse_response(&json);
    assert_eq!(out.status, 502, "{}", out.text());
    assert_eq!(out.code(), "BadGateway");
    assert!(
        !out.text().contains("127.0.0.1"),
        "no internals: {}",
        out.text()
    );
    assert!(
        !out.text().contains(&port.to_string()),
        "no internals: {}",
        out.text()
    );
}

/// Listing while other clients write and delete keys in nested folders:
/// S3 answers every list. (The embedded store walks folders that a concurrent
/// delete can remove mid-walk; `make loadtest` found that as 500s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_while_others_write_and_delete_never_fails() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let h = Arc::new(Harness::start().await);
    let bucket = h.new_bucket("churn").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (h, bucket, stop) = (h.clone(), bucket.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    // Writers share folders: one deletes the last key of a folder
                    // while another writes into it.
                    let key = format!("d{}/e{}/w{w}-{i}", i % 3, i % 2);
                    let put = h
                        .client
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .body(b"x".to_vec().into())
                        .send()
                        .await;
                    assert!(put.is_ok(), "{put:?}");
                    let del = h
                        .client
                        .delete_object()
                        .bucket(&bucket)
                        .key(&key)
                        .send()
                        .await;
                    assert!(del.is_ok(), "{del:?}");
                    i += 1;
                }
                i
            })
        })
        .collect();
    for _ in 0..20 {
        for query in ["", "?prefix=d1/", "?delimiter=/"] {
            let out = h
                .call(HttpRequest::new("GET", &format!("/{bucket}{query}")))
                .await;
            assert_eq!(out.status, 200, "list {query:?}: {}", out.text());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut writes = 0;
    for w in writers {
        writes += w.await.unwrap();
    }
    assert!(writes > 20, "the writers hardly ran ({writes} writes)");
    h.cleanup().await;
}
