//! What S3 answered: [`crate::s3`] makes an [`Outcome`] of each operation,
//! [`crate::response`] turns it into an HTTP response. Plain data, no I/O.

use bytes::Bytes;

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
        /// The delete made (or removed) a delete marker.
        delete_marker: bool,
    },
    /// Where and how to upload an object straight to S3.
    UploadPlan(UploadPlan),
    UploadCompleted(Stored),
    UploadAborted,
}

/// A presigned upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    pub bucket: String,
    pub key: String,
    /// Seconds the URLs stay valid.
    pub expires_in: u64,
    pub upload: PlannedUpload,
}

/// How the bytes go to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedUpload {
    /// One PUT to `url`, carrying `headers` (they are signed).
    Single {
        url: String,
        headers: Vec<(String, String)>,
    },
    /// A multipart upload: one PUT per part, then CompleteMultipartUpload.
    Multipart {
        upload_id: String,
        /// The size of every part but the last, when the object's size is known.
        part_size: Option<u64>,
        /// `(part number, URL)`.
        parts: Vec<(i32, String)>,
    },
}

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
    /// `url` when keys, prefixes, the delimiter and start-after are URL-encoded.
    pub encoding_type: Option<String>,
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
    pub encryption: EncryptionHeaders,
    /// `(header name, value)` of the checksums S3 answered
    /// (`x-amz-checksum-mode: ENABLED`).
    pub checksums: Vec<(&'static str, String)>,
    /// How many tags the object has (`x-amz-tagging-count`).
    pub tag_count: Option<i32>,
    /// `(header name, value)` of what S3 answered of the object's life and
    /// protection: `x-amz-expiration`, `x-amz-restore`,
    /// `x-amz-archive-status` (HEAD), `x-amz-replication-status`,
    /// `x-amz-object-lock-*`, `x-amz-website-redirect-location`,
    /// `x-amz-missing-meta`.
    pub state: Vec<(&'static str, String)>,
}

/// How S3 says an object is encrypted: the `x-amz-server-side-encryption*`
/// headers it answers, echoed to the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionHeaders {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    pub algorithm: Option<String>,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
    /// SSE-C.
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
}

/// What S3 said of an object it stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub request_id: Option<String>,
    pub date: Option<String>,
    /// `(header name, value)` of the checksums S3 confirmed.
    pub checksums: Vec<(&'static str, String)>,
    pub encryption: EncryptionHeaders,
}
