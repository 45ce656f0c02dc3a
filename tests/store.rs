//! The embedded S3 store on its own, as S3 clients see it (aws-sdk-s3 over
//! loopback, SigV4): the S3 rules it keeps by construction (issue 13). The
//! store runs in this process over a fresh folder; tests/store_process.rs
//! runs it as a process (kill, memory, two processes, old layouts).

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration,
};
use common::random_bytes;
use s3_proxy::local::server::{self, Running};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

struct Store {
    client: Client,
    store: Running,
    _dir: tempfile::TempDir,
}

async fn store() -> Store {
    let dir = common::temp_dir();
    let store = server::start_store(dir.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = server::local_client(&store.url(), Duration::from_secs(60));
    Store {
        client,
        store,
        _dir: dir,
    }
}

/// The S3 error code of an SDK error ("NotFound" and friends for HEAD).
fn code<E: ProvideErrorMetadata, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("not a service error")
        .to_string()
}

/// An SSE-C key (32 bytes of 0x01, base64) and its MD5.
const SSE_C_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const SSE_C_KEY_MD5: &str = "4Funlf7OsLF0HL+vKU+fkg==";

async fn put(c: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    let out = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {key:?}: {e:?}"));
    out.e_tag().unwrap().to_string()
}

async fn get(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key:?}: {e:?}"));
    out.body.collect().await.unwrap().to_vec()
}

#[tokio::test]
async fn every_s3_key_works_and_names_never_clash() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("keys").send().await.unwrap();
    let long = "k".repeat(1024);
    let two_hundred = format!("{}/{}", "a".repeat(100), "b".repeat(99));
    let keys = [
        "a",
        "a/",
        "a/b",
        "a/b/",
        "dir/",
        "../up",
        "./dot",
        "a//b",
        "/lead",
        "é/ü 日本 ✓",
        "spaces and + and %2F",
        long.as_str(),
        two_hundred.as_str(),
    ];
    for (i, key) in keys.iter().enumerate() {
        put(c, "keys", key, format!("body {i}").as_bytes()).await;
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            get(c, "keys", key).await,
            format!("body {i}").as_bytes(),
            "{key:?}"
        );
    }
    // Over 1024 bytes: refused, as S3 does.
    let too_long = "k".repeat(1025);
    let err = c
        .put_object()
        .bucket("keys")
        .key(&too_long)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "KeyTooLongError", "{err:?}");
    // Every key is listed, folder markers included, in byte order.
    let out = c.list_objects_v2().bucket("keys").send().await.unwrap();
    let listed: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
    // A bucket holding only a folder marker is not empty.
    c.create_bucket().bucket("marker").send().await.unwrap();
    put(c, "marker", "only/", b"").await;
    let err = c.delete_bucket().bucket("marker").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketNotEmpty");
    // Deleting the object `a` leaves `a/` and `a/b`.
    c.delete_object()
        .bucket("keys")
        .key("a")
        .send()
        .await
        .unwrap();
    assert_eq!(get(c, "keys", "a/b").await, b"body 2");
    assert_eq!(get(c, "keys", "a/").await, b"body 1");
}

/// ListObjectsV2 as S3 defines it, computed the slow way: every key, in
/// byte order, rolled up at the first delimiter after the prefix; entries
/// after the marker only.
fn model(
    keys: &BTreeSet<String>,
    prefix: &str,
    delimiter: &str,
    after: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys.iter().filter(|k| k.starts_with(prefix)) {
        let entry = match (!delimiter.is_empty())
            .then(|| key[prefix.len()..].find(delimiter))
            .flatten()
        {
            Some(i) => format!("{}*", &key[..prefix.len() + i + delimiter.len()]),
            None => key.clone(),
        };
        let name = entry.trim_end_matches('*');
        if after.is_some_and(|a| name <= a) || out.last() == Some(&entry) {
            continue;
        }
        out.push(entry);
    }
    out
}

/// Every page of a listing through the SDK; entries as in [`model`].
async fn list_all(
    c: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    start_after: Option<&str>,
    max_keys: i32,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter(delimiter)
            .set_start_after(start_after.map(str::to_string))
            .max_keys(max_keys)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        let mut entries: Vec<String> = page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .chain(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(|p| format!("{p}*"))),
            )
            .collect();
        entries.sort_by(|a, b| a.trim_end_matches('*').cmp(b.trim_end_matches('*')));
        assert_eq!(page.key_count(), Some(entries.len() as i32));
        assert!(entries.len() <= max_keys as usize);
        out.extend(entries);
        if !page.is_truncated().unwrap_or(false) {
            assert!(page.next_continuation_token().is_none());
            return out;
        }
        token = page.next_continuation_token().map(str::to_string);
        assert!(token.is_some(), "a truncated page names where to go on");
    }
}

#[tokio::test]
async fn listings_are_ordered_range_scans_with_any_delimiter() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("list").send().await.unwrap();
    let mut keys = BTreeSet::new();
    let parts = ["a", "a/", "b", "é", "--", "/", "z", "日本", "x.y"];
    let mut seed = 7u64;
    while keys.len() < 150 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = 1 + (seed % 5) as usize;
        let key: String = (0..n)
            .map(|i| parts[((seed >> (8 * i)) % parts.len() as u64) as usize])
            .collect();
        keys.insert(key);
    }
    let client = Arc::new(c.clone());
    let mut puts = tokio::task::JoinSet::new();
    for key in keys.clone() {
        let client = client.clone();
        puts.spawn(async move { put(&client, "list", &key, b"").await });
    }
    while let Some(done) = puts.join_next().await {
        done.unwrap();
    }
    for delimiter in ["", "/", "--", "é", "a/", "日本"] {
        for prefix in ["", "a", "a/", "é", "z/"] {
            for (start_after, max_keys) in [
                (None, 1000),
                (None, 7),
                (Some("a/b"), 3),
                (Some("é"), 1000),
                (None, 1),
            ] {
                let expected = model(&keys, prefix, delimiter, start_after);
                let got = list_all(c, "list", prefix, delimiter, start_after, max_keys).await;
                assert_eq!(
                    got, expected,
                    "prefix {prefix:?} delimiter {delimiter:?} start-after {start_after:?} max-keys {max_keys}"
                );
            }
        }
    }
    // max-keys 0: nothing, not truncated.
    let page = c
        .list_objects_v2()
        .bucket("list")
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (page.key_count(), page.is_truncated()),
        (Some(0), Some(false))
    );
    // A token that is not one of ours.
    let err = c
        .list_objects_v2()
        .bucket("list")
        .continuation_token("%%%")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    // V1 lists the same.
    let v1 = c
        .list_objects()
        .bucket("list")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let v2 = c
        .list_objects_v2()
        .bucket("list")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.contents().len(), v2.contents().len());
    assert_eq!(v1.common_prefixes().len(), v2.common_prefixes().len());
}

