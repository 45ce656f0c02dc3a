//! The store's metadata in SQLite: buckets, objects (key -> blob id, size,
//! ETag, attributes), multipart uploads and their parts.
//!
//! Every S3 change is one SQLite transaction, begun `IMMEDIATE` so that its
//! checks (the bucket exists, `If-None-Match: *`, the bucket is empty) and its
//! write cannot interleave with another writer, in this process or another
//! one over the same data folder. WAL mode: readers never wait for writers; a
//! commit reaches the operating system before the call returns
//! (`synchronous=NORMAL`), so it survives the process being killed.

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The schema this code reads and writes (`PRAGMA user_version`). 2: parts
/// keep their checksums (a folder of schema 1 is brought up to 2 on open).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY NOT NULL,
    created_ms INTEGER NOT NULL,
    location TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    class TEXT,
    attrs TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY NOT NULL,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    class TEXT,
    attrs TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key);
CREATE TABLE IF NOT EXISTS parts (
    upload TEXT NOT NULL,
    number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    checksums TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (upload, number)
) WITHOUT ROWID;
";

/// From schema 1: parts had no checksums.
const FROM_1: &str = "ALTER TABLE parts ADD COLUMN checksums TEXT NOT NULL DEFAULT '{}';";

/// What S3 keeps with an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect_location: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// `x-amz-checksum-*` values verified at upload, by algorithm name
    /// (`crc32`, ...): an object's one checksum (a composite one ends in
    /// `-<parts>`), S3's default CRC64NVME if the upload named none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// `FULL_OBJECT` or `COMPOSITE`: of an object's checksum (none written
    /// by older versions: a whole object's), or the one an upload asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// The `x-amz-checksum-algorithm` a multipart upload was created with
    /// (`crc32`, ...); none: S3's default, CRC64NVME, unnamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// Server-side encryption as asked (recorded and echoed; the local store
    /// does not encrypt its files).
    #[serde(default, skip_serializing_if = "Encryption::is_none")]
    pub encryption: Encryption,
    /// Object tags, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// A multipart object's parts, in order (none: one part), for reads by
    /// part number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartOf>,
}

/// One part of a multipart object: its size and its checksum (of the
/// object's algorithm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOf {
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// `x-amz-server-side-encryption*` of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
    /// SSE-C: the algorithm and the MD5 of the customer's key (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key_md5: Option<String>,
}

impl Encryption {
    fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

impl Attrs {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// One object as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    pub key: String,
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub modified_ms: i64,
    pub class: Option<String>,
}

/// One multipart upload.
#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub created_ms: i64,
    pub class: Option<String>,
    pub attrs: Attrs,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    pub number: i32,
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub modified_ms: i64,
    /// Its checksums, by algorithm name, as an object's.
    pub checksums: BTreeMap<String, String>,
}

pub struct BucketRow {
    pub name: String,
    pub created_ms: i64,
    pub location: Option<String>,
}

