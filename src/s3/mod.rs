//! The only module that talks to S3: `Operation -> Outcome`.
//!
//! Each operation is one aws-sdk-s3 call (a presigned upload plan, several).
//! Errors keep S3's code and message (`ApiError::from_sdk`). Bodies are read
//! whole, because a Lambda answer is one JSON document; an object larger
//! than the inline limit is not read at all: the caller gets a presigned URL
//! to fetch it from S3 directly. In stream mode a GetObject's body is handed
//! out unread ([`ObjectBody`]) and read chunk by chunk as it is sent on.
//!
//! - [`client`]: the S3 client: HTTPS stack, timeouts, configuration.
//! - `buckets`, `objects`, `uploads`: the calls, by subject.

mod buckets;
pub mod client;
mod object_body;
mod objects;
mod uploads;

pub use object_body::{ObjectBody, ObjectGet};

use crate::error::ApiError;
use crate::operation::Operation;
use crate::outcome::Outcome;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

/// The S3 side of the proxy.
#[derive(Debug, Clone)]
pub struct Backend {
    client: Client,
    inline_limit: usize,
    presign_expiry: Duration,
}

impl Backend {
    /// `client`'s HTTP client must be [`client::http_client`]'s, which
    /// catches S3's `Date` header for the answers ([`with_date`]).
    pub fn new(client: Client, inline_limit: usize, presign_expiry: Duration) -> Self {
        Self {
            client,
            inline_limit,
            presign_expiry,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Performs one operation. `owner`, when given, is the account every
    /// call names as the bucket's owner (`ExpectedBucketOwner`): S3 refuses
    /// (403) a bucket of another account.
    pub async fn execute(&self, op: Operation, owner: Option<&str>) -> Result<Outcome, ApiError> {
        match op {
            Operation::ListBuckets => self.list_buckets().await,
            Operation::ListObjectsV2 { bucket, list } => {
                self.list_objects_v2(bucket, list, owner).await
            }
            Operation::CreateBucket {
                bucket,
                location,
                acl,
            } => self.create_bucket(bucket, location, acl).await,
            Operation::DeleteBucket { bucket } => self.delete_bucket(bucket, owner).await,
            Operation::GetObject(read) => self.get_object(read, owner).await,
            Operation::HeadObject(read) => self.head_object(read, owner).await,
            Operation::PutObject(put) => self.put_object(*put, owner).await,
            Operation::DeleteObject {
                bucket,
                key,
                version_id,
            } => self.delete_object(bucket, key, version_id, owner).await,
            Operation::PresignUpload(request) => self.presign_upload(request, owner).await,
            Operation::CompleteMultipartUpload {
                bucket,
                key,
                upload_id,
                parts,
            } => {
                self.complete_multipart_upload(bucket, key, upload_id, parts, owner)
                    .await
            }
            Operation::AbortMultipartUpload {
                bucket,
                key,
                upload_id,
            } => {
                self.abort_multipart_upload(bucket, key, upload_id, owner)
                    .await
            }
        }
    }

    fn presigning(&self) -> Result<PresigningConfig, ApiError> {
        PresigningConfig::expires_in(self.presign_expiry)
            .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))
    }
}

/// A listing's time as S3 writes it: always three digits of milliseconds
/// (`2009-10-12T17:50:30.000Z`), which smithy's format trims (`30Z`,
/// `30.12Z`), and strict readers of S3's documents do not take.
fn iso8601(t: &DateTime) -> String {
    let whole = DateTime::from_secs(t.secs());
    let whole = whole.fmt(DateTimeFormat::DateTime).unwrap_or_default();
    match whole.strip_suffix('Z') {
        Some(seconds) => format!("{seconds}.{:03}Z", t.subsec_nanos() / 1_000_000),
        None => whole,
    }
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
/// result (the SDK does not surface it; [`DateCatching`] catches it).
async fn with_date<T>(call: impl Future<Output = T>) -> (T, Option<String>) {
    // Boxed: an SDK call's future is large, and moving it into the scope
    // copied it more than once per call.
    let call = Box::pin(call);
    RESPONSE_DATE
        .scope(RefCell::new(None), async {
            let out = call.await;
            let date = RESPONSE_DATE.with(|slot| slot.borrow_mut().take());
            (out, date)
        })
        .await
}

/// S3's HTTP client with the `Date` of each response copied into the slot
/// of the [`with_date`] call it belongs to: the SDK awaits the connector's
/// future inside the call's, so the slot is that call's. Done here rather
/// than by an interceptor: a client-wide interceptor made every call walk
/// the SDK's configuration layers once more per hook (6 k instructions of
/// an 80 k request, docs/performance.md), a per-call one rebuilt the
/// configuration for every call.
#[derive(Debug)]
pub(crate) struct DateCatching(pub(crate) SharedHttpClient);

impl HttpClient for DateCatching {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let connector = self.0.http_connector(settings, components);
        SharedHttpConnector::new(DateConnector(connector))
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct DateConnector(SharedHttpConnector);

impl HttpConnector for DateConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let response = call.await?;
            if let Some(date) = response.headers().get("date") {
                // Outside `with_date` there is no slot: nothing to keep.
                let _ = RESPONSE_DATE.try_with(|slot| *slot.borrow_mut() = Some(date.to_string()));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_times_carry_milliseconds_as_s3_writes_them() {
        let cases = [
            (
                DateTime::from_secs(1_255_369_830),
                "2009-10-12T17:50:30.000Z",
            ),
            (
                DateTime::from_millis(1_255_369_830_120),
                "2009-10-12T17:50:30.120Z",
            ),
            (
                DateTime::from_millis(1_255_369_830_007),
                "2009-10-12T17:50:30.007Z",
            ),
            (
                DateTime::from_secs_and_nanos(1_255_369_830, 999_999_999),
                "2009-10-12T17:50:30.999Z",
            ),
        ];
        for (time, expected) in cases {
            assert_eq!(iso8601(&time), expected);
        }
    }
}
