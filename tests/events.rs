//! The fixtures in `events/` — the same files `cargo lambda invoke
//! --data-file` and `make invoke` take — through lambda_http's parser and the
//! handler, in the order a user would replay them.

mod common;

use common::Harness;

/// (event file, expected status, check on the body, or on a header when it
/// reads `name: value`)
const SEQUENCE: &[(&str, u16, Option<&str>)] = &[
    (
        "error-no-such-bucket.json",
        404,
        Some("<Code>NoSuchBucket</Code>"),
    ),
    ("create-bucket.json", 200, None),
    ("list-buckets.json", 200, Some("<Name>s3-proxy-demo</Name>")),
    (
        "list-buckets-custom-domain.json",
        200,
        Some("<Name>s3-proxy-demo</Name>"),
    ),
    ("put-object.json", 200, None),
    ("put-object-binary.json", 200, None),
    ("list-objects.json", 200, Some("<Key>test/test.txt</Key>")),
    // A browser's navigation: the HTML index, its links under the stage.
    (
        "list-objects-html.json",
        200,
        Some("<a href=\"/prod/s3-proxy-demo/test%2Ftest.txt\">test.txt</a>"),
    ),
    // CORS is off unless CORS_ALLOW_ORIGINS names the page's origin.
    ("preflight.json", 403, Some("<Code>AccessForbidden</Code>")),
    ("get-object.json", 200, Some("Hello from s3-proxy!\n")),
    (
        "get-object-greedy.json",
        200,
        Some("Hello from s3-proxy!\n"),
    ),
    (
        "get-object-http-api-v2.json",
        200,
        Some("Hello from s3-proxy!\n"),
    ),
    ("get-object-range.json", 206, Some("Hello")),
    ("head-object.json", 200, None),
    // Asked for, the object's checksum: S3's default CRC64NVME of its 21
    // bytes (the function has the SDK compute it on PUT), as a header.
    (
        "head-object-checksum.json",
        200,
        Some("x-amz-checksum-crc64nvme: 66+gOZbQmYQ="),
    ),
    (
        "error-no-such-key.json",
        404,
        Some("<Code>NoSuchKey</Code>"),
    ),
    (
        "error-method-not-allowed.json",
        405,
        Some("<Code>MethodNotAllowed</Code>"),
    ),
    (
        "error-invalid-bucket-name.json",
        400,
        Some("<Code>InvalidBucketName</Code>"),
    ),
    (
        "error-invalid-base64.json",
        400,
        Some("<Code>InvalidBase64</Code>"),
    ),
    (
        "error-key-too-long.json",
        400,
        Some("<Code>KeyTooLongError</Code>"),
    ),
    (
        "delete-bucket.json",
        409,
        Some("<Code>BucketNotEmpty</Code>"),
    ),
    (
        "error-not-implemented-tagging.json",
        501,
        Some("<Code>NotImplemented</Code>"),
    ),
    ("get-object.json", 200, Some("Hello from s3-proxy!\n")),
    ("delete-object.json", 204, None),
    ("delete-object-binary.json", 204, None),
    ("delete-bucket.json", 204, None),
];

#[tokio::test]
async fn every_event_fixture_answers_as_documented() {
    let h = Harness::start().await;
    // The fixtures name `s3-proxy-demo`; against a shared endpoint each run
    // gets its own bucket.
    let bucket = if h.external {
        h.bucket_name("demo")
    } else {
        "s3-proxy-demo".to_string()
    };
    for (file, status, expected) in SEQUENCE {
        let event = std::fs::read_to_string(format!("events/{file}")).unwrap();
        let out = h.invoke(&event.replace("s3-proxy-demo", &bucket)).await;
        assert_eq!(out.status, *status, "{file}: {}", out.text());
        match expected.map(|e| e.replace("s3-proxy-demo", &bucket)) {
            Some(e) if e.starts_with("x-amz-") => {
                let (name, value) = e.split_once(": ").unwrap();
                assert_eq!(out.header(name), Some(value), "{file}: {name}");
            }
            Some(e) => assert!(out.text().contains(&e), "{file}: {e} in {}", out.text()),
            None => {}
        }
    }
    common::empty_and_delete(&h.client, &bucket).await;
}

#[tokio::test]
async fn the_binary_fixture_round_trips_its_png() {
    let h = Harness::start().await;
    let bucket = if h.external {
        h.bucket_name("png")
    } else {
        "s3-proxy-demo".to_string()
    };
    for file in ["create-bucket.json", "put-object-binary.json"] {
        let event = std::fs::read_to_string(format!("events/{file}")).unwrap();
        assert_eq!(
            h.invoke(&event.replace("s3-proxy-demo", &bucket))
                .await
                .status,
            200,
            "{file}"
        );
    }
    let put: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("events/put-object-binary.json").unwrap())
            .unwrap();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(put["body"].as_str().unwrap())
        .unwrap();
    let event = std::fs::read_to_string("events/get-object-binary.json").unwrap();
    let out = h.invoke(&event.replace("s3-proxy-demo", &bucket)).await;
    assert_eq!(out.status, 200);
    assert!(out.is_base64);
    assert_eq!(out.body, png);
    assert_eq!(out.header("content-type"), Some("image/png"));
    common::empty_and_delete(&h.client, &bucket).await;
}

#[tokio::test]
async fn every_fixture_parses_as_an_api_gateway_event() {
    for entry in std::fs::read_dir("events").unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read_to_string(&path).unwrap();
        // lambda_http's reading and ours agree on what each fixture is.
        let theirs: lambda_http::request::LambdaRequest =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ours: s3_proxy::lambda::Event =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let same = matches!(
            (&theirs, &ours),
            (
                lambda_http::request::LambdaRequest::ApiGatewayV1(_),
                s3_proxy::lambda::Event::Rest(_)
            ) | (
                lambda_http::request::LambdaRequest::ApiGatewayV2(_),
                s3_proxy::lambda::Event::Http(_)
            )
        );
        assert!(same, "{}: {theirs:?} vs {ours:?}", path.display());
    }
}