#[tokio::test]
async fn concurrent_create_only_puts_have_exactly_one_winner() {
    let s = store().await;
    let c = Arc::new(s.client.clone());
    c.create_bucket().bucket("race").send().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let c = c.clone();
        tasks.spawn(async move {
            let body = format!("writer {i}").into_bytes();
            let out = c
                .put_object()
                .bucket("race")
                .key("once")
                .if_none_match("*")
                .body(ByteStream::from(body.clone()))
                .send()
                .await;
            (body, out.map_err(|e| code(&e)))
        });
    }
    let mut winners = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (body, out) = done.unwrap();
        match out {
            Ok(_) => winners.push(body),
            Err(code) => assert_eq!(code, "PreconditionFailed"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create-only PUT wins");
    assert_eq!(get(&c, "race", "once").await, winners[0]);
}

#[tokio::test]
async fn user_metadata_is_kept_up_to_s3s_2_kb() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("meta").send().await.unwrap();
    // Names and values, in bytes: 2 + 2046 is S3's 2 KB, one more is not.
    let put = |value: String| {
        c.put_object()
            .bucket("meta")
            .key("k")
            .metadata("ab", value)
            .body(b"x".to_vec().into())
            .send()
    };
    put("v".repeat(2046)).await.unwrap();
    let refused = put("v".repeat(2047))
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(refused.meta().code(), Some("MetadataTooLarge"));
    let upload = c
        .create_multipart_upload()
        .bucket("meta")
        .key("big")
        .metadata("ab", "v".repeat(2047))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(upload.meta().code(), Some("MetadataTooLarge"));
}

#[tokio::test]
async fn a_whole_objects_checksum_is_answered_with_its_type() {
    use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("sumtype").send().await.unwrap();
    let put = c.put_object().bucket("sumtype").key("k");
    put.checksum_sha256("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap();
    let head = c.head_object().bucket("sumtype").key("k");
    let head = head
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.checksum_sha256(),
        Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
    );
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
}

/// A client that sends no checksum of its own and asks for none back
/// (aws-sdk-s3 adds a CRC32 to every upload and asks on every GET by
/// default).
fn without_checksums(c: &Client) -> Client {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let conf = c
        .config()
        .to_builder()
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(conf)
}

fn crc64nvme(bytes: &[u8]) -> String {
    s3_proxy::operation::ChecksumAlgorithm::Crc64Nvme.compute(bytes)
}

#[tokio::test]
async fn every_object_has_a_checksum_answered_when_asked() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType, MetadataDirective};
    let s = store().await;
    let c = &without_checksums(&s.client);
    c.create_bucket().bucket("sums").send().await.unwrap();
    // No checksum sent: S3's default, CRC64NVME, computed and answered.
    let put = c.put_object().bucket("sums").key("plain");
    let put = put.body(b"hello".to_vec().into()).send().await.unwrap();
    let hello = crc64nvme(b"hello");
    assert_eq!(put.checksum_crc64_nvme(), Some(hello.as_str()));
    assert_eq!(put.checksum_type(), Some(&ChecksumType::FullObject));
    // Answered to x-amz-checksum-mode: ENABLED only, on GET and HEAD alike.
    let head = c.head_object().bucket("sums").key("plain").send().await;
    assert_eq!(head.unwrap().checksum_crc64_nvme(), None);
    let get = c.get_object().bucket("sums").key("plain").send().await;
    assert_eq!(get.unwrap().checksum_crc64_nvme(), None);
    let head = c.head_object().bucket("sums").key("plain");
    let head = head
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc64_nvme(), Some(hello.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    let get = c.get_object().bucket("sums").key("plain");
    let get = get
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(get.checksum_crc64_nvme(), Some(hello.as_str()));
    // A range is not the object: no checksum.
    let part = c
        .get_object()
        .bucket("sums")
        .key("plain")
        .range("bytes=0-1");
    let part = part
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(part.checksum_crc64_nvme(), None);

    // A copy keeps the source's checksum, with new metadata too, or takes
    // the algorithm it names.
    let copy = c
        .copy_object()
        .bucket("sums")
        .key("copy")
        .copy_source("sums/plain");
    let copy = copy.metadata_directive(MetadataDirective::Replace);
    let copied = copy.metadata("m", "1").send().await.unwrap();
    let result = copied.copy_object_result().unwrap();
    assert_eq!(result.checksum_crc64_nvme(), Some(hello.as_str()));
    let copy = c
        .copy_object()
        .bucket("sums")
        .key("sha")
        .copy_source("sums/plain");
    let copy = copy.checksum_algorithm(ChecksumAlgorithm::Sha256);
    let copied = copy.send().await.unwrap();
    let sha256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    let result = copied.copy_object_result().unwrap();
    assert_eq!(result.checksum_sha256(), Some(sha256));
    assert_eq!(result.checksum_crc64_nvme(), None);
    let head = c.head_object().bucket("sums").key("sha");
    let head = head
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_sha256(), Some(sha256));
}

