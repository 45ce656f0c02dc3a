//! Issue 12: a request the proxy accepts does exactly what its method and
//! path say, with every header it took; what it does not implement is
//! refused before S3 is called, and leaves S3 unchanged. One test per row of
//! the table, through the Lambda boundary, against the embedded
//! store or any S3 endpoint (`make test-moto`).

mod common;

use common::{Harness, Out};
use s3_proxy::config::Config;
use s3_proxy::local::gateway::HttpRequest;
use s3_proxy::media::BinaryMediaTypes;

fn req(method: &str, target: &str) -> HttpRequest {
    HttpRequest::new(method, target)
}

async fn put_text(h: &Harness, bucket: &str, key: &str, body: &str) -> Out {
    let out = h
        .put(bucket, key, Some("text/plain"), body.as_bytes())
        .await;
    assert_eq!(out.status, 200, "PUT {key}: {}", out.text());
    out
}

async fn body_of(h: &Harness, bucket: &str, key: &str) -> (u16, Vec<u8>) {
    let out = h.get(bucket, key).await;
    (out.status, out.body)
}

#[tokio::test]
async fn sub_resources_are_refused_and_change_nothing() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("subres").await;
    put_text(&h, &bucket, "k.txt", "the object").await;
    let tagging = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    let cases = [
        req("PUT", &format!("/{bucket}/k.txt?tagging")).body(tagging),
        req("DELETE", &format!("/{bucket}/k.txt?tagging")),
        req("PUT", &format!("/{bucket}/k.txt?acl")).body("<AccessControlPolicy/>"),
        req("DELETE", &format!("/{bucket}?cors")),
        req("DELETE", &format!("/{bucket}?policy")),
        req("DELETE", &format!("/{bucket}?lifecycle")),
        req("DELETE", &format!("/{bucket}?website")),
        req("GET", &format!("/{bucket}?versions")),
        req("PUT", &format!("/{bucket}/k.txt?retention")).body("<Retention/>"),
        req("PUT", &format!("/{bucket}/copy.txt"))
            .header("x-amz-copy-source", &format!("/{bucket}/k.txt")),
        req("PUT", &format!("/{bucket}/k.txt"))
            .header("x-amz-object-lock-mode", "GOVERNANCE")
            .body("x"),
    ];
    for case in cases {
        let label = format!("{} {}", case.method, case.target);
        let out = h.call(case).await;
        assert_eq!(out.status, 501, "{label}: {}", out.text());
        assert_eq!(out.code(), "NotImplemented", "{label}");
    }
    assert_eq!(
        body_of(&h, &bucket, "k.txt").await,
        (200, b"the object".to_vec())
    );
    assert_eq!(
        h.get(&bucket, "copy.txt").await.status,
        404,
        "no copy was made"
    );
    let out = h.call(req("GET", &format!("/{bucket}"))).await;
    assert_eq!(out.status, 200, "the bucket is still there: {}", out.text());
    // Junk parameters are refused too, rather than ignored.
    let out = h
        .call(req("GET", &format!("/{bucket}/k.txt?cachebust=1")))
        .await;
    assert_eq!((out.status, out.code().as_str()), (400, "InvalidArgument"));
    h.cleanup().await;
}

#[tokio::test]
async fn a_version_id_names_a_version_never_the_current_object() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("version").await;
    let stored = put_text(&h, &bucket, "k.txt", "current").await;
    // In an unversioned bucket the only version is "null" (S3 answers
    // x-amz-version-id only where versioning is on).
    let bogus = "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY";
    for method in ["GET", "HEAD"] {
        let out = h
            .call(req(method, &format!("/{bucket}/k.txt?versionId={bogus}")))
            .await;
        assert!(
            (400..500).contains(&out.status),
            "{method} of a version that does not exist: {} {}",
            out.status,
            out.text()
        );
    }
    // Deleting a version that does not exist removes nothing (S3 answers
    // success), whatever the store makes of versionId.
    let out = h
        .call(req("DELETE", &format!("/{bucket}/k.txt?versionId={bogus}")))
        .await;
    assert!(
        matches!(out.status, 204 | 400 | 404),
        "{} {}",
        out.status,
        out.text()
    );
    assert_eq!(
        body_of(&h, &bucket, "k.txt").await,
        (200, b"current".to_vec())
    );
    // Found by the differential over moto: in a bucket that does not exist
    // it is S3's NoSuchBucket, not a 204 (the HEAD's 404 said nothing).
    let out = h
        .call(req(
            "DELETE",
            &format!("/{bucket}-gone/k.txt?versionId={bogus}"),
        ))
        .await;
    assert_eq!(
        (out.status, out.code().as_str()),
        (404, "NoSuchBucket"),
        "{}",
        out.text()
    );
    if let Some(version) = stored.header("x-amz-version-id") {
        let out = h
            .call(req("GET", &format!("/{bucket}/k.txt?versionId={version}")))
            .await;
        assert_eq!(out.status, 200, "{}", out.text());
    }
    let out = h
        .call(req("DELETE", &format!("/{bucket}/k.txt?uploadId=")))
        .await;
    assert_eq!((out.status, out.code().as_str()), (400, "InvalidArgument"));
    assert_eq!(body_of(&h, &bucket, "k.txt").await.0, 200);
    h.cleanup().await;
}

