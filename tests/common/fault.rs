//! Fault servers: real servers on 127.0.0.1 that misbehave as a backend can
//! (stall, throttle, corrupt, stop midway), each stopped when dropped.

use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A fault server: accepts connections and runs `serve` on each.
pub struct Fault {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Fault {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn fault<F, Fut>(serve: F) -> Fault
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket));
        }
    });
    Fault { addr, task }
}

/// Reads one request head (and discards it).
pub async fn read_head(socket: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

/// What an S3 that holds an object's body does once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Sends the rest of the body.
    Finish,
    /// Closes the connection, the body unfinished.
    Cut,
}

/// An S3 endpoint that answers every GetObject with `object` (200, its
/// whole length announced), sends its first `sent` bytes, then holds the
/// rest until `release` is notified, and then does `then`.
pub async fn held_object(object: Vec<u8>, sent: usize, then: Then) -> (Fault, Arc<Notify>) {
    let release = Arc::new(Notify::new());
    let (object, held) = (Arc::new(object), release.clone());
    let server = fault(move |mut socket| {
        let (object, held) = (object.clone(), held.clone());
        async move {
            read_head(&mut socket).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
                 content-length: {}\r\netag: \"held\"\r\n\
                 last-modified: Wed, 25 Nov 2026 06:00:00 GMT\r\n\
                 x-amz-request-id: HELD\r\n\r\n",
                object.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&object[..sent]).await;
            held.notified().await;
            if then == Then::Finish {
                let _ = socket.write_all(&object[sent..]).await;
            }
            let _ = socket.shutdown().await;
        }
    })
    .await;
    (server, release)
}