/// The checksum of an SDK output in the algorithm of the test below
/// (CRC32, SHA256, else CRC64NVME).
macro_rules! own_checksum {
    ($out:expr, $algorithm:expr) => {
        match $algorithm {
            s3_proxy::operation::ChecksumAlgorithm::Crc32 => $out.checksum_crc32(),
            s3_proxy::operation::ChecksumAlgorithm::Sha256 => $out.checksum_sha256(),
            _ => $out.checksum_crc64_nvme(),
        }
    };
}

/// Multipart uploads keep checksums as S3 does: the algorithm and type
/// CreateMultipartUpload names (or S3's default, a CRC64NVME of the whole
/// object), each part's checksum, and the object's, checked against what
/// CompleteMultipartUpload claims. The values are S3's for these two parts
/// (src/local/store/checksums.rs checks them without a server).
#[tokio::test]
async fn multipart_uploads_keep_checksums_as_s3_does() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    use s3_proxy::operation::ChecksumAlgorithm as Algorithm;
    let s = store().await;
    let c = &without_checksums(&s.client);
    c.create_bucket().bucket("mpsums").send().await.unwrap();
    let parts: [Vec<u8>; 2] = [vec![b'A'; 5 * 1024 * 1024], b"tail".to_vec()];
    let cases = [
        (
            Some(ChecksumAlgorithm::Crc32),
            None,
            ChecksumType::Composite,
            "ar6UVw==-2",
        ),
        (
            Some(ChecksumAlgorithm::Crc32),
            Some(ChecksumType::FullObject),
            ChecksumType::FullObject,
            "gPNU7Q==",
        ),
        (
            Some(ChecksumAlgorithm::Sha256),
            None,
            ChecksumType::Composite,
            "2kYaKgwMh4G97NB7sxufv13cvQqUqNgjK75WsW6s16Q=-2",
        ),
        (None, None, ChecksumType::FullObject, "UpfGsWmSCEg="),
    ];
    for (algorithm, asked_type, kind, expected) in cases {
        let key = format!("{algorithm:?}-{asked_type:?}");
        let named = algorithm
            .clone()
            .map(|a| Algorithm::from_name(&a.as_str().to_ascii_lowercase()).unwrap());
        let own = named.unwrap_or(Algorithm::Crc64Nvme);
        let up = c.create_multipart_upload().bucket("mpsums").key(&key);
        let up = up
            .set_checksum_algorithm(algorithm.clone())
            .set_checksum_type(asked_type.clone());
        let up = up.send().await.unwrap();
        assert_eq!(up.checksum_algorithm(), algorithm.as_ref(), "{key}");
        let answered_type = algorithm.as_ref().map(|_| &kind);
        assert_eq!(up.checksum_type(), answered_type, "{key}");
        let id = up.upload_id().unwrap();
        let mut completed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let upload = c
                .upload_part()
                .bucket("mpsums")
                .key(&key)
                .upload_id(id)
                .part_number(n);
            // The first part sends its checksum; the store computes the second's.
            let upload = match (i, own) {
                (0, Algorithm::Crc32) => upload.checksum_crc32(own.compute(part)),
                (0, Algorithm::Sha256) => upload.checksum_sha256(own.compute(part)),
                _ => upload,
            };
            let out = upload
                .body(ByteStream::from(part.clone()))
                .send()
                .await
                .unwrap();
            let sum = own.compute(part);
            let answered = own_checksum!(out, own);
            assert_eq!(answered, Some(sum.as_str()), "{key} part {n}");
            let done = CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap());
            completed.push(
                match own {
                    Algorithm::Crc32 => done.checksum_crc32(sum),
                    Algorithm::Sha256 => done.checksum_sha256(sum),
                    _ => done,
                }
                .build(),
            );
        }
        let listed = c
            .list_parts()
            .bucket("mpsums")
            .key(&key)
            .upload_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.checksum_algorithm(), algorithm.as_ref(), "{key}");
        for (part, bytes) in listed.parts().iter().zip(&parts) {
            let listed = [
                part.checksum_crc32(),
                part.checksum_sha256(),
                part.checksum_crc64_nvme(),
            ];
            assert!(
                listed.contains(&Some(own.compute(bytes).as_str())),
                "{key}: {part:?}"
            );
        }
        let uploads = c
            .list_multipart_uploads()
            .bucket("mpsums")
            .send()
            .await
            .unwrap();
        let upload = uploads
            .uploads()
            .iter()
            .find(|u| u.upload_id() == Some(id))
            .unwrap();
        assert_eq!(upload.checksum_algorithm(), algorithm.as_ref(), "{key}");

        let complete = |parts: Vec<CompletedPart>| {
            c.complete_multipart_upload()
                .bucket("mpsums")
                .key(&key)
                .upload_id(id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
        };
        // Refused, the upload left as it was: a wrong size, a wrong claim
        // for the object, and (where the upload named an algorithm) a part
        // listed without its checksum or with another value.
        let size = (parts[0].len() + parts[1].len()) as i64;
        let wrong_size = complete(completed.clone())
            .mpu_object_size(size + 1)
            .send()
            .await;
        assert_eq!(code(&wrong_size.unwrap_err()), "InvalidRequest", "{key}");
        let claim = complete(completed.clone());
        let claim = match own {
            Algorithm::Crc32 => claim.checksum_crc32("AAAAAA=="),
            Algorithm::Sha256 => claim.checksum_sha256(Algorithm::Sha256.compute(b"no")),
            _ => claim.checksum_crc64_nvme("AAAAAAAAAAA="),
        };
        assert_eq!(code(&claim.send().await.unwrap_err()), "BadDigest", "{key}");
        if named.is_some() {
            let bare: Vec<CompletedPart> = completed
                .iter()
                .map(|p| {
                    CompletedPart::builder()
                        .part_number(p.part_number().unwrap())
                        .e_tag(p.e_tag().unwrap())
                        .build()
                })
                .collect();
            let missing = complete(bare).send().await.unwrap_err();
            assert_eq!(code(&missing), "InvalidRequest", "{key}");
            let wrong = missing
                .as_service_error()
                .and_then(|e| e.message())
                .unwrap();
            assert!(
                wrong.contains("must include the checksum for each part"),
                "{wrong}"
            );
            let mut other = completed.clone();
            other[1] = match own {
                Algorithm::Crc32 => CompletedPart::builder().checksum_crc32(own.compute(b"x")),
                _ => CompletedPart::builder().checksum_sha256(own.compute(b"x")),
            }
            .part_number(2)
            .e_tag(completed[1].e_tag().unwrap())
            .build();
            assert_eq!(
                code(&complete(other).send().await.unwrap_err()),
                "InvalidPart",
                "{key}"
            );
        }
        let done = complete(completed).mpu_object_size(size);
        let done = done
            .set_checksum_type(asked_type.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(own_checksum!(done, own), Some(expected), "{key}");
        assert_eq!(done.checksum_type(), Some(&kind), "{key}");
        let head = c.head_object().bucket("mpsums").key(&key);
        let head = head
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(own_checksum!(head, own), Some(expected), "{key}");
        assert_eq!(head.checksum_type(), Some(&kind), "{key}");
    }
    // What S3 refuses at the start, and a part of another algorithm.
    let refused = c.create_multipart_upload().bucket("mpsums").key("k");
    let refused = refused
        .checksum_algorithm(ChecksumAlgorithm::Sha1)
        .checksum_type(ChecksumType::FullObject);
    assert_eq!(code(&refused.send().await.unwrap_err()), "InvalidRequest");
    let up = c.create_multipart_upload().bucket("mpsums").key("k");
    let up = up
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let part = c
        .upload_part()
        .bucket("mpsums")
        .key("k")
        .upload_id(up.upload_id().unwrap());
    let part = part
        .part_number(1)
        .checksum_crc32(Algorithm::Crc32.compute(b"x"));
    let other = part
        .body(ByteStream::from(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&other), "InvalidRequest");
    let message = other.as_service_error().and_then(|e| e.message()).unwrap();
    assert!(
        message.contains("expected checksum Type: sha256, actual checksum Type: crc32"),
        "{message}"
    );
}