#[tokio::test]
async fn put_if_match_is_a_conditional_write() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("ifmatch").await;
    let etag = put_text(&h, &bucket, "k.txt", "first")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let put = |if_match: &str, body: &str| {
        req("PUT", &format!("/{bucket}/k.txt"))
            .header("content-type", "text/plain")
            .header("if-match", if_match)
            .body(body.as_bytes().to_vec())
    };
    let out = h
        .call(put("\"0123456789abcdef0123456789abcdef\"", "lost"))
        .await;
    assert_eq!(out.status, 412, "{}", out.text());
    assert_eq!(body_of(&h, &bucket, "k.txt").await.1, b"first");
    let out = h.call(put(&etag, "second")).await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(body_of(&h, &bucket, "k.txt").await.1, b"second");
    h.cleanup().await;
}

#[tokio::test]
async fn encryption_is_stored_as_asked_and_echoed() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("sse").await;
    let out = h
        .call(
            req("PUT", &format!("/{bucket}/s3.txt"))
                .header("x-amz-server-side-encryption", "AES256")
                .body("secret"),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(out.header("x-amz-server-side-encryption"), Some("AES256"));
    let out = h.get(&bucket, "s3.txt").await;
    assert_eq!(out.header("x-amz-server-side-encryption"), Some("AES256"));

    // SSE-C: the object opens with its key only.
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, base64
    let key_md5 = "hRasmdxgYDKV3nvbahU1MA==";
    let with_key = |r: HttpRequest| {
        r.header("x-amz-server-side-encryption-customer-algorithm", "AES256")
            .header("x-amz-server-side-encryption-customer-key", key)
            .header("x-amz-server-side-encryption-customer-key-md5", key_md5)
    };
    let out = h
        .call(with_key(
            req("PUT", &format!("/{bucket}/c.txt")).body("mine"),
        ))
        .await;
    if h.external && out.status == 502 {
        // A store without SSE-C (moto) stores the bytes as they are: the
        // proxy says so instead of answering 200 as if they were encrypted.
        assert!(
            out.text().contains("did not confirm the encryption"),
            "{}",
            out.text()
        );
        h.cleanup().await;
        return;
    }
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(
        out.header("x-amz-server-side-encryption-customer-key-md5"),
        Some(key_md5)
    );
    let out = h
        .call(with_key(req("GET", &format!("/{bucket}/c.txt"))))
        .await;
    assert_eq!(
        (out.status, out.body.as_slice()),
        (200, &b"mine"[..]),
        "{}",
        out.text()
    );
    let out = h.get(&bucket, "c.txt").await;
    assert!(
        (400..500).contains(&out.status),
        "without its key: {}",
        out.status
    );

    // Half an SSE-C request, or a KMS key without KMS, is refused.
    let out = h
        .call(
            req("PUT", &format!("/{bucket}/half.txt"))
                .header("x-amz-server-side-encryption-customer-key", key)
                .body("x"),
        )
        .await;
    assert_eq!((out.status, out.code().as_str()), (400, "InvalidArgument"));
    assert_eq!(h.get(&bucket, "half.txt").await.status, 404);
    h.cleanup().await;
}

