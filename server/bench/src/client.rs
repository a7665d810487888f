//! The smallest clients that speak to paywatch-server: raw HTTP/1.1 over one
//! `TcpStream` each (keep-alive requests, a held long-poll, an SSE stream)
//! and a hand-rolled WebSocket (handshake, one masked text frame, frame
//! reader). Small on purpose: ten thousand of them share two cores with the
//! server being measured.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a waiter watches its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    LongPoll,
    Sse,
    Ws,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::LongPoll, Kind::Sse, Kind::Ws];

    pub fn name(self) -> &'static str {
        match self {
            Kind::LongPoll => "long-poll",
            Kind::Sse => "SSE",
            Kind::Ws => "WebSocket",
        }
    }
}

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// One keep-alive HTTP connection for plain requests.
pub struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    pub async fn connect(addr: SocketAddr) -> io::Result<Http> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Http {
            stream,
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends a request and reads the whole response: `(status, body)`.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> io::Result<(u16, Vec<u8>)> {
        self.request_with(method, path, &[], body).await
    }

    /// [`Http::request`] with extra headers.
    pub async fn request_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> io::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.stream.write_all(head.as_bytes()).await?;
        read_response(&mut self.stream, &mut self.buf).await
    }
}

/// Reads one `Content-Length` response (what every JSON answer has), or a
/// bodiless `204`.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<(u16, Vec<u8>)> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| err(format!("bad status line: {head}")))?;
            let len: usize = match status {
                204 | 304 => 0,
                _ => head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| err("response without content-length"))?,
            };
            while buf.len() < end + 4 + len {
                fill(stream, buf).await?;
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Ok((status, body));
        }
        fill(stream, buf).await?;
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 2048];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A waiter: one connection watching one order.
pub struct Waiter {
    pub kind: Kind,
    stream: TcpStream,
    /// Bytes received and not yet looked at.
    buf: Vec<u8>,
}

/// How a waiter's connection ended at server shutdown.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Long-poll answered 200 (with the status body).
    Answered,
    /// SSE body ended with the chunked terminator, then EOF.
    CleanEnd,
    /// WebSocket Close frame with this code.
    Close(u16),
    /// Reset, EOF mid-message, or nothing in time.
    Cut,
}

impl Waiter {
    /// Opens the waiter. SSE and WebSocket return once the current status
    /// arrived; a long-poll once its request is sent (the server holds it).
    pub async fn open(kind: Kind, addr: SocketAddr, order: &str) -> io::Result<Waiter> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut w = Waiter {
            kind,
            stream,
            buf: Vec::new(),
        };
        match kind {
            Kind::LongPoll => {
                let req = format!(
                    "GET /pay?action=check_pay_status_by_order&order_no={order}&wait=60 HTTP/1.1\r\nHost: bench\r\n\r\n"
                );
                w.stream.write_all(req.as_bytes()).await?;
            }
            Kind::Sse => {
                let req =
                    format!("GET /payment-status?order_no={order} HTTP/1.1\r\nHost: bench\r\n\r\n");
                w.stream.write_all(req.as_bytes()).await?;
                w.until(b"\"pending\"").await?;
            }
            Kind::Ws => {
                w.stream
                    .write_all(
                        b"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                    )
                    .await?;
                let end = w.until(b"\r\n\r\n").await?;
                if !w.buf.starts_with(b"HTTP/1.1 101") {
                    return Err(err(String::from_utf8_lossy(&w.buf[..end]).into_owned()));
                }
                w.buf.drain(..end + 4);
                let text = format!("{{\"order_no\":\"{order}\"}}");
                w.stream
                    .write_all(&masked_frame(0x1, text.as_bytes()))
                    .await?;
                loop {
                    let (op, payload) = w.frame().await?;
                    if op == 0x1 && find(&payload, b"\"pending\"").is_some() {
                        break;
                    }
                }
            }
        }
        Ok(w)
    }

    /// Reads until `needle` is in the buffer; returns where it starts.
    async fn until(&mut self, needle: &[u8]) -> io::Result<usize> {
        loop {
            if let Some(i) = find(&self.buf, needle) {
                return Ok(i);
            }
            fill(&mut self.stream, &mut self.buf).await?;
        }
    }

    /// Waits for the paid status; returns when it was seen.
    pub async fn paid(mut self) -> io::Result<Instant> {
        match self.kind {
            Kind::LongPoll | Kind::Sse => {
                self.until(b"\"paid\"").await?;
            }
            Kind::Ws => loop {
                let (op, payload) = self.frame().await?;
                if op == 0x1 && find(&payload, b"\"paid\"").is_some() {
                    break;
                }
                if op == 0x8 {
                    return Err(err("closed before paid"));
                }
            },
        }
        Ok(Instant::now())
    }

