//! The embedded S3 store: the S3 protocol from the s3s crate (routing, SigV4
//! and presigned URLs, XML), over storage of the project's own that keeps
//! S3's semantics by construction (docs/local-store.md):
//! - [`db`]: buckets, keys, attributes and multipart state in SQLite; every
//!   change one transaction, so checks and writes never interleave
//!   (conditional writes, DeleteBucket against a concurrent PutObject), in
//!   this process or another one over the same folder;
//! - [`blobs`]: object bytes in immutable files named by random ids, written
//!   while streaming and named by the database only once complete;
//! - [`list`]: ListObjects as an ordered range scan;
//! - [`objects`], [`multipart`], [`buckets`], [`extras`] (encryption,
//!   tags): the S3 operations; [`rules`]: what they check and keep;
//! - [`migrate`]: a data folder in s3s-fs's layout (the store before this
//!   one) imported on first start.
//!
//! The data folder: `_store.sqlite` (+ its `-wal`/`-shm`), `_blobs/`,
//! `_incoming/`, `_store.lock` (held while opening). No name starts with `_`
//! in s3s-fs's layout or in a bucket name, so neither can collide.

mod attributes;
mod blobs;
mod buckets;
mod checksums;
mod db;
mod extras;
mod list;
mod migrate;
mod multipart;
mod objects;
mod reads;
mod rules;

use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use list::{Entry, Page, list_page};

/// What can go wrong below the S3 operations.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the bucket does not exist")]
    NoSuchBucket,
    #[error("the key does not exist")]
    NoSuchKey,
    #[error("the upload does not exist")]
    NoSuchUpload,
    #[error("an S3 error")]
    S3(#[from] S3Error),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The data folder is not (or not yet) a store this code can use.
    #[error("{0}")]
    Layout(String),
    #[error("a lock was poisoned")]
    Poisoned,
}

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchBucket => {
                s3_error!(NoSuchBucket, "The specified bucket does not exist")
            }
            StoreError::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
            StoreError::NoSuchUpload => s3_error!(
                NoSuchUpload,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
            ),
            StoreError::S3(e) => e,
            StoreError::Db(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                s3_error!(
                    SlowDown,
                    "The store is busy (another process holds its database); retry."
                )
            }
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => disk_full(&e),
            StoreError::Db(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DiskFull =>
            {
                disk_full(&f)
            }
            other => {
                tracing::error!(error = %other, "local store failure");
                S3Error::new(S3ErrorCode::InternalError)
            }
        }
    }
}

/// A full disk is the user's to fix, not a fault of the store: said as such
/// (S3 itself never runs out of space; 503 ServiceUnavailable is its answer
/// for "cannot take this now").
fn disk_full(e: &dyn std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "local store: the disk is full");
    s3_error!(
        ServiceUnavailable,
        "The local store's disk is full ({e}); free space in its data folder and retry."
    )
}

/// The store over one data folder.
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    db: db::Db,
    blobs: blobs::Blobs,
}

impl Inner {
    /// One database change, then what it means for the blob files once it
    /// is committed: the new blob it names (if any) is kept, the blobs it
    /// let go of are removed. If the change fails, the new blob goes with
    /// its writer and nothing else is touched.
    fn commit<I: IntoIterator<Item = String>>(
        &self,
        new: Option<blobs::BlobWriter>,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<I, StoreError>,
    ) -> Result<(), StoreError> {
        let gone = self.db.write(change)?;
        if let Some(new) = new {
            new.keep();
        }
        self.blobs.remove(gone);
        Ok(())
    }
}

/// What [`LocalStore::check`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// SQLite's integrity_check lines other than `ok`.
    pub database: Vec<String>,
    /// Blobs named by a row that are missing or of another size.
    pub broken: Vec<String>,
    /// Files no row names (left by a crash; swept later).
    pub unnamed: usize,
    /// Partly written files (left by a crash; swept later).
    pub incoming: usize,
}

