//! The only module that talks to S3: `Operation -> Outcome`.
//!
//! Each operation is one aws-sdk-s3 call. Errors keep S3's code and message
//! (`ApiError::from_sdk`). Bodies are read whole, because a Lambda answer is one
//! JSON document; an object larger than the inline limit is not read at all:
//! the caller gets a presigned URL to fetch it from S3 directly.

use crate::error::ApiError;
use crate::route::{ListQuery, MAX_PLANNED_PARTS, ObjectRead, Operation, PutObject, UploadRequest};
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, ChecksumAlgorithm, CompletedMultipartUpload,
    CompletedPart, CreateBucketConfiguration, ObjectCannedAcl, StorageClass,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// What S3 answered, ready to be turned into an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Buckets(BucketList),
    Objects(ObjectList),
    BucketCreated {
        location: Option<String>,
    },
    BucketDeleted,
    /// A GET: the object's headers and bytes (206 when `meta.content_range` is set).
    Object {
        meta: ObjectMeta,
        body: Bytes,
    },
    /// A HEAD: the object's headers only.
    ObjectHead(ObjectMeta),
    /// A GET of an object over the inline limit: fetch it from this URL.
    TooLargeToInline {
        url: String,
        meta: ObjectMeta,
    },
    ObjectStored(Stored),
    ObjectDeleted {
        version_id: Option<String>,
    },
    /// Where and how to upload an object straight to S3.
    UploadPlan(UploadPlan),
    UploadCompleted(Stored),
    UploadAborted,
}

/// A presigned upload: one PUT URL, or a multipart upload's part URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadPlan {
    pub bucket: String,
    pub key: String,
    pub expires_in: u64,
    /// A single PUT: its URL.
    pub url: Option<String>,
    /// Headers the upload requests must carry (they are signed).
    pub headers: Vec<(String, String)>,
    /// A multipart upload: its id, part size and one URL per part.
    pub upload_id: Option<String>,
    pub part_size: Option<u64>,
    pub parts: Vec<(i32, String)>,
}