/// The database: one writer connection (writes are serialized anyway) and a
/// pool of reader connections.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl Db {
    /// Opens (creating) the database and its schema; refuses one written by
    /// a newer schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = connect(path)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Layout(format!(
                "{} cannot use SQLite's WAL mode (journal_mode is {mode}): is the data folder on a network file system?",
                path.display()
            )));
        }
        let version: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            Self::create_schema(&mut writer, path)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn create_schema(writer: &mut Connection, path: &Path) -> Result<(), StoreError> {
        let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Layout(format!(
                "{} was written by a newer s3-proxy (schema {version}, this one knows {SCHEMA_VERSION})",
                path.display()
            )));
        }
        if version == 1 {
            tx.execute_batch(FROM_1)?;
        } else {
            tx.execute_batch(SCHEMA)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Moves everything from the WAL into the database file (before the file
    /// is renamed).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `f` in a read transaction (one consistent snapshot).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = match self.readers.lock().map_err(|_| StoreError::Poisoned)?.pop() {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 32
        {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` in a write transaction; committed if `f` succeeds, rolled
    /// back if it fails.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// SQLite's own check of the file, and every object's and part's blob
    /// named once.
    pub fn integrity(&self) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut problems = Vec::new();
            let mut stmt = tx.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                let line = row?;
                if line != "ok" {
                    problems.push(line);
                }
            }
            Ok(problems)
        })
    }
}

// --- queries (each runs inside a transaction given by the caller) ----------

pub fn bucket(tx: &Transaction<'_>, name: &str) -> Result<Option<BucketRow>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT name, created_ms, location FROM buckets WHERE name = ?1")?
        .query_row(params![name], |r| {
            Ok(BucketRow {
                name: r.get(0)?,
                created_ms: r.get(1)?,
                location: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn require_bucket(tx: &Transaction<'_>, name: &str) -> Result<BucketRow, StoreError> {
    bucket(tx, name)?.ok_or(StoreError::NoSuchBucket)
}

pub fn buckets(tx: &Transaction<'_>) -> Result<Vec<BucketRow>, StoreError> {
    let mut stmt =
        tx.prepare_cached("SELECT name, created_ms, location FROM buckets ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(BucketRow {
            name: r.get(0)?,
            created_ms: r.get(1)?,
            location: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert_bucket(
    tx: &Transaction<'_>,
    name: &str,
    created_ms: i64,
    location: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO buckets (name, created_ms, location) VALUES (?1, ?2, ?3)")?
        .execute(params![name, created_ms, location])?;
    Ok(())
}

pub fn bucket_is_empty(tx: &Transaction<'_>, name: &str) -> Result<bool, StoreError> {
    let any: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1")?
        .query_row(params![name], |r| r.get(0))
        .optional()?;
    Ok(any.is_none())
}

/// Deletes the bucket and its unfinished uploads; the blobs of their parts.
pub fn delete_bucket(tx: &Transaction<'_>, name: &str) -> Result<Vec<String>, StoreError> {
    let mut blobs = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT parts.blob FROM parts JOIN uploads ON parts.upload = uploads.id WHERE uploads.bucket = ?1",
        )?;
        let rows = stmt.query_map(params![name], |r| r.get::<_, String>(0))?;
        for row in rows {
            blobs.push(row?);
        }
    }
    tx.prepare_cached(
        "DELETE FROM parts WHERE upload IN (SELECT id FROM uploads WHERE bucket = ?1)",
    )?
    .execute(params![name])?;
    tx.prepare_cached("DELETE FROM uploads WHERE bucket = ?1")?
        .execute(params![name])?;
    tx.prepare_cached("DELETE FROM buckets WHERE name = ?1")?
        .execute(params![name])?;
    Ok(blobs)
}

fn object_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRow> {
    let key: Vec<u8> = r.get(0)?;
    Ok(ObjectRow {
        key: String::from_utf8_lossy(&key).into_owned(),
        blob: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        etag: r.get(3)?,
        modified_ms: r.get(4)?,
        class: r.get(5)?,
    })
}

pub fn object(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> Result<Option<(ObjectRow, Attrs)>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT key, blob, size, etag, modified_ms, class, attrs FROM objects WHERE bucket = ?1 AND key = ?2",
        )?
        .query_row(params![bucket, key.as_bytes()], |r| {
            Ok((object_from(r)?, Attrs::from_json(&r.get::<_, String>(6)?)))
        })
        .optional()?)
}

/// Inserts or replaces an object; the blob it replaced, if any.
pub fn put_object(
    tx: &Transaction<'_>,
    bucket: &str,
    row: &ObjectRow,
    attrs: &Attrs,
) -> Result<Option<String>, StoreError> {
    let old: Option<String> = tx
        .prepare_cached("SELECT blob FROM objects WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![bucket, row.key.as_bytes()], |r| r.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO objects (bucket, key, blob, size, etag, modified_ms, class, attrs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        bucket,
        row.key.as_bytes(),
        row.blob,
        row.size as i64,
        row.etag,
        row.modified_ms,
        row.class,
        attrs.to_json()
    ])?;
    Ok(old.filter(|b| *b != row.blob))
}

/// Replaces an object's attributes (its tags).
pub fn set_attrs(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    attrs: &Attrs,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached("UPDATE objects SET attrs = ?3 WHERE bucket = ?1 AND key = ?2")?
        .execute(params![bucket, key.as_bytes(), attrs.to_json()])?;
    if changed == 0 {
        return Err(StoreError::NoSuchKey);
    }
    Ok(())
}

/// Deletes an object; its blob, if it existed.
pub fn delete_object(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let old: Option<String> = tx
        .prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING blob")?
        .query_row(params![bucket, key.as_bytes()], |r| r.get(0))
        .optional()?;
    Ok(old)
}

/// Up to `limit` objects of the bucket from `from` on (inclusive or not), in
/// key order: the range scan ListObjects is made of.
pub fn scan(
    tx: &Transaction<'_>,
    bucket: &str,
    from: &[u8],
    inclusive: bool,
    limit: usize,
) -> Result<Vec<ObjectRow>, StoreError> {
    let sql = if inclusive {
        "SELECT key, blob, size, etag, modified_ms, class FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3"
    } else {
        "SELECT key, blob, size, etag, modified_ms, class FROM objects WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3"
    };
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(params![bucket, from, limit as i64], object_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert_upload(tx: &Transaction<'_>, upload: &UploadRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO uploads (id, bucket, key, created_ms, class, attrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        upload.id,
        upload.bucket,
        upload.key.as_bytes(),
        upload.created_ms,
        upload.class,
        upload.attrs.to_json()
    ])?;
    Ok(())
}

fn upload_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRow> {
    let key: Vec<u8> = r.get(2)?;
    Ok(UploadRow {
        id: r.get(0)?,
        bucket: r.get(1)?,
        key: String::from_utf8_lossy(&key).into_owned(),
        created_ms: r.get(3)?,
        class: r.get(4)?,
        attrs: Attrs::from_json(&r.get::<_, String>(5)?),
    })
}

/// The upload `id` of this bucket and key (S3 answers NoSuchUpload for an id
/// given with another key).
pub fn upload(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    id: &str,
) -> Result<UploadRow, StoreError> {
    tx.prepare_cached(
        "SELECT id, bucket, key, created_ms, class, attrs FROM uploads WHERE id = ?1",
    )?
    .query_row(params![id], upload_from)
    .optional()?
    .filter(|u| u.bucket == bucket && u.key == key)
    .ok_or(StoreError::NoSuchUpload)
}

/// The bucket's unfinished uploads, by key then creation.
pub fn uploads(
    tx: &Transaction<'_>,
    bucket: &str,
    prefix: &str,
    limit: usize,
) -> Result<Vec<UploadRow>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, bucket, key, created_ms, class, attrs FROM uploads WHERE bucket = ?1 AND key >= ?2
         ORDER BY key, created_ms LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![bucket, prefix.as_bytes(), limit as i64],
        upload_from,
    )?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        if !row.key.starts_with(prefix) {
            break;
        }
        out.push(row);
    }
    Ok(out)
}

/// Inserts or replaces a part; the blob it replaced, if any.
pub fn put_part(
    tx: &Transaction<'_>,
    upload: &str,
    part: &PartRow,
) -> Result<Option<String>, StoreError> {
    let old: Option<String> = tx
        .prepare_cached("SELECT blob FROM parts WHERE upload = ?1 AND number = ?2")?
        .query_row(params![upload, part.number], |r| r.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO parts (upload, number, blob, size, etag, modified_ms, checksums)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        upload,
        part.number,
        part.blob,
        part.size as i64,
        part.etag,
        part.modified_ms,
        serde_json::to_string(&part.checksums).unwrap_or_else(|_| "{}".into())
    ])?;
    Ok(old)
}

/// The parts of an upload numbered after `after`, in order, at most `limit`.
pub fn parts(
    tx: &Transaction<'_>,
    upload: &str,
    after: i32,
    limit: usize,
) -> Result<Vec<PartRow>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT number, blob, size, etag, modified_ms, checksums FROM parts WHERE upload = ?1 AND number > ?2
         ORDER BY number LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![upload, after, limit as i64], |r| {
        Ok(PartRow {
            number: r.get(0)?,
            blob: r.get(1)?,
            size: r.get::<_, i64>(2)? as u64,
            etag: r.get(3)?,
            modified_ms: r.get(4)?,
            checksums: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forgets an upload; the blobs of its parts.
pub fn delete_upload(tx: &Transaction<'_>, upload: &str) -> Result<Vec<String>, StoreError> {
    let blobs = {
        let mut stmt = tx.prepare_cached("DELETE FROM parts WHERE upload = ?1 RETURNING blob")?;
        let rows = stmt.query_map(params![upload], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    tx.prepare_cached("DELETE FROM uploads WHERE id = ?1")?
        .execute(params![upload])?;
    Ok(blobs)
}

/// Every blob the database names, with the size it should have.
pub fn all_blobs(tx: &Transaction<'_>) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt =
        tx.prepare("SELECT blob, size FROM objects UNION ALL SELECT blob, size FROM parts")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data folder written before parts kept their checksums (schema 1)
    /// opens as schema 2: its uploads' parts are kept, with no checksums
    /// (CompleteMultipartUpload computes them from the parts' bytes).
    #[test]
    fn a_schema_1_database_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        {
            let old = Connection::open(&path).unwrap();
            let schema_1 = SCHEMA.replace("    checksums TEXT NOT NULL DEFAULT '{}',\n", "");
            assert_ne!(schema_1, SCHEMA);
            old.execute_batch(&schema_1).unwrap();
            old.execute(
                "INSERT INTO parts (upload, number, blob, size, etag, modified_ms)
                 VALUES ('u', 1, 'b', 3, 'e', 0)",
                [],
            )
            .unwrap();
            old.pragma_update(None, "user_version", 1).unwrap();
        }
        let db = Db::open(&path).unwrap();
        let parts = db.read(|tx| parts(tx, "u", 0, 10)).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].size, parts[0].checksums.len()), (3, 0));
        let part = PartRow {
            number: 2,
            checksums: BTreeMap::from([("crc32".into(), "NhCmhg==".into())]),
            ..parts[0].clone()
        };
        db.write(|tx| put_part(tx, "u", &part)).unwrap();
        let again = db.read(|tx| super::parts(tx, "u", 0, 10)).unwrap();
        assert_eq!(again[1], part);
        drop(db);
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
