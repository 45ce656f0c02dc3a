//! HTTP semantics past the tutorial: ranges, conditional requests, headers
//! kept with objects, checksums, paging, objects of any size (presigned
//! download and upload), through the event path against a real S3 server.

mod common;

use common::{Harness, Out, random_bytes};
use s3_proxy::local::gateway::HttpRequest;

fn get(path: &str) -> HttpRequest {
    HttpRequest::new("GET", path)
}

#[tokio::test]
async fn ranges_answer_206_and_unsatisfiable_ones_416() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("range").await;
    let body = b"0123456789abcdefghij";
    assert_eq!(
        h.put(&bucket, "r.txt", Some("text/plain"), body)
            .await
            .status,
        200
    );
    let cases: Vec<(&str, u16, &[u8], Option<&str>)> = vec![
        ("bytes=0-4", 206, b"01234", Some("bytes 0-4/20")),
        ("bytes=15-", 206, b"fghij", Some("bytes 15-19/20")),
        ("bytes=-3", 206, b"hij", Some("bytes 17-19/20")),
        ("bytes=18-100", 206, b"ij", Some("bytes 18-19/20")),
        ("bytes=20-30", 416, b"", None),
        // Read as HTTP servers read it, and sent to S3 in its canonical form
        // (s3s would refuse the spaces with a 400).
        ("bytes= 2 - 4", 206, b"234", Some("bytes 2-4/20")),
        ("bytes= -2", 206, b"ij", Some("bytes 18-19/20")),
        // Past any object's end (and past what s3s parses): to the end.
        (
            "bytes=19-99999999999999999999",
            206,
            b"j",
            Some("bytes 19-19/20"),
        ),
        ("bytes=99999999999999999999-", 416, b"", None),
    ];
    for (range, status, expected, content_range) in cases {
        let out = h
            .call(get(&format!("/{bucket}/r.txt")).header("range", range))
            .await;
        assert_eq!(out.status, status, "{range}: {}", out.text());
        if status == 206 {
            assert_eq!(out.body, expected, "{range}");
            assert_eq!(out.header("content-range"), content_range, "{range}");
            assert_eq!(out.header("accept-ranges"), Some("bytes"));
            assert_eq!(
                out.header("content-length"),
                Some(expected.len().to_string().as_str())
            );
        } else {
            assert_eq!(out.code(), "InvalidRange");
        }
    }
    h.cleanup().await;
}

#[tokio::test]
async fn conditional_requests_answer_304_and_412() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("cond").await;
    assert_eq!(
        h.put(&bucket, "c.txt", Some("text/plain"), b"v1")
            .await
            .status,
        200
    );
    let first = h.get(&bucket, "c.txt").await;
    let etag = first.header("etag").unwrap().to_string();
    let modified = first.header("last-modified").unwrap().to_string();
    let (past, future) = (
        "Mon, 01 Jan 2001 00:00:00 GMT",
        "Fri, 01 Jan 2100 00:00:00 GMT",
    );
    let path = format!("/{bucket}/c.txt");
    // (method, header, value, status)
    let cases = [
        ("GET", "if-none-match", etag.as_str(), 304),
        ("GET", "if-none-match", "\"other\"", 200),
        ("GET", "if-modified-since", modified.as_str(), 304),
        ("GET", "if-modified-since", future, 304),
        ("GET", "if-modified-since", past, 200),
        ("GET", "if-match", etag.as_str(), 200),
        ("GET", "if-match", "\"other\"", 412),
        ("GET", "if-unmodified-since", past, 412),
        ("GET", "if-unmodified-since", future, 200),
        ("HEAD", "if-none-match", etag.as_str(), 304),
        ("HEAD", "if-match", "\"other\"", 412),
    ];
    for (method, name, value, status) in cases {
        let out = h
            .call(HttpRequest::new(method, &path).header(name, value))
            .await;
        assert_eq!(
            out.status,
            status,
            "{method} {name}: {value}: {}",
            out.text()
        );
        if status == 304 {
            assert!(out.body.is_empty());
            assert_eq!(
                out.header("etag"),
                Some(etag.as_str()),
                "a 304 carries the ETag"
            );
        }
        if status == 412 && method == "GET" {
            assert_eq!(out.code(), "PreconditionFailed");
        }
    }
    h.cleanup().await;
}