/// GET and HEAD by part number, as S3 answers them (and as transfer
/// managers download in parallel): a part of a multipart object (206, its
/// bytes, the object's ETag, `x-amz-mp-parts-count`, the part's checksum),
/// part 1 of any other object (all of it), and S3's refusals.
#[tokio::test]
async fn objects_are_read_by_part_number() {
    use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
    use s3_proxy::operation::ChecksumAlgorithm as Algorithm;
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("byparts").send().await.unwrap();
    let parts = [random_bytes(5 * 1024 * 1024, 7), b"tail".to_vec()];
    let etag = common::upload_in_parts(c, "byparts", "mp", &parts).await;
    let size = parts[0].len() + parts[1].len();
    for (n, part) in [(1, &parts[0]), (2, &parts[1])] {
        let start = if n == 1 { 0 } else { parts[0].len() };
        let get = c.get_object().bucket("byparts").key("mp").part_number(n);
        let got = get
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let range = format!("bytes {start}-{}/{size}", start + part.len() - 1);
        assert_eq!(got.content_range(), Some(range.as_str()), "part {n}");
        assert_eq!(
            (got.parts_count(), got.e_tag()),
            (Some(2), Some(etag.as_str()))
        );
        let crc32 = Algorithm::Crc32.compute(part);
        assert_eq!(got.checksum_crc32(), Some(crc32.as_str()), "part {n}");
        assert_eq!(got.checksum_type(), Some(&ChecksumType::Composite));
        assert_eq!(
            &got.body.collect().await.unwrap().to_vec(),
            part,
            "part {n}"
        );
        let head = c.head_object().bucket("byparts").key("mp").part_number(n);
        let head = head.send().await.unwrap();
        assert_eq!(head.content_length(), Some(part.len() as i64), "part {n}");
        assert_eq!(head.parts_count(), Some(2));
    }
    // GetObjectAttributes: the parts (in pages), the checksum, the size.
    use aws_sdk_s3::types::ObjectAttributes;
    let attributes = |key: &str| {
        c.get_object_attributes()
            .bucket("byparts")
            .key(key)
            .object_attributes(ObjectAttributes::ObjectParts)
            .object_attributes(ObjectAttributes::Checksum)
            .object_attributes(ObjectAttributes::ObjectSize)
    };
    let all = attributes("mp").send().await.unwrap();
    assert_eq!(all.object_size(), Some(size as i64));
    let checksum = all.checksum().unwrap();
    let composite = checksum.checksum_crc32().unwrap();
    assert!(composite.ends_with("-2"), "{composite}");
    assert_eq!(checksum.checksum_type(), Some(&ChecksumType::Composite));
    assert_eq!(all.e_tag(), None, "not asked");
    let listed = all.object_parts().unwrap();
    assert_eq!(listed.total_parts_count(), Some(2));
    let sizes: Vec<(Option<i64>, Option<&str>)> = listed
        .parts()
        .iter()
        .map(|p| (p.size(), p.checksum_crc32()))
        .collect();
    let crc32s = parts.clone().map(|p| Algorithm::Crc32.compute(&p));
    let expected = [
        (Some(parts[0].len() as i64), Some(crc32s[0].as_str())),
        (Some(4), Some(crc32s[1].as_str())),
    ];
    assert_eq!(sizes, expected);
    let page = attributes("mp").max_parts(1).send().await.unwrap();
    let page = page.object_parts().unwrap();
    assert_eq!(
        (page.is_truncated(), page.next_part_number_marker()),
        (Some(true), Some("1"))
    );
    let rest = attributes("mp")
        .part_number_marker("1")
        .send()
        .await
        .unwrap();
    let rest = rest.object_parts().unwrap();
    assert_eq!(
        rest.parts()
            .iter()
            .map(|p| p.part_number())
            .collect::<Vec<_>>(),
        [Some(2)]
    );
    assert_eq!(rest.is_truncated(), Some(false));
    // An object of one part: part 1 is all of it, with no parts count.
    put(c, "byparts", "single", b"whole").await;
    let got = c
        .get_object()
        .bucket("byparts")
        .key("single")
        .part_number(1);
    let got = got.send().await.unwrap();
    assert_eq!(got.parts_count(), None);
    assert_eq!(got.body.collect().await.unwrap().to_vec(), b"whole");
    let single = attributes("single").send().await.unwrap();
    assert!(single.object_parts().is_none(), "one part: none listed");
    assert_eq!(single.object_size(), Some(5));
    // CopyObject makes an object of one part, whose ETag is the MD5 of its
    // bytes (not the source's `-2`), as S3 does.
    let copy = c
        .copy_object()
        .bucket("byparts")
        .key("copy")
        .copy_source("byparts/mp");
    let copied = copy.send().await.unwrap();
    use md5::Digest;
    let md5 = format!("\"{}\"", hex::encode(md5::Md5::digest(parts.concat())));
    assert_eq!(
        copied.copy_object_result().unwrap().e_tag(),
        Some(md5.as_str())
    );
    let copy = attributes("copy").send().await.unwrap();
    assert!(copy.object_parts().is_none(), "a copy is one part");
    // Past the last part: 416 InvalidPartNumber; with a Range, or out of
    // 1..=10000: 400.
    for key in ["mp", "single"] {
        let past = c.get_object().bucket("byparts").key(key).part_number(3);
        let past = past.send().await.unwrap_err();
        assert_eq!(code(&past), "InvalidPartNumber", "{key}");
        assert_eq!(past.raw_response().unwrap().status().as_u16(), 416);
    }
    let both = c
        .get_object()
        .bucket("byparts")
        .key("mp")
        .part_number(1)
        .range("bytes=0-1");
    assert_eq!(code(&both.send().await.unwrap_err()), "InvalidRequest");
    let zero = c
        .get_object()
        .bucket("byparts")
        .key("mp")
        .part_number(10_001);
    assert_eq!(code(&zero.send().await.unwrap_err()), "InvalidArgument");
}

