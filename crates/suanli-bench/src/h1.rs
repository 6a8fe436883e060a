//! A lean HTTP/1.1 client for the load generators: one keep-alive connection a client, each request written in one call and its answer parsed by `httparse` (the parser under hyper), as wrk drives its connections.
//!
//! `bench e2e` runs its load generator on the two cores the server it measures runs on, so what
//! the generator spends, the server does not get. Through reqwest (its connection pool, URL
//! handling, timeouts and futures a request) the generator took 0.37 of a core at 9,000
//! submissions a second, more than half of what the server's HTTP workers took. Every target of
//! the benchmark that speaks HTTP (Suanli, slurmrestd) is driven by this same client.

use std::io::{Error, ErrorKind, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where requests go: `host:port` and the path prefix of the base URL they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: String,
    pub prefix: String,
}

impl Target {
    /// `http://host[:port][/prefix]`; TLS is not spoken.
    pub fn parse(base: &str) -> anyhow::Result<Target> {
        let rest = base.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("{base}: the load generator speaks plain http:// only"))?;
        let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        anyhow::ensure!(!authority.is_empty(), "{base}: no host");
        let addr = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let prefix = prefix.trim_end_matches('/');
        Ok(Target { addr, prefix: if prefix.is_empty() { String::new() } else { format!("/{prefix}") } })
    }
}

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// How an answer's body ends.
enum Framing {
    Length(usize),
    Chunked,
    /// Neither length nor chunks: the body runs to the connection's end.
    Close,
}

/// One connection's client, opened at its first request and again after any failure.
#[derive(Debug)]
pub struct H1 {
    target: Target,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    read: Vec<u8>,
}

impl H1 {
    pub fn new(target: Target) -> H1 {
        H1 { target, stream: None, request: Vec::with_capacity(1024), read: Vec::with_capacity(8192) }
    }

    /// POSTs a JSON `body` to the target's prefix and `path`, with `headers` besides Host,
    /// Content-Type and Content-Length. A failed exchange closes the connection and answers
    /// its error's text.
    pub async fn post_json(&mut self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Answer, String> {
        self.request.clear();
        let head = (|| {
            write!(self.request, "POST {}{path} HTTP/1.1\r\nHost: {}\r\n", self.target.prefix, self.target.addr)?;
            for (name, value) in headers {
                write!(self.request, "{name}: {value}\r\n")?;
            }
            write!(self.request, "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len())
        })();
        head.map_err(|e| e.to_string())?;
        self.request.extend_from_slice(body);
        match self.exchange().await {
            Ok((answer, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok(answer)
            }
            Err(e) => {
                self.stream = None;
                Err(format!("{}: {e}", self.target.addr))
            }
        }
    }

    /// Writes the request and reads its answer; whether the connection may carry another.
    async fn exchange(&mut self) -> std::io::Result<(Answer, bool)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.target.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.read.clear();
        }
        let H1 { stream, request, read, .. } = self;
        let Some(s) = stream.as_mut() else { return Err(Error::new(ErrorKind::NotConnected, "no connection")) };
        s.write_all(request).await?;
        let (status, head_len, framing, mut keep) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 48];
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(read).map_err(|e| Error::new(ErrorKind::InvalidData, e))? {
                httparse::Status::Complete(n) => break head(&r, n)?,
                httparse::Status::Partial => more(s, read).await?,
            }
        };
        let body = match framing {
            Framing::Length(len) => {
                while read.len() < head_len + len {
                    more(s, read).await?;
                }
                let body = read[head_len..head_len + len].to_vec();
                read.drain(..head_len + len);
                body
            }
            Framing::Chunked => {
                let (body, end) = chunked(s, read, head_len).await?;
                read.drain(..end);
                body
            }
            Framing::Close => {
                s.read_to_end(read).await?;
                keep = false;
                let body = read[head_len..].to_vec();
                read.clear();
                body
            }
        };
        Ok((Answer { status, body }, keep))
    }
}

