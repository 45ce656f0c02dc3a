//! Stream mode's answers (`RESPONSE_MODE=stream`): the bytes a function
//! sends when API Gateway invokes it with Lambda response streaming
//! (`responseTransferMode: STREAM`), shared by the Lambda boundary
//! ([`crate::lambda::stream`]) and the local emulator.
//!
//! The format is API Gateway's "Lambda proxy integration format for response
//! streaming": a JSON prelude (`statusCode`, `headers`, `multiValueHeaders`,
//! `cookies`), eight NUL bytes, then the body as raw bytes: no base64, no
//! binaryMediaTypes, so no 406 either. The prelude is written here, not by
//! lambda_runtime's `MetadataPrelude`, because that one writes a repeated
//! header as a JSON array inside `headers`, a shape API Gateway does not
//! document; here a repeated header goes to `multiValueHeaders`, and
//! otherwise the prelude has the shape lambda_runtime writes
//! (`statusCode`, `headers`, `cookies`).
//!
//! A body is known whole ([`StreamBody::Full`], every answer but a GET's) or
//! read from S3 as it is sent on ([`StreamBody::Object`]); its failure after
//! the prelude is an error the sender must make visible (the Runtime API's
//! error trailers, a cut connection): never a body that ends as if complete.

use crate::error::ApiError;
use crate::s3::ObjectBody;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, Response, header};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct};
use std::task::{Context, Poll};

/// What separates the prelude from the body.
pub const DELIMITER: [u8; 8] = [0; 8];

/// The body of a streamed answer.
#[derive(Debug)]
pub enum StreamBody {
    /// A body known whole: a document, an error, nothing.
    Full(Bytes),
    /// An object's bytes, read from S3 as they come.
    Object(Box<ObjectBody>),
}

impl StreamBody {
    /// The next chunk of the body, polled; `None` at its end.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        match self {
            Self::Full(bytes) if bytes.is_empty() => Poll::Ready(None),
            Self::Full(bytes) => Poll::Ready(Some(Ok(std::mem::take(bytes)))),
            Self::Object(body) => body.poll_chunk(cx),
        }
    }
}

impl From<lambda_http::Body> for StreamBody {
    /// A buffered answer's body, as raw bytes (text or binary alike).
    fn from(body: lambda_http::Body) -> Self {
        Self::Full(match body {
            lambda_http::Body::Text(text) => Bytes::from(text),
            lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
            _ => Bytes::new(),
        })
    }
}

/// The answer's bytes in the order they are sent: the prelude, the
/// delimiter, then the body's chunks. The prelude and the delimiter go as
/// chunks of their own, as lambda_runtime sends them: `cargo lambda watch`
/// reads the first chunk as the prelude and the second as the delimiter.
#[derive(Debug)]
pub struct Wire {
    prelude: Bytes,
    delimiter: bool,
    body: StreamBody,
}

impl Wire {
    pub fn new(response: Response<StreamBody>) -> Self {
        let (mut parts, body) = response.into_parts();
        if let StreamBody::Full(bytes) = &body
            && !bytes.is_empty()
            && !parts.headers.contains_key(header::CONTENT_LENGTH)
        {
            // API Gateway knows a buffered answer's length; a streamed
            // one's is said here, so a client can tell a cut stream.
            parts
                .headers
                .insert(header::CONTENT_LENGTH, bytes.len().into());
        }
        let mut prelude = BytesMut::with_capacity(256 + 64 * parts.headers.len());
        let json = Prelude {
            status: parts.status.as_u16(),
            headers: &parts.headers,
        };
        // A prelude of a status and header strings always serializes.
        let _ = serde_json::to_writer((&mut prelude).writer(), &json);
        Self {
            prelude: prelude.freeze(),
            delimiter: true,
            body,
        }
    }

    /// The next chunk to send; `None` at the end of the answer.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, ApiError>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// [`Self::next_chunk`], polled: for a body that hyper polls itself,
    /// with no task between S3's bytes and the connection they leave by.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        if !self.prelude.is_empty() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut self.prelude))));
        }
        if std::mem::take(&mut self.delimiter) {
            return Poll::Ready(Some(Ok(Bytes::from_static(&DELIMITER))));
        }
        self.body.poll_chunk(cx)
    }
}