/// UploadPartCopy (what `aws s3 cp` and transfer managers use to copy
/// objects over their multipart threshold): a part made of an object or a
/// range of it, with the ETag and checksum UploadPart would give those
/// bytes, and S3's refusals.
#[tokio::test]
async fn parts_are_copied_from_objects_and_ranges() {
    use aws_sdk_s3::types::ChecksumAlgorithm;
    use md5::Digest;
    use s3_proxy::operation::ChecksumAlgorithm as Algorithm;
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("partcopy").send().await.unwrap();
    let source = random_bytes(5 * 1024 * 1024 + 10, 11);
    put(c, "partcopy", "dir/the source", &source).await;
    put(c, "partcopy", "small", b"small object").await;
    let up = c.create_multipart_upload().bucket("partcopy").key("joined");
    let up = up
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let copy = |n: i32, from: &str| {
        c.upload_part_copy()
            .bucket("partcopy")
            .key("joined")
            .upload_id(id)
            .part_number(n)
            .copy_source(from)
    };
    let first = &source[..5 * 1024 * 1024];
    let range = format!("bytes=0-{}", first.len() - 1);
    let one = copy(1, "partcopy/dir/the%20source").copy_source_range(range);
    let one = one.send().await.unwrap();
    let two = copy(2, "/partcopy/small").send().await.unwrap();
    let mut completed = Vec::new();
    let mut md5s = Vec::new();
    for (n, out, bytes) in [(1, &one, first), (2, &two, &b"small object"[..])] {
        let result = out.copy_part_result().unwrap();
        let md5 = md5::Md5::digest(bytes);
        let etag = format!("\"{}\"", hex::encode(md5));
        assert_eq!(result.e_tag(), Some(etag.as_str()), "part {n}");
        let crc32 = Algorithm::Crc32.compute(bytes);
        assert_eq!(result.checksum_crc32(), Some(crc32.as_str()), "part {n}");
        md5s.extend_from_slice(&md5);
        let part = CompletedPart::builder().part_number(n).e_tag(etag);
        completed.push(part.checksum_crc32(crc32).build());
    }
    let listed = c
        .list_parts()
        .bucket("partcopy")
        .key("joined")
        .upload_id(id);
    let sizes: Vec<i64> = listed
        .send()
        .await
        .unwrap()
        .parts()
        .iter()
        .map(|p| p.size().unwrap())
        .collect();
    assert_eq!(sizes, [first.len() as i64, 12]);

    // S3's refusals, the upload left as it was.
    let refusals = [
        (
            copy(3, "partcopy/small").copy_source_range("bytes=0-12"),
            "InvalidArgument",
        ),
        (
            copy(3, "partcopy/small").copy_source_range("0-2"),
            "InvalidArgument",
        ),
        (copy(3, "partcopy/missing"), "NoSuchKey"),
        (
            copy(3, "partcopy/small").copy_source_if_match("\"other\""),
            "PreconditionFailed",
        ),
        (copy(10_001, "partcopy/small"), "InvalidArgument"),
        // SSE-C of the source (or the copy) is not emulated: refused.
        (
            copy(3, "partcopy/small")
                .copy_source_sse_customer_algorithm("AES256")
                .copy_source_sse_customer_key(SSE_C_KEY)
                .copy_source_sse_customer_key_md5(SSE_C_KEY_MD5),
            "NotImplemented",
        ),
        (
            copy(3, "partcopy/small").upload_id("no-such-upload"),
            "NoSuchUpload",
        ),
    ];
    for (i, (call, expected)) in refusals.into_iter().enumerate() {
        assert_eq!(
            code(&call.send().await.unwrap_err()),
            expected,
            "refusal {i}"
        );
    }
    let copy = c
        .copy_object()
        .bucket("partcopy")
        .key("c")
        .copy_source("partcopy/small");
    let copy = copy
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(SSE_C_KEY)
        .copy_source_sse_customer_key_md5(SSE_C_KEY_MD5);
    assert_eq!(code(&copy.send().await.unwrap_err()), "NotImplemented");

    let done = c
        .complete_multipart_upload()
        .bucket("partcopy")
        .key("joined")
        .upload_id(id);
    let list = CompletedMultipartUpload::builder()
        .set_parts(Some(completed))
        .build();
    let done = done.multipart_upload(list).send().await.unwrap();
    let etag = format!("\"{}-2\"", hex::encode(md5::Md5::digest(&md5s)));
    assert_eq!(done.e_tag(), Some(etag.as_str()));
    assert_eq!(
        get(c, "partcopy", "joined").await,
        [first, &b"small object"[..]].concat()
    );
}