#[tokio::test]
async fn put_with_if_none_match_star_refuses_to_overwrite() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("inm").await;
    let put = |body: &'static [u8]| {
        HttpRequest::new("PUT", &format!("/{bucket}/once.txt"))
            .header("if-none-match", "*")
            .body(body.to_vec())
    };
    assert_eq!(h.call(put(b"first")).await.status, 200);
    let out = h.call(put(b"second")).await;
    assert_eq!(out.status, 412, "{}", out.text());
    assert_eq!(out.code(), "PreconditionFailed");
    assert_eq!(h.get(&bucket, "once.txt").await.body, b"first");
    h.cleanup().await;
}

#[tokio::test]
async fn objects_keep_their_headers_and_head_agrees_with_get() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("hdr").await;
    let req = HttpRequest::new("PUT", &format!("/{bucket}/report.csv.gz"))
        .header("content-type", "text/csv")
        .header("cache-control", "no-cache")
        .header(
            "content-disposition",
            "attachment; filename=\"report.csv.gz\"",
        )
        .header("content-encoding", "gzip")
        .header("content-language", "en-GB")
        .header("expires", "Fri, 01 Jan 2100 00:00:00 GMT")
        .header("x-amz-meta-owner", "ana")
        .header("x-amz-meta-project", "s3-proxy")
        .body(random_bytes(2048, 5));
    let out = h.call(req).await;
    assert_eq!(out.status, 200, "{}", out.text());

    let got = h.get(&bucket, "report.csv.gz").await;
    let head = h
        .call(HttpRequest::new(
            "HEAD",
            &format!("/{bucket}/report.csv.gz"),
        ))
        .await;
    let expected = [
        ("content-type", "text/csv"),
        ("cache-control", "no-cache"),
        (
            "content-disposition",
            "attachment; filename=\"report.csv.gz\"",
        ),
        ("content-encoding", "gzip"),
        ("content-language", "en-GB"),
        ("x-amz-meta-owner", "ana"),
        ("x-amz-meta-project", "s3-proxy"),
        ("content-length", "2048"),
    ];
    for (name, value) in expected {
        assert_eq!(got.header(name), Some(value), "GET {name}");
    }
    assert!(
        got.header("expires").is_some_and(|e| e.contains("2100")),
        "{:?}",
        got.header("expires")
    );
    assert_eq!(got.body, random_bytes(2048, 5), "gzip bytes untouched");
    // Every header but the per-request ones is the same on HEAD and GET.
    let stable = |out: &Out| {
        let mut h: Vec<_> = out
            .headers
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "timestamp" | "x-amz-request-id"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(stable(&got), stable(&head));

    // S3-style overrides on GET.
    let out = h
        .call(get(&format!(
            "/{bucket}/report.csv.gz?response-content-disposition=inline&response-content-type=application/gzip"
        )))
        .await;
    assert_eq!(out.header("content-disposition"), Some("inline"));
    assert_eq!(out.header("content-type"), Some("application/gzip"));
    h.cleanup().await;
}

#[tokio::test]
async fn content_type_comes_from_the_request_then_the_extension() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("ctype").await;
    let cases = [
        ("a.json", None, "application/json"),
        ("b.png", None, "image/png"),
        ("c.unknownext", None, "application/octet-stream"),
        ("d", None, "application/octet-stream"),
        (
            "e.png",
            Some("text/plain; charset=latin1"),
            "text/plain; charset=latin1",
        ),
    ];
    for (key, given, expected) in cases {
        assert_eq!(h.put(&bucket, key, given, b"x").await.status, 200);
        let out = h
            .call(HttpRequest::new("HEAD", &format!("/{bucket}/{key}")))
            .await;
        assert_eq!(out.header("content-type"), Some(expected), "{key}");
    }
    h.cleanup().await;
}

