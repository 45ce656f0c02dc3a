//! GetObject's body in stream mode: read from S3 chunk by chunk as the
//! answer is sent, never held whole, with S3's failures (a cut, a short
//! body, a stall) reported as errors rather than a clean end.

use crate::error::ApiError;
use crate::outcome::{ObjectMeta, Outcome};
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// A GetObject in stream mode.
#[derive(Debug)]
pub enum ObjectGet {
    /// The object's headers, its body still to read.
    Streamed {
        meta: ObjectMeta,
        body: Box<ObjectBody>,
    },
    /// Answered without a body to stream (an object over the stream limit).
    Done(Outcome),
}

/// The body of S3's GetObject answer, read chunk by chunk: never held whole.
#[derive(Debug)]
pub struct ObjectBody {
    body: ByteStream,
    /// Bytes S3 announced (Content-Length) and has not sent yet.
    remaining: u64,
    /// How long S3 may keep the next chunk waiting, and until when.
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Chunks gathered to be sent on together.
    batch: Batch,
    /// Resting [`PACE`] before reading on, after a small batch.
    resting: bool,
    pace: Pin<Box<Sleep>>,
    /// An error met while gathering a batch, for after the batch.
    failed: Option<ApiError>,
    ended: bool,
}

/// Chunks S3 has already delivered are sent on together, up to this size:
/// S3's arrive as the HTTP client reads them (8 KB each on loopback), and
/// every chunk sent on costs a wake-up and a write, here and at the reader.
const BATCH: usize = 256 * 1024;
/// After a batch smaller than this, reading rests [`PACE`] (the batch itself,
/// the first one included, goes at once).
const MIN_BATCH: usize = 64 * 1024;
const PACE: Duration = Duration::from_millis(1);

impl ObjectBody {
    pub(super) fn new(body: ByteStream, length: u64, idle: Duration) -> Self {
        Self {
            body,
            remaining: length,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            batch: Batch::default(),
            resting: false,
            pace: Box::pin(tokio::time::sleep(Duration::ZERO)),
            failed: None,
            ended: false,
        }
    }

    /// The next chunk: what S3 has delivered so far (up to [`BATCH`] bytes),
    /// without waiting for more; `None` once S3 sent every byte it
    /// announced. A body that ends short, fails, or stalls longer than the
    /// idle time is an error: the answer must not look complete.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
        if self.resting {
            std::task::ready!(self.pace.as_mut().poll(cx));
            self.resting = false;
        }
        while self.batch.len() < BATCH && !self.ended {
            let error = match Pin::new(&mut self.body).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                    self.batch.push(chunk);
                    continue;
                }
                Poll::Ready(Some(Err(e))) => format!("reading the object body: {e}"),
                Poll::Ready(None) if self.remaining > 0 => {
                    format!("S3 ended the body {} bytes short", self.remaining)
                }
                Poll::Ready(None) => {
                    self.ended = true;
                    break;
                }
                Poll::Pending if self.batch.is_empty() => match self.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => "S3 sent nothing for the idle time".into(),
                    Poll::Pending => return Poll::Pending,
                },
                Poll::Pending => break,
            };
            let error = ApiError::Internal(error);
            if self.batch.is_empty() {
                return Poll::Ready(Some(Err(error)));
            }
            self.failed = Some(error);
            break;
        }
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Poll::Ready(None);
        }
        let now = tokio::time::Instant::now();
        if batch.len() < MIN_BATCH {
            // S3 sends slower than this reads: rest a moment before reading
            // on, so that its bytes gather in the socket and are read (and
            // sent on) in larger pieces, with fewer wake-ups and writes.
            self.resting = true;
            self.pace.as_mut().reset(now + PACE);
        }
        self.deadline.as_mut().reset(now + self.idle);
        Poll::Ready(Some(Ok(batch.into_bytes())))
    }
}

/// Chunks gathered into one: the first kept as it is, copied only when a
/// second one joins it.
#[derive(Debug, Default)]
struct Batch {
    first: Option<Bytes>,
    more: Option<BytesMut>,
}

impl Batch {
    fn len(&self) -> usize {
        match (&self.first, &self.more) {
            (_, Some(more)) => more.len(),
            (Some(first), None) => first.len(),
            (None, None) => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, chunk: Bytes) {
        if let Some(more) = &mut self.more {
            more.extend_from_slice(&chunk);
        } else if let Some(first) = self.first.take() {
            let mut more = BytesMut::with_capacity(BATCH + chunk.len());
            more.extend_from_slice(&first);
            more.extend_from_slice(&chunk);
            self.more = Some(more);
        } else {
            self.first = Some(chunk);
        }
    }

    fn into_bytes(self) -> Bytes {
        match (self.first, self.more) {
            (_, Some(more)) => more.freeze(),
            (first, None) => first.unwrap_or_default(),
        }
    }
}
