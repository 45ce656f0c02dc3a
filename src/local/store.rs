//! The embedded S3 store: s3s-fs over a data folder, made to behave like S3
//! where the proxy relies on it, and served on loopback with SigV4 auth.
//!
//! s3s-fs 0.14 alone deletes a non-empty bucket with everything in it, ignores
//! conditional GET/HEAD headers, answers NoSuchKey for a missing bucket on
//! object calls, and resolves a key like `../escape` outside its bucket. The
//! wrapper [`LocalStore`] fixes each before delegating:
//! - DeleteBucket of a bucket holding any object answers 409 BucketNotEmpty
//!   and deletes nothing;
//! - object calls on a missing bucket answer NoSuchBucket;
//! - If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since are
//!   evaluated as S3 does (412 / 304);
//! - keys whose path segments are `.`, `..` or empty (the file system would
//!   fold them into another path) are refused with InvalidArgument, so no key
//!   reads or writes outside its bucket's folder;
//! - CreateBucket of an existing bucket answers BucketAlreadyOwnedByYou (every
//!   local bucket is yours).

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;
use std::path::{Path, PathBuf};

pub struct LocalStore {
    fs: FileSystem,
    root: PathBuf,
    /// Folder changes against folder walks. s3s-fs lists by walking the
    /// bucket's folders without a snapshot, and a delete (with the pruning
    /// of emptied folders) under a walk failed it with InternalError, where
    /// S3 answers; a prune could also remove a folder a concurrent upload had
    /// just created. Lists and uploads share the lock; deletes take it alone,
    /// briefly.
    tree: tokio::sync::RwLock<()>,
}

impl LocalStore {
    /// Opens (creating it if needed) the data folder.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        // Prove the folder is writable now, not at the first upload.
        let probe = root.join(".s3-proxy-write-test");
        std::fs::write(&probe, b"ok")?;
        std::fs::remove_file(&probe)?;
        let fs = FileSystem::new(&root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(Self {
            fs,
            root,
            tree: tokio::sync::RwLock::new(()),
        })
    }

    fn bucket_dir(&self, bucket: &str) -> S3Result<PathBuf> {
        if !s3s::path::check_bucket_name(bucket) {
            return Err(s3_error!(InvalidBucketName));
        }
        Ok(self.root.join(bucket))
    }

    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        if self.bucket_dir(bucket)?.is_dir() {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ))
        }
    }

    /// The bucket exists and the key maps to a path inside it.
    fn check_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        check_key(key)?;
        self.require_bucket(bucket)
    }

    /// A file system cannot hold an object `a` beside objects `a/...`: refuse
    /// the second clearly (S3 can hold both) instead of failing inside s3s-fs.
    fn check_no_clash(&self, bucket: &str, key: &str) -> S3Result<()> {
        let bucket_dir = self.bucket_dir(bucket)?;
        let path = bucket_dir.join(key);
        let clash = || {
            s3_error!(
                InvalidArgument,
                "The local store cannot hold an object whose name is also a prefix of other objects (or the reverse)"
            )
        };
        if !key.ends_with('/') && path.is_dir() {
            return Err(clash());
        }
        let mut parent = path.parent();
        while let Some(dir) = parent.filter(|d| *d != bucket_dir) {
            if dir.is_file() {
                return Err(clash());
            }
            parent = dir.parent();
        }
        Ok(())
    }

    /// S3 has no folders: once a deletion leaves a folder empty, it goes, so
    /// that its name is free for an object again.
    fn prune_empty_parents(&self, bucket: &str, key: &str) {
        let Ok(bucket_dir) = self.bucket_dir(bucket) else {
            return;
        };
        let path = bucket_dir.join(key.trim_end_matches('/'));
        let mut parent = path.parent();
        while let Some(dir) = parent.filter(|d| *d != bucket_dir && d.starts_with(&bucket_dir)) {
            if std::fs::remove_dir(dir).is_err() {
                break; // not empty (or already gone): stop here
            }
            parent = dir.parent();
        }
    }
}

/// Keys the file system cannot hold faithfully (or that would leave the bucket).
fn check_key(key: &str) -> S3Result<()> {
    let trimmed = key.strip_suffix('/').unwrap_or(key);
    let bad_segment = trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    if key.is_empty() || bad_segment || key.contains('\0') {
        return Err(s3_error!(
            InvalidArgument,
            "The local store cannot hold a key with empty, '.' or '..' path segments"
        ));
    }
    Ok(())
}