/// An answer's status, head length, framing and whether it keeps the connection open.
fn head(r: &httparse::Response<'_, '_>, head_len: usize) -> std::io::Result<(u16, usize, Framing, bool)> {
    let status = r.code.ok_or_else(|| Error::new(ErrorKind::InvalidData, "an answer without a status"))?;
    let mut framing = Framing::Close;
    let mut keep = r.version == Some(1);
    for h in r.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = value.parse().map_err(|_| Error::new(ErrorKind::InvalidData, format!("Content-Length '{value}'")))?;
            if !matches!(framing, Framing::Chunked) {
                framing = Framing::Length(len);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().ends_with("chunked") {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    // An answer that carries no body by its status.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok((status, head_len, framing, keep))
}

/// Reads a chunked body that starts at `from`: the body and where the answer ends.
async fn chunked(s: &mut TcpStream, read: &mut Vec<u8>, from: usize) -> std::io::Result<(Vec<u8>, usize)> {
    let (mut body, mut at) = (Vec::new(), from);
    loop {
        match httparse::parse_chunk_size(&read[at..]).map_err(|_| Error::new(ErrorKind::InvalidData, "a malformed chunk size"))? {
            httparse::Status::Partial => more(s, read).await?,
            httparse::Status::Complete((size_len, 0)) => {
                // The last chunk, then trailer lines up to an empty one.
                at += size_len;
                loop {
                    match read[at..].windows(2).position(|w| w == b"\r\n") {
                        Some(0) => return Ok((body, at + 2)),
                        Some(line) => at += line + 2,
                        None => more(s, read).await?,
                    }
                }
            }
            httparse::Status::Complete((size_len, size)) => {
                let size = usize::try_from(size).map_err(|_| Error::new(ErrorKind::InvalidData, "a chunk too large"))?;
                while read.len() < at + size_len + size + 2 {
                    more(s, read).await?;
                }
                body.extend_from_slice(&read[at + size_len..at + size_len + size]);
                at += size_len + size + 2;
            }
        }
    }
}

/// Reads what has arrived; the connection's end before the answer's is an error.
async fn more(s: &mut TcpStream, read: &mut Vec<u8>) -> std::io::Result<()> {
    read.reserve(8192);
    if s.read_buf(read).await? == 0 {
        return Err(Error::new(ErrorKind::UnexpectedEof, "the connection closed before the answer ended"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn targets_are_read_with_their_port_and_prefix() {
        assert_eq!(Target::parse("http://127.0.0.1:6820").unwrap(), Target { addr: "127.0.0.1:6820".into(), prefix: String::new() });
        assert_eq!(Target::parse("http://h/api/").unwrap(), Target { addr: "h:80".into(), prefix: "/api".into() });
        assert!(Target::parse("https://h").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    /// A server that answers each request on one connection with the next of `answers`, and
    /// hands back what it was sent.
    async fn serve(answers: Vec<&'static [u8]>) -> (Target, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            for a in answers {
                // One request: its head, then the Content-Length it declares.
                loop {
                    let mut buf = [0u8; 4096];
                    let n = s.read(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.rfind("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .rev()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                s.write_all(a).await.unwrap();
                got.extend_from_slice(b"|");
            }
            got
        });
        (Target { addr, prefix: "/p".into() }, task)
    }

    #[tokio::test]
    async fn length_and_chunked_answers_are_read_on_one_kept_connection() {
        let (target, server) = serve(vec![
            b"HTTP/1.1 201 Created\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\nx-trailer: 1\r\n\r\n",
            b"HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        ])
        .await;
        let mut c = H1::new(target);
        let a = c.post_json("/jobs", &[("Authorization", "Bearer t")], b"{\"x\":1}").await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (201, &b"{\"a\":1}"[..]));
        let a = c.post_json("/jobs", &[], b"{}").await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"{\"b\":2}"[..]));
        let a = c.post_json("/jobs", &[], b"{}").await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (422, &b"{}"[..]));
        assert!(c.stream.is_none(), "Connection: close ends the connection");
        let sent = String::from_utf8(server.await.unwrap()).unwrap();
        assert!(sent.starts_with("POST /p/jobs HTTP/1.1\r\nHost: 127.0.0.1:"), "{sent}");
        assert!(
            sent.contains("\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"x\":1}|"),
            "{sent}"
        );
        assert_eq!(sent.matches("POST /p/jobs").count(), 3, "three requests on the one connection: {sent}");
    }

    #[tokio::test]
    async fn a_connection_closed_mid_answer_is_an_error_and_the_next_request_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target { addr: listener.local_addr().unwrap().to_string(), prefix: String::new() };
        tokio::spawn(async move {
            // The first connection: half an answer, then closed.
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{\"a\"").await.unwrap();
            drop(s);
            // The second: a whole one.
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").await.unwrap();
            let _ = s.read(&mut buf).await;
        });
        let mut c = H1::new(target);
        let e = c.post_json("/j", &[], b"{}").await.unwrap_err();
        assert!(e.contains("closed before the answer ended"), "{e}");
        let a = c.post_json("/j", &[], b"{}").await.unwrap();
        assert_eq!(a.status, 201);
    }
}