#[tokio::test]
async fn tags_and_non_ascii_metadata_are_stored() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("meta").await;
    let out = h
        .call(
            req("PUT", &format!("/{bucket}/k.txt"))
                .header("x-amz-tagging", "team=blue&year=2026")
                .header("x-amz-meta-name", "café")
                .body("x"),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let out = h.get(&bucket, "k.txt").await;
    assert_eq!(out.header("x-amz-meta-name"), Some("=?UTF-8?B?Y2Fmw6k=?="));
    let tags = h
        .client
        .get_object_tagging()
        .bucket(&bucket)
        .key("k.txt")
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("team".into(), "blue".into()),
            ("year".into(), "2026".into())
        ]
    );
    // A storage class is stored as named; an empty one names none (the SDK
    // would leave it out): refused, the object unchanged.
    let out = h
        .call(
            req("PUT", &format!("/{bucket}/k.txt"))
                .header("x-amz-storage-class", "STANDARD_IA")
                .body("y"),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let head = h
        .client
        .head_object()
        .bucket(&bucket)
        .key("k.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.storage_class().map(|c| c.as_str()),
        Some("STANDARD_IA")
    );
    let out = h
        .call(
            req("PUT", &format!("/{bucket}/k.txt"))
                .header("x-amz-storage-class", "")
                .body("z"),
        )
        .await;
    assert_eq!(
        (out.status, out.code().as_str()),
        (400, "InvalidStorageClass")
    );
    assert_eq!(body_of(&h, &bucket, "k.txt").await, (200, b"y".to_vec()));
    // S3 keeps 2 KB of user metadata (names and values): more is refused,
    // the object unchanged; exactly 2 KB is stored.
    let put_metadata = |len: usize| {
        let put = req("PUT", &format!("/{bucket}/k.txt")).body("w");
        h.call(put.header("x-amz-meta-ab", &"v".repeat(len)))
    };
    let out = put_metadata(2047).await;
    let refused = (out.status, out.code());
    assert_eq!(refused, (400, "MetadataTooLarge".into()), "{}", out.text());
    assert_eq!(body_of(&h, &bucket, "k.txt").await, (200, b"y".to_vec()));
    let out = put_metadata(2046).await;
    assert_eq!(out.status, 200, "{}", out.text());
    h.cleanup().await;
}

#[tokio::test]
async fn ranges_and_listing_limits_follow_s3() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("ranges").await;
    put_text(&h, &bucket, "k.txt", "0123456789").await;
    let out = h
        .call(req("HEAD", &format!("/{bucket}/k.txt")).header("range", "bytes=0-1"))
        .await;
    assert_eq!(out.status, 206, "HEAD with Range");
    assert_eq!(out.header("content-range"), Some("bytes 0-1/10"));
    assert_eq!(out.header("content-length"), Some("2"));
    for junk in ["l)Wi", "bytes=5-2", "bytes=0-1,3-4", "lines=0-1"] {
        let out = h
            .call(req("GET", &format!("/{bucket}/k.txt")).header("range", junk))
            .await;
        assert_eq!(
            (out.status, out.body.as_slice()),
            (200, &b"0123456789"[..]),
            "{junk}"
        );
    }
    let out = h.call(req("GET", &format!("/{bucket}?max-keys=0"))).await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(!out.text().contains("<Contents>"), "{}", out.text());
    let out = h
        .call(req(
            "GET",
            &format!("/{bucket}/k.txt?response-content-type="),
        ))
        .await;
    assert_eq!(out.header("content-type"), Some("text/plain"));
    h.cleanup().await;
}

