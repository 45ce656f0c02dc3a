//! The API end to end: REST v1 events through the Lambda boundary and the handler,
//! against a real S3-compatible server on loopback (see `common`).

#[path = "../common/mod.rs"]
mod common;
mod errors_and_limits;

use common::{Harness, Out, random_bytes};
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
    assert_s3_time(&out, "CreationDate");

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
    assert_s3_time(&out, "LastModified");

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

/// Every `<element>` of the answer holds a time as S3 writes it:
/// milliseconds always, three digits (`2009-10-12T17:50:30.000Z`).
fn assert_s3_time(out: &Out, element: &str) {
    let s3_time = regex_lite::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    let times = out.elements(element);
    assert!(!times.is_empty(), "no {element} in {}", out.text());
    for time in times {
        assert!(s3_time.is_match(&time), "{element} {time:?}");
    }
}
