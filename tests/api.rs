//! The API end to end: REST v1 events through lambda_http and the handler,
//! against a real S3-compatible server on loopback (see `common`).

mod common;

use common::{Harness, random_bytes};
use s3_proxy::config::Config;
use s3_proxy::local::gateway::HttpRequest;
use s3_proxy::media::BinaryMediaTypes;
use std::sync::Arc;

#[tokio::test]
async fn every_operation_works_through_the_event_path() {
    let h = Harness::start().await;
    let bucket = h.bucket_name("ops");

    // PUT /{folder}: CreateBucket
    let out = h.call(HttpRequest::new("PUT", &format!("/{bucket}"))).await;
    assert_eq!(out.status, 200, "{}", out.text());

    // GET /: ListBuckets
    let out = h.call(HttpRequest::new("GET", "/")).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.header("content-type"), Some("application/xml"));
    assert!(
        out.text().contains("<ListAllMyBucketsResult"),
        "{}",
        out.text()
    );
    assert!(
        out.text().contains(&format!("<Name>{bucket}</Name>")),
        "{}",
        out.text()
    );

    // PUT /{folder}/{item}: PutObject, with metadata
    let req = HttpRequest::new("PUT", &format!("/{bucket}/docs%2Fhello.txt"))
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-amz-meta-author", "alice")
        .header("cache-control", "max-age=60")
        .body(b"hello, proxy".to_vec());
    let out = h.call(req).await;
    assert_eq!(out.status, 200, "{}", out.text());
    let etag = out
        .header("etag")
        .expect("PUT answers the ETag")
        .to_string();
    assert!(etag.starts_with('"'), "{etag}");
    assert!(
        out.header("timestamp").is_some(),
        "Timestamp from S3's Date"
    );

    // GET /{folder}: ListObjectsV2
    let out = h
        .call(HttpRequest::new("GET", &format!("/{bucket}?prefix=docs/")))
        .await;
    assert_eq!(out.status, 200);
    let xml = out.text();
    assert!(xml.contains("<ListBucketResult"), "{xml}");
    assert!(xml.contains("<Key>docs/hello.txt</Key>"), "{xml}");
    assert!(xml.contains("<Size>12</Size>"), "{xml}");
    assert!(xml.contains("<IsTruncated>false</IsTruncated>"), "{xml}");

    // HEAD /{folder}/{item}: HeadObject
    let out = h
        .call(HttpRequest::new(
            "HEAD",
            &format!("/{bucket}/docs/hello.txt"),
        ))
        .await;
    assert_eq!(out.status, 200);
    assert!(out.body.is_empty());
    assert_eq!(out.header("content-length"), Some("12"));
    assert_eq!(
        out.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(out.header("etag"), Some(etag.as_str()));
    assert_eq!(out.header("x-amz-meta-author"), Some("alice"));
    assert_eq!(out.header("cache-control"), Some("max-age=60"));
    assert!(out.header("last-modified").is_some());
    let head_headers = out.headers.clone();

    // GET /{folder}/{item}: GetObject
    let out = h
        .call(HttpRequest::new(
            "GET",
            &format!("/{bucket}/docs%2Fhello.txt"),
        ))
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body, b"hello, proxy");
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "x-amz-meta-author",
        "cache-control",
    ] {
        assert_eq!(
            out.headers.get(name),
            head_headers.get(name),
            "HEAD and GET agree on {name}"
        );
    }
    for (op, headers) in [("GET", &out.headers), ("HEAD", &head_headers)] {
        let date = headers
            .get("timestamp")
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or_default();
        assert!(
            httpdate::parse_http_date(date).is_ok(),
            "{op}: Timestamp from S3's Date, got {date:?}"
        );
    }

    // DELETE /{folder}/{item}: DeleteObject
    let out = h
        .call(HttpRequest::new(
            "DELETE",
            &format!("/{bucket}/docs%2Fhello.txt"),
        ))
        .await;
    assert_eq!(out.status, 204);
    let out = h
        .call(HttpRequest::new(
            "GET",
            &format!("/{bucket}/docs%2Fhello.txt"),
        ))
        .await;
    assert_eq!(out.status, 404);
    assert_eq!(out.code(), "NoSuchKey");

    // DELETE /{folder}: DeleteBucket
    let out = h
        .call(HttpRequest::new("DELETE", &format!("/{bucket}")))
        .await;
    assert_eq!(out.status, 204, "{}", out.text());
    let out = h.call(HttpRequest::new("GET", "/")).await;
    assert!(!out.text().contains(&format!("<Name>{bucket}</Name>")));
}

#[tokio::test]
async fn binary_bodies_come_back_byte_for_byte() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("bin").await;
    let sizes = [0usize, 1, 3, 1000, 65_539, 1 << 20, 4 << 20];
    let types = [
        Some("image/png"),
        Some("text/plain"),
        None,
        Some("text/plain; charset=latin1"),
        Some("application/json"),
    ];
    let mut n = 0u64;
    for size in sizes {
        for content_type in types {
            n += 1;
            let mut bytes = random_bytes(size, n);
            if size >= 2 {
                // Never valid UTF-8, whatever the random bytes are.
                bytes[0] = 0xff;
                bytes[1] = 0xfe;
            }
            let key = format!("blob-{size}-{n}");
            let out = h.put(&bucket, &key, content_type, &bytes).await;
            assert_eq!(
                out.status,
                200,
                "PUT {size} {content_type:?}: {}",
                out.text()
            );

            let out = h.get(&bucket, &key).await;
            assert_eq!(out.status, 200, "GET {size} {content_type:?}");
            assert_eq!(out.body.len(), bytes.len(), "{size} {content_type:?}");
            assert!(
                out.body == bytes,
                "bytes differ for {size} {content_type:?}"
            );
            if size > 0 {
                assert!(out.is_base64, "binary goes out base64 under */*");
            }
            let expected_type = content_type.unwrap_or("application/octet-stream");
            assert_eq!(out.header("content-type"), Some(expected_type));
            assert_eq!(
                out.header("content-length"),
                Some(size.to_string().as_str())
            );
        }
    }
    h.cleanup().await;
}