#[tokio::test]
async fn the_first_accept_value_decides_as_api_gateway_does() {
    let config = Config {
        binary_media_types: BinaryMediaTypes::parse("image/png").unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let bucket = h.new_bucket("accept").await;
    put_text(&h, &bucket, "k.txt", "hello").await;
    let out = h
        .call(
            req("GET", &format!("/{bucket}/k.txt"))
                .header("accept", "text/plain")
                .header("accept", "image/png"),
        )
        .await;
    assert_eq!(out.status, 200);
    assert!(
        !out.is_base64,
        "API Gateway passes text through for Accept: text/plain"
    );
    assert_eq!(out.body, b"hello");
    h.cleanup().await;
}

#[tokio::test]
async fn text_that_escapes_past_the_answer_limit_is_redirected() {
    let config = Config {
        binary_media_types: BinaryMediaTypes::parse("image/png").unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let bucket = h.new_bucket("quotes").await;
    let quotes = vec![b'"'; 3_200_000];
    h.client
        .put_object()
        .bucket(&bucket)
        .key("quotes.txt")
        .content_type("text/plain")
        .body(quotes.into())
        .send()
        .await
        .unwrap();
    let out = h
        .call(req("GET", &format!("/{bucket}/quotes.txt")).header("accept", "text/plain"))
        .await;
    assert_eq!(out.status, 307, "{}", out.text());
    assert!(out.header("location").is_some());
    assert!(out.json.to_string().len() < 6 * 1024 * 1024);
    h.cleanup().await;
}

#[tokio::test]
async fn a_redirect_is_not_cached_and_keeps_every_override() {
    let config = Config {
        inline_limit: 1000,
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let bucket = h.new_bucket("redirect").await;
    h.client
        .put_object()
        .bucket(&bucket)
        .key("big.bin")
        .cache_control("max-age=31536000")
        .body(vec![7u8; 2000].into())
        .send()
        .await
        .unwrap();
    let out = h
        .call(req(
            "GET",
            &format!(
                "/{bucket}/big.bin?response-content-disposition=attachment\
                 &response-cache-control=no-cache&response-content-language=fr"
            ),
        ))
        .await;
    assert_eq!(out.status, 307, "{}", out.text());
    assert_eq!(out.header("cache-control"), Some("no-store"));
    assert_eq!(out.header("expires"), None);
    let location = out.header("location").unwrap();
    for parameter in [
        "response-content-disposition=attachment",
        "response-cache-control=no-cache",
        "response-content-language=fr",
    ] {
        assert!(location.contains(parameter), "{parameter} in {location}");
    }
    h.cleanup().await;
}

/// Behind a custom domain with the base path `storage`, API Gateway matches
/// the root resource `/` while the event's path is `/storage`.
#[tokio::test]
async fn the_root_resource_is_the_root_behind_a_base_path() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("basepath").await;
    let event = std::fs::read_to_string("events/list-buckets-custom-domain.json").unwrap();
    let out = h.invoke(&event).await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(
        out.text().contains("<ListAllMyBucketsResult"),
        "{}",
        out.text()
    );
    assert!(out.text().contains(&bucket), "{}", out.text());
    let mut delete: serde_json::Value = serde_json::from_str(&event).unwrap();
    delete["httpMethod"] = "DELETE".into();
    delete["requestContext"]["httpMethod"] = "DELETE".into();
    let out = h.invoke(&delete.to_string()).await;
    assert_eq!(out.status, 405, "{}", out.text());
    h.cleanup().await;
}

/// The `<Key>`s of a URL-encoded listing (it says so), decoded form-style
/// as SDKs decode them.
fn listed_keys(out: &Out) -> Vec<String> {
    assert_eq!(out.elements("EncodingType"), ["url"], "{}", out.text());
    out.elements("Key")
        .iter()
        .map(|key| {
            let spaced = key.replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8();
            decoded.unwrap().into_owned()
        })
        .collect()
}

/// A key with a control character (S3 takes them) cannot travel in XML 1.0:
/// the XML listing carries the keys URL-encoded and says so, as S3 does for
/// `encoding-type=url`; JSON carries them as they are.
#[tokio::test]
async fn keys_xml_cannot_carry_are_listed_url_encoded_or_as_json() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("ctlkey").await;
    put_text(&h, &bucket, "ctl%1Echar", "x").await;
    put_text(&h, &bucket, "sp%20ace+plus%2F%C3%A9~", "x").await;
    let keys = ["ctl\u{1e}char", "sp ace+plus/é~"];
    // Encoded by the proxy (the plain listing cannot carry the first key):
    // in S3's form.
    let out = h.call(req("GET", &format!("/{bucket}"))).await;
    assert_eq!(out.status, 200, "{}", out.text());
    for key in ["ctl%1Echar", "sp+ace%2Bplus/%C3%A9%7E"] {
        let listed = format!("<Key>{key}</Key>");
        assert!(out.text().contains(&listed), "{}", out.text());
    }
    assert_eq!(listed_keys(&out), keys);
    // Asked for: encoded by the backend, passed on as it is (S3 and the
    // store write S3's form, moto its own); either decodes, form-style, to
    // the keys.
    let out = h
        .call(req("GET", &format!("/{bucket}?encoding-type=url")))
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(listed_keys(&out), keys);
    let out = h
        .call(req("GET", &format!("/{bucket}")).header("accept", "application/json"))
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let listed: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(listed["Contents"][0]["Key"], "ctl\u{1e}char");
    h.cleanup().await;
}
