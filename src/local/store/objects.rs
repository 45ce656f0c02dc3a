//! Object writes: PUT streams the body to a new blob while hashing it,
//! verifies Content-MD5 and `x-amz-checksum-*`, and only then commits, in one
//! transaction with its conditions (`If-Match`, `If-None-Match`) and the
//! bucket's existence; DELETE; COPY (and the source lookup UploadPartCopy
//! shares). Reads are in reads.rs.

use super::blobs::BlobWriter;
use super::db::{self, Attrs, ObjectRow};
use super::{LocalStore, StoreError, etag, now_ms, timestamp};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use std::io::Read;

use super::reads::{Found, Wanted};

pub(super) use super::checksums::ALGORITHMS;
pub(super) use super::rules::{
    Conditions, attrs_of, check_metadata, check_object_acl, check_write, checksums_of,
    customer_key, echo_checksums, echo_encryption, receive_body, refuse_unkept, storage_class,
};

impl LocalStore {
    pub(super) async fn put_object_impl(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        refuse_unkept!(input)?;
        check_metadata(input.metadata.as_ref())?;
        check_object_acl(input.acl.as_ref())?;
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            customer_key!(input),
        )?;
        let tags = super::extras::parse_tagging(input.tagging.as_deref())?;
        let class = storage_class(input.storage_class.as_ref())?;
        let checksums = checksums_of!(input, &req.headers)?.or_default();
        let (bucket, key) = (input.bucket, input.key);
        let (if_match, if_none_match) = (input.if_match, input.if_none_match);
        // Fail before the upload when the outcome is already known; the
        // commit checks again.
        {
            let (bucket, key, m, n) = (
                bucket.clone(),
                key.clone(),
                if_match.clone(),
                if_none_match.clone(),
            );
            self.blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let current = db::object(tx, &bucket, &key)?;
                    check_write(current.as_ref().map(|(r, _)| r), m.as_ref(), n.as_ref())
                })
            })
            .await?;
        }
        let checked = receive_body!(self, input, checksums, req.trailing_headers).await?;
        let mut attrs = attrs_of(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires,
            input.website_redirect_location,
            input.metadata,
        );
        attrs.checksums = checked.kept;
        attrs.checksum_type = Some(ChecksumType::FULL_OBJECT.into());
        attrs.encryption = encryption;
        attrs.tags = tags;
        let writer = checked.writer;
        let row = ObjectRow {
            key,
            blob: writer.id.clone(),
            size: writer.size(),
            etag: hex::encode(checked.md5),
            modified_ms: now_ms(),
            class,
        };
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&row.etag)),
            ..Default::default()
        };
        echo_checksums!(out, &attrs.checksums);
        out.checksum_type = Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT));
        echo_encryption!(out, &attrs.encryption);
        // S3 names a class other than STANDARD in the answer (PutObjectOutput
        // has no field for it).
        let class_header = row
            .class
            .as_deref()
            .and_then(|c| http::HeaderValue::from_str(c).ok());
        self.commit_object(bucket, row, attrs, writer, if_match, if_none_match)
            .await?;
        let mut response = S3Response::new(out);
        if let Some(class) = class_header {
            response.headers.insert("x-amz-storage-class", class);
        }
        Ok(response)
    }

    /// Names a placed blob by a row, in one transaction with the bucket's
    /// existence and the write conditions. The writer moves into the
    /// blocking task, so the blob is kept or removed there, as the commit
    /// went, even if the request is dropped meanwhile.
    pub(super) async fn commit_object(
        &self,
        bucket: String,
        row: ObjectRow,
        attrs: Attrs,
        writer: BlobWriter,
        if_match: Option<ETagCondition>,
        if_none_match: Option<ETagCondition>,
    ) -> S3Result<()> {
        self.blocking(move |s| {
            s.commit(Some(writer), |tx| {
                db::require_bucket(tx, &bucket)?;
                let current = db::object(tx, &bucket, &row.key)?;
                check_write(
                    current.as_ref().map(|(r, _)| r),
                    if_match.as_ref(),
                    if_none_match.as_ref(),
                )?;
                db::put_object(tx, &bucket, &row, &attrs)
            })
        })
        .await
    }

    pub(super) async fn delete_object_impl(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        let (bucket, key, if_match) = (input.bucket, input.key, input.if_match);
        self.delete_with_blobs(move |tx| {
            db::require_bucket(tx, &bucket)?;
            if if_match.is_some() {
                let current = db::object(tx, &bucket, &key)?;
                check_write(current.as_ref().map(|(r, _)| r), if_match.as_ref(), None)?;
            }
            db::delete_object(tx, &bucket, &key)
        })
        .await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    pub(super) async fn delete_objects_impl(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let quiet = input.delete.quiet.unwrap_or(false);
        let bucket = input.bucket;
        let objects = input.delete.objects;
        if objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request names at most 1000 keys"
            ));
        }
        let keys: Vec<(String, Option<String>)> =
            objects.into_iter().map(|o| (o.key, o.version_id)).collect();
        let (deleted, errors) = self
            .blocking(move |s| {
                let (gone, deleted, errors) = s.db.write(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let mut gone = Vec::new();
                    let mut deleted = Vec::new();
                    let mut errors = Vec::new();
                    for (key, version) in keys {
                        if version.as_deref().is_some_and(|v| v != "null") {
                            errors.push(Error {
                                code: Some("NoSuchVersion".into()),
                                message: Some("The specified version does not exist.".into()),
                                key: Some(key),
                                version_id: version,
                            });
                            continue;
                        }
                        gone.extend(db::delete_object(tx, &bucket, &key)?);
                        deleted.push(DeletedObject {
                            key: Some(key),
                            version_id: version,
                            ..Default::default()
                        });
                    }
                    Ok((gone, deleted, errors))
                })?;
                s.blobs.remove(gone);
                Ok((deleted, errors))
            })
            .await?;
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet && !deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    /// CopyObject: the new object shares the source's bytes (a hard link to
    /// its immutable blob, or a copy where links are not possible).
    /// The source of CopyObject and UploadPartCopy, under its
    /// `x-amz-copy-source-if-*` conditions (one that fails is 412, as S3
    /// answers a copy); one stored with a customer key is refused.
    pub(super) async fn find_copy_source(
        &self,
        bucket: String,
        key: String,
        conditions: Conditions,
    ) -> S3Result<Found> {
        let found = self
            .find(bucket, key, conditions, Wanted::All, false)
            .await
            .map_err(|e| {
                if *e.code() == s3s::S3ErrorCode::NotModified {
                    s3_error!(PreconditionFailed)
                } else {
                    e
                }
            })?;
        if found.attrs.encryption.customer_key_md5.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "Copying an object stored with a customer key is not implemented by the local store"
            ));
        }
        Ok(found)
    }

    pub(super) async fn copy_object_impl(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key, src_version) = copy_source_of(&input.copy_source)?;
        self.no_versions(&src_bucket, src_version.as_deref())
            .await?;
        no_sse_c!(input)?;
        refuse_unkept!(input)?;
        check_metadata(input.metadata.as_ref())?;
        check_object_acl(input.acl.as_ref())?;
        let class = storage_class(input.storage_class.as_ref())?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let conditions = Conditions {
            if_match: input.copy_source_if_match,
            if_none_match: input.copy_source_if_none_match,
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        };
        let found = self
            .find_copy_source(src_bucket.clone(), src_key.clone(), conditions)
            .await?;
        if !replace && input.bucket == src_bucket && input.key == src_key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            super::extras::CustomerKey {
                algorithm: None,
                key: None,
                key_md5: None,
            },
        )?;
        let (algorithm, reused) = super::checksums::for_copy(
            input
                .checksum_algorithm
                .as_ref()
                .map(ChecksumAlgorithm::as_str),
            &found.attrs,
        )?;
        let mut attrs = if replace {
            attrs_of(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.expires,
                input.website_redirect_location,
                input.metadata,
            )
        } else {
            found.attrs
        };
        attrs.encryption = encryption;
        let mut writer = self.inner.blobs.create().await.map_err(S3Error::from)?;
        let source = self.inner.blobs.path(&found.row.blob);
        let target = writer.temp_path().to_path_buf();
        // S3 gives a copy the MD5 of its bytes as ETag (a multipart source's
        // `-N` ETag is not the copy's), and the checksum asked for.
        let multipart = found.row.etag.contains('-');
        let (checksum, md5) = self
            .blocking(move |_| {
                std::fs::remove_file(&target)?;
                if std::fs::hard_link(&source, &target).is_err() {
                    std::fs::copy(&source, &target)?;
                }
                if let Some(value) = reused.clone().filter(|_| !multipart) {
                    return Ok((value, None));
                }
                use md5::Digest;
                let (mut hasher, mut md5) = (algorithm.hasher(), md5::Md5::new());
                let mut file = std::fs::File::open(&source)?;
                let mut buf = vec![0; 1024 * 1024];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    md5.update(&buf[..n]);
                }
                let checksum = reused.unwrap_or_else(|| crate::operation::finish(hasher));
                Ok((checksum, multipart.then(|| hex::encode(md5.finalize()))))
            })
            .await?;
        super::checksums::keep_whole(algorithm, checksum, &mut attrs);
        // A copy is one part.
        attrs.parts.clear();
        writer.add_size(found.row.size);
        writer
            .place()
            .await
            .map_err(|e| S3Error::from(StoreError::Io(e)))?;
        let row = ObjectRow {
            key: input.key,
            blob: writer.id.clone(),
            size: found.row.size,
            etag: md5.unwrap_or(found.row.etag),
            modified_ms: now_ms(),
            class: class.or(found.row.class),
        };
        let mut result = CopyObjectResult {
            e_tag: Some(etag(&row.etag)),
            last_modified: Some(timestamp(row.modified_ms)),
            checksum_type: Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            ..Default::default()
        };
        echo_checksums!(result, &attrs.checksums);
        self.commit_object(input.bucket, row, attrs, writer, None, None)
            .await?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            ..Default::default()
        }))
    }
}