#[tokio::test]
async fn text_travels_as_text_when_the_accept_type_is_not_binary() {
    let config = Config {
        binary_media_types: BinaryMediaTypes::parse("image/png,application/octet-stream").unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let bucket = h.new_bucket("txt").await;
    let text = "héllo wörld – ünïcode ✓\n".as_bytes();
    assert_eq!(
        h.put(&bucket, "note.txt", Some("text/plain"), text)
            .await
            .status,
        200
    );
    let png = random_bytes(5000, 7);
    assert_eq!(
        h.put(&bucket, "img.png", Some("image/png"), &png)
            .await
            .status,
        200
    );

    let req =
        HttpRequest::new("GET", &format!("/{bucket}/note.txt")).header("accept", "text/plain");
    let out = h.call(req).await;
    assert_eq!(out.status, 200);
    assert!(!out.is_base64);
    assert_eq!(out.body, text);

    let req = HttpRequest::new("GET", &format!("/{bucket}/img.png")).header("accept", "image/png");
    let out = h.call(req).await;
    assert!(out.is_base64);
    assert_eq!(out.body, png);

    // Binary bytes under an Accept API Gateway would not decode: refused
    // clearly, never handed over as corrupted text.
    let req = HttpRequest::new("GET", &format!("/{bucket}/img.png")).header("accept", "text/html");
    let out = h.call(req).await;
    assert_eq!(out.status, 406, "{}", out.text());
    assert_eq!(out.code(), "NotAcceptable");
    assert!(out.text().contains("image/png"), "{}", out.text());
    h.cleanup().await;
}

#[tokio::test]
async fn keys_survive_every_encoding() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("keys").await;
    // (key as stored, path forms that must all name it)
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("a/b.txt", vec!["a%2Fb.txt", "a/b.txt", "a%2fb.txt"]),
        (
            "deep/er/still.txt",
            vec![
                "deep/er/still.txt",
                "deep%2Fer%2Fstill.txt",
                "deep/er%2Fstill.txt",
            ],
        ),
        ("plus+sign.txt", vec!["plus+sign.txt", "plus%2Bsign.txt"]),
        ("with space.txt", vec!["with%20space.txt"]),
        ("100%.txt", vec!["100%25.txt"]),
        ("literal%2F.txt", vec!["literal%252F.txt"]),
        (
            "ünï/日本語 ✓.txt",
            vec!["%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC%E8%AA%9E%20%E2%9C%93.txt"],
        ),
        (
            "semi;colon,comma=eq&amp.txt",
            vec!["semi%3Bcolon%2Ccomma%3Deq%26amp.txt"],
        ),
    ];
    for (i, (key, forms)) in cases.iter().enumerate() {
        let body = format!("object {i}: {key}");
        let out = h
            .put(&bucket, forms[0], Some("text/plain"), body.as_bytes())
            .await;
        assert_eq!(out.status, 200, "PUT {key}: {}", out.text());
        for form in forms {
            let out = h.get(&bucket, form).await;
            assert_eq!(out.status, 200, "GET {form} for {key}: {}", out.text());
            assert_eq!(out.text(), body, "GET {form}");
        }
        // The listing names exactly the key.
        let out = h.call(HttpRequest::new("GET", &format!("/{bucket}"))).await;
        let escaped = key.replace('&', "&amp;");
        assert!(
            out.text().contains(&format!("<Key>{escaped}</Key>")),
            "{key} in {}",
            out.text()
        );
    }
    h.cleanup().await;
}

#[tokio::test]
async fn listings_page_with_tokens_and_group_with_delimiters() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("list").await;
    for key in ["a/1.txt", "a/2.txt", "b/1.txt", "c.txt", "d.txt"] {
        assert_eq!(
            h.put(&bucket, key, Some("text/plain"), b"x").await.status,
            200
        );
    }
    let out = h
        .call(HttpRequest::new("GET", &format!("/{bucket}?delimiter=/")))
        .await;
    let xml = out.text();
    assert!(
        xml.contains("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"),
        "{xml}"
    );
    assert!(
        xml.contains("<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Key>c.txt</Key>") && !xml.contains("<Key>a/1.txt</Key>"),
        "{xml}"
    );

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let target = match &token {
            None => format!("/{bucket}?max-keys=2"),
            Some(t) => format!("/{bucket}?max-keys=2&continuation-token={}", encode(t)),
        };
        let out = h
            .call(HttpRequest::new("GET", &target).header("accept", "application/json"))
            .await;
        assert_eq!(out.status, 200, "{}", out.text());
        let v: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        for o in v["Contents"].as_array().unwrap() {
            seen.push(o["Key"].as_str().unwrap().to_string());
        }
        match v["NextContinuationToken"].as_str() {
            Some(t) => {
                assert_eq!(v["IsTruncated"], true);
                token = Some(t.to_string());
            }
            None => break,
        }
    }
    assert_eq!(seen, ["a/1.txt", "a/2.txt", "b/1.txt", "c.txt", "d.txt"]);
    h.cleanup().await;
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

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
            get(&format!("/{bucket}?max-keys=5000")),
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
