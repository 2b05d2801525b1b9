//! The HTTP/1.1 client connection of one VU: the request is serialized once at plan time
//! and written with one `write_all`; the response is parsed in a per-connection buffer and
//! its body discarded as it arrives, so memory stays flat and nothing is allocated per
//! request. HTTP/2 stays with hyper (`client.rs`).

use std::mem::MaybeUninit;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::failure::io_kind;
use crate::stats::ErrorKind;

/// First size of a connection's read buffer; a head or chunk line that does not fit makes
/// it grow up to `MAX_BUFFER`.
const INITIAL_BUFFER: usize = 16 * 1024;
/// The longest response head, chunk-size line or trailer line accepted.
const MAX_BUFFER: usize = 256 * 1024;
/// Response headers beyond this count are a protocol error (hyper's default is 100).
const MAX_HEADERS: usize = 100;

/// Request bytes built once at plan time; sending clones the refcounted `Bytes`.
#[derive(Debug, Clone)]
pub(crate) struct H1Request {
    pub bytes: Bytes,
    /// A response to HEAD has no body whatever its headers say.
    pub head: bool,
    /// RFC 9110 §9.2.2: sending it twice has the effect of sending it once.
    pub idempotent: bool,
}

impl H1Request {
    /// `METHOD path HTTP/1.1`, `host` first, the user's headers, `content-length` when
    /// there is a body (or the method normally carries one), then the body.
    pub fn new(method: &Method, path_and_query: &str, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut out = Vec::with_capacity(128 + body.len());
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(path_and_query.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let host = headers.get(http::header::HOST);
        for (name, value) in
            host.map(|v| (&http::header::HOST, v))
                .into_iter()
                .chain(headers.iter().filter(|(n, _)| {
                    // Framing is ours: a user's length would desynchronize the connection.
                    *n != http::header::HOST
                        && *n != http::header::CONTENT_LENGTH
                        && *n != http::header::TRANSFER_ENCODING
                }))
        {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let carries_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        if !body.is_empty() || carries_body {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        H1Request {
            bytes: Bytes::from(out),
            head: *method == Method::HEAD,
            idempotent: matches!(
                *method,
                Method::GET
                    | Method::HEAD
                    | Method::OPTIONS
                    | Method::TRACE
                    | Method::PUT
                    | Method::DELETE
            ),
        }
    }
}

/// What the parser needs next, or what it just finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Everything given was consumed (or is an incomplete line kept for later): read more.
    NeedMore,
    /// The final (non-1xx) response head was parsed.
    Head,
    /// The response is complete.
    Done,
}

/// A response that breaks HTTP/1.1 framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The connection ended before the response did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    /// Inside a chunk's data: bytes left before its CRLF.
    ChunkData(u64),
    ChunkDataEnd,
    ChunkSize,
    Trailers,
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(Body),
    Done,
}

/// Sans-I/O response parser: fed the unconsumed part of the read buffer, it says how many
/// bytes it consumed and what it needs next. Body bytes are consumed (discarded) as given.
#[derive(Debug)]
pub(crate) struct ResponseParser {
    state: State,
    head_only: bool,
    status: u16,
    keep_alive: bool,
}

/// What a parsed head means for the rest of the response.
enum Head {
    /// A 1xx response (100 Continue, 103 Early Hints): another head follows.
    Interim,
    Final {
        status: u16,
        body: Option<Body>,
        keep_alive: bool,
    },
}

fn token_list_has(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn last_token_is(value: &[u8], token: &str) -> bool {
    value
        .rsplit(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .find(|t| !t.is_empty())
        .is_some_and(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// `Content-Length`: digits only; a repeated header or list must agree.
fn content_length(value: &[u8], seen: Option<u64>) -> Result<u64, Malformed> {
    let mut result = seen;
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return Err(Malformed);
        }
        let n = part
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        match result {
            Some(prev) if prev != n => return Err(Malformed),
            _ => result = Some(n),
        }
    }
    result.ok_or(Malformed)
}

/// A chunk-size line without its line end: `1*HEXDIG [BWS] [; extensions]`.
fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return Err(Malformed);
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest.starts_with(b";")) {
        return Err(Malformed);
    }
    let mut size = 0u64;
    for &b in &line[..digits] {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        size = size * 16 + u64::from(v);
    }
    Ok(size)
}

/// The next line of `input` without its CRLF (a bare LF is tolerated, as by most clients),
/// and the bytes it spans including the line end.
fn line(input: &[u8]) -> Option<(&[u8], usize)> {
    let lf = input.iter().position(|&b| b == b'\n')?;
    let text = &input[..lf];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some((text, lf + 1))
}

impl ResponseParser {
    pub fn new(head_only: bool) -> Self {
        ResponseParser {
            state: State::Head,
            head_only,
            status: 0,
            keep_alive: false,
        }
    }