#[tokio::test]
async fn checksums_the_store_does_not_keep_are_refused() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("sums").send().await.unwrap();
    // MD5 of "hello", as S3's newer x-amz-checksum-md5 carries it.
    let refused = c
        .put_object()
        .bucket("sums")
        .key("k")
        .checksum_md5("XUFAKrxLKna5cZ2REBfFkg==")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(refused.meta().code(), Some("NotImplemented"));
    let listed = c.list_objects_v2().bucket("sums").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0), "nothing stored");
}

#[tokio::test]
async fn listings_are_url_encoded_in_s3s_form_when_asked() {
    use aws_sdk_s3::types::EncodingType;
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("enc").send().await.unwrap();
    for key in ["sp ace+plus/é~", "a-b_c.d*e"] {
        let put = c.put_object().bucket("enc").key(key);
        put.body(b"x".to_vec().into()).send().await.unwrap();
    }
    let out = c
        .list_objects_v2()
        .bucket("enc")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    // `/` kept, a space as `+`, `+` escaped (as S3 is observed to write
    // them), `~` escaped (as Java's URLEncoder writes it).
    assert_eq!(keys, ["a-b_c.d*e", "sp+ace%2Bplus/%C3%A9%7E"]);
}

#[tokio::test]
async fn buckets_have_acls_disabled_as_s3s_new_buckets_do() {
    use aws_sdk_s3::types::{BucketCannedAcl, ObjectCannedAcl};
    let s = store().await;
    let c = &s.client;
    let create = |name: &'static str, acl| c.create_bucket().bucket(name).acl(acl).send();
    create("acl-private", BucketCannedAcl::Private)
        .await
        .unwrap();
    let public = create("acl-public", BucketCannedAcl::PublicRead)
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        public.meta().code(),
        Some("InvalidBucketAclWithObjectOwnership")
    );
    let put = |acl| {
        c.put_object()
            .bucket("acl-private")
            .key("k")
            .acl(acl)
            .body(b"x".to_vec().into())
            .send()
    };
    put(ObjectCannedAcl::BucketOwnerFullControl).await.unwrap();
    for acl in [ObjectCannedAcl::PublicRead, ObjectCannedAcl::Private] {
        let refused = put(acl.clone()).await.unwrap_err().into_service_error();
        assert_eq!(
            refused.meta().code(),
            Some("AccessControlListNotSupported"),
            "{acl:?}"
        );
    }
    let upload = c
        .create_multipart_upload()
        .bucket("acl-private")
        .key("big")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(upload.meta().code(), Some("AccessControlListNotSupported"));
}

