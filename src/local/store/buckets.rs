//! Bucket operations. Every local bucket belongs to the one local owner.

use super::{LocalStore, StoreError, db, now_ms, timestamp};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// The one owner of everything in the local store.
pub const OWNER_ID: &str = "s3-proxy-local";

/// Where a bucket says it is: its LocationConstraint, else us-east-1.
fn region_of(location: Option<&str>) -> String {
    location
        .filter(|l| !l.is_empty())
        .unwrap_or(crate::local::server::LOCAL_REGION)
        .to_string()
}

impl LocalStore {
    pub(super) async fn list_buckets_impl(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let rows = self.blocking(|s| s.db.read(db::buckets)).await?;
        let buckets = rows
            .into_iter()
            .map(|b| Bucket {
                bucket_region: Some(region_of(b.location.as_deref())),
                creation_date: Some(timestamp(b.created_ms)),
                name: Some(b.name),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some(OWNER_ID.into()),
                id: Some(OWNER_ID.into()),
            }),
            ..Default::default()
        }))
    }

    pub(super) async fn create_bucket_impl(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        super::rules::check_bucket_acl(req.input.acl.as_ref())?;
        let bucket = req.input.bucket;
        let location = req
            .input
            .create_bucket_configuration
            .and_then(|c| c.location_constraint)
            .map(|l| l.as_str().to_string())
            .filter(|l| !l.is_empty());
        // The store answers as S3's us-east-1 endpoint: any other region
        // may be named, us-east-1 itself only by naming none.
        if location.as_deref() == Some(crate::local::server::LOCAL_REGION) {
            return Err(s3_error!(
                InvalidLocationConstraint,
                "The specified location-constraint is not valid"
            ));
        }
        let name = bucket.clone();
        self.blocking(move |s| {
            s.db.write(|tx| {
                if db::bucket(tx, &name)?.is_some() {
                    return Err(s3_error!(
                        BucketAlreadyOwnedByYou,
                        "Your previous request to create the named bucket succeeded and you already own it."
                    )
                    .into());
                }
                db::insert_bucket(tx, &name, now_ms(), location.as_deref())
            })
        })
        .await?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    pub(super) async fn head_bucket_impl(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let name = req.input.bucket;
        let row = self
            .blocking(move |s| s.db.read(|tx| db::require_bucket(tx, &name)))
            .await?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(region_of(row.location.as_deref())),
            ..Default::default()
        }))
    }

    pub(super) async fn get_bucket_location_impl(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let name = req.input.bucket;
        let row = self
            .blocking(move |s| s.db.read(|tx| db::require_bucket(tx, &name)))
            .await?;
        // us-east-1 is the empty constraint, as S3 answers it.
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: row.location.map(BucketLocationConstraint::from),
        }))
    }

    /// Empty buckets only; the check and the delete are one transaction, so
    /// an object committed before it makes it fail, and one committed after
    /// it fails with NoSuchBucket: no acknowledged write is lost.
    pub(super) async fn delete_bucket_impl(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let name = req.input.bucket;
        self.delete_with_blobs(move |tx| {
            db::require_bucket(tx, &name)?;
            if !db::bucket_is_empty(tx, &name)? {
                return Err(StoreError::S3(s3_error!(
                    BucketNotEmpty,
                    "The bucket you tried to delete is not empty"
                )));
            }
            db::delete_bucket(tx, &name)
        })
        .await?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }
}