    /// The final response's status; 0 before its head.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the connection may carry another request once this response is done.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive && self.state == State::Done
    }

    fn head(&self, input: &[u8]) -> Result<Option<(usize, Head)>, Malformed> {
        // Uninitialized: zeroing 100 headers on every parse showed up in profiles.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut resp,
            input,
            &mut headers,
        );
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Malformed),
        };
        let status = resp.code.ok_or(Malformed)?;
        let http11 = resp.version == Some(1);
        let mut length = None;
        let mut chunked = None;
        let mut close = false;
        let mut keep_alive_token = false;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                length = Some(content_length(h.value, length)?);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Only the last coding of the last header decides.
                chunked = Some(last_token_is(h.value, "chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                close |= token_list_has(h.value, "close");
                keep_alive_token |= token_list_has(h.value, "keep-alive");
            }
        }
        if (100..200).contains(&status) {
            // We never ask to switch protocols, so a 101 cannot be followed.
            return if status == 101 {
                Err(Malformed)
            } else {
                Ok(Some((len, Head::Interim)))
            };
        }
        let mut keep_alive = !close && (http11 || keep_alive_token);
        let body = if self.head_only || status == 204 || status == 304 {
            None
        } else if let Some(chunked) = chunked {
            // RFC 9112 §6.3: Transfer-Encoding wins over Content-Length, and then the
            // connection must close after the response.
            keep_alive &= length.is_none();
            if chunked {
                Some(Body::ChunkSize)
            } else {
                keep_alive = false;
                Some(Body::UntilClose)
            }
        } else if let Some(n) = length {
            Some(Body::Length(n))
        } else {
            keep_alive = false;
            Some(Body::UntilClose)
        };
        Ok(Some((
            len,
            Head::Final {
                status,
                body,
                keep_alive,
            },
        )))
    }

    /// Consumes as much of `input` as possible; returns the bytes consumed and the step.
    pub fn parse(&mut self, input: &[u8]) -> Result<(usize, Step), Malformed> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.state {
                State::Done => return Ok((at, Step::Done)),
                State::Head => {
                    let Some((len, head)) = self.head(rest)? else {
                        return Ok((at, Step::NeedMore));
                    };
                    at += len;
                    let Head::Final {
                        status,
                        body,
                        keep_alive,
                    } = head
                    else {
                        continue;
                    };
                    self.status = status;
                    self.keep_alive = keep_alive;
                    self.state = match body {
                        None | Some(Body::Length(0)) => State::Done,
                        Some(b) => State::Body(b),
                    };
                    return Ok((at, Step::Head));
                }
                State::Body(Body::Length(left)) | State::Body(Body::ChunkData(left)) => {
                    let take = (rest.len() as u64).min(left);
                    at += take as usize;
                    let left = left - take;
                    self.state = match self.state {
                        State::Body(Body::Length(_)) if left == 0 => State::Done,
                        State::Body(Body::Length(_)) => State::Body(Body::Length(left)),
                        _ if left == 0 => State::Body(Body::ChunkDataEnd),
                        _ => State::Body(Body::ChunkData(left)),
                    };
                    if left > 0 {
                        return Ok((at, Step::NeedMore));
                    }
                }
                State::Body(Body::ChunkDataEnd) => {
                    let Some((text, len)) = line(rest) else {
                        // A lone CR may still be followed by its LF; anything else is wrong.
                        if rest.is_empty() || rest == b"\r" {
                            return Ok((at, Step::NeedMore));
                        }
                        return Err(Malformed);
                    };
                    if !text.is_empty() {
                        return Err(Malformed);
                    }
                    at += len;
                    self.state = State::Body(Body::ChunkSize);
                }
                State::Body(Body::ChunkSize) => {
                    let Some((text, len)) = line(rest) else {
                        return Ok((at, Step::NeedMore));
                    };
                    let size = chunk_size(text)?;
                    at += len;
                    self.state = State::Body(if size == 0 {
                        Body::Trailers
                    } else {
                        Body::ChunkData(size)
                    });
                }
                State::Body(Body::Trailers) => {
                    let Some((text, len)) = line(rest) else {
                        return Ok((at, Step::NeedMore));
                    };
                    at += len;
                    if text.is_empty() {
                        self.state = State::Done;
                    } else if !text.contains(&b':') {
                        return Err(Malformed);
                    }
                }
                State::Body(Body::UntilClose) => {
                    return Ok((input.len(), Step::NeedMore));
                }
            }
        }
    }

    /// The peer closed the connection: fine only for a body delimited by the close.
    pub fn eof(&mut self) -> Result<(), Truncated> {
        match self.state {
            State::Done => Ok(()),
            State::Body(Body::UntilClose) => {
                self.state = State::Done;
                self.keep_alive = false;
                Ok(())
            }
            _ => Err(Truncated),
        }
    }
}