/// Does the folder hold any file (an object), at any depth?
fn holds_objects(dir: &Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_file() || (kind.is_dir() && holds_objects(&entry.path())?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The validators of an object, for conditional requests.
struct Validators<'a> {
    etag: Option<&'a ETag>,
    last_modified: Option<&'a Timestamp>,
}

/// The conditional headers of a GET or HEAD.
struct Conditions {
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
}

/// GetObjectInput and HeadObjectInput name their conditions alike.
macro_rules! conditions_of {
    ($input:expr) => {
        Conditions {
            if_match: $input.if_match.clone(),
            if_none_match: $input.if_none_match.clone(),
            if_modified_since: $input.if_modified_since.clone(),
            if_unmodified_since: $input.if_unmodified_since.clone(),
        }
    };
}

/// S3's evaluation order: If-Match (else If-Unmodified-Since) can fail with
/// 412; then If-None-Match (else If-Modified-Since) can answer 304.
fn evaluate(c: &Conditions, v: &Validators<'_>) -> S3Result<()> {
    let etag_matches = |cond: &ETagCondition| match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(want) => v.etag.is_some_and(|have| have.value() == want.value()),
    };
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    let modified_after =
        |since: &Timestamp| v.last_modified.is_some_and(|lm| secs(lm) > secs(since));
    match (&c.if_match, &c.if_unmodified_since) {
        (Some(cond), _) if !etag_matches(cond) => return Err(s3_error!(PreconditionFailed)),
        (None, Some(since)) if modified_after(since) => return Err(s3_error!(PreconditionFailed)),
        _ => {}
    }
    match (&c.if_none_match, &c.if_modified_since) {
        (Some(cond), _) if etag_matches(cond) => Err(not_modified(v)),
        (None, Some(since)) if !modified_after(since) => Err(not_modified(v)),
        _ => Ok(()),
    }
}

/// A 304 carries the validators, as S3's does.
fn not_modified(v: &Validators<'_>) -> s3s::S3Error {
    let mut err = s3_error!(NotModified);
    let mut headers = http::HeaderMap::new();
    if let Some(etag) = v
        .etag
        .and_then(|e| http::HeaderValue::from_str(&format!("\"{}\"", e.value())).ok())
    {
        headers.insert(http::header::ETAG, etag);
    }
    let mut date = Vec::new();
    if let Some(lm) = v.last_modified
        && lm.format(TimestampFormat::HttpDate, &mut date).is_ok()
        && let Ok(value) = http::HeaderValue::from_bytes(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, value);
    }
    err.set_headers(headers);
    err
}

/// Reads the whole body and checks Content-MD5 and `x-amz-checksum-*`
/// (headers or aws-chunked trailers) before anything is written: s3s-fs
/// commits the file first and checks after, so a corrupted upload would
/// replace the object it was refused for.
async fn verified_body(req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
    use futures_util::TryStreamExt;
    use s3s::crypto::{Checksum as _, Md5};
    let Some(body) = req.input.body.take() else {
        return Ok(());
    };
    let chunks: Vec<bytes::Bytes> = body
        .try_collect()
        .await
        .map_err(|e| s3_error!(IncompleteBody, "reading the body: {e}"))?;
    let bytes = bytes::Bytes::from(chunks.concat());
    let input = &mut req.input;
    if let Some(trailers) = req.trailing_headers.take().and_then(|t| t.take()) {
        let text = |name: &str| {
            trailers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        input.checksum_crc32 = text("x-amz-checksum-crc32").or(input.checksum_crc32.take());
        input.checksum_crc32c = text("x-amz-checksum-crc32c").or(input.checksum_crc32c.take());
        input.checksum_sha1 = text("x-amz-checksum-sha1").or(input.checksum_sha1.take());
        input.checksum_sha256 = text("x-amz-checksum-sha256").or(input.checksum_sha256.take());
        input.checksum_crc64nvme =
            text("x-amz-checksum-crc64nvme").or(input.checksum_crc64nvme.take());
    }
    if let Some(expected) = &input.content_md5 {
        use base64::Engine;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(expected)
            .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not base64"))?;
        let mut md5 = Md5::new();
        md5.update(&bytes);
        if md5.finalize().as_ref() != expected.as_slice() {
            return Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ));
        }
    }
    let mut hasher = s3s::checksum::ChecksumHasher {
        crc32: input.checksum_crc32.as_ref().map(|_| Default::default()),
        crc32c: input.checksum_crc32c.as_ref().map(|_| Default::default()),
        sha1: input.checksum_sha1.as_ref().map(|_| Default::default()),
        sha256: input.checksum_sha256.as_ref().map(|_| Default::default()),
        crc64nvme: input
            .checksum_crc64nvme
            .as_ref()
            .map(|_| Default::default()),
    };
    hasher.update(&bytes);
    let got = hasher.finalize();
    let pairs = [
        (&input.checksum_crc32, &got.checksum_crc32),
        (&input.checksum_crc32c, &got.checksum_crc32c),
        (&input.checksum_sha1, &got.checksum_sha1),
        (&input.checksum_sha256, &got.checksum_sha256),
        (&input.checksum_crc64nvme, &got.checksum_crc64nvme),
    ];
    if pairs
        .iter()
        .any(|(want, have)| want.is_some() && want != have)
    {
        return Err(s3_error!(
            BadDigest,
            "The checksum you specified did not match what we received."
        ));
    }
    input.content_length = Some(bytes.len() as i64);
    input.body = Some(StreamingBlob::from(s3s::Body::from(bytes)));
    Ok(())
}

