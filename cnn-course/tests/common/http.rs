//! A minimal HTTP/1.1 server on 127.0.0.1 for the download tests: each connection gets
//! the next scripted reply (the last one repeats), and the server counts requests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub enum Reply {
    /// 200 with these bytes.
    File(Vec<u8>),
    /// 404.
    NotFound,
    /// 503.
    Unavailable,
    /// 200 announcing the whole file, but the connection closes after this many bytes.
    Cut(Vec<u8>, usize),
}

pub struct Server {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
}

impl Server {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A base URL on a port nobody listens on: the connection is refused, as when offline.
pub fn nobody_listening() -> String {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/", closed.local_addr().unwrap())
}

pub fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        // Bounded: a test never needs more than a few dozen requests.
        for (i, stream) in listener.incoming().take(50).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let reply = replies[i.min(replies.len() - 1)].clone();
            let _ = match reply {
                Reply::File(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|_| stream.write_all(&body)),
                Reply::NotFound => {
                    stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                }
                Reply::Unavailable => stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                Reply::Cut(body, after) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|_| stream.write_all(&body[..after])),
            };
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    Server { base, requests }
}