/// Why an exchange failed, and whether it may be sent again on a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct H1Failure {
    pub kind: ErrorKind,
    /// The server closed a kept-alive connection before any byte of the response (its idle
    /// timeout racing this request). Like Go's net/http, a retry on a new connection is
    /// safe when nothing was written or the method is idempotent.
    pub retry: bool,
}

/// One keep-alive HTTP/1.1 connection over plain TCP or TLS.
pub(crate) struct H1Conn<S> {
    io: S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Set while an exchange is in flight: an exchange dropped half-way (timeout, abort)
    /// leaves the connection mid-response, so it must not be reused.
    busy: bool,
    reusable: bool,
    /// A response was completed on it before: the server may close it as idle at any time.
    reused: bool,
    /// Bytes written and read since the last `take_counts`.
    pub sent: u64,
    pub received: u64,
}

/// The final status, when its head was complete and when the whole response was.
pub(crate) struct H1Response {
    pub status: u16,
    pub head_at: Instant,
    pub done_at: Instant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    pub fn new(io: S) -> Self {
        H1Conn {
            io,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            busy: false,
            reusable: true,
            reused: false,
            sent: 0,
            received: 0,
        }
    }

    pub fn usable(&self) -> bool {
        self.reusable && !self.busy
    }

    /// Whether an idle connection can carry the next request: the peer may have closed it
    /// meanwhile (an idle timeout shorter than the VU's pause), which shows as a readable
    /// EOF. One poll with a no-op waker: on a busy connection tokio knows it is not readable
    /// and makes no system call.
    pub fn ready_for_request(&mut self) -> bool {
        if !self.usable() {
            return false;
        }
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut probe = tokio::io::ReadBuf::new(&mut self.buf[..]);
        match std::pin::Pin::new(&mut self.io).poll_read(&mut cx, &mut probe) {
            std::task::Poll::Pending => true,
            // EOF, an error, or bytes nobody asked for: not safe to send on.
            std::task::Poll::Ready(_) => {
                self.reusable = false;
                false
            }
        }
    }

    pub fn take_counts(&mut self) -> (u64, u64) {
        (
            std::mem::take(&mut self.sent),
            std::mem::take(&mut self.received),
        )
    }

    /// Sends the request and reads the whole response, discarding the body.
    pub async fn exchange(&mut self, req: &H1Request) -> Result<H1Response, H1Failure> {
        let (sent_before, received_before, reused) = (self.sent, self.received, self.reused);
        let result = self.send_and_read(req).await;
        result.map_err(|kind| {
            let wrote = self.sent > sent_before;
            let answered = self.received > received_before;
            H1Failure {
                kind,
                retry: reused
                    && !answered
                    && kind == ErrorKind::Reset
                    && (req.idempotent || !wrote),
            }
        })
    }

