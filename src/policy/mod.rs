//! Policy: pure. Everything that decides whether a routed request is
//! allowed, checked before any call to S3:
//! - [`supported`]: the query parameters and S3 request headers (`x-amz-*`
//!   and the conditional ones) each operation implements — anything else
//!   is refused, so that no request is turned into another operation or
//!   loses a header it relied on ([`s3_header_taken`]: the union, which the
//!   CORS preflight lets a page send);
//! - [`authorize`]: the buckets this API serves (`ALLOWED_BUCKETS`),
//!   read-only mode, bucket administration, the inline body limit;
//! - [`visible`]: which buckets a ListBuckets answer may show.

use crate::config::Config;
use crate::error::ApiError;
use crate::operation::Operation;
use crate::outcome::Outcome;
use http::HeaderMap;

mod supported;

pub use supported::{payload_hash, s3_header_taken, supported};

/// Refuses what the configuration does not allow. `upload_path` (the
/// request's stage-relative path) goes into the 413 answer, which says
/// where to ask for a presigned upload instead.
pub fn authorize(config: &Config, op: &Operation, upload_path: &str) -> Result<(), ApiError> {
    if let Some(bucket) = op.bucket()
        && !config.bucket_allowed(bucket)
    {
        return Err(ApiError::AccessDenied(format!(
            "Access Denied: bucket {bucket:?} is not served by this API"
        )));
    }
    if op.writes() && config.read_only {
        return Err(ApiError::AccessDenied(
            "Access Denied: this API is read-only".into(),
        ));
    }
    if matches!(
        op,
        Operation::CreateBucket { .. } | Operation::DeleteBucket { .. }
    ) && !config.allow_bucket_admin
    {
        return Err(ApiError::AccessDenied(
            "Access Denied: creating and deleting buckets is switched off".into(),
        ));
    }
    if let Operation::PutObject(put) = op
        && put.body.len() > config.inline_limit
    {
        return Err(ApiError::PayloadTooLarge {
            size: put.body.len(),
            limit: config.inline_limit,
            upload_path: upload_path.to_string(),
        });
    }
    Ok(())
}

/// The account every S3 call names as the bucket's owner: the client's
/// `x-amz-expected-bucket-owner`, or `EXPECTED_BUCKET_OWNER`. A client
/// that expects another owner than the one this API is pinned to is
/// refused here.
pub fn bucket_owner(config: &Config, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    const EXPECTED_OWNER: http::HeaderName =
        http::HeaderName::from_static("x-amz-expected-bucket-owner");
    let asked = headers
        .get(EXPECTED_OWNER)
        .map(|v| v.to_str().unwrap_or_default().trim().to_string());
    match (asked, &config.expected_bucket_owner) {
        (Some(asked), Some(pinned)) if asked != *pinned => Err(ApiError::AccessDenied(
            "Access Denied: this API serves buckets of another account".into(),
        )),
        (Some(asked), _) => Ok(Some(asked)),
        (None, pinned) => Ok(pinned.clone()),
    }
}

/// ListBuckets shows only the buckets this API serves.
pub fn visible(config: &Config, outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Buckets(mut list) => {
            list.buckets.retain(|b| config.bucket_allowed(&b.name));
            Outcome::Buckets(list)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::{ListObjectsQuery, ObjectRead, PutObject};
    use crate::outcome::{BucketEntry, BucketList};
    use bytes::Bytes;

    #[test]
    fn policy_is_checked_before_s3() {
        let put = |size: usize| {
            Operation::PutObject(Box::new(PutObject {
                bucket: "photos".into(),
                key: "k".into(),
                body: Bytes::from(vec![0u8; size]),
                ..Default::default()
            }))
        };
        let get = Operation::GetObject(ObjectRead {
            bucket: "photos".into(),
            key: "k".into(),
            ..Default::default()
        });
        let other = Operation::ListObjectsV2 {
            bucket: "secrets".into(),
            list: ListObjectsQuery::default(),
        };
        let create = Operation::CreateBucket {
            bucket: "photos".into(),
            location: None,
            acl: None,
        };
        let open = Config::default();
        let limited = Config {
            allowed_buckets: vec!["photos".into()],
            read_only: true,
            inline_limit: 10,
            ..Config::default()
        };
        let no_admin = Config {
            allow_bucket_admin: false,
            ..Config::default()
        };
        let cases: Vec<(&Config, &Operation, Option<&str>)> = vec![
            (&open, &get, None),
            (&open, &other, None),
            (&limited, &get, None),
            (&limited, &other, Some("AccessDenied")),
            (&limited, &create, Some("AccessDenied")),
            (&no_admin, &create, Some("AccessDenied")),
            (&no_admin, &get, None),
        ];
        for (config, op, expected) in cases {
            let got = authorize(config, op, "/x")
                .err()
                .map(|e| e.code().to_string());
            assert_eq!(got.as_deref(), expected, "{op:?}");
        }
        let small = Config {
            inline_limit: 10,
            ..Config::default()
        };
        assert!(authorize(&small, &put(10), "/photos/k").is_ok());
        let err = authorize(&small, &put(11), "/photos/k").unwrap_err();
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.public_message().contains("POST /photos/k?uploads"));
    }

    #[test]
    fn list_buckets_shows_only_served_buckets() {
        let config = Config {
            allowed_buckets: vec!["logs-*".into()],
            ..Config::default()
        };
        let entry = |name: &str| BucketEntry {
            name: name.into(),
            creation_date: None,
        };
        let all = Outcome::Buckets(BucketList {
            buckets: vec![entry("logs-1"), entry("secrets"), entry("logs-2")],
            ..Default::default()
        });
        let Outcome::Buckets(shown) = visible(&config, all) else {
            panic!()
        };
        let names: Vec<&str> = shown.buckets.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["logs-1", "logs-2"]);
    }

    #[test]
    fn the_bucket_owner_is_the_pinned_one() {
        let pinned = Config {
            expected_bucket_owner: Some("111111111111".into()),
            ..Config::default()
        };
        let asking = |owner: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-amz-expected-bucket-owner", owner.parse().unwrap());
            headers
        };
        let none = HeaderMap::new();
        assert_eq!(
            bucket_owner(&pinned, &none),
            Ok(Some("111111111111".into()))
        );
        assert_eq!(
            bucket_owner(&pinned, &asking("111111111111")),
            Ok(Some("111111111111".into()))
        );
        assert_eq!(
            bucket_owner(&pinned, &asking("222222222222"))
                .unwrap_err()
                .code(),
            "AccessDenied"
        );
        assert_eq!(bucket_owner(&Config::default(), &none), Ok(None));
        assert_eq!(
            bucket_owner(&Config::default(), &asking("222222222222")),
            Ok(Some("222222222222".into()))
        );
    }
}