#[tokio::test]
async fn a_body_that_does_not_match_its_checksum_is_refused() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("sum").await;
    // Of "hello": Content-MD5 XUFAKrxLKna5cZ2REBfFkg==, CRC32 NhCmhg==,
    // SHA-256 LPJNul+...CQ=. S3's codes and messages.
    let sha256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    let other_sha256 = format!("{}=", "A".repeat(43));
    let (crc32, sdk) = ("x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm");
    let payload = "x-amz-content-sha256";
    let hello_hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let empty_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let md5_mismatch = "The Content-MD5 you specified did not match what we received.";
    let invalid_sdk = "Value for x-amz-sdk-checksum-algorithm header is invalid.";
    // (headers, status, code, words of the message)
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("content-md5", "XUFAKrxLKna5cZ2REBfFkg==")],
            200,
            "",
            "",
        ),
        (
            vec![("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")],
            400,
            "BadDigest",
            md5_mismatch,
        ),
        (
            vec![("content-md5", "AAAA")],
            400,
            "InvalidDigest",
            "The Content-MD5 you specified was invalid.",
        ),
        (vec![(crc32, "NhCmhg=="), (sdk, "CRC32")], 200, "", ""),
        (
            vec![(crc32, "AAAAAA==")],
            400,
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum.",
        ),
        (vec![("x-amz-checksum-sha256", sha256)], 200, "", ""),
        (
            vec![("x-amz-checksum-sha256", &other_sha256)],
            400,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        ),
        (
            vec![(crc32, "NhCmhg")],
            400,
            "InvalidRequest",
            "Value for x-amz-checksum-crc32 header is invalid.",
        ),
        (
            vec![(crc32, "NhCmhg=="), (sdk, "SHA256")],
            400,
            "InvalidRequest",
            invalid_sdk,
        ),
        (
            vec![(sdk, "CRC32")],
            400,
            "InvalidRequest",
            "x-amz-sdk-checksum-algorithm specified, but no corresponding",
        ),
        (
            vec![(crc32, "NhCmhg=="), ("x-amz-checksum-sha256", sha256)],
            400,
            "InvalidRequest",
            "Multiple checksum Types are not allowed.",
        ),
        // SigV4's payload hash, hex: checked against the body as S3 checks it.
        (vec![(payload, hello_hex)], 200, "", ""),
        (vec![(payload, "UNSIGNED-PAYLOAD")], 200, "", ""),
        (
            vec![(payload, empty_hex)],
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
        (
            vec![(payload, "GIBBERISH")],
            400,
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD",
        ),
    ];
    for (i, (headers, status, code, message)) in cases.into_iter().enumerate() {
        let key = format!("sum-{i}");
        let mut req = HttpRequest::new("PUT", &format!("/{bucket}/{key}")).body(b"hello".to_vec());
        for (name, value) in &headers {
            req = req.header(name, value);
        }
        let out = h.call(req).await;
        assert_eq!(out.status, status, "{headers:?}: {}", out.text());
        if status == 400 {
            assert_eq!(out.code(), code, "{headers:?}: {}", out.text());
            assert!(out.text().contains(message), "{headers:?}: {}", out.text());
            assert_eq!(
                h.get(&bucket, &key).await.status,
                404,
                "nothing stored for {headers:?}"
            );
        }
    }
    h.cleanup().await;
}

/// An upload that names no checksum keeps S3's default, CRC64NVME (the
/// function has the SDK compute it for the hop to S3, in place of the SDK's
/// own default CRC32), as a direct upload would; one that names a checksum
/// keeps that one.
#[tokio::test]
async fn an_upload_without_a_checksum_keeps_s3s_default() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("default-sum").await;
    let crc64nvme = s3_proxy::operation::ChecksumAlgorithm::Crc64Nvme.compute(b"hello");
    let cases = [
        (
            "plain",
            None,
            "x-amz-checksum-crc64nvme",
            crc64nvme.as_str(),
        ),
        (
            "named",
            Some(("x-amz-checksum-crc32", "NhCmhg==")),
            "x-amz-checksum-crc32",
            "NhCmhg==",
        ),
    ];
    for (key, sent, header, value) in cases {
        let mut req = HttpRequest::new("PUT", &format!("/{bucket}/{key}")).body(b"hello".to_vec());
        if let Some((name, sum)) = sent {
            req = req.header(name, sum);
        }
        let put = h.call(req).await;
        assert_eq!(put.status, 200, "{key}: {}", put.text());
        assert_eq!(put.header(header), Some(value), "{key}");
        let head = HttpRequest::new("HEAD", &format!("/{bucket}/{key}"));
        let head = h.call(head.header("x-amz-checksum-mode", "ENABLED")).await;
        assert_eq!(head.header(header), Some(value), "{key}");
        let others = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"]
            .map(|a| format!("x-amz-checksum-{a}"))
            .into_iter()
            .filter(|h| h != header && head.header(h).is_some());
        assert_eq!(others.collect::<Vec<_>>(), Vec::<String>::new(), "{key}");
    }
    h.cleanup().await;
}