impl LocalStore {
    /// Opens the store in `root` (creating it, or importing s3s-fs's layout).
    /// Several processes may open the same folder at once.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("_store.lock"))?;
        // One process at a time decides the layout (and migrates).
        lock.lock()?;
        let result = Self::open_locked(&root);
        drop(lock);
        result
    }

    fn open_locked(root: &Path) -> Result<Self, StoreError> {
        let db_path = root.join("_store.sqlite");
        let blobs = blobs::Blobs::open(root)?;
        if !db_path.exists() {
            migrate::prepare(root, &db_path, &blobs)?;
        }
        let db = db::Db::open(&db_path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                db,
                blobs,
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Removes files a crash left behind (unnamed, and old enough that no
    /// process can still be writing them); how many.
    pub fn sweep(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        inner.blobs.sweep(|| {
            let named = inner.db.read(db::all_blobs)?;
            Ok(named.into_iter().map(|(id, _)| id).collect::<HashSet<_>>())
        })
    }

    /// [`LocalStore::sweep`] in the background.
    pub fn sweep_in_background(&self) {
        let store = self.clone();
        std::thread::spawn(move || match store.sweep() {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "removed files left by an interrupted upload"),
            Err(e) => tracing::warn!(error = %e, "sweeping left-over files failed"),
        });
    }

    /// The database's integrity and every named blob's presence and size.
    pub fn check(&self) -> Result<Health, StoreError> {
        let database = self.inner.db.integrity()?;
        let named = self.inner.db.read(db::all_blobs)?;
        let (files, incoming) = self.inner.blobs.inventory()?;
        let mut broken = Vec::new();
        for (id, size) in &named {
            match std::fs::metadata(self.inner.blobs.path(id)) {
                Ok(m) if m.len() == *size => {}
                _ => broken.push(id.clone()),
            }
        }
        let named: HashSet<&String> = named.iter().map(|(id, _)| id).collect();
        let unnamed = files.iter().filter(|id| !named.contains(id)).count();
        Ok(Health {
            database,
            broken,
            unnamed,
            incoming,
        })
    }

    /// Runs blocking work (database, file system) off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> S3Result<T> {
        let inner = self.inner.clone();
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(result) => result.map_err(S3Error::from),
            Err(e) => Err(s3_error!(e, InternalError)),
        }
    }

    /// [`rules::no_versions`], after the bucket: a version id other than
    /// `null` is S3's 400 in a bucket that exists, and its NoSuchBucket in
    /// one that does not (S3 finds the bucket first).
    async fn no_versions(&self, bucket: &str, version_id: Option<&str>) -> S3Result<()> {
        let refused = rules::no_versions(version_id);
        if refused.is_err() {
            let bucket = bucket.to_string();
            self.blocking(move |s| s.db.read(|tx| db::require_bucket(tx, &bucket).map(drop)))
                .await?;
        }
        refused
    }

    /// One database change that lets go of blobs (a deletion), then the
    /// blob files themselves, once the change is committed.
    async fn delete_with_blobs<I: IntoIterator<Item = String>>(
        &self,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<I, StoreError> + Send + 'static,
    ) -> S3Result<()> {
        self.blocking(move |s| s.commit(None, change)).await
    }
}

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn timestamp(ms: i64) -> Timestamp {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

fn etag(value: &str) -> ETag {
    ETag::Strong(value.to_string())
}

#[async_trait::async_trait]
impl S3 for LocalStore {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.list_buckets_impl(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.create_bucket_impl(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.head_bucket_impl(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.get_bucket_location_impl(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.delete_bucket_impl(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.list_objects_v2_impl(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.list_objects_v1_impl(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.put_object_impl(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.get_object_impl(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.head_object_impl(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.delete_object_impl(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.delete_objects_impl(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.copy_object_impl(req).await
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        self.get_object_attributes_impl(req).await
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        self.get_object_tagging_impl(req).await
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        self.put_object_tagging_impl(req).await
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.delete_object_tagging_impl(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.create_multipart_upload_impl(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.upload_part_impl(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.upload_part_copy_impl(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete_multipart_upload_impl(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.abort_multipart_upload_impl(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.list_parts_impl(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.list_multipart_uploads_impl(req).await
    }
}