/// S3's largest single PUT.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketList {
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub buckets: Vec<BucketEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketEntry {
    pub name: String,
    /// ISO 8601.
    pub creation_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectList {
    pub name: String,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub max_keys: i32,
    pub key_count: i32,
    pub is_truncated: bool,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectEntry {
    pub key: String,
    /// ISO 8601.
    pub last_modified: Option<String>,
    pub etag: Option<String>,
    pub size: i64,
    pub storage_class: Option<String>,
}

/// The headers S3 keeps with an object, as S3 reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_length: i64,
    pub content_range: Option<String>,
    pub etag: Option<String>,
    /// HTTP date.
    pub last_modified: Option<String>,
    /// S3's `Date` header, served as `Timestamp` like the tutorial does.
    pub date: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<String>,
    pub storage_class: Option<String>,
    pub version_id: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub request_id: Option<String>,
    pub date: Option<String>,
    /// `(header name, value)` of the checksums S3 confirmed.
    pub checksums: Vec<(String, String)>,
}

/// GetObjectOutput and HeadObjectOutput name the object's headers alike.
macro_rules! object_meta {
    ($out:expr, $date:expr) => {
        ObjectMeta {
            content_type: $out.content_type.clone(),
            content_length: $out.content_length.unwrap_or_default(),
            content_range: $out.content_range.clone(),
            etag: $out.e_tag.clone(),
            last_modified: $out.last_modified.as_ref().map(http_date_string),
            date: $date,
            cache_control: $out.cache_control.clone(),
            content_disposition: $out.content_disposition.clone(),
            content_encoding: $out.content_encoding.clone(),
            content_language: $out.content_language.clone(),
            expires: $out.expires_string.clone(),
            storage_class: $out.storage_class.as_ref().map(|s| s.as_str().to_string()),
            version_id: $out.version_id.clone(),
            metadata: sorted($out.metadata.clone()),
            request_id: $out.request_id().map(str::to_string),
        }
    };
}

/// The S3 side of the proxy.
#[derive(Debug, Clone)]
pub struct Backend {
    client: Client,
    inline_limit: usize,
    presign_expiry: Duration,
}

impl Backend {
    pub fn new(client: Client, inline_limit: usize, presign_expiry: Duration) -> Self {
        let config = client
            .config()
            .to_builder()
            .interceptor(ResponseDate)
            .build();
        Self {
            client: Client::from_conf(config),
            inline_limit,
            presign_expiry,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Performs one operation.
    pub async fn execute(&self, op: Operation) -> Result<Outcome, ApiError> {
        match op {
            Operation::ListBuckets => self.list_buckets().await,
            Operation::ListObjects { bucket, list } => self.list_objects(bucket, list).await,
            Operation::CreateBucket {
                bucket,
                location,
                acl,
            } => self.create_bucket(bucket, location, acl).await,
            Operation::DeleteBucket { bucket } => {
                self.client
                    .delete_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(ApiError::from_sdk)?;
                Ok(Outcome::BucketDeleted)
            }
            Operation::GetObject(read) => self.get_object(read).await,
            Operation::HeadObject(read) => self.head_object(read).await,
            Operation::PutObject(put) => self.put_object(*put).await,
            Operation::PresignUpload(request) => self.presign_upload(request).await,
            Operation::CompleteUpload {
                bucket,
                key,
                upload_id,
                parts,
            } => self.complete_upload(bucket, key, upload_id, parts).await,
            Operation::AbortUpload {
                bucket,
                key,
                upload_id,
            } => {
                self.client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .send()
                    .await
                    .map_err(ApiError::from_sdk)?;
                Ok(Outcome::UploadAborted)
            }
            Operation::DeleteObject { bucket, key } => {
                let out = self
                    .client
                    .delete_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(ApiError::from_sdk)?;
                Ok(Outcome::ObjectDeleted {
                    version_id: out.version_id,
                })
            }
        }
    }

    async fn list_buckets(&self) -> Result<Outcome, ApiError> {
        let out = self
            .client
            .list_buckets()
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::Buckets(BucketList {
            owner_id: out.owner().and_then(|o| o.id()).map(str::to_string),
            owner_name: out
                .owner()
                .and_then(|o| o.display_name())
                .map(str::to_string),
            buckets: out
                .buckets()
                .iter()
                .map(|b| BucketEntry {
                    name: b.name().unwrap_or_default().to_string(),
                    creation_date: b.creation_date().map(iso8601),
                })
                .collect(),
        }))
    }

    async fn list_objects(&self, bucket: String, list: ListQuery) -> Result<Outcome, ApiError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&bucket)
            .set_prefix(list.prefix)
            .set_delimiter(list.delimiter)
            .set_max_keys(list.max_keys)
            .set_continuation_token(list.continuation_token)
            .set_start_after(list.start_after)
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        let contents: Vec<ObjectEntry> = out
            .contents()
            .iter()
            .map(|o| ObjectEntry {
                key: o.key().unwrap_or_default().to_string(),
                last_modified: o.last_modified().map(iso8601),
                etag: o.e_tag().map(str::to_string),
                size: o.size().unwrap_or_default(),
                storage_class: o.storage_class().map(|s| s.as_str().to_string()),
            })
            .collect();
        let common_prefixes: Vec<String> = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect();
        let key_count = out
            .key_count()
            .unwrap_or((contents.len() + common_prefixes.len()) as i32);
        Ok(Outcome::Objects(ObjectList {
            name: out.name().map(str::to_string).unwrap_or(bucket),
            prefix: out.prefix().map(str::to_string),
            delimiter: out.delimiter().map(str::to_string),
            max_keys: out.max_keys().unwrap_or(1000),
            key_count,
            is_truncated: out.is_truncated().unwrap_or(false),
            continuation_token: out.continuation_token().map(str::to_string),
            next_continuation_token: out.next_continuation_token().map(str::to_string),
            start_after: out.start_after().map(str::to_string),
            contents,
            common_prefixes,
        }))
    }

    async fn create_bucket(
        &self,
        bucket: String,
        location: Option<String>,
        acl: Option<String>,
    ) -> Result<Outcome, ApiError> {
        // Outside us-east-1, S3 wants the region named in the body; a client
        // that sends none means "here".
        let region = self.client.config().region().map(|r| r.to_string());
        let location = location.or(region.filter(|r| r != "us-east-1"));
        let configuration = location.as_deref().map(|l| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(l))
                .build()
        });
        let out = self
            .client
            .create_bucket()
            .bucket(&bucket)
            .set_create_bucket_configuration(configuration)
            .set_acl(acl.as_deref().map(BucketCannedAcl::from))
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::BucketCreated {
            location: out.location.or(Some(format!("/{bucket}"))),
        })
    }

    async fn get_object(&self, read: ObjectRead) -> Result<Outcome, ApiError> {
        let mut request = self
            .client
            .get_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_range(read.range.clone())
            .set_if_match(read.if_match.clone())
            .set_if_none_match(read.if_none_match.clone())
            .set_if_modified_since(read.if_modified_since.as_deref().and_then(http_date))
            .set_if_unmodified_since(read.if_unmodified_since.as_deref().and_then(http_date));
        for (name, value) in &read.overrides {
            request = match name.as_str() {
                "response-cache-control" => request.response_cache_control(value),
                "response-content-disposition" => request.response_content_disposition(value),
                "response-content-encoding" => request.response_content_encoding(value),
                "response-content-language" => request.response_content_language(value),
                "response-content-type" => request.response_content_type(value),
                "response-expires" => request.set_response_expires(http_date(value)),
                _ => request,
            };
        }
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let meta = object_meta!(out, date);
        // S3 applies response-* overrides itself; applying them here too
        // keeps them for S3-compatible stores that do not.
        let meta = apply_overrides(meta, &read.overrides);
        if meta.content_length > self.inline_limit as i64 {
            // Too big for a Lambda answer: drop the stream unread and send the
            // client to S3 itself.
            drop(out.body);
            let url = self.presign_get(&read).await?;
            return Ok(Outcome::TooLargeToInline { url, meta });
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ApiError::Internal(format!("reading the object body: {e}")))?
            .into_bytes();
        Ok(Outcome::Object { meta, body })
    }

    async fn presign_get(&self, read: &ObjectRead) -> Result<String, ApiError> {
        let config = PresigningConfig::expires_in(self.presign_expiry)
            .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))?;
        let mut request = self.client.get_object().bucket(&read.bucket).key(&read.key);
        for (name, value) in &read.overrides {
            request = match name.as_str() {
                "response-content-disposition" => request.response_content_disposition(value),
                "response-content-type" => request.response_content_type(value),
                _ => request,
            };
        }
        let presigned = request
            .presigned(config)
            .await
            .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
        Ok(presigned.uri().to_string())
    }

    fn presigning(&self) -> Result<PresigningConfig, ApiError> {
        PresigningConfig::expires_in(self.presign_expiry)
            .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))
    }

    async fn presign_upload(&self, request: UploadRequest) -> Result<Outcome, ApiError> {
        let mut plan = UploadPlan {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            expires_in: self.presign_expiry.as_secs(),
            ..UploadPlan::default()
        };
        let multipart = request.parts.is_some() || request.size.is_some_and(|s| s > MAX_SINGLE_PUT);
        if !multipart {
            let presigned = self
                .client
                .put_object()
                .bucket(&request.bucket)
                .key(&request.key)
                .set_content_type(request.content_type.clone())
                .presigned(self.presigning()?)
                .await
                .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
            plan.url = Some(presigned.uri().to_string());
            plan.headers = signed_headers(presigned.headers());
            return Ok(Outcome::UploadPlan(plan));
        }
        // Parts: as many as asked, else enough (64 MiB or more each) to stay
        // within one answer's worth of URLs.
        let (count, part_size) = match (request.parts, request.size) {
            (Some(n), size) => (u64::from(n), size.map(|s| s.div_ceil(u64::from(n)))),
            (None, Some(size)) => {
                let per_part = size.div_ceil(MAX_PLANNED_PARTS).div_ceil(MIB) * MIB;
                let part_size = per_part.max(64 * MIB);
                (size.div_ceil(part_size), Some(part_size))
            }
            (None, None) => (1, None),
        };
        if part_size.is_some_and(|p| p > MAX_SINGLE_PUT) {
            return Err(ApiError::InvalidArgument(
                "the object is too large to upload in the parts one plan allows".into(),
            ));
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&request.bucket)
            .key(&request.key)
            .set_content_type(request.content_type.clone())
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| ApiError::Internal("CreateMultipartUpload returned no UploadId".into()))?
            .to_string();
        for number in 1..=count as i32 {
            let presigned = self
                .client
                .upload_part()
                .bucket(&request.bucket)
                .key(&request.key)
                .upload_id(&upload_id)
                .part_number(number)
                .presigned(self.presigning()?)
                .await
                .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
            plan.parts.push((number, presigned.uri().to_string()));
        }
        plan.upload_id = Some(upload_id);
        plan.part_size = part_size;
        Ok(Outcome::UploadPlan(plan))
    }

    async fn complete_upload(
        &self,
        bucket: String,
        key: String,
        upload_id: String,
        parts: Vec<(i32, String)>,
    ) -> Result<Outcome, ApiError> {
        let parts = parts
            .into_iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(n).e_tag(etag).build())
            .collect();
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::UploadCompleted(Stored {
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
            request_id: out.request_id().map(str::to_string),
            ..Stored::default()
        }))
    }

    async fn head_object(&self, read: ObjectRead) -> Result<Outcome, ApiError> {
        let request = self
            .client
            .head_object()
            .bucket(&read.bucket)
            .key(&read.key)
            .set_range(read.range)
            .set_if_match(read.if_match)
            .set_if_none_match(read.if_none_match)
            .set_if_modified_since(read.if_modified_since.as_deref().and_then(http_date))
            .set_if_unmodified_since(read.if_unmodified_since.as_deref().and_then(http_date));
        let (out, date) = with_date(request.send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        Ok(Outcome::ObjectHead(object_meta!(out, date)))
    }

    async fn put_object(&self, put: PutObject) -> Result<Outcome, ApiError> {
        let expires = match put.expires.as_deref() {
            None => None,
            Some(v) => Some(http_date(v).ok_or_else(|| {
                ApiError::InvalidArgument(format!("Expires {v:?} is not an HTTP date"))
            })?),
        };
        let metadata: Option<HashMap<String, String>> =
            (!put.metadata.is_empty()).then(|| put.metadata.into_iter().collect());
        let mut request = self
            .client
            .put_object()
            .bucket(put.bucket)
            .key(put.key)
            .content_type(put.content_type)
            .content_length(put.body.len() as i64)
            .set_metadata(metadata)
            .set_cache_control(put.cache_control)
            .set_content_disposition(put.content_disposition)
            .set_content_encoding(put.content_encoding)
            .set_content_language(put.content_language)
            .set_expires(expires)
            .set_acl(put.acl.as_deref().map(ObjectCannedAcl::from))
            .set_storage_class(put.storage_class.as_deref().map(StorageClass::from))
            .set_content_md5(put.content_md5)
            .set_if_none_match(put.if_none_match);
        for (algorithm, value) in put.checksums {
            request = match algorithm.as_str() {
                "crc32" => request
                    .checksum_crc32(value)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32),
                "crc32c" => request
                    .checksum_crc32_c(value)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32C),
                "sha1" => request
                    .checksum_sha1(value)
                    .checksum_algorithm(ChecksumAlgorithm::Sha1),
                "sha256" => request
                    .checksum_sha256(value)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256),
                "crc64nvme" => request
                    .checksum_crc64_nvme(value)
                    .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme),
                other => {
                    return Err(ApiError::InvalidArgument(format!(
                        "x-amz-checksum-{other} is not a checksum S3 knows"
                    )));
                }
            };
        }
        let (out, date) = with_date(request.body(ByteStream::from(put.body)).send()).await;
        let out = out.map_err(ApiError::from_sdk)?;
        let checksums = [
            ("x-amz-checksum-crc32", out.checksum_crc32()),
            ("x-amz-checksum-crc32c", out.checksum_crc32_c()),
            ("x-amz-checksum-sha1", out.checksum_sha1()),
            ("x-amz-checksum-sha256", out.checksum_sha256()),
            ("x-amz-checksum-crc64nvme", out.checksum_crc64_nvme()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v.to_string())))
        .collect();
        Ok(Outcome::ObjectStored(Stored {
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
            request_id: out.request_id().map(str::to_string),
            date,
            checksums,
        }))
    }
}

