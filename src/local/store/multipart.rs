//! Multipart uploads: each part streamed to its own blob and committed as a
//! row of its upload; CompleteMultipartUpload joins the chosen parts into
//! one new blob (while s3s keeps the connection alive with white space, as
//! S3 does) and commits the object and the end of the upload in one
//! transaction.

use super::blobs::new_id;
use super::checksums::{UploadChecksum, invalid_part};
use super::db::{self, Attrs, ObjectRow, PartOf, PartRow, UploadRow};
use super::objects::{
    attrs_of, check_write, checksums_of, echo_checksums, receive_body, storage_class,
};
use super::{LocalStore, StoreError, buckets::OWNER_ID, etag, now_ms, timestamp};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

/// S3's smallest part (all but the last).
const MIN_PART: u64 = 5 * 1024 * 1024;
const MAX_PART_NUMBER: i32 = 10_000;

fn owner() -> Owner {
    Owner {
        display_name: Some(OWNER_ID.into()),
        id: Some(OWNER_ID.into()),
    }
}

fn initiator() -> Initiator {
    Initiator {
        display_name: Some(OWNER_ID.into()),
        id: Some(OWNER_ID.into()),
    }
}

fn check_part_number(number: i32) -> S3Result<()> {
    if !(1..=MAX_PART_NUMBER).contains(&number) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}

/// The bytes `x-amz-copy-source-range` names (`bytes=first-last`, both
/// within the source), or all of the source; S3's 400s otherwise.
fn copy_range(range: Option<&str>, size: u64) -> S3Result<std::ops::Range<u64>> {
    let Some(range) = range else {
        return Ok(0..size);
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((number(a)?, number(b)?)))
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
            )
        })?;
    if first > last || last >= size {
        return Err(s3_error!(
            InvalidArgument,
            "Range specified is not valid for source object of size: {}",
            size
        ));
    }
    Ok(first..last + 1)
}

/// The algorithm and type an upload was created with, as S3 answers them
/// (nothing for S3's default, which the client did not name).
fn named(checksum: UploadChecksum) -> (Option<ChecksumAlgorithm>, Option<ChecksumType>) {
    if !checksum.named {
        return (None, None);
    }
    (
        Some(ChecksumAlgorithm::from(
            checksum.algorithm.name().to_string(),
        )),
        Some(ChecksumType::from(checksum.kind().to_string())),
    )
}

/// A part's checksum of the upload's algorithm: as kept, or computed from
/// its bytes (a part uploaded by a version of the store that kept none).
fn part_checksum(
    store: &super::Inner,
    part: &PartRow,
    checksum: UploadChecksum,
) -> Result<String, StoreError> {
    if let Some(value) = part.checksums.get(checksum.algorithm.key()) {
        return Ok(value.clone());
    }
    let mut hasher = checksum.algorithm.hasher();
    let mut source = std::fs::File::open(store.blobs.path(&part.blob))?;
    std::io::copy(&mut source, &mut super::objects::HashWriter(&mut *hasher))?;
    Ok(crate::operation::finish(hasher))
}

/// The ETag of an object made of parts: the MD5 of the parts' MD5s, and
/// their count.
pub fn multipart_etag(part_etags: &[&str]) -> String {
    use md5::Digest;
    let mut md5 = md5::Md5::new();
    for etag in part_etags {
        md5.update(hex::decode(etag).unwrap_or_default());
    }
    format!("{}-{}", hex::encode(md5.finalize()), part_etags.len())
}

/// One part of a CompleteMultipartUpload's list: its number, ETag and
/// checksums (in `ALGORITHMS`' order).
type Listed = (i32, String, [Option<String>; 5]);

/// The parts a CompleteMultipartUpload names, checked against those stored
/// (their checksums too, against the upload's).
fn chosen_parts(
    wanted: &[Listed],
    stored: &[PartRow],
    checksum: UploadChecksum,
) -> Result<Vec<PartRow>, StoreError> {
    let mut chosen = Vec::with_capacity(wanted.len());
    for (i, (number, want, listed)) in wanted.iter().enumerate() {
        let part = stored
            .iter()
            .find(|p| p.number == *number)
            .filter(|p| p.etag == *want)
            .ok_or_else(|| StoreError::S3(invalid_part()))?;
        checksum.check_listed_part(*number, listed, &part.checksums)?;
        if i + 1 < wanted.len() && part.size < MIN_PART {
            return Err(StoreError::S3(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            )));
        }
        chosen.push(part.clone());
    }
    Ok(chosen)
}