    async fn send_and_read(&mut self, req: &H1Request) -> Result<H1Response, ErrorKind> {
        if !self.usable() {
            return Err(ErrorKind::Reset);
        }
        self.busy = true;
        let mut written = 0;
        while written < req.bytes.len() {
            let n = self
                .io
                .write(&req.bytes[written..])
                .await
                .map_err(|e| io_kind(&e))?;
            if n == 0 {
                return Err(ErrorKind::Reset);
            }
            written += n;
            // Counted as it goes: a write that fails part-way still sent these bytes.
            self.sent += n as u64;
        }
        self.io.flush().await.map_err(|e| io_kind(&e))?;

        let mut parser = ResponseParser::new(req.head);
        // The head's time is taken when it is parsed, but a head and body that arrived
        // together share one clock read with the end.
        let mut head_parsed = false;
        let mut head_at = None;
        loop {
            let (used, step) = parser
                .parse(&self.buf[self.start..self.end])
                .map_err(|_| ErrorKind::Protocol)?;
            self.start += used;
            match step {
                Step::Head => {
                    head_parsed = true;
                    continue;
                }
                Step::Done => break,
                Step::NeedMore => {}
            }
            if head_parsed && head_at.is_none() {
                head_at = Some(Instant::now());
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.end == self.buf.len() {
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                } else if self.buf.len() < MAX_BUFFER {
                    self.buf.resize((self.buf.len() * 2).min(MAX_BUFFER), 0);
                } else {
                    return Err(ErrorKind::Protocol);
                }
            }
            let n = self
                .io
                .read(&mut self.buf[self.end..])
                .await
                .map_err(|e| io_kind(&e))?;
            self.received += n as u64;
            if n == 0 {
                self.reusable = false;
                parser.eof().map_err(|_| ErrorKind::Reset)?;
                break;
            }
            self.end += n;
        }
        // Bytes after the response that nobody asked for: the framing can't be trusted.
        self.reusable = parser.keep_alive() && self.start == self.end;
        self.reused = true;
        self.start = 0;
        self.end = 0;
        self.busy = false;
        let done_at = Instant::now();
        Ok(H1Response {
            status: parser.status(),
            done_at,
            head_at: head_at.unwrap_or(done_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use proptest::prelude::*;
    use tokio::io::ReadBuf;

    use super::*;

    /// A peer that answers with scripted reads (then EOF, or silence when `stall`) and
    /// records what was written.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        stall: bool,
        /// Bytes accepted before writes fail with a broken pipe; unlimited when `None`.
        write_limit: Option<usize>,
    }

    impl AsyncRead for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            if this.reads.is_empty() && this.stall {
                return Poll::Pending;
            }
            if let Some(mut chunk) = this.reads.pop_front() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    this.reads.push_front(chunk.split_off(n));
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Script {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            let n = match &mut this.write_limit {
                None => data.len(),
                Some(0) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Some(left) => {
                    let n = data.len().min(*left);
                    *left -= n;
                    n
                }
            };
            this.written.extend_from_slice(&data[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn get() -> H1Request {
        H1Request::new(&Method::GET, "/health", &HeaderMap::new(), b"")
    }

    fn head() -> H1Request {
        H1Request::new(&Method::HEAD, "/health", &HeaderMap::new(), b"")
    }

    fn conn(chunks: Vec<Vec<u8>>) -> H1Conn<Script> {
        H1Conn::new(Script {
            reads: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
            written: Vec::new(),
            stall: false,
            write_limit: None,
        })
    }

    /// The status and whether the connection stays reusable, or the error kind.
    fn exchange_once(
        req: &H1Request,
        chunks: Vec<Vec<u8>>,
    ) -> (Result<(u16, bool), ErrorKind>, H1Conn<Script>) {
        let mut c = conn(chunks);
        let r = futures::executor::block_on(c.exchange(req))
            .map(|r| (r.status, c.usable()))
            .map_err(|f| f.kind);
        (r, c)
    }

    /// Runs the exchange with the response split in two at every position, and in single
    /// bytes, and checks every run agrees with `want`.
    fn at_every_split(req: &H1Request, response: &[u8], want: Result<(u16, bool), ErrorKind>) {
        for i in 0..=response.len() {
            let (got, c) = exchange_once(req, vec![response[..i].to_vec(), response[i..].to_vec()]);
            assert_eq!(
                got,
                want,
                "split at {i} of {:?}",
                String::from_utf8_lossy(response)
            );
            if want.is_ok() {
                assert_eq!(c.received, response.len() as u64, "bytes counted");
                assert_eq!(c.sent, req.bytes.len() as u64);
                assert_eq!(c.io.written, req.bytes.to_vec());
            }
        }
        let bytes = response.iter().map(|b| vec![*b]).collect();
        assert_eq!(exchange_once(req, bytes).0, want, "one byte per read");
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;foo=bar\r\nhello\r\n6 ; name=\"x;y\"\r\n world\r\n\
        1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last=1\r\nX-Trailer: a\r\nX-Other: b\r\n\r\n";

    #[test]
    fn serializes_request_line_host_headers_length_and_body_once() {
        let mut headers = HeaderMap::new();
        headers.insert("accept", "application/json".parse().unwrap());
        headers.insert("content-length", "99".parse().unwrap());
        headers.insert("host", "example.test:8080".parse().unwrap());
        let req = H1Request::new(&Method::POST, "/api/x?a=1", &headers, b"{}");
        assert_eq!(
            &req.bytes[..],
            b"POST /api/x?a=1 HTTP/1.1\r\nhost: example.test:8080\r\n\
              accept: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
        assert!(!req.head);
        let get = H1Request::new(&Method::GET, "/", &HeaderMap::new(), b"");
        assert_eq!(&get.bytes[..], b"GET / HTTP/1.1\r\n\r\n");
        let empty_post = H1Request::new(&Method::POST, "/", &HeaderMap::new(), b"");
        assert_eq!(
            &empty_post.bytes[..],
            b"POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn content_length_body_is_read_at_every_split() {
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\nhello",
            Ok((200, true)),
        );
        at_every_split(
            &get(),
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            Ok((404, true)),
        );
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_is_read_at_every_split() {
        at_every_split(&get(), CHUNKED, Ok((200, true)));
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            Ok((200, true)),
        );
    }

    #[test]
    fn interim_1xx_responses_are_skipped() {
        at_every_split(
            &get(),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
              HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
            Ok((201, true)),
        );
    }

    #[test]
    fn responses_without_a_body_end_at_the_head() {
        // The length a 204/304/HEAD response announces is not followed by a body.
        at_every_split(
            &get(),
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            Ok((204, true)),
        );
        at_every_split(
            &get(),
            b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
            Ok((304, true)),
        );
        at_every_split(
            &head(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            Ok((200, true)),
        );
    }

    #[test]
    fn close_delimited_body_reads_to_eof_and_is_not_reused() {
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until the close",
            Ok((200, false)),
        );
        // A transfer coding other than chunked last is delimited by the close too.
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzzz",
            Ok((200, false)),
        );
    }

    #[test]
    fn connection_close_and_http10_are_not_reused() {
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            Ok((200, false)),
        );
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n",
            Ok((200, false)),
        );
        at_every_split(
            &get(),
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            Ok((200, false)),
        );
        at_every_split(
            &get(),
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            Ok((200, true)),
        );
        // Both framings: chunked wins, and the connection closes after.
        at_every_split(
            &get(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            Ok((200, false)),
        );
    }

    #[test]
    fn malformed_responses_are_protocol_errors() {
        for bad in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        ] {
            at_every_split(&get(), bad, Err(ErrorKind::Protocol));
        }
    }

    #[test]
    fn eof_before_the_response_ends_is_a_reset() {
        for full in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
            CHUNKED,
        ] {
            for len in 0..full.len() {
                let (got, _) = exchange_once(&get(), vec![full[..len].to_vec()]);
                assert_eq!(got, Err(ErrorKind::Reset), "prefix of {len} bytes");
            }
        }
    }

    #[test]
    fn keep_alive_connection_serves_consecutive_responses() {
        let first = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let second = CHUNKED.to_vec();
        let mut c = conn(vec![
            first.clone(),
            second[..30].to_vec(),
            second[30..].to_vec(),
        ]);
        let a = futures::executor::block_on(c.exchange(&get())).unwrap();
        assert!(c.usable());
        let b = futures::executor::block_on(c.exchange(&get())).unwrap();
        assert_eq!((a.status, b.status), (200, 200));
        assert!(c.usable());
        assert_eq!(
            c.take_counts(),
            (
                2 * get().bytes.len() as u64,
                (first.len() + second.len()) as u64
            )
        );
        assert_eq!(c.take_counts(), (0, 0));
    }

    #[test]
    fn an_idle_connection_closed_by_the_peer_is_not_offered_for_the_next_request() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let mut open = conn(vec![response.clone()]);
        open.io.stall = true;
        assert!(futures::executor::block_on(open.exchange(&get())).is_ok());
        assert!(open.ready_for_request(), "nothing to read yet: still open");
        let mut closed = conn(vec![response]);
        assert!(futures::executor::block_on(closed.exchange(&get())).is_ok());
        assert!(closed.usable());
        assert!(!closed.ready_for_request(), "the peer's EOF is waiting");
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    fn post() -> H1Request {
        H1Request::new(&Method::POST, "/orders", &HeaderMap::new(), b"{}")
    }

    /// A connection that has served one response, then meets `then` on the next exchange.
    fn second_exchange(req: &H1Request, then: Vec<Vec<u8>>) -> Result<u16, H1Failure> {
        let mut reads = vec![OK.to_vec()];
        reads.extend(then);
        let mut c = conn(reads);
        assert!(futures::executor::block_on(c.exchange(&get())).is_ok());
        futures::executor::block_on(c.exchange(req)).map(|r| r.status)
    }

    #[test]
    fn a_kept_alive_connection_closed_before_any_response_byte_may_be_retried() {
        let reset = |retry| {
            Err(H1Failure {
                kind: ErrorKind::Reset,
                retry,
            })
        };
        assert_eq!(second_exchange(&get(), vec![]), reset(true));
        assert_eq!(second_exchange(&head(), vec![]), reset(true));
        // The request went out and the method is not idempotent: the server may have acted.
        assert_eq!(second_exchange(&post(), vec![]), reset(false));
        // Part of a response came: the server answered, nothing to retry.
        let cut = vec![b"HTTP/1.1 200".to_vec()];
        assert_eq!(second_exchange(&get(), cut), reset(false));
    }

    #[test]
    fn a_fresh_connection_closed_before_answering_is_not_retried() {
        let got = futures::executor::block_on(conn(vec![]).exchange(&get())).map(|r| r.status);
        assert_eq!(
            got,
            Err(H1Failure {
                kind: ErrorKind::Reset,
                retry: false
            })
        );
    }

    #[test]
    fn a_write_that_fails_part_way_counts_the_bytes_it_wrote() {
        let req = post();
        for limit in [0, 7] {
            let mut c = conn(vec![]);
            c.io.write_limit = Some(limit);
            let got = futures::executor::block_on(c.exchange(&req));
            assert_eq!(
                got.map(|r| r.status).map_err(|f| f.kind),
                Err(ErrorKind::Reset)
            );
            assert_eq!(c.take_counts().0, limit as u64);
        }
        // Nothing written on a kept-alive connection: even a POST may go again.
        let mut c = conn(vec![OK.to_vec()]);
        assert!(futures::executor::block_on(c.exchange(&get())).is_ok());
        c.io.write_limit = Some(0);
        let got = futures::executor::block_on(c.exchange(&req)).map(|r| r.status);
        assert_eq!(
            got,
            Err(H1Failure {
                kind: ErrorKind::Reset,
                retry: true
            })
        );
    }

    #[test]
    fn unsolicited_bytes_after_a_response_prevent_reuse() {
        let (got, _) = exchange_once(
            &get(),
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200".to_vec()],
        );
        assert_eq!(got, Ok((200, false)));
    }

    #[test]
    fn large_bodies_are_discarded_without_growing_the_buffer() {
        let body = vec![b'x'; 1 << 20];
        let mut response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        response.extend_from_slice(&body);
        let (got, c) = exchange_once(&get(), vec![response]);
        assert_eq!(got, Ok((200, true)));
        assert_eq!(c.buf.len(), INITIAL_BUFFER);
    }

    #[test]
    fn oversized_head_is_a_protocol_error() {
        let mut response = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        response.extend(std::iter::repeat_n(b'a', MAX_BUFFER));
        response.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            exchange_once(&get(), vec![response]).0,
            Err(ErrorKind::Protocol)
        );
    }

    #[test]
    fn an_exchange_dropped_half_way_leaves_the_connection_unusable() {
        let mut c = conn(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel".to_vec(),
        ]);
        c.io.stall = true;
        let req = get();
        {
            let fut = c.exchange(&req);
            futures::pin_mut!(fut);
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            // Dropped here, as a timeout or an interrupted iteration drops it.
        }
        assert!(!c.usable());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
            let cut = cut.min(data.len());
            let _ = exchange_once(&get(), vec![data[..cut].to_vec(), data[cut..].to_vec()]);
        }

        #[test]
        fn arbitrary_head_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            data.extend_from_slice(&tail);
            let _ = exchange_once(&get(), vec![data]);
        }

        #[test]
        fn chunked_reads_agree_however_the_input_is_cut(cuts in proptest::collection::vec(0usize..CHUNKED.len(), 0..8)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts {
                chunks.push(CHUNKED[at..c].to_vec());
                at = c;
            }
            chunks.push(CHUNKED[at..].to_vec());
            prop_assert_eq!(exchange_once(&get(), chunks).0, Ok((200, true)));
        }
    }
}