fn apply_overrides(mut meta: ObjectMeta, overrides: &[(String, String)]) -> ObjectMeta {
    for (name, value) in overrides {
        let slot = match name.as_str() {
            "response-cache-control" => &mut meta.cache_control,
            "response-content-disposition" => &mut meta.content_disposition,
            "response-content-encoding" => &mut meta.content_encoding,
            "response-content-language" => &mut meta.content_language,
            "response-content-type" => &mut meta.content_type,
            "response-expires" => &mut meta.expires,
            _ => continue,
        };
        *slot = Some(value.clone());
    }
    meta
}

/// The headers a presigned request must send as signed (host excluded: the
/// URL carries it).
fn signed_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    headers
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn sorted(metadata: Option<HashMap<String, String>>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = metadata.unwrap_or_default().into_iter().collect();
    pairs.sort();
    pairs
}

fn iso8601(t: &DateTime) -> String {
    t.fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

fn http_date_string(t: &DateTime) -> String {
    t.fmt(DateTimeFormat::HttpDate).unwrap_or_default()
}

/// An HTTP date header; `None` when it does not parse (HTTP says: ignore it).
fn http_date(value: &str) -> Option<DateTime> {
    DateTime::from_str(value.trim(), DateTimeFormat::HttpDate).ok()
}

tokio::task_local! {
    /// S3's `Date` header for the call [`with_date`] runs in this task.
    static RESPONSE_DATE: RefCell<Option<String>>;
}

/// Runs one SDK call and returns S3's `Date` response header with its
/// result (the SDK does not surface it; [`ResponseDate`] catches it).
async fn with_date<T>(call: impl Future<Output = T>) -> (T, Option<String>) {
    // Boxed: an SDK call's future is large, and moving it into the scope
    // copied it (kilobytes) more than once per call.
    let call = Box::pin(call);
    RESPONSE_DATE
        .scope(RefCell::new(None), async {
            let out = call.await;
            let date = RESPONSE_DATE.with(|slot| slot.borrow_mut().take());
            (out, date)
        })
        .await
}

/// Client-wide interceptor: copies each response's `Date` header into the
/// slot of the [`with_date`] call it belongs to. The SDK runs interceptors
/// inside the future of the call, so the slot is that call's. (A per-call
/// interceptor, `customize().interceptor(..)`, cost the SDK 11 k
/// instructions per request in configuration rebuilt for that call.)
#[derive(Debug)]
struct ResponseDate;

impl Intercept for ResponseDate {
    fn name(&self) -> &'static str {
        "ResponseDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            // Outside `with_date` there is no slot: nothing to keep.
            let _ = RESPONSE_DATE.try_with(|slot| *slot.borrow_mut() = Some(date.to_string()));
        }
        Ok(())
    }
}
