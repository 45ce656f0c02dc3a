//! The test harness: a real S3-compatible server and the real event path.
//!
//! By default each harness starts the embedded store (src/local/store/) on a
//! free 127.0.0.1 port over a fresh temporary folder, and stops it when
//! dropped. Set `S3_PROXY_TEST_ENDPOINT` (with `S3_PROXY_TEST_ACCESS_KEY`,
//! `S3_PROXY_TEST_SECRET_KEY`, optional `S3_PROXY_TEST_REGION`) to run the
//! same tests against another S3 endpoint (MinIO, Ceph, AWS S3).
//!
//! Every call goes: HTTP request -> REST v1 event JSON (the emulator's event
//! builder) -> the Lambda boundary (`lambda::invoke_json`: the event read as
//! lambda_http's event types, the handler, the answer serialized by
//! `lambda::ProxyResponse`) -> response JSON, which the test then reads.
#![allow(dead_code)]

mod bytes;
pub mod fault;
pub mod runtime;
#[allow(unused_imports)] // not every test crate uses it
pub use bytes::random_bytes;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use s3_proxy::config::Config;
use s3_proxy::local::gateway::{Gateway, HttpRequest};
use s3_proxy::local::server::{self, Running};
use s3_proxy::{App, lambda};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A fresh folder for a store or a download, under cargo's
/// `CARGO_TARGET_TMPDIR` (target/tmp, on the disk that holds the build), not
/// the system's temporary folder: a CI machine's /tmp may be a small tmpfs,
/// where a 1 GB upload ends in "No space left on device".
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temp dir under target/tmp")
}

pub struct Harness {
    pub gateway: Gateway,
    pub client: aws_sdk_s3::Client,
    pub external: bool,
    pub store: Option<Running>,
    dir: Option<tempfile::TempDir>,
    buckets: std::sync::Mutex<Vec<String>>,
}

/// What the Lambda answered, read back from its response JSON.
#[derive(Debug, Clone)]
pub struct Out {
    pub status: u16,
    pub headers: HashMap<String, Vec<String>>,
    /// The body bytes a client receives once API Gateway decodes base64.
    pub body: Vec<u8>,
    pub is_base64: bool,
    pub json: Value,
}

impl Out {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an XML error body.
    pub fn code(&self) -> String {
        self.elements("Code").into_iter().next().unwrap_or_default()
    }

    /// The text of every `<name>` element of an XML body, as written.
    pub fn elements(&self, name: &str) -> Vec<String> {
        let open = format!("<{name}>");
        let text = self.text();
        text.split(open.as_str())
            .skip(1)
            .filter_map(|rest| rest.split('<').next())
            .map(str::to_string)
            .collect()
    }
}

/// What a client of the emulator in stream mode received.
#[derive(Debug, Clone)]
pub struct Streamed {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The answer failed midway (the client's connection is cut).
    pub cut: bool,
}

impl Streamed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let timeout = config.backend_timeout;
        match std::env::var("S3_PROXY_TEST_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(endpoint) => {
                let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
                let client = server::static_client(
                    &endpoint,
                    &env("S3_PROXY_TEST_ACCESS_KEY", ""),
                    &env("S3_PROXY_TEST_SECRET_KEY", ""),
                    &env("S3_PROXY_TEST_REGION", "us-east-1"),
                    timeout,
                );
                Self::assemble(config, client, None, None, true)
            }
            None => {
                let dir = temp_dir();
                let store = server::start_store(dir.path(), "127.0.0.1:0".parse().unwrap())
                    .await
                    .expect("embedded store starts");
                let client = server::local_client(&store.url(), timeout);
                Self::assemble(config, client, Some(store), Some(dir), false)
            }
        }
    }

    fn assemble(
        config: Config,
        client: aws_sdk_s3::Client,
        store: Option<Running>,
        dir: Option<tempfile::TempDir>,
        external: bool,
    ) -> Self {
        let app = Arc::new(App::new(config, client.clone()));
        Self {
            gateway: Gateway::new(app, "prod"),
            client,
            external,
            store,
            dir,
            buckets: Default::default(),
        }
    }

    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// A bucket name no other test (or run) uses.
    pub fn bucket_name(&self, label: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("s3p-{label}-{pid:x}{nanos:x}{n}");
        name.chars().take(63).collect()
    }

    /// Creates a fresh bucket through the proxy; removed again on drop.
    pub async fn new_bucket(&self, label: &str) -> String {
        let bucket = self.bucket_name(label);
        let out = self
            .call(HttpRequest::new("PUT", &format!("/{bucket}")))
            .await;
        assert_eq!(out.status, 200, "create bucket {bucket}: {}", out.text());
        self.buckets.lock().unwrap().push(bucket.clone());
        bucket
    }

    /// Sends an HTTP-shaped request through the REST v1 event path.
    pub async fn call(&self, req: HttpRequest) -> Out {
        let event = self.gateway.event_json(&req, "test-request-id");
        self.invoke(&event).await
    }

    /// Runs event JSON through the Lambda boundary and the handler.
    pub async fn invoke(&self, event: &str) -> Out {
        let mut context = lambda_http::Context::default();
        context.request_id = "test-request-id".into();
        let json = lambda::invoke_json(&self.gateway.app, event, context)
            .await
            .expect("the event parses");
        parse_response(&json)
    }

    /// Sends a request through the emulator in stream mode
    /// ([`Gateway::call_streaming`]) and reads the answer to its end.
    pub async fn call_streaming(&self, req: HttpRequest) -> Streamed {
        let response = self.gateway.call_streaming(req).await;
        let (status, headers) = (response.status, response.headers);
        let (body, cut) = match response.body.collect().await {
            Ok(body) => (body, false),
            Err((body, _)) => (body, true),
        };
        Streamed {
            status,
            headers,
            body,
            cut,
        }
    }

    pub async fn put(
        &self,
        bucket: &str,
        key_path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Out {
        let mut req = HttpRequest::new("PUT", &format!("/{bucket}/{key_path}")).body(body.to_vec());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        self.call(req).await
    }

    pub async fn get(&self, bucket: &str, key_path: &str) -> Out {
        self.call(HttpRequest::new("GET", &format!("/{bucket}/{key_path}")))
            .await
    }

    /// Deletes the buckets this harness created, with their objects.
    pub async fn cleanup(&self) {
        let buckets = std::mem::take(&mut *self.buckets.lock().unwrap());
        for bucket in buckets {
            empty_and_delete(&self.client, &bucket).await;
        }
    }
}