#[tokio::test]
async fn put_honours_if_match() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("cas").send().await.unwrap();
    let first = put(c, "cas", "k", b"v1").await;
    let err = c
        .put_object()
        .bucket("cas")
        .key("k")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .body(ByteStream::from_static(b"stale"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    let second = c
        .put_object()
        .bucket("cas")
        .key("k")
        .if_match(&first)
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap();
    assert_ne!(second.e_tag().unwrap(), first);
    assert_eq!(get(c, "cas", "k").await, b"v2");
    // If-Match on a key that does not exist: 404 NoSuchKey, as S3 answers.
    let err = c
        .put_object()
        .bucket("cas")
        .key("missing")
        .if_match(&first)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    // Concurrent compare-and-swap from one ETag: one winner.
    let c2 = Arc::new(c.clone());
    let etag = second.e_tag().unwrap().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (c, etag) = (c2.clone(), etag.clone());
        tasks.spawn(async move {
            c.put_object()
                .bucket("cas")
                .key("k")
                .if_match(etag)
                .body(ByteStream::from(format!("cas {i}").into_bytes()))
                .send()
                .await
                .is_ok()
        });
    }
    let mut wins = 0;
    while let Some(ok) = tasks.join_next().await {
        wins += usize::from(ok.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn delete_bucket_never_loses_a_concurrent_write() {
    let s = store().await;
    let c = Arc::new(s.client.clone());
    for round in 0..12 {
        let bucket = format!("racing-{round}");
        c.create_bucket().bucket(&bucket).send().await.unwrap();
        let mut puts = tokio::task::JoinSet::new();
        for i in 0..6 {
            let (c, bucket) = (c.clone(), bucket.clone());
            puts.spawn(async move {
                let key = format!("k{i}");
                let out = c
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(ByteStream::from(vec![b'x'; 1000 * i]))
                    .send()
                    .await;
                (key, out.map_err(|e| code(&e)))
            });
        }
        let deleted = c
            .delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| code(&e));
        let mut stored = Vec::new();
        while let Some(done) = puts.join_next().await {
            let (key, out) = done.unwrap();
            match out {
                Ok(_) => stored.push(key),
                Err(code) => assert_eq!(code, "NoSuchBucket", "round {round} {key}"),
            }
        }
        match deleted {
            Ok(_) => assert!(
                stored.is_empty(),
                "round {round}: acknowledged writes {stored:?} into a deleted bucket"
            ),
            Err(code) => assert_eq!(code, "BucketNotEmpty", "round {round}"),
        }
        for key in stored {
            assert_eq!(
                get(&c, &bucket, &key).await.len(),
                1000 * key[1..].parse::<usize>().unwrap()
            );
        }
    }
}

#[tokio::test]
async fn errors_keep_s3_codes() {
    let s = store().await;
    let c = &s.client;
    let err = c
        .get_object()
        .bucket("nope")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = c
        .put_object()
        .bucket("nope")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = c.list_objects_v2().bucket("nope").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = c.delete_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    c.create_bucket().bucket("codes").send().await.unwrap();
    let err = c.create_bucket().bucket("codes").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketAlreadyOwnedByYou");
    let err = c
        .get_object()
        .bucket("codes")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    let err = c
        .head_object()
        .bucket("codes")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NotFound");
    // Deleting a missing key is a success.
    c.delete_object()
        .bucket("codes")
        .key("k")
        .send()
        .await
        .unwrap();
    put(c, "codes", "k", b"0123456789").await;
    let err = c.delete_bucket().bucket("codes").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketNotEmpty");
    let err = c
        .get_object()
        .bucket("codes")
        .key("k")
        .range("bytes=10-20")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRange");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(416));
    let err = c
        .get_object()
        .bucket("codes")
        .key("k")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    let err = c
        .upload_part()
        .bucket("codes")
        .key("k")
        .upload_id("nope")
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    // A part past the last is 416 on GET and HEAD alike.
    let err = c
        .get_object()
        .bucket("codes")
        .key("k")
        .part_number(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidPartNumber");
    let err = c
        .head_object()
        .bucket("codes")
        .key("k")
        .part_number(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(416));
    let err = c
        .create_bucket()
        .bucket("Bad_Name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidBucketName");
}

#[tokio::test]
async fn ranges_metadata_and_content_headers_come_back() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("meta").send().await.unwrap();
    let body = random_bytes(300_000, 3);
    c.put_object()
        .bucket("meta")
        .key("obj")
        .content_type("image/png")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"x.png\"")
        .content_encoding("identity")
        .content_language("fr")
        .metadata("origin", "test")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let out = c
        .head_object()
        .bucket("meta")
        .key("obj")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_length(), Some(300_000));
    assert_eq!(out.content_type(), Some("image/png"));
    assert_eq!(out.cache_control(), Some("max-age=60"));
    assert_eq!(
        out.content_disposition(),
        Some("attachment; filename=\"x.png\"")
    );
    assert_eq!(out.content_language(), Some("fr"));
    assert_eq!(out.metadata().unwrap()["origin"], "test");
    // The ETag of a single PUT is the MD5 of its bytes.
    use md5::Digest;
    let md5 = hex::encode(md5::Md5::digest(&body));
    assert_eq!(out.e_tag(), Some(format!("\"{md5}\"").as_str()));
    for (range, first, last) in [
        ("bytes=0-9", 0, 9),
        ("bytes=-5", 299_995, 299_999),
        ("bytes=299990-", 299_990, 299_999),
        ("bytes=100-299999999", 100, 299_999),
    ] {
        let out = c
            .get_object()
            .bucket("meta")
            .key("obj")
            .range(range)
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.content_range(),
            Some(format!("bytes {first}-{last}/300000").as_str())
        );
        let got = out.body.collect().await.unwrap().to_vec();
        assert!(got == body[first..=last], "{range}");
    }
    // A ranged HEAD: 206 with the range's length, as S3 answers it.
    let out = c
        .head_object()
        .bucket("meta")
        .key("obj")
        .range("bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_length(), Some(10));
    assert_eq!(out.content_range(), Some("bytes 0-9/300000"));
    // Large bodies stream; whole-object reads come back whole.
    assert_eq!(get(c, "meta", "obj").await, body);
    // response-* overrides, as S3 applies them.
    let out = c
        .get_object()
        .bucket("meta")
        .key("obj")
        .response_content_type("text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_type(), Some("text/plain"));
    // HEAD takes the same overrides, Expires included (it was dropped).
    let expires = aws_sdk_s3::primitives::DateTime::from_secs(1_900_000_000);
    let out = c
        .head_object()
        .bucket("meta")
        .key("obj")
        .response_content_type("text/plain")
        .response_expires(expires)
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_type(), Some("text/plain"));
    assert_eq!(out.expires_string(), Some("Sun, 17 Mar 2030 17:46:40 GMT"));
    // An empty object has no byte a range could name, a suffix range
    // included (it was a 206 "bytes 0-0/0"). Found by the differential.
    put(c, "meta", "empty", b"").await;
    for range in ["bytes=0-", "bytes=-3"] {
        let err = c
            .get_object()
            .bucket("meta")
            .key("empty")
            .range(range)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidRange", "{range}");
    }
    // HEAD counts the tags as GET does (S3's HeadObject x-amz-tagging-count).
    c.put_object()
        .bucket("meta")
        .key("tagged")
        .tagging("a=1&b=2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let out = c.head_object().bucket("meta").key("tagged").send().await;
    assert_eq!(out.unwrap().tag_count(), Some(2));
    let out = c.head_object().bucket("meta").key("obj").send().await;
    assert_eq!(out.unwrap().tag_count(), None, "no tags, no count");
}

#[tokio::test]
async fn digests_are_checked_before_anything_is_replaced() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("digest").send().await.unwrap();
    put(c, "digest", "k", b"precious").await;
    let err = c
        .put_object()
        .bucket("digest")
        .key("k")
        .content_md5("AAAAAAAAAAAAAAAAAAAAAA==")
        .body(ByteStream::from_static(b"corrupt"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    let err = c
        .put_object()
        .bucket("digest")
        .key("k")
        .checksum_sha256("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .body(ByteStream::from_static(b"corrupt"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    assert_eq!(get(c, "digest", "k").await, b"precious");
    // Right digests pass, and the checksum is kept.
    let out = c
        .put_object()
        .bucket("digest")
        .key("k")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"fresh"))
        .send()
        .await
        .unwrap();
    let sha = out.checksum_sha256().unwrap().to_string();
    let out = c
        .head_object()
        .bucket("digest")
        .key("k")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(out.checksum_sha256(), Some(sha.as_str()));
    // A part is checked the same way, and its answer echoes its checksum.
    let upload = c
        .create_multipart_upload()
        .bucket("digest")
        .key("parts")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let part = |body: &'static [u8]| {
        c.upload_part()
            .bucket("digest")
            .key("parts")
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from_static(body))
    };
    let err = part(b"corrupt")
        .checksum_sha256("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    let part = part(b"fresh")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    assert_eq!(part.checksum_sha256(), Some(sha.as_str()), "the same bytes");
}

