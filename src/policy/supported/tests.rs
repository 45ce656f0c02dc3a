//! What each operation refuses, through the router, as a table.

use super::*;
use bytes::Bytes;

/// What the CORS preflight lets through is what the operations take.
#[test]
fn the_headers_some_operation_takes_are_the_preflights() {
    use crate::route::{PathSource, route};
    use http::Method;
    let ops = [
        ("GET", "/"),
        ("GET", "/b-1"),
        ("PUT", "/b-1"),
        ("DELETE", "/b-1"),
        ("GET", "/b-1/k"),
        ("HEAD", "/b-1/k"),
        ("PUT", "/b-1/k"),
        ("DELETE", "/b-1/k"),
    ];
    for (method, path) in ops {
        let method: Method = method.parse().unwrap();
        let op = route(
            &method,
            PathSource::Raw(path),
            &[],
            &HeaderMap::new(),
            Bytes::new(),
        )
        .unwrap();
        let accepts = accepts(&op);
        for name in accepts.headers.iter().chain(&ANY_ROUTE_HEADERS) {
            assert!(s3_header_taken(name), "{name} ({})", op.name());
        }
    }
    for name in PUT_OBJECT_CHECKSUMS.iter().chain(&["x-amz-meta-owner"]) {
        assert!(s3_header_taken(name), "{name}");
    }
    for name in [
        "x-amz-copy-source",
        "x-amz-meta-",
        "x-amz-grant-read",
        "if-range",
        "x-custom",
    ] {
        assert!(!s3_header_taken(name), "{name}");
    }
}

/// Issue 12: no request is turned into another operation, and no
/// header it relies on is dropped.
#[test]
fn what_an_operation_does_not_implement_is_refused() {
    use crate::route::{PathSource, route};
    use http::{HeaderMap, Method};
    let check = |method: &str, path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]| {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let method: Method = method.parse().unwrap();
        let op = route(&method, PathSource::Raw(path), &query, &map, Bytes::new())?;
        supported(&op, &query, &map)
    };
    let code = |r: Result<(), ApiError>| r.err().map(|e| e.code().to_string());
    type Pairs<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, &str, Pairs, Pairs, Option<&str>)> = vec![
        (
            "PUT",
            "/b-1/k",
            vec![("tagging", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "DELETE",
            "/b-1/k",
            vec![("tagging", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "DELETE",
            "/b-1",
            vec![("cors", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "DELETE",
            "/b-1",
            vec![("policy", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1",
            vec![("versions", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("acl", "")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("partNumber", "1")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("cachebust", "1")],
            vec![],
            Some("InvalidArgument"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("x-id", "PutObject")],
            vec![],
            Some("InvalidArgument"),
        ),
        ("GET", "/b-1/k", vec![("x-id", "GetObject")], vec![], None),
        ("GET", "/b-1/k", vec![("versionId", "v1")], vec![], None),
        ("DELETE", "/b-1/k", vec![("versionId", "v1")], vec![], None),
        (
            "GET",
            "/b-1/k",
            vec![("X-Amz-Signature", "abc")],
            vec![],
            None,
        ),
        (
            "GET",
            "/b-1",
            vec![("list-type", "2"), ("max-keys", "0")],
            vec![],
            None,
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-copy-source", "/b-1/other")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-object-lock-mode", "GOVERNANCE")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-website-redirect-location", "/x")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-tagging", "a=b"), ("if-match", "\"e\"")],
            None,
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-server-side-encryption", "AES256")],
            None,
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-meta-a", "1"), ("x-amz-checksum-crc32", "AAAAAA==")],
            None,
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("if-none-match", "\"e\"")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("if-unmodified-since", "Wed, 21 Oct 2015 07:28:00 GMT")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("content-encoding", "aws-chunked")],
            Some("NotImplemented"),
        ),
        // CreateMultipartUpload's checksum headers, not PutObject's; S3's
        // newer checksums (SHA512, MD5, XXHASH), which the proxy does not verify.
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-checksum-algorithm", "CRC32")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-checksum-type", "FULL_OBJECT")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-checksum-md5", "XUFAKrxLKna5cZ2REBfFkg==")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-checksum-xxhash64", "AAAAAAAAAAA=")],
            Some("NotImplemented"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
            Some("NotImplemented"),
        ),
        (
            "DELETE",
            "/b-1/k",
            vec![],
            vec![("if-match", "\"e\"")],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![],
            vec![
                ("x-amz-date", "20261126T000000Z"),
                ("x-amz-security-token", "t"),
            ],
            None,
        ),
        (
            "GET",
            "/b-1/k",
            vec![],
            vec![("x-amz-request-payer", "requester")],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1",
            vec![],
            vec![("if-none-match", "\"e\"")],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/",
            vec![],
            vec![("x-amz-expected-bucket-owner", "123456789012")],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1",
            vec![],
            vec![("x-amz-expected-bucket-owner", "123456789012")],
            None,
        ),
        (
            "DELETE",
            "/b-1/k",
            vec![("uploadId", "")],
            vec![],
            Some("InvalidArgument"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("versionId", "")],
            vec![],
            Some("InvalidArgument"),
        ),
        (
            "GET",
            "/b-1",
            vec![("list-type", "1")],
            vec![],
            Some("NotImplemented"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("aééé", "1")],
            vec![],
            Some("InvalidArgument"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![("X-Amz-Date", "20261126T000000Z")],
            vec![],
            None,
        ),
        (
            "GET",
            "/b-1",
            vec![("prefix", "a"), ("prefix", "b")],
            vec![],
            Some("InvalidArgument"),
        ),
        (
            "GET",
            "/b-1/k",
            vec![],
            vec![("if-match", "\"a\""), ("if-match", "\"b\"")],
            Some("InvalidRequest"),
        ),
        (
            "PUT",
            "/b-1/k",
            vec![],
            vec![("x-amz-meta-a", "1"), ("x-amz-meta-a", "2")],
            Some("InvalidRequest"),
        ),
    ];
    for (method, path, query, headers, expected) in cases {
        let got = code(check(method, path, &query, &headers));
        assert_eq!(
            got.as_deref(),
            expected,
            "{method} {path} {query:?} {headers:?}"
        );
    }
}

#[test]
fn a_payload_hash_is_checked_against_the_body_as_s3_checks_it() {
    // SHA-256 of "hello" and of nothing.
    let hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let check = |value: Option<&str>, body: &[u8]| {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert("x-amz-content-sha256", value.parse().unwrap());
        }
        payload_hash(&headers, body)
            .err()
            .map(|e| e.code().to_string())
    };
    assert_eq!(check(None, b"hello"), None);
    assert_eq!(check(Some(hello), b"hello"), None);
    assert_eq!(check(Some(empty), b""), None);
    assert_eq!(check(Some("UNSIGNED-PAYLOAD"), b"hello"), None);
    assert_eq!(check(Some(&hello.to_uppercase()), b"hello"), None);
    let mismatch = Some("XAmzContentSHA256Mismatch".to_string());
    assert_eq!(check(Some(empty), b"hello"), mismatch);
    assert_eq!(check(Some(hello), b"hellO"), mismatch);
    let invalid = Some("InvalidArgument".to_string());
    for value in [
        "GIBBERISH",
        &hello[1..],
        &format!("{hello}0"),
        "unsigned-payload",
        "",
    ] {
        assert_eq!(check(Some(value), b"hello"), invalid, "{value:?}");
    }
}