#[async_trait::async_trait]
impl S3 for LocalStore {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        if self.bucket_dir(&req.input.bucket)?.exists() {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let dir = self.bucket_dir(&req.input.bucket)?;
        // No upload may land between the emptiness check and the delete
        // (s3s-fs deletes the folder with whatever is in it).
        let _change = self.tree.write().await;
        if !dir.is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        let not_empty = holds_objects(&dir).map_err(|e| s3_error!(e, InternalError))?;
        if not_empty {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        self.fs.delete_bucket(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let _walk = self.tree.read().await;
        self.require_bucket(&req.input.bucket)?;
        self.fs.list_objects_v2(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        let conditions = conditions_of!(req.input);
        let response = self.fs.get_object(req).await?;
        evaluate(
            &conditions,
            &Validators {
                etag: response.output.e_tag.as_ref(),
                last_modified: response.output.last_modified.as_ref(),
            },
        )?;
        Ok(response)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        let conditions = conditions_of!(req.input);
        let response = self.fs.head_object(req).await?;
        evaluate(
            &conditions,
            &Validators {
                etag: response.output.e_tag.as_ref(),
                last_modified: response.output.last_modified.as_ref(),
            },
        )?;
        Ok(response)
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        self.check_no_clash(&req.input.bucket, &req.input.key)?;
        verified_body(&mut req).await?;
        let _grow = self.tree.read().await;
        self.fs.put_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _change = self.tree.write().await;
        let response = self.fs.delete_object(req).await?;
        self.prune_empty_parents(&bucket, &key);
        Ok(response)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        self.fs.upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        let _grow = self.tree.read().await;
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.check_object(&req.input.bucket, &req.input.key)?;
        self.fs.abort_multipart_upload(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_would_leave_the_bucket_are_refused() {
        let cases = [
            ("a.txt", true),
            ("dir/a.txt", true),
            ("dir/", true),
            ("my file+1 %25 été.txt", true),
            ("..", false),
            ("../escape", false),
            ("a/../../escape", false),
            ("./a", false),
            ("a//b", false),
            ("/abs", false),
            ("", false),
            ("a\0b", false),
            ("..a/b..", true),
        ];
        for (key, ok) in cases {
            assert_eq!(check_key(key).is_ok(), ok, "{key:?}");
        }
    }

    #[test]
    fn conditions_follow_s3_precedence() {
        let etag = ETag::Strong("abc".into());
        let other = ETagCondition::ETag(ETag::Strong("zzz".into()));
        let same = ETagCondition::ETag(ETag::Strong("abc".into()));
        let t = |s: i64| Timestamp::from(time::OffsetDateTime::from_unix_timestamp(s).unwrap());
        let (before, at, after) = (t(999), t(1000), t(1001));
        let v = Validators {
            etag: Some(&etag),
            last_modified: Some(&at),
        };
        let none = || Conditions {
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
        };
        let code = |c: Conditions| {
            evaluate(&c, &v)
                .err()
                .map(|e| e.code().as_str().to_string())
        };
        let cases: Vec<(Conditions, Option<&str>)> = vec![
            (none(), None),
            (
                Conditions {
                    if_match: Some(same.clone()),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_match: Some(other.clone()),
                    ..none()
                },
                Some("PreconditionFailed"),
            ),
            (
                Conditions {
                    if_match: Some(ETagCondition::Any),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_unmodified_since: Some(before.clone()),
                    ..none()
                },
                Some("PreconditionFailed"),
            ),
            (
                Conditions {
                    if_unmodified_since: Some(at.clone()),
                    ..none()
                },
                None,
            ),
            // If-Match true wins over a failing If-Unmodified-Since.
            (
                Conditions {
                    if_match: Some(same.clone()),
                    if_unmodified_since: Some(before.clone()),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_none_match: Some(same.clone()),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_none_match: Some(other.clone()),
                    ..none()
                },
                None,
            ),
            (
                Conditions {
                    if_modified_since: Some(at.clone()),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_modified_since: Some(after.clone()),
                    ..none()
                },
                Some("NotModified"),
            ),
            (
                Conditions {
                    if_modified_since: Some(before.clone()),
                    ..none()
                },
                None,
            ),
            // If-None-Match decides when present.
            (
                Conditions {
                    if_none_match: Some(other.clone()),
                    if_modified_since: Some(after.clone()),
                    ..none()
                },
                None,
            ),
        ];
        for (i, (c, expected)) in cases.into_iter().enumerate() {
            assert_eq!(code(c).as_deref(), expected, "case {i}");
        }
    }
}