#[tokio::test]
async fn buckets_remember_their_location() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket()
        .bucket("in-paris")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest3)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.create_bucket().bucket("at-home").send().await.unwrap();
    // S3's us-east-1 endpoint refuses its own region named in the body.
    let named_home = c
        .create_bucket()
        .bucket("named-home")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("us-east-1"))
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(named_home.meta().code(), Some("InvalidLocationConstraint"));
    let out = c
        .get_bucket_location()
        .bucket("in-paris")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.location_constraint(),
        Some(&BucketLocationConstraint::EuWest3)
    );
    // us-east-1 is the empty constraint, as S3 answers it.
    let out = c
        .get_bucket_location()
        .bucket("at-home")
        .send()
        .await
        .unwrap();
    assert_eq!(out.location_constraint().map_or("", |l| l.as_str()), "");
    let out = c.head_bucket().bucket("in-paris").send().await.unwrap();
    assert_eq!(out.bucket_region(), Some("eu-west-3"));
    let out = c.list_buckets().send().await.unwrap();
    let names: Vec<&str> = out.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["at-home", "in-paris"]);
}

#[tokio::test]
async fn multipart_uploads_join_parts_with_s3s_etag() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("big")
        .content_type("application/x-test")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let parts = [random_bytes(5 * 1024 * 1024, 1), random_bytes(1234, 2)];
    let mut completed = Vec::new();
    let mut md5s = Vec::new();
    use md5::Digest;
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket("mpu")
            .key("big")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(part.clone()))
            .send()
            .await
            .unwrap();
        md5s.extend_from_slice(&md5::Md5::digest(part));
        completed.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    let listed = c
        .list_parts()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 2);
    assert_eq!(listed.parts()[1].size(), Some(1234));
    // Out of order: refused.
    let err = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed.iter().rev().cloned().collect()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidPartOrder");
    let out = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let expected = hex::encode(md5::Md5::digest(&md5s));
    assert_eq!(out.e_tag(), Some(format!("\"{expected}-2\"").as_str()));
    let mut whole = parts[0].clone();
    whole.extend_from_slice(&parts[1]);
    assert!(get(c, "mpu", "big").await == whole);
    let head = c
        .head_object()
        .bucket("mpu")
        .key("big")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/x-test"));
    // The upload is gone; an aborted one too.
    let err = c
        .list_parts()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    let other = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("dropped")
        .send()
        .await
        .unwrap();
    let listed = c
        .list_multipart_uploads()
        .bucket("mpu")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.uploads().len(), 1);
    c.abort_multipart_upload()
        .bucket("mpu")
        .key("dropped")
        .upload_id(other.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    let listed = c
        .list_multipart_uploads()
        .bucket("mpu")
        .send()
        .await
        .unwrap();
    assert!(listed.uploads().is_empty());
    let health = s_check(&s);
    assert_eq!(health.broken, Vec::<String>::new());
}

fn s_check(s: &Store) -> s3_proxy::local::store::Health {
    s3_proxy::local::store::LocalStore::open(s._dir.path())
        .unwrap()
        .check()
        .unwrap()
}

#[tokio::test]
async fn only_the_served_host_is_answered_and_slow_clients_are_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = store().await;
    let addr = s.store.addr;
    let ask = |host: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    };
    // A page that rebound its DNS name to 127.0.0.1 is turned away.
    let answer = ask("attacker.example").await;
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    // Loopback names reach s3s (which wants a signature).
    let answer = ask("localhost").await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    // Header-read and idle limits, shortened for the test.
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let slow = listener.local_addr().unwrap();
    let service = hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async {
        use http_body_util::BodyExt;
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(body)))
    });
    let guard = server::Guard {
        hosts: server::Hosts::new(slow.ip(), &[]),
        limits: server::Limits {
            header_read: Duration::from_millis(300),
            idle: Duration::from_millis(600),
        },
    };
    let serving = tokio::spawn(server::serve_with(listener, service, guard));
    let closed_within = |partial: &'static [u8]| async move {
        let mut stream = tokio::net::TcpStream::connect(slow).await.unwrap();
        stream.write_all(partial).await.unwrap();
        let started = std::time::Instant::now();
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut sink)).await;
        started.elapsed()
    };
    // Headers that never finish.
    assert!(closed_within(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await < Duration::from_secs(3));
    // A body that stops coming.
    assert!(
        closed_within(
            b"PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly ten.."
        )
        .await
            < Duration::from_secs(3)
    );
    serving.abort();
}

#[tokio::test]
async fn a_request_naming_two_operations_is_refused() {
    let s = store().await;
    let c = &s.client;
    c.create_bucket().bucket("two-ops").send().await.unwrap();
    put(c, "two-ops", "k", b"x").await;
    // GetObjectTagging with ListParts' ?uploadId too, signed: s3s would
    // route it by its own order (to the tagging, ignoring the upload).
    let with = |query: &'static str| {
        move |req: &mut aws_smithy_runtime_api::http::Request| {
            let uri = format!("{}&{query}", req.uri());
            req.set_uri(uri).unwrap();
        }
    };
    let tagging = |query: &'static str| {
        c.get_object_tagging()
            .bucket("two-ops")
            .key("k")
            .customize()
            .mutate_request(with(query))
            .send()
    };
    let err = tagging("uploadId=abc").await.unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    let message = err.as_service_error().and_then(|e| e.message()).unwrap();
    assert_eq!(
        message,
        "Conflicting query string parameters: tagging, uploadId"
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    // A modifier of the operation is no second operation.
    let out = tagging("versionId=null").await.unwrap();
    assert!(out.tag_set().is_empty());
}