    /// Waits for the paid status like [`paid`](Self::paid), then keeps
    /// listening for `quiet` more: returns when it was first seen and how
    /// many times in all this connection was told `paid` (1 is right). An
    /// error means the connection failed before `paid` came.
    pub async fn paid_counted(mut self, quiet: Duration) -> io::Result<(Instant, usize)> {
        let mut seen: Option<Instant> = None;
        let mut count = 0;
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            // Count what is buffered already.
            match self.kind {
                Kind::LongPoll | Kind::Sse => {
                    while let Some(i) = find(&self.buf, b"\"paid\"") {
                        count += 1;
                        self.buf.drain(..i + 6);
                    }
                }
                Kind::Ws => {
                    while let Some((op, start, len)) = frame_header(&self.buf) {
                        if self.buf.len() < start + len {
                            break;
                        }
                        if op == 0x1 && find(&self.buf[start..start + len], b"\"paid\"").is_some() {
                            count += 1;
                        }
                        self.buf.drain(..start + len);
                    }
                }
            }
            if count > 0 && seen.is_none() {
                seen = Some(Instant::now());
                deadline = Some(tokio::time::Instant::now() + quiet);
            }
            let read = fill(&mut self.stream, &mut self.buf);
            match deadline {
                None => read.await?,
                Some(d) => match tokio::time::timeout_at(d, read).await {
                    Ok(Ok(())) => {}
                    // Quiet long enough, or the connection ended after `paid`.
                    Ok(Err(_)) | Err(_) => return Ok((seen.expect("seen"), count)),
                },
            }
        }
    }

    /// Reads until the server ends this connection (at shutdown).
    pub async fn ending(mut self, within: Duration) -> Ending {
        let kind = self.kind;
        let read = async {
            match kind {
                Kind::LongPoll => match self.until(b"\"pending\"").await {
                    Ok(_) if self.buf.starts_with(b"HTTP/1.1 200") => Ending::Answered,
                    _ => Ending::Cut,
                },
                Kind::Sse => {
                    while fill(&mut self.stream, &mut self.buf).await.is_ok() {}
                    if self.buf.ends_with(b"\r\n0\r\n\r\n") {
                        Ending::CleanEnd
                    } else {
                        Ending::Cut
                    }
                }
                Kind::Ws => loop {
                    match self.frame().await {
                        Ok((0x8, payload)) if payload.len() >= 2 => {
                            let code = u16::from_be_bytes([payload[0], payload[1]]);
                            // Answer the close, as a browser would.
                            let _ = self
                                .stream
                                .write_all(&masked_frame(0x8, &payload[..2]))
                                .await;
                            return Ending::Close(code);
                        }
                        Ok((0x8, _)) | Err(_) => return Ending::Cut,
                        Ok(_) => continue,
                    }
                },
            }
        };
        tokio::time::timeout(within, read)
            .await
            .unwrap_or(Ending::Cut)
    }

    /// One unmasked server frame: `(opcode, payload)`.
    async fn frame(&mut self) -> io::Result<(u8, Vec<u8>)> {
        loop {
            if let Some((op, start, len)) = frame_header(&self.buf) {
                if self.buf.len() >= start + len {
                    let payload = self.buf[start..start + len].to_vec();
                    self.buf.drain(..start + len);
                    return Ok((op, payload));
                }
            }
            fill(&mut self.stream, &mut self.buf).await?;
        }
    }
}

/// `(opcode, payload start, payload length)` once the header is complete.
fn frame_header(b: &[u8]) -> Option<(u8, usize, usize)> {
    if b.len() < 2 {
        return None;
    }
    let op = b[0] & 0x0f;
    match b[1] & 0x7f {
        126 if b.len() >= 4 => Some((op, 4, u16::from_be_bytes([b[2], b[3]]) as usize)),
        127 if b.len() >= 10 => {
            let len = u64::from_be_bytes(b[2..10].try_into().ok()?);
            Some((op, 10, usize::try_from(len).ok()?))
        }
        126 | 127 => None,
        n => Some((op, 2, n as usize)),
    }
}

/// A client frame (clients must mask) with a payload under 126 bytes.
fn masked_frame(op: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![0x80 | op, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// A connection that sends half a request head and nothing more.
pub async fn slowloris(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n").await?;
    Ok(s)
}
