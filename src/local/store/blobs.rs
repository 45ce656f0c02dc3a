//! Object bytes: one immutable file per stored body, named by a random id
//! (never by the key, so any key S3 allows can be stored, and no key can
//! name a path).
//!
//! A body is written to `_incoming/<id>`, moved to `_blobs/<xx>/<id>` when
//! complete, and only then named by a database row: until that commit no
//! reader can see it, and a crash at any point leaves at most an unnamed
//! file, which [`Blobs::sweep`] removes later. A file replaced or deleted in
//! the database is unlinked after the commit; a reader that already opened
//! it keeps reading the old bytes.

use super::StoreError;
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

/// Files younger than this are never swept: another process may be writing
/// one, or about to commit it (connections idle for a minute are closed, so
/// no upload pauses this long).
const SWEEP_MIN_AGE: Duration = Duration::from_secs(15 * 60);

pub struct Blobs {
    blobs: PathBuf,
    incoming: PathBuf,
}

/// A fresh random id: 128 bits, hex.
pub fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Io(io::Error::other(e.to_string())))?;
    Ok(hex::encode(bytes))
}

fn is_id(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Blobs {
    pub fn open(root: &Path) -> io::Result<Self> {
        let blobs = root.join("_blobs");
        let incoming = root.join("_incoming");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&incoming)?;
        Ok(Self { blobs, incoming })
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.blobs.join(&id[..2.min(id.len())]).join(id)
    }

    /// A new file to write a body into.
    pub async fn create(&self) -> Result<BlobWriter, StoreError> {
        let id = new_id()?;
        let temp = self.incoming.join(&id);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        Ok(BlobWriter {
            path: self.path(&id),
            id,
            temp,
            file: Some(tokio::io::BufWriter::with_capacity(256 * 1024, file)),
            size: 0,
            state: State::Writing,
        })
    }

    /// Unlinks blobs no row names any more (after the commit that dropped them).
    pub fn remove(&self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            if let Err(e) = std::fs::remove_file(self.path(&id))
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(blob = %id, error = %e, "could not remove a blob");
            }
        }
    }

    /// Removes files no row names that are old enough to be left-overs of a
    /// crash (never one being written now, here or in another process).
    /// `named` is every blob the database names, read after the listing.
    pub fn sweep(
        &self,
        list_then_named: impl FnOnce() -> Result<HashSet<String>, StoreError>,
    ) -> Result<usize, StoreError> {
        let now = SystemTime::now();
        let old = |path: &Path| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > SWEEP_MIN_AGE)
        };
        let mut candidates = Vec::new();
        for entry in std::fs::read_dir(&self.incoming)? {
            let path = entry?.path();
            if old(&path) {
                candidates.push((None, path));
            }
        }
        for dir in std::fs::read_dir(&self.blobs)? {
            let dir = dir?;
            if !dir.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(dir.path())? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_id(&name) && old(&entry.path()) {
                    candidates.push((Some(name), entry.path()));
                }
            }
        }
        // Named blobs are read after the files were listed: a file committed
        // in between is named, never swept.
        let named = list_then_named()?;
        let mut removed = 0;
        for (id, path) in candidates {
            if id.is_some_and(|id| named.contains(&id)) {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Files under `_blobs` (ids) and under `_incoming` (count).
    pub fn inventory(&self) -> io::Result<(HashSet<String>, usize)> {
        let mut ids = HashSet::new();
        for dir in std::fs::read_dir(&self.blobs)? {
            let dir = dir?;
            if dir.file_type()?.is_dir() {
                for entry in std::fs::read_dir(dir.path())? {
                    ids.insert(entry?.file_name().to_string_lossy().into_owned());
                }
            }
        }
        let incoming = std::fs::read_dir(&self.incoming)?.count();
        Ok((ids, incoming))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Writing,
    Placed,
    Kept,
}

/// A body being written. Dropped before [`BlobWriter::keep`], it removes its
/// file, wherever it is.
pub struct BlobWriter {
    pub id: String,
    temp: PathBuf,
    path: PathBuf,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    size: u64,
    state: State,
}

impl BlobWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the blob is closed"))?;
        file.write_all(bytes).await?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The temporary file's path (for writers that copy files into it).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    pub fn add_size(&mut self, n: u64) {
        self.size += n;
    }

    /// The body is complete: moves the file to its place. It is still
    /// unnamed until the caller commits a row naming it.
    pub async fn place(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            file.into_inner().sync_data().await?;
        }
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(&self.temp, &self.path).await?;
        self.state = State::Placed;
        Ok(())
    }

    /// [`BlobWriter::place`] for a file filled through [`BlobWriter::temp_path`]
    /// (nothing written through [`BlobWriter::write`]), from blocking code.
    pub fn place_sync(&mut self) -> io::Result<()> {
        if let Some(file) = self.file.take()
            && !file.buffer().is_empty()
        {
            return Err(io::Error::other("unflushed writes"));
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&self.temp, &self.path)?;
        self.state = State::Placed;
        Ok(())
    }

    /// A row names the file now: it stays.
    pub fn keep(mut self) {
        self.state = State::Kept;
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let path = match self.state {
            State::Writing => &self.temp,
            State::Placed => &self.path,
            State::Kept => return,
        };
        let _ = std::fs::remove_file(path);
    }
}
