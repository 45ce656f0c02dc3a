//! Uploads that bypass the Lambda payload: presigned PUT and multipart part
//! URLs, then CompleteMultipartUpload / AbortMultipartUpload.

use super::Backend;
use crate::error::ApiError;
use crate::operation::{CompletedPart, UploadRequest};
use crate::outcome::{Outcome, PlannedUpload, Stored, UploadPlan};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as SdkPart};

impl Backend {
    pub(super) async fn presign_upload(
        &self,
        request: UploadRequest,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let upload = if request.multipart() {
            self.plan_multipart(&request, owner).await?
        } else {
            if let Some(owner) = owner {
                // A presigned URL cannot make its user send the owner
                // check: the bucket's owner is checked now, before signing.
                self.client
                    .head_bucket()
                    .bucket(&request.bucket)
                    .expected_bucket_owner(owner)
                    .send()
                    .await
                    .map_err(ApiError::from_sdk)?;
            }
            let presigned = self
                .client
                .put_object()
                .bucket(&request.bucket)
                .key(&request.key)
                .set_content_type(request.content_type.clone())
                .presigned(self.presigning()?)
                .await
                .map_err(|e| ApiError::Internal(format!("presigning: {e:?}")))?;
            PlannedUpload::Single {
                url: presigned.uri().to_string(),
                headers: signed_headers(presigned.headers()),
            }
        };
        Ok(Outcome::UploadPlan(UploadPlan {
            bucket: request.bucket,
            key: request.key,
            expires_in: self.presign_expiry.as_secs(),
            upload,
        }))
    }

    async fn plan_multipart(
        &self,
        request: &UploadRequest,
        owner: Option<&str>,
    ) -> Result<PlannedUpload, ApiError> {
        let (count, part_size) = request.parts_plan()?;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&request.bucket)
            .key(&request.key)
            .set_content_type(request.content_type.clone())
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| ApiError::Internal("CreateMultipartUpload returned no UploadId".into()))?
            .to_string();
        let mut parts = Vec::with_capacity(count as usize);
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
            parts.push((number, presigned.uri().to_string()));
        }
        Ok(PlannedUpload::Multipart {
            upload_id,
            part_size,
            parts,
        })
    }

    pub(super) async fn complete_multipart_upload(
        &self,
        bucket: String,
        key: String,
        upload_id: String,
        parts: Vec<CompletedPart>,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let parts = parts
            .into_iter()
            .map(|p| {
                SdkPart::builder()
                    .part_number(p.part_number)
                    .e_tag(p.etag)
                    .build()
            })
            .collect();
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .set_expected_bucket_owner(owner.map(str::to_string))
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

    pub(super) async fn abort_multipart_upload(
        &self,
        bucket: String,
        key: String,
        upload_id: String,
        owner: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(Outcome::UploadAborted)
    }
}

/// The headers a presigned request must send as signed (host excluded: the
/// URL carries it).
fn signed_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    headers
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