/// The prelude's JSON: a name with one value in `headers`, a name with
/// several in `multiValueHeaders` (only when there is one), Set-Cookie as
/// `cookies`.
struct Prelude<'a> {
    status: u16,
    headers: &'a HeaderMap,
}

impl Serialize for Prelude<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let repeated = |name: &header::HeaderName| {
            name != header::SET_COOKIE && self.headers.get_all(name).iter().nth(1).is_some()
        };
        let multi = self.headers.keys().any(repeated);
        let mut out = serializer.serialize_struct("Prelude", 4)?;
        out.serialize_field("statusCode", &self.status)?;
        out.serialize_field("headers", &Headers(self.headers, false))?;
        if multi {
            out.serialize_field("multiValueHeaders", &Headers(self.headers, true))?;
        }
        let cookies: Vec<_> = self
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(text)
            .collect();
        out.serialize_field("cookies", &cookies)?;
        out.end()
    }
}

/// The names of a header map with one value (`false`) or with several
/// (`true`), Set-Cookie left out.
struct Headers<'a>(&'a HeaderMap, bool);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self(headers, multi) = *self;
        let mut map = serializer.serialize_map(None)?;
        for name in headers.keys().filter(|n| *n != header::SET_COOKIE) {
            let mut values = headers.get_all(name).iter().map(text).peekable();
            let first = values.next().unwrap_or_default();
            match (multi, values.peek().is_some()) {
                (false, false) => map.serialize_entry(name.as_str(), &first)?,
                (true, true) => {
                    let all: Vec<_> = std::iter::once(first).chain(values).collect();
                    map.serialize_entry(name.as_str(), &all)?
                }
                _ => {}
            }
        }
        map.end()
    }
}

/// Header values are visible ASCII; anything else is replaced, not fatal.
fn text(value: &http::HeaderValue) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn wire_bytes(response: Response<StreamBody>) -> Vec<u8> {
        let mut wire = Wire::new(response);
        let mut out = Vec::new();
        while let Some(chunk) = wire.next_chunk().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    fn split(wire: &[u8]) -> (serde_json::Value, &[u8]) {
        let at = wire.windows(8).position(|w| w == DELIMITER).unwrap();
        (
            serde_json::from_slice(&wire[..at]).unwrap(),
            &wire[at + 8..],
        )
    }

    #[tokio::test]
    async fn the_prelude_is_json_then_eight_nuls_then_the_raw_body() {
        let body = b"\x00\xff{not json}\x00".to_vec();
        let response = Response::builder()
            .status(206)
            .header("content-type", "application/octet-stream")
            .header("x-amz-meta-tag", "a")
            .header("x-amz-meta-tag", "b")
            .header("set-cookie", "s=1")
            .body(StreamBody::Full(Bytes::from(body.clone())))
            .unwrap();
        let wire = wire_bytes(response).await;
        let (prelude, rest) = split(&wire);
        assert_eq!(rest, body.as_slice(), "raw bytes, no base64");
        assert_eq!(
            prelude,
            serde_json::json!({
                "statusCode": 206,
                "headers": {
                    "content-type": "application/octet-stream",
                    "content-length": "13"
                },
                "multiValueHeaders": {"x-amz-meta-tag": ["a", "b"]},
                "cookies": ["s=1"]
            })
        );
    }

    #[tokio::test]
    async fn an_empty_answer_is_its_prelude_alone() {
        let response = Response::builder()
            .status(204)
            .body(StreamBody::from(lambda_http::Body::Empty))
            .unwrap();
        let wire = wire_bytes(response).await;
        let (prelude, rest) = split(&wire);
        assert!(rest.is_empty());
        assert_eq!(
            prelude,
            serde_json::json!({"statusCode": 204, "headers": {}, "cookies": []})
        );
    }
}