/// The bucket, key and version `x-amz-copy-source` names.
pub(super) fn copy_source_of(source: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_string),
        )),
        CopySource::AccessPoint { .. } | CopySource::Outpost { .. } => Err(s3_error!(
            NotImplemented,
            "Copying from an access point is not implemented"
        )),
    }
}

/// A copy with customer keys (SSE-C, of the copy or of its source) is not
/// emulated: refused, never ignored.
macro_rules! no_sse_c {
    ($input:expr) => {{
        let keys = [
            $input.sse_customer_algorithm.is_some(),
            $input.sse_customer_key.is_some(),
            $input.sse_customer_key_md5.is_some(),
            $input.copy_source_sse_customer_algorithm.is_some(),
            $input.copy_source_sse_customer_key.is_some(),
            $input.copy_source_sse_customer_key_md5.is_some(),
        ];
        match keys.contains(&true) {
            false => Ok(()),
            true => Err(s3_error!(
                NotImplemented,
                "Copies with customer keys (SSE-C) are not implemented by the local store"
            )),
        }
    }};
}
pub(super) use no_sse_c;

/// Feeds what is written to a checksum (`std::io::copy` into it).
pub(super) struct HashWriter<'a>(pub &'a mut dyn aws_smithy_checksums::http::HttpChecksum);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