pub async fn empty_and_delete(client: &aws_sdk_s3::Client, bucket: &str) {
    let mut token = None;
    loop {
        let Ok(page) = client
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
        else {
            return;
        };
        for object in page.contents() {
            if let Some(key) = object.key() {
                let _ = client.delete_object().bucket(bucket).key(key).send().await;
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let _ = client.delete_bucket().bucket(bucket).send().await;
}

/// Reads a REST v1 proxy response JSON.
pub fn parse_response(json: &[u8]) -> Out {
    let v: Value = serde_json::from_slice(json).expect("response JSON");
    let status = v["statusCode"].as_u64().expect("statusCode") as u16;
    let mut headers: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(multi) = v["multiValueHeaders"].as_object() {
        for (k, vals) in multi {
            for val in vals.as_array().into_iter().flatten() {
                headers
                    .entry(k.to_ascii_lowercase())
                    .or_default()
                    .push(val.as_str().unwrap_or_default().to_string());
            }
        }
    }
    let is_base64 = v["isBase64Encoded"].as_bool().unwrap_or(false);
    let body = match v["body"].as_str() {
        None => Vec::new(),
        Some(s) if is_base64 => STANDARD.decode(s).expect("base64 body decodes"),
        Some(s) => s.as_bytes().to_vec(),
    };
    Out {
        status,
        headers,
        body,
        is_base64,
        json: v,
    }
}

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Uploads `parts` as one object with aws-sdk-s3, as `aws s3 cp` uploads a
/// large file: an upload created with CRC32, each part with its CRC32, the
/// completion listing them (S3 keeps a COMPOSITE checksum). Its ETag.
pub async fn upload_in_parts(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    parts: &[Vec<u8>],
) -> String {
    use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
    let up = client.create_multipart_upload().bucket(bucket).key(key);
    let up = up.checksum_algorithm(ChecksumAlgorithm::Crc32);
    let id = up.send().await.unwrap().upload_id().unwrap().to_string();
    let mut completed = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let upload = client.upload_part().bucket(bucket).key(key).upload_id(&id);
        let upload = upload
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32);
        let out = upload.body(part.clone().into()).send().await.unwrap();
        let done = CompletedPart::builder()
            .part_number(n)
            .e_tag(out.e_tag().unwrap());
        completed.push(done.checksum_crc32(out.checksum_crc32().unwrap()).build());
    }
    let list = CompletedMultipartUpload::builder()
        .set_parts(Some(completed))
        .build();
    let done = client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id);
    let done = done.multipart_upload(list).send().await.unwrap();
    done.e_tag().unwrap().to_string()
}

/// Stores a large object straight in S3, through a presigned PUT: the SDK's
/// own PUT hashes the payload for SigV4, which in a debug build took 20 s
/// of a 64 MB upload.
pub async fn put_large(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    body: &[u8],
) {
    use aws_sdk_s3::presigning::PresigningConfig;
    let presigned = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
        .await
        .unwrap();
    let put = reqwest::Client::new()
        .put(presigned.uri())
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "PUT {bucket}/{key}");
}