#[tokio::test]
async fn a_listing_of_2500_keys_pages_to_completion() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("page").await;
    let mut expected: Vec<String> = (0..2500).map(|i| format!("k/{i:05}")).collect();
    // Stored directly, 32 at a time: the listing is what is under test.
    for chunk in expected.chunks(32) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|key| {
                let request = h
                    .client
                    .put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(b"x".to_vec().into());
                tokio::spawn(async move { request.send().await.map(|_| ()) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let target = match &token {
            None => format!("/{bucket}?prefix=k/"),
            Some(t) => format!(
                "/{bucket}?prefix=k/&continuation-token={}",
                percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
            ),
        };
        let out = h
            .call(get(&target).header("accept", "application/json"))
            .await;
        assert_eq!(out.status, 200, "{}", out.text());
        pages += 1;
        let v: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        seen.extend(
            v["Contents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["Key"].as_str().unwrap().to_string()),
        );
        match v["NextContinuationToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => {
                assert_eq!(v["IsTruncated"], false);
                break;
            }
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 3, "1000 + 1000 + 500");
    expected.sort();
    assert_eq!(seen, expected);
    h.cleanup().await;
}

#[tokio::test]
async fn a_50_mb_object_comes_through_the_redirect_intact() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("huge").await;
    let big = random_bytes(50 * 1024 * 1024, 50);
    h.client
        .put_object()
        .bucket(&bucket)
        .key("fifty.bin")
        .body(big.clone().into())
        .send()
        .await
        .unwrap();
    let out = h.get(&bucket, "fifty.bin").await;
    assert_eq!(out.status, 307);
    assert_eq!(out.header("etag").map(|e| e.len() > 2), Some(true));
    let location = out.header("location").unwrap();
    let bytes = reqwest::get(location).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.len(), big.len());
    assert!(bytes.as_ref() == big.as_slice());
    h.cleanup().await;
}

#[tokio::test]
async fn large_uploads_go_through_presigned_urls() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("up").await;
    let http = reqwest::Client::new();

    // One presigned PUT.
    let req = HttpRequest::new("POST", &format!("/{bucket}/big%20one.bin?uploads"))
        .header("content-type", "application/x-custom")
        .header("accept", "application/json");
    let out = h.call(req).await;
    assert_eq!(out.status, 200, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    let url = plan["Url"].as_str().unwrap();
    let big = random_bytes(6 * 1024 * 1024, 6);
    let mut put = http.put(url).body(big.clone());
    for (name, value) in plan["Headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let r = put.send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let out = h
        .call(HttpRequest::new(
            "HEAD",
            &format!("/{bucket}/big%20one.bin"),
        ))
        .await;
    assert_eq!(out.header("content-length"), Some("6291456"));
    assert_eq!(out.header("content-type"), Some("application/x-custom"));

    // A multipart upload in two parts, completed through the API.
    let out = h
        .call(HttpRequest::new(
            "POST",
            &format!("/{bucket}/parts.bin?uploads&parts=2"),
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let xml = out.text();
    assert!(
        xml.contains("<UploadId>") && xml.contains("<PartNumber>2</PartNumber>"),
        "{xml}"
    );
    let upload_id = between(&xml, "<UploadId>", "</UploadId>");
    let urls: Vec<String> = xml
        .split("<Url>")
        .skip(1)
        .map(|s| s.split("</Url>").next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(urls.len(), 2);
    let part1 = random_bytes(5 * 1024 * 1024, 1);
    let part2 = random_bytes(1000, 2);
    let mut complete = String::from("<CompleteMultipartUpload>");
    for (n, (url, bytes)) in urls.iter().zip([&part1, &part2]).enumerate() {
        let r = http.put(url).body(bytes.clone()).send().await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "part {}: {}",
            n + 1,
            r.text().await.unwrap()
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        complete.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            n + 1
        ));
    }
    complete.push_str("</CompleteMultipartUpload>");
    let out = h
        .call(
            HttpRequest::new(
                "POST",
                &format!("/{bucket}/parts.bin?uploadId={}", encode(&upload_id)),
            )
            .body(complete.into_bytes()),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let out = h.get(&bucket, "parts.bin").await;
    assert_eq!(out.status, 307);
    let bytes = reqwest::get(out.header("location").unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut whole = part1.clone();
    whole.extend_from_slice(&part2);
    assert!(bytes.as_ref() == whole.as_slice());

    // An upload can be abandoned.
    let out = h
        .call(HttpRequest::new(
            "POST",
            &format!("/{bucket}/dropped.bin?uploads&parts=1"),
        ))
        .await;
    let upload_id = between(&out.text(), "<UploadId>", "</UploadId>");
    let out = h
        .call(HttpRequest::new(
            "DELETE",
            &format!("/{bucket}/dropped.bin?uploadId={}", encode(&upload_id)),
        ))
        .await;
    assert_eq!(out.status, 204, "{}", out.text());
    h.cleanup().await;
}

fn between(text: &str, start: &str, end: &str) -> String {
    text.split(start)
        .nth(1)
        .and_then(|s| s.split(end).next())
        .unwrap_or_default()
        .to_string()
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
