//! GetObject's body in stream mode: read from S3 chunk by chunk as the
//! answer is sent, never held whole, with S3's failures (a cut, a short
//! body, a stall) reported as errors rather than a clean end.

use crate::error::ApiError;
use crate::outcome::{ObjectMeta, Outcome};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
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
///
/// Each chunk goes on as S3's HTTP client delivered it, uncopied: the
/// connection it leaves by queues the chunks that are ready and writes them
/// together (hyper's vectored writes). Gathering them into larger buffers
/// here, and resting a millisecond after a small one so that more would
/// gather, made a 64 MB stream 1.3 times slower (docs/streaming.md).
#[derive(Debug)]
pub struct ObjectBody {
    body: ByteStream,
    /// Bytes S3 announced (Content-Length) and has not sent yet.
    remaining: u64,
    /// How long S3 may keep the next chunk waiting, and until when.
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// A chunk came since the deadline was set: set it anew when S3 next
    /// keeps one waiting (once a wait, not once a chunk).
    progressed: bool,
}

impl ObjectBody {
    pub(crate) fn new(body: ByteStream, length: u64, idle: Duration) -> Self {
        Self {
            body,
            remaining: length,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            progressed: false,
        }
    }

    /// The next chunk S3 delivers; `None` once S3 sent every byte it
    /// announced. A body that ends short, fails, or stalls longer than the
    /// idle time is an error: the answer must not look complete.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        let error = match Pin::new(&mut self.body).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                self.progressed = true;
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(Some(Err(e))) => format!("reading the object body: {e}"),
            Poll::Ready(None) if self.remaining > 0 => {
                format!("S3 ended the body {} bytes short", self.remaining)
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {
                if std::mem::take(&mut self.progressed) {
                    let next = tokio::time::Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                match self.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => "S3 sent nothing for the idle time".into(),
                    Poll::Pending => return Poll::Pending,
                }
            }
        };
        Poll::Ready(Some(Err(ApiError::Internal(error))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;
    use http_body::Frame;

    /// A body that sends `chunks`, then keeps the reader waiting forever.
    struct Stalling(Vec<Bytes>);

    impl http_body::Body for Stalling {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.0.pop() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                None => Poll::Pending,
            }
        }
    }

    async fn next(body: &mut ObjectBody) -> Option<Result<Bytes, ApiError>> {
        std::future::poll_fn(|cx| body.poll_chunk(cx)).await
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_pass_uncopied_and_a_stall_is_an_error_after_the_idle_time() {
        let chunk = Bytes::from_static(b"first");
        let stream = ByteStream::new(SdkBody::from_body_1_x(Stalling(vec![chunk.clone()])));
        let idle = Duration::from_secs(30);
        let mut body = ObjectBody::new(stream, 100, idle);
        // Paused time moves only while every task waits: a stall of 29 s
        // has not failed the body yet, 31 s has.
        tokio::time::sleep(Duration::from_secs(29)).await;
        let first = next(&mut body).await.unwrap().unwrap();
        assert_eq!(
            first.as_ptr(),
            chunk.as_ptr(),
            "the chunk itself, not a copy"
        );
        let started = tokio::time::Instant::now();
        let stalled = next(&mut body).await.unwrap().unwrap_err();
        assert!(matches!(stalled, ApiError::Internal(m) if m.contains("idle")));
        assert_eq!(
            started.elapsed(),
            idle,
            "the idle time counts from the last chunk"
        );
    }

    #[tokio::test]
    async fn a_body_that_ends_short_is_an_error() {
        let stream = ByteStream::from_static(b"0123456789");
        let mut body = ObjectBody::new(stream, 20, Duration::from_secs(30));
        assert_eq!(next(&mut body).await.unwrap().unwrap(), &b"0123456789"[..]);
        let short = next(&mut body).await.unwrap().unwrap_err();
        assert!(matches!(short, ApiError::Internal(m) if m.contains("10 bytes short")));
    }
}
