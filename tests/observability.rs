//! Logs: one JSON line per request with the Lambda request id, the S3
//! request id, operation, bucket, status and duration; never bodies or
//! credentials.

mod common;

use common::Harness;
use s3_proxy::local::gateway::HttpRequest;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_request_is_one_json_line_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .with_env_filter("info")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let h = Harness::start().await;
        let bucket = h.new_bucket("logs").await;
        let secret_body = b"BODY-MUST-NOT-BE-LOGGED";
        let req = HttpRequest::new("PUT", &format!("/{bucket}/k.txt"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/SIGNATURE-SECRET",
            )
            .body(secret_body.to_vec());
        assert_eq!(h.call(req).await.status, 200);
        assert_eq!(h.get(&bucket, "missing").await.status, 404);
        let fixture = std::fs::read_to_string("events/list-buckets.json").unwrap();
        assert_eq!(h.invoke(&fixture).await.status, 200);
        h.cleanup().await;
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let requests: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "request")
        .collect();
    let put = requests
        .iter()
        .find(|v| v["fields"]["operation"] == "PutObject")
        .unwrap_or_else(|| panic!("a PutObject line in {text}"));
    let fields = &put["fields"];
    assert_eq!(fields["request_id"], "test-request-id");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["method"], "PUT");
    assert!(fields["bucket"].as_str().unwrap().starts_with("s3p-logs-"));
    assert!(fields["duration_ms"].is_u64());
    assert!(fields["s3_request_id"].is_string(), "{put}");
    let missing = requests
        .iter()
        .find(|v| v["fields"]["operation"] == "GetObject")
        .unwrap_or_else(|| panic!("a GetObject line in {text}"));
    assert_eq!(missing["fields"]["status"], 404);
    // S3 names every answer; some S3-compatible servers (moto) do not on errors.
    let external = std::env::var("S3_PROXY_TEST_ENDPOINT").is_ok_and(|v| !v.is_empty());
    assert!(
        missing["fields"]["s3_request_id"].is_string() || external,
        "{missing}"
    );
    // Who called: the principal and the address API Gateway saw (issue 15).
    let list = requests
        .iter()
        .find(|v| v["fields"]["operation"] == "ListBuckets")
        .unwrap_or_else(|| panic!("a ListBuckets line in {text}"));
    assert_eq!(
        list["fields"]["caller"],
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(list["fields"]["source_ip"], "203.0.113.7");
    assert!(!text.contains("BODY-MUST-NOT-BE-LOGGED"), "{text}");
    assert!(!text.contains("SIGNATURE-SECRET"), "{text}");
    assert!(!text.contains("s3-proxy-local-secret"), "{text}");
}
