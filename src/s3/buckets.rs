//! Bucket calls: ListBuckets, ListObjectsV2, CreateBucket, DeleteBucket.

use super::{Backend, iso8601};
use crate::error::ApiError;
use crate::operation::ListObjectsQuery;
use crate::outcome::{BucketEntry, BucketList, ObjectEntry, ObjectList, Outcome};
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, CreateBucketConfiguration, EncodingType,
};

impl Backend {
    pub(super) async fn list_buckets(&self) -> Result<Outcome, ApiError> {
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

    pub(super) async fn list_objects_v2(
        &self,
        bucket: String,
        list: ListObjectsQuery,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let call = |encoded: bool| {
            self.client
                .list_objects_v2()
                .bucket(&bucket)
                .set_expected_bucket_owner(owner.map(str::to_string))
                .set_prefix(list.prefix.clone())
                .set_delimiter(list.delimiter.clone())
                .set_max_keys(list.max_keys)
                .set_continuation_token(list.continuation_token.clone())
                .set_start_after(list.start_after.clone())
                .set_encoding_type(encoded.then_some(EncodingType::Url))
                .send()
        };
        let out = match call(list.url_encoded).await.map_err(ApiError::from_sdk) {
            // A key with a character XML 1.0 cannot carry makes S3's plain
            // answer unreadable: S3 carries such keys URL-encoded.
            Err(ApiError::BadBackendAnswer(_)) if !list.url_encoded => {
                call(true).await.map_err(ApiError::from_sdk)?
            }
            other => other?,
        };
        // A store that encoded says so (one that ignored the ask does not).
        let encoded = out.encoding_type().is_some();
        let keep = |s: &str| -> Result<String, ApiError> {
            if !encoded || list.url_encoded {
                return Ok(s.to_string());
            }
            url_decode(s)
        };
        let contents = out
            .contents()
            .iter()
            .map(|o| {
                Ok(ObjectEntry {
                    key: keep(o.key().unwrap_or_default())?,
                    last_modified: o.last_modified().map(iso8601),
                    etag: o.e_tag().map(str::to_string),
                    size: o.size().unwrap_or_default(),
                    storage_class: o.storage_class().map(|s| s.as_str().to_string()),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let common_prefixes = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .map(keep)
            .collect::<Result<Vec<_>, ApiError>>()?;
        let key_count = out
            .key_count()
            .unwrap_or((contents.len() + common_prefixes.len()) as i32);
        Ok(Outcome::Objects(ObjectList {
            name: out.name().map(str::to_string).unwrap_or(bucket),
            prefix: out.prefix().map(keep).transpose()?,
            delimiter: out.delimiter().map(keep).transpose()?,
            max_keys: out.max_keys().unwrap_or(1000),
            key_count,
            is_truncated: out.is_truncated().unwrap_or(false),
            continuation_token: out.continuation_token().map(str::to_string),
            next_continuation_token: out.next_continuation_token().map(str::to_string),
            start_after: out.start_after().map(keep).transpose()?,
            contents,
            common_prefixes,
            encoding_type: (encoded && list.url_encoded).then(|| "url".to_string()),
        }))
    }

    pub(super) async fn create_bucket(
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

    pub(super) async fn delete_bucket(
        &self,
        bucket: String,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        self.client
            .delete_bucket()
            .bucket(bucket)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::BucketDeleted)
    }
}

/// A key as S3 URL-encodes it in a listing (`encoding-type=url`: a space as
/// `+`, everything else outside the unreserved set as `%XX`).
fn url_decode(value: &str) -> Result<String, ApiError> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::BadBackendAnswer(format!("a listed key is not UTF-8: {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keys_decode_as_s3_encodes_them() {
        let cases = [
            ("a+b%2Bc", "a b+c"),
            ("%E6%97%A5%E6%9C%AC/x", "日本/x"),
            ("ctl%1Echar", "ctl\u{1e}char"),
            ("100%25", "100%"),
        ];
        for (encoded, key) in cases {
            assert_eq!(url_decode(encoded).unwrap(), key, "{encoded}");
        }
    }
}
