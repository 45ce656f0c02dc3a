//! The emulator in stream mode (`RESPONSE_MODE=stream make run`): each
//! request invokes the handler as Lambda response streaming does
//! ([`crate::lambda::stream::respond`]), and its bytes are relayed the way
//! API Gateway relays them: the JSON prelude is read up to the eight NUL
//! bytes (within the first 16 KB, else 502) and becomes the status and
//! headers; every byte after it goes to the client as it comes, raw, with
//! no base64 and no binaryMediaTypes. A body that fails midway cuts the
//! client's connection: the client sees a truncated transfer, not an answer
//! that ends as if complete. A panic of the handler fails the invocation:
//! before the prelude, API Gateway's 502; midway, a cut stream.
//!
//! Not emulated: API Gateway's throttling past 10 MB (about 2 MB/s), its
//! idle and 15-minute limits, and whatever it does with `Content-Length`
//! (here the prelude's is passed on, so a cut stream is visibly short).

use super::gateway::{
    Gateway, GatewayError, HttpRequest, HttpResponse, status_and_headers, unless_it_panics,
};
use crate::error::ApiError;
use crate::lambda;
use crate::stream::{DELIMITER, Wire};
use bytes::Bytes;
use serde_json::Value;

/// API Gateway reads the prelude within the first 16 KB of the stream.
pub const PRELUDE_LIMIT: usize = 16 * 1024;

/// A streamed answer as the client receives it: status and headers first,
/// then the body as it comes.
#[derive(Debug)]
pub struct StreamedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Relay,
}

impl StreamedResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An answer known whole (API Gateway's own refusals).
    fn whole(response: HttpResponse) -> Self {
        Self {
            status: response.status,
            headers: response.headers,
            body: Relay {
                first: Bytes::from(response.body),
                wire: None,
            },
        }
    }
}

/// The body after the prelude: what was read with it, then the rest.
#[derive(Debug)]
pub struct Relay {
    first: Bytes,
    wire: Option<Wire>,
}

impl Relay {
    /// The whole body, or what came of it before it failed.
    pub async fn collect(mut self) -> Result<Vec<u8>, (Vec<u8>, ApiError)> {
        use http_body_util::BodyExt;
        let mut out = Vec::new();
        while let Some(frame) = self.frame().await {
            match frame {
                Ok(frame) => out.extend_from_slice(frame.data_ref().map_or(&[][..], |d| d)),
                Err(error) => return Err((out, error)),
            }
        }
        Ok(out)
    }
}

impl Gateway {
    /// Serves one HTTP request in stream mode: the answer's head once the
    /// prelude is read, its body still to come.
    pub async fn call_streaming(&self, req: HttpRequest) -> StreamedResponse {
        let (event, context) = match self.invocation(&req) {
            Ok(invocation) => invocation,
            Err(refused) => return StreamedResponse::whole(refused),
        };
        let request_id = context.request_id.clone();
        // Boxed: the handler's future is large, and a debug build's
        // connection task would carry it on its stack.
        let prelude = unless_it_panics(Box::pin(async {
            let response = lambda::stream::respond(&self.app, event.as_bytes(), context).await;
            read_prelude(Wire::new(response)).await
        }));
        match prelude.await.unwrap_or(Err("the invocation failed")) {
            Ok(mut out) => {
                out.headers.push(("x-amzn-requestid".into(), request_id));
                out
            }
            Err(why) => {
                tracing::error!("streamed answer: {why}");
                let origin = req.first_header("origin");
                let bad = self.own_answer(GatewayError::BadLambdaAnswer, origin, &request_id);
                StreamedResponse::whole(bad)
            }
        }
    }
}

/// Reads a streamed answer's prelude as API Gateway does; what is wrong
/// with it, when API Gateway would answer its 502.
async fn read_prelude(mut wire: Wire) -> Result<StreamedResponse, &'static str> {
    let mut head = Vec::new();
    let at = loop {
        if let Some(at) = head.windows(DELIMITER.len()).position(|w| w == DELIMITER) {
            break at;
        }
        if head.len() > PRELUDE_LIMIT {
            return Err("no prelude delimiter within 16 KB");
        }
        match wire.next_chunk().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            _ => return Err("the answer ended before its prelude"),
        }
    };
    let Ok(Value::Object(prelude)) = serde_json::from_slice::<Value>(&head[..at]) else {
        return Err("the prelude is not a JSON object");
    };
    let Some((status, mut headers)) = status_and_headers(&prelude) else {
        return Err("the prelude has no valid statusCode");
    };
    if let Some(Value::Array(cookies)) = prelude.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), cookie.to_string()));
        }
    }
    let first = Bytes::from(head).slice(at + DELIMITER.len()..);
    Ok(StreamedResponse {
        status,
        headers,
        body: Relay {
            first,
            wire: Some(wire),
        },
    })
}

/// The relay as hyper's body: chunks as they come, polled by the client's
/// connection; an error (which makes hyper cut the connection) when the
/// answer failed midway.
impl http_body::Body for Relay {
    type Data = Bytes;
    type Error = ApiError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, ApiError>>> {
        if !self.first.is_empty() {
            let first = std::mem::take(&mut self.first);
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        let Some(wire) = self.wire.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        // A panic midway fails the invocation: the stream is cut, as a
        // failure of S3 midway cuts it (not the connection's task).
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wire.poll_chunk(cx)));
        let chunk = polled.unwrap_or_else(|_| {
            tracing::error!("the handler panicked midway: the stream is cut");
            self.wire = None;
            std::task::Poll::Ready(Some(Err(ApiError::Internal("the handler panicked".into()))))
        });
        chunk.map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}
