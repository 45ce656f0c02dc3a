//! A data folder written by the store before this one (s3s-fs 0.14: one
//! folder per bucket, one file per key, JSON side files for attributes and
//! ETags) is imported on first start: every file is hard-linked (or copied)
//! into a blob, its attributes into the database, all in one transaction on
//! a database file that takes its real name only once complete. The old
//! files are then moved, untouched, to `_s3s-fs-backup/`. A folder that is
//! neither empty, nor a store, nor s3s-fs's layout is refused, with what to
//! do.

use super::StoreError;
use super::blobs::{Blobs, new_id};
use super::db::{self, Attrs, Db, ObjectRow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Names this store uses in the data folder.
fn ours(name: &str) -> bool {
    name.starts_with("_store.") || matches!(name, "_blobs" | "_incoming" | "_s3s-fs-backup")
}

/// What s3s-fs left beside the bucket folders.
fn s3s_fs_side_file(name: &str) -> bool {
    [".bucket-", ".upload-", ".upload_id-", ".tmp."]
        .iter()
        .any(|p| name.starts_with(p))
        || name == ".s3-proxy-write-test"
}

/// Readies a folder without a database: nothing to do when it is empty,
/// an import when it holds s3s-fs's layout, a refusal otherwise.
pub fn prepare(root: &Path, db_path: &Path, blobs: &Blobs) -> Result<(), StoreError> {
    let migrating = root.join("_store.sqlite.migrating");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", migrating.display()));
    }
    let mut buckets = Vec::new();
    let mut side_files = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ours(&name) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() && s3s::path::check_bucket_name(&name) {
            buckets.push(name);
        } else if kind.is_file() && s3s_fs_side_file(&name) {
            side_files.push(name);
        } else if name.starts_with('.') {
            // Another hidden file (.DS_Store, .gitkeep): not the store's, left alone.
        } else {
            return Err(StoreError::Layout(format!(
                "the data folder {} is not empty and is not an s3-proxy store (it holds {name:?}); \
                 choose an empty or new folder with --data (or DATA=...)",
                root.display()
            )));
        }
    }
    if buckets.is_empty() && side_files.is_empty() {
        return Ok(());
    }
    let (count, bytes) = import(root, &migrating, blobs, &buckets)?;
    std::fs::rename(&migrating, db_path)?;
    let backup = root.join("_s3s-fs-backup");
    std::fs::create_dir_all(&backup)?;
    for name in buckets.iter().chain(&side_files) {
        std::fs::rename(root.join(name), backup.join(name))?;
    }
    let message = format!(
        "s3-proxy: imported {count} objects ({bytes} bytes) in {} buckets from the previous store's layout in {}; \
         the old files are in {} (delete it once you are satisfied)",
        buckets.len(),
        root.display(),
        backup.display()
    );
    eprintln!("{message}");
    tracing::info!("{message}");
    Ok(())
}

/// The attributes s3s-fs kept in `.bucket-B.object-K.metadata.json`.
#[derive(serde::Deserialize, Default)]
struct OldAttributes {
    user_metadata: Option<HashMap<String, String>>,
    content_encoding: Option<String>,
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
    website_redirect_location: Option<String>,
}

fn side_file(root: &Path, bucket: &str, key: &str, suffix: &str) -> PathBuf {
    root.join(format!(
        ".bucket-{}.object-{}.{suffix}",
        URL_SAFE_NO_PAD.encode(bucket),
        URL_SAFE_NO_PAD.encode(key)
    ))
}

fn old_attrs(root: &Path, bucket: &str, key: &str) -> (Attrs, Option<String>) {
    let text = std::fs::read(side_file(root, bucket, key, "metadata.json")).unwrap_or_default();
    let old: OldAttributes = serde_json::from_slice(&text)
        .or_else(|_| {
            serde_json::from_slice::<HashMap<String, String>>(&text).map(|m| OldAttributes {
                user_metadata: Some(m),
                ..Default::default()
            })
        })
        .unwrap_or_default();
    let info: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(
        &std::fs::read(side_file(root, bucket, key, "internal.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let mut checksums = BTreeMap::new();
    for name in super::objects::ALGORITHMS {
        if let Some(v) = info
            .get(&format!("checksum_{name}"))
            .and_then(|v| v.as_str())
        {
            checksums.insert(name.to_string(), v.to_string());
        }
    }
    let etag = info
        .get("e_tag")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let attrs = Attrs {
        content_type: old.content_type,
        content_encoding: old.content_encoding,
        content_disposition: old.content_disposition,
        content_language: old.content_language,
        cache_control: old.cache_control,
        expires: old.expires,
        website_redirect_location: old.website_redirect_location,
        metadata: old.user_metadata.unwrap_or_default().into_iter().collect(),
        checksums,
        ..Attrs::default()
    };
    (attrs, etag)
}

fn md5_of(path: &Path) -> std::io::Result<String> {
    use md5::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(hex::encode(md5.finalize()))
}

fn millis(t: std::io::Result<std::time::SystemTime>) -> i64 {
    t.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Every file of every bucket folder, as (key, path), keys '/'-joined.
fn files_of(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::warn!(path = %entry.path().display(), "not imported: the name is not UTF-8");
            continue;
        };
        let kind = entry.file_type()?;
        let key = format!("{prefix}{name}");
        if kind.is_dir() {
            files_of(&entry.path(), &format!("{key}/"), out)?;
        } else if kind.is_file() {
            out.push((key, entry.path()));
        }
    }
    Ok(())
}

fn import(
    root: &Path,
    migrating: &Path,
    blobs: &Blobs,
    buckets: &[String],
) -> Result<(usize, u64), StoreError> {
    let database = Db::open(migrating)?;
    let totals = database.write(|tx| {
        let (mut count, mut bytes) = (0usize, 0u64);
        for bucket in buckets {
            let dir = root.join(bucket);
            db::insert_bucket(
                tx,
                bucket,
                millis(std::fs::metadata(&dir).and_then(|m| m.modified())),
                None,
            )?;
            let mut files = Vec::new();
            files_of(&dir, "", &mut files)?;
            for (key, path) in files {
                if key.len() > 1024 {
                    tracing::warn!(%bucket, %key, "not imported: the key is over 1024 bytes");
                    continue;
                }
                let meta = std::fs::metadata(&path)?;
                let (attrs, etag) = old_attrs(root, bucket, &key);
                let etag = match etag {
                    Some(e) => e,
                    None => md5_of(&path)?,
                };
                let id = new_id()?;
                let target = blobs.path(&id);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                if std::fs::hard_link(&path, &target).is_err() {
                    std::fs::copy(&path, &target)?;
                }
                let row = ObjectRow {
                    key,
                    blob: id,
                    size: meta.len(),
                    etag,
                    modified_ms: millis(meta.modified()),
                    class: None,
                };
                db::put_object(tx, bucket, &row, &attrs)?;
                count += 1;
                bytes += meta.len();
            }
        }
        Ok((count, bytes))
    })?;
    database.checkpoint()?;
    drop(database);
    Ok(totals)
}