impl LocalStore {
    pub(super) async fn create_multipart_upload_impl(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        super::objects::refuse_unkept!(input)?;
        super::rules::check_metadata(input.metadata.as_ref())?;
        super::rules::check_object_acl(input.acl.as_ref())?;
        let encryption = super::extras::for_write(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_deref(),
            input.bucket_key_enabled,
            super::objects::customer_key!(input),
        )?;
        let tags = super::extras::parse_tagging(input.tagging.as_deref())?;
        let checksum = UploadChecksum::create(
            input
                .checksum_algorithm
                .as_ref()
                .map(ChecksumAlgorithm::as_str),
            input.checksum_type.as_ref().map(ChecksumType::as_str),
        )?;
        let mut upload = UploadRow {
            id: new_id().map_err(S3Error::from)?,
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            created_ms: now_ms(),
            class: storage_class(input.storage_class.as_ref())?,
            attrs: attrs_of(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.expires,
                input.website_redirect_location,
                input.metadata,
            ),
        };
        upload.attrs.encryption = encryption;
        upload.attrs.tags = tags;
        checksum.record(&mut upload.attrs);
        let id = upload.id.clone();
        let echo = upload.attrs.encryption.clone();
        self.blocking(move |s| {
            s.db.write(|tx| {
                db::require_bucket(tx, &upload.bucket)?;
                db::insert_upload(tx, &upload)
            })
        })
        .await?;
        let mut out = CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            ..Default::default()
        };
        (out.checksum_algorithm, out.checksum_type) = named(checksum);
        super::objects::echo_encryption!(out, &echo);
        Ok(S3Response::new(out))
    }

    pub(super) async fn upload_part_impl(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        let sent = checksums_of!(input, &req.headers)?;
        let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
        let upload = self.find_upload(&bucket, &key, &upload_id).await?;
        let checksums = UploadChecksum::of(&upload.attrs).for_part(sent)?;
        let checked = receive_body!(self, input, checksums, req.trailing_headers).await?;
        let writer = checked.writer;
        let part = PartRow {
            number: input.part_number,
            blob: writer.id.clone(),
            size: writer.size(),
            etag: hex::encode(checked.md5),
            modified_ms: now_ms(),
            checksums: checked.kept,
        };
        let mut out = UploadPartOutput {
            e_tag: Some(etag(&part.etag)),
            ..Default::default()
        };
        echo_checksums!(out, &part.checksums);
        self.commit_part(bucket, key, upload_id, part, writer)
            .await?;
        Ok(S3Response::new(out))
    }

    /// The upload a part names, in its bucket, for its key.
    async fn find_upload(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<UploadRow> {
        let (bucket, key, upload_id) = (bucket.to_string(), key.to_string(), upload_id.to_string());
        self.blocking(move |s| {
            s.db.read(|tx| {
                db::require_bucket(tx, &bucket)?;
                db::upload(tx, &bucket, &key, &upload_id)
            })
        })
        .await
    }

    /// Names a placed part blob by its row, if the upload is still there.
    async fn commit_part(
        &self,
        bucket: String,
        key: String,
        upload_id: String,
        part: PartRow,
        writer: super::blobs::BlobWriter,
    ) -> S3Result<()> {
        self.blocking(move |s| {
            s.commit(Some(writer), |tx| {
                db::upload(tx, &bucket, &key, &upload_id)?;
                db::put_part(tx, &upload_id, &part)
            })
        })
        .await
    }

    /// A part copied from an object (or a range of it), as UploadPart would
    /// have stored those bytes: its MD5 as ETag, its checksum of the
    /// upload's algorithm.
    pub(super) async fn upload_part_copy_impl(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        let (src_bucket, src_key, src_version) =
            super::objects::copy_source_of(&input.copy_source)?;
        self.no_versions(&src_bucket, src_version.as_deref())
            .await?;
        super::objects::no_sse_c!(input)?;
        let conditions = super::rules::Conditions {
            if_match: input.copy_source_if_match,
            if_none_match: input.copy_source_if_none_match,
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        };
        let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
        let upload = self.find_upload(&bucket, &key, &upload_id).await?;
        let found = self
            .find_copy_source(src_bucket, src_key, conditions)
            .await?;
        let span = copy_range(input.copy_source_range.as_deref(), found.row.size)?;
        let checksum = UploadChecksum::of(&upload.attrs);
        let writer = self.inner.blobs.create().await.map_err(S3Error::from)?;
        let source = self.inner.blobs.path(&found.row.blob);
        let (writer, md5, sum) = self
            .blocking(move |_| {
                use md5::Digest;
                use std::io::{Read, Seek, Write};
                let mut writer = writer;
                let mut from = match std::fs::File::open(&source) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StoreError::NoSuchKey);
                    }
                    opened => opened?,
                };
                from.seek(std::io::SeekFrom::Start(span.start))?;
                let mut target = std::fs::OpenOptions::new()
                    .append(true)
                    .open(writer.temp_path())?;
                let (mut md5, mut hasher) = (md5::Md5::new(), checksum.algorithm.hasher());
                let mut buf = vec![0; 1024 * 1024];
                let mut left = span.end - span.start;
                while left > 0 {
                    let n = from.read(&mut buf[..left.min(1024 * 1024) as usize])?;
                    if n == 0 {
                        return Err(StoreError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                    }
                    md5.update(&buf[..n]);
                    hasher.update(&buf[..n]);
                    target.write_all(&buf[..n])?;
                    left -= n as u64;
                }
                writer.add_size(span.end - span.start);
                target.sync_data()?;
                drop(target);
                writer.place_sync()?;
                let md5: [u8; 16] = md5.finalize().into();
                Ok((writer, md5, crate::operation::finish(hasher)))
            })
            .await?;
        let part = PartRow {
            number: input.part_number,
            blob: writer.id.clone(),
            size: writer.size(),
            etag: hex::encode(md5),
            modified_ms: now_ms(),
            checksums: [(checksum.algorithm.key().to_string(), sum)].into(),
        };
        let mut result = CopyPartResult {
            e_tag: Some(etag(&part.etag)),
            last_modified: Some(timestamp(part.modified_ms)),
            ..Default::default()
        };
        echo_checksums!(result, &part.checksums);
        self.commit_part(bucket, key, upload_id, part, writer)
            .await?;
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(result),
            ..Default::default()
        }))
    }

    pub(super) async fn complete_multipart_upload_impl(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let wanted: Vec<Listed> = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let number = p
                    .part_number
                    .ok_or_else(|| s3_error!(MalformedXML, "A part has no PartNumber"))?;
                let tag = p
                    .e_tag
                    .map(|e| e.value().trim_matches('"').to_string())
                    .unwrap_or_default();
                let checksums = [
                    p.checksum_crc32,
                    p.checksum_crc32c,
                    p.checksum_sha1,
                    p.checksum_sha256,
                    p.checksum_crc64nvme,
                ];
                Ok((number, tag, checksums))
            })
            .collect::<S3Result<_>>()?;
        if wanted.is_empty() {
            return Err(s3_error!(
                InvalidRequest,
                "You must specify at least one part"
            ));
        }
        if wanted.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            ));
        }
        let claims = [
            input.checksum_crc32,
            input.checksum_crc32c,
            input.checksum_sha1,
            input.checksum_sha256,
            input.checksum_crc64nvme,
        ];
        let claimed_type = input.checksum_type.map(|t| t.as_str().to_string());
        let object_size = input.mpu_object_size;
        let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
        let (if_match, if_none_match) = (input.if_match, input.if_none_match);
        // Everything that can fail fast, before the 200 and the join.
        let (upload, chosen) = {
            let (bucket, key, upload_id, wanted) = (
                bucket.clone(),
                key.clone(),
                upload_id.clone(),
                wanted.clone(),
            );
            let (m, n) = (if_match.clone(), if_none_match.clone());
            self.blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let upload = db::upload(tx, &bucket, &key, &upload_id)?;
                    let stored = db::parts(tx, &upload_id, 0, MAX_PART_NUMBER as usize)?;
                    let checksum = UploadChecksum::of(&upload.attrs);
                    let chosen = chosen_parts(&wanted, &stored, checksum)?;
                    let current = db::object(tx, &bucket, &key)?;
                    check_write(current.as_ref().map(|(r, _)| r), m.as_ref(), n.as_ref())?;
                    Ok((upload, chosen))
                })
            })
            .await?
        };
        let checksum = UploadChecksum::of(&upload.attrs);
        let claimed = checksum.claimed(claims, claimed_type.as_deref())?;
        let size: u64 = chosen.iter().map(|p| p.size).sum();
        if object_size.is_some_and(|s| s < 0 || s as u64 != size) {
            return Err(s3_error!(
                InvalidRequest,
                "The provided 'x-amz-mp-object-size' header does not match what was computed"
            ));
        }
        // The object's checksum, from its parts', before the 200 and the join.
        let (object_checksum, sums) = {
            let chosen = chosen.clone();
            self.blocking(move |s| {
                let sums = chosen
                    .iter()
                    .map(|p| Ok((part_checksum(s, p, checksum)?, p.size)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok((checksum.of_parts(&sums)?, sums))
            })
            .await?
        };
        checksum.check_claim(claimed.as_deref(), &object_checksum)?;
        let tags: Vec<&str> = chosen.iter().map(|p| p.etag.as_str()).collect();
        let object_etag = multipart_etag(&tags);
        let writer = self.inner.blobs.create().await.map_err(S3Error::from)?;
        let store = self.clone();
        let (out_bucket, out_key, out_etag) = (bucket.clone(), key.clone(), object_etag.clone());
        let join = async move {
            let attrs: Attrs = store
                .blocking(move |s| {
                    let mut writer = writer;
                    let mut target = std::fs::OpenOptions::new()
                        .append(true)
                        .open(writer.temp_path())?;
                    for part in &chosen {
                        let mut source = std::fs::File::open(s.blobs.path(&part.blob))?;
                        let n = std::io::copy(&mut source, &mut target)?;
                        writer.add_size(n);
                    }
                    let mut attrs = upload.attrs.clone();
                    checksum.keep(object_checksum, &mut attrs);
                    attrs.parts = sums
                        .into_iter()
                        .map(|(checksum, size)| PartOf {
                            size,
                            checksum: Some(checksum),
                        })
                        .collect();
                    target.sync_data()?;
                    drop(target);
                    writer.place_sync()?;
                    let row = ObjectRow {
                        key: key.clone(),
                        blob: writer.id.clone(),
                        size: writer.size(),
                        etag: object_etag,
                        modified_ms: now_ms(),
                        class: upload.class.clone(),
                    };
                    s.commit(Some(writer), |tx| {
                        db::require_bucket(tx, &bucket)?;
                        // The upload, with the very parts joined, is still there.
                        db::upload(tx, &bucket, &key, &upload_id)?;
                        let stored = db::parts(tx, &upload_id, 0, MAX_PART_NUMBER as usize)?;
                        let still = chosen.iter().all(|c| stored.iter().any(|p| p == c));
                        if !still {
                            return Err(StoreError::S3(s3_error!(
                                InvalidPart,
                                "A part changed while the upload was being completed"
                            )));
                        }
                        let current = db::object(tx, &bucket, &key)?;
                        check_write(
                            current.as_ref().map(|(r, _)| r),
                            if_match.as_ref(),
                            if_none_match.as_ref(),
                        )?;
                        let mut gone = db::delete_upload(tx, &upload_id)?;
                        gone.extend(db::put_object(tx, &bucket, &row, &attrs)?);
                        Ok(gone)
                    })?;
                    Ok(attrs)
                })
                .await?;
            let mut out = CompleteMultipartUploadOutput {
                bucket: Some(out_bucket),
                key: Some(out_key),
                e_tag: Some(etag(&out_etag)),
                checksum_type: Some(ChecksumType::from(checksum.kind().to_string())),
                ..Default::default()
            };
            echo_checksums!(out, &attrs.checksums);
            Ok(out)
        };
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            future: Some(Box::pin(join)),
            ..Default::default()
        }))
    }

    pub(super) async fn abort_multipart_upload_impl(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
        self.delete_with_blobs(move |tx| {
            db::require_bucket(tx, &bucket)?;
            db::upload(tx, &bucket, &key, &upload_id)?;
            db::delete_upload(tx, &upload_id)
        })
        .await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    pub(super) async fn list_parts_impl(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let after = input.part_number_marker.unwrap_or(0);
        let (bucket, key, upload_id) = (
            input.bucket.clone(),
            input.key.clone(),
            input.upload_id.clone(),
        );
        let (upload, mut parts) = self
            .blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let upload = db::upload(tx, &bucket, &key, &upload_id)?;
                    Ok((upload, db::parts(tx, &upload_id, after, max + 1)?))
                })
            })
            .await?;
        let truncated = parts.len() > max;
        parts.truncate(max);
        let next = truncated.then(|| parts.last().map(|p| p.number)).flatten();
        let (checksum_algorithm, checksum_type) = named(UploadChecksum::of(&upload.attrs));
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max as i32),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            is_truncated: Some(truncated),
            storage_class: Some(StorageClass::from(
                upload.class.unwrap_or_else(|| "STANDARD".into()),
            )),
            owner: Some(owner()),
            initiator: Some(initiator()),
            parts: Some(
                parts
                    .into_iter()
                    .map(|p| {
                        let mut part = Part {
                            part_number: Some(p.number),
                            e_tag: Some(etag(&p.etag)),
                            size: Some(p.size as i64),
                            last_modified: Some(timestamp(p.modified_ms)),
                            ..Default::default()
                        };
                        echo_checksums!(part, &p.checksums);
                        part
                    })
                    .collect(),
            ),
            checksum_algorithm,
            checksum_type,
            ..Default::default()
        }))
    }

    pub(super) async fn list_multipart_uploads_impl(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let bucket = input.bucket.clone();
        let (key_marker, id_marker) = (input.key_marker.clone(), input.upload_id_marker.clone());
        let mut uploads = self
            .blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    db::uploads(tx, &bucket, &prefix, usize::MAX >> 1)
                })
            })
            .await?;
        if let Some(km) = &key_marker {
            uploads.retain(|u| match &id_marker {
                Some(im) => u.key > *km || (u.key == *km && u.id > *im),
                None => u.key > *km,
            });
        }
        let truncated = uploads.len() > max;
        uploads.truncate(max);
        let last = uploads.last().map(|u| (u.key.clone(), u.id.clone()));
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker: truncated.then(|| last.clone().map(|l| l.0)).flatten(),
            next_upload_id_marker: truncated.then(|| last.map(|l| l.1)).flatten(),
            uploads: Some(
                uploads
                    .into_iter()
                    .map(|u| {
                        let (checksum_algorithm, checksum_type) =
                            named(UploadChecksum::of(&u.attrs));
                        MultipartUpload {
                            key: Some(u.key),
                            upload_id: Some(u.id),
                            initiated: Some(timestamp(u.created_ms)),
                            storage_class: Some(StorageClass::from(
                                u.class.unwrap_or_else(|| "STANDARD".into()),
                            )),
                            owner: Some(owner()),
                            initiator: Some(initiator()),
                            checksum_algorithm,
                            checksum_type,
                        }
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_read_as_s3_reads_them() {
        let code = |r: Option<&str>| {
            copy_range(r, 10).map_err(|e| e.message().unwrap_or_default().to_string())
        };
        assert_eq!(code(None), Ok(0..10));
        assert_eq!(code(Some("bytes=0-9")), Ok(0..10));
        assert_eq!(code(Some("bytes=3-3")), Ok(3..4));
        for bad in [
            "0-2",
            "bytes=0",
            "bytes=-2",
            "bytes=a-z",
            "bytes=0-2,3-5",
            "bytes= 0-2",
        ] {
            assert!(
                code(Some(bad)).unwrap_err().contains("must be of the form"),
                "{bad}"
            );
        }
        for outside in ["bytes=0-10", "bytes=10-12", "bytes=5-2"] {
            assert!(
                code(Some(outside)).unwrap_err().contains("of size: 10"),
                "{outside}"
            );
        }
    }

    #[test]
    fn multipart_etags_are_s3s() {
        // Two parts whose MD5s are those of "a" and "b".
        let a = "0cc175b9c0f1b6a831c399e269772661";
        let b = "92eb5ffee6ae2fec3ad71c777531578f";
        let etag = multipart_etag(&[a, b]);
        assert!(etag.ends_with("-2") && etag.len() == 34, "{etag}");
        assert_ne!(etag, multipart_etag(&[b, a]));
    }

    #[test]
    fn completion_checks_parts_as_s3_does() {
        let part = |n: i32, size: u64| PartRow {
            number: n,
            blob: format!("b{n}"),
            size,
            etag: format!("e{n}"),
            modified_ms: 0,
            checksums: Default::default(),
        };
        let stored = vec![part(1, MIN_PART), part(2, 10), part(3, 10)];
        let code = |wanted: Vec<(i32, &str)>| {
            let wanted: Vec<Listed> = wanted
                .into_iter()
                .map(|(n, e)| (n, e.to_string(), Default::default()))
                .collect();
            chosen_parts(
                &wanted,
                &stored,
                UploadChecksum::create(None, None).unwrap(),
            )
            .err()
            .map(|e| S3Error::from(e).code().as_str().to_string())
        };
        assert_eq!(code(vec![(1, "e1"), (2, "e2")]), None);
        assert_eq!(code(vec![(1, "e1"), (3, "e3")]), None);
        assert_eq!(
            code(vec![(1, "e1"), (2, "wrong")]).as_deref(),
            Some("InvalidPart")
        );
        assert_eq!(
            code(vec![(1, "e1"), (4, "e4")]).as_deref(),
            Some("InvalidPart")
        );
        assert_eq!(
            code(vec![(2, "e2"), (3, "e3")]).as_deref(),
            Some("EntityTooSmall")
        );
    }
}
