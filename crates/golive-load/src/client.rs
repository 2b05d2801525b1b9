//! The HTTP client of one VU: one keep-alive connection per origin, hyper's low-level
//! connection API, rustls (ring) with ALPN for HTTP/2.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::stats::{ErrorKind, Outcome, Sample, SubRoute};

/// A scheme+host+port that a VU keeps one connection to.
#[derive(Debug)]
pub(crate) struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub server_name: Option<ServerName<'static>>,
    /// Resolved once per connection attempt unless the host is an IP literal.
    pub literal: Option<SocketAddr>,
}

/// A request compiled once at plan time; sending it clones only refcounted parts.
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    pub method: Method,
    pub origin: usize,
    pub uri_h1: Uri,
    pub uri_h2: Uri,
    pub headers_h1: HeaderMap,
    pub headers_h2: HeaderMap,
    pub body: Bytes,
    pub timeout: Duration,
    pub routes: Vec<SubRoute>,
}

pub(crate) struct ClientShared {
    pub origins: Vec<Origin>,
    /// Built only when some origin is https (loading the platform roots costs file I/O).
    pub tls: Option<TlsConnector>,
}

#[derive(Default, Debug)]
struct ByteCounts {
    sent: AtomicU64,
    received: AtomicU64,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Counts wire bytes (after TLS) for `data_sent` / `data_received`.
struct Counted {
    inner: Stream,
    counts: Arc<ByteCounts>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = match &mut this.inner {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let n = buf.filled().len() - before;
        if n > 0 {
            this.counts.received.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = match &mut this.inner {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        };
        if let Poll::Ready(Ok(n)) = res {
            this.counts.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = match &mut this.inner {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        if let Poll::Ready(Ok(n)) = res {
            this.counts.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }
    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Io = TokioIo<Counted>;
type ReqBody = Full<Bytes>;

/// Runs hyper's HTTP/2 connection tasks on the worker's `LocalSet`.
#[derive(Clone, Copy)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

enum Sender {
    /// The connection future is driven inline by the VU while a request is in flight,
    /// which saves a task hop per request.
    H1 {
        send: http1::SendRequest<ReqBody>,
        driver: Option<Pin<Box<http1::Connection<Io, ReqBody>>>>,
    },
    H2 {
        send: http2::SendRequest<ReqBody>,
    },
}

pub(crate) struct Conn {
    sender: Sender,
    counts: Arc<ByteCounts>,
}

impl Conn {
    fn usable(&self) -> bool {
        match &self.sender {
            Sender::H1 { send, driver } => driver.is_some() && !send.is_closed(),
            Sender::H2 { send } => !send.is_closed(),
        }
    }
}

/// A VU's connections, one slot per origin.
pub(crate) struct VuClient {
    conns: Vec<Option<Conn>>,
    /// One timer per VU, re-armed per request: moving a registered deadline later is a
    /// cheap update in tokio, unlike registering a new timer for every request.
    timer: Pin<Box<tokio::time::Sleep>>,
}

struct Failure(ErrorKind);

fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        _ => {
            if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                ErrorKind::Tls
            } else {
                ErrorKind::Connect
            }
        }
    }
}

fn hyper_kind(e: &hyper::Error) -> ErrorKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return io_kind(io);
        }
        source = s.source();
    }
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_parse() || e.is_user() {
        ErrorKind::Protocol
    } else {
        // Incomplete message, canceled or closed: the peer went away mid-exchange.
        ErrorKind::Reset
    }
}

struct Connected {
    conn: Conn,
    connecting_us: u64,
    tls_us: Option<u64>,
}

async fn connect(shared: &ClientShared, origin: &Origin) -> Result<Connected, Failure> {
    let addrs: Vec<SocketAddr> = match origin.literal {
        Some(a) => vec![a],
        None => tokio::net::lookup_host((origin.host.as_str(), origin.port))
            .await
            .map_err(|_| Failure(ErrorKind::Dns))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Failure(ErrorKind::Dns));
    }
    let t0 = Instant::now();
    let mut last = ErrorKind::Connect;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = io_kind(&e),
        }
    }
    let Some(tcp) = tcp else {
        return Err(Failure(last));
    };
    let _ = tcp.set_nodelay(true);
    let t1 = Instant::now();
    let connecting_us = (t1 - t0).as_micros() as u64;
    let counts = Arc::new(ByteCounts::default());
    let (stream, tls_us, h2) = match (&origin.server_name, origin.https) {
        (Some(name), true) => {
            let Some(connector) = &shared.tls else {
                return Err(Failure(ErrorKind::Tls));
            };
            let tls = connector.connect(name.clone(), tcp).await.map_err(|e| {
                Failure(match io_kind(&e) {
                    ErrorKind::Reset | ErrorKind::Timeout => io_kind(&e),
                    _ => ErrorKind::Tls,
                })
            })?;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            (
                Stream::Tls(Box::new(tls)),
                Some(t1.elapsed().as_micros() as u64),
                h2,
            )
        }
        _ => (Stream::Plain(tcp), None, false),
    };
    let io = TokioIo::new(Counted {
        inner: stream,
        counts: counts.clone(),
    });
    let sender = if h2 {
        let (send, conn) = http2::handshake(LocalExec, io)
            .await
            .map_err(|e| Failure(hyper_kind(&e)))?;
        tokio::task::spawn_local(conn);
        Sender::H2 { send }
    } else {
        let (send, conn) = http1::handshake(io)
            .await
            .map_err(|e| Failure(hyper_kind(&e)))?;
        Sender::H1 {
            send,
            driver: Some(Box::pin(conn)),
        }
    };
    Ok(Connected {
        conn: Conn { sender, counts },
        connecting_us,
        tls_us,
    })
}

/// What the VU measured for one request, before corrected latency is applied.
pub(crate) struct Exchange {
    pub sample: Sample,
    pub ended_at: Instant,
}

impl VuClient {
    pub fn new(origins: usize) -> VuClient {
        VuClient {
            conns: (0..origins).map(|_| None).collect(),
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        }
    }

    /// Sends one request and reads the whole response body, within the request's timeout.
    /// Never panics on network input; every failure becomes a failed sample with its kind.
    pub async fn exchange(&mut self, shared: &ClientShared, req: &PreparedRequest) -> Exchange {
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + req.timeout);
        let slot = req.origin;
        let mut connecting_us = Some(0);
        let mut tls_us = if shared.origins.get(slot).is_some_and(|o| o.https) {
            Some(0)
        } else {
            None
        };
        let mut sent_at = started;
        self.timer.as_mut().reset(deadline);
        let VuClient { conns, timer } = self;
        let work = async {
            let Some(origin) = shared.origins.get(slot) else {
                return Err(Failure(ErrorKind::Connect));
            };
            let conn_slot = match conns.get_mut(slot) {
                Some(s) => s,
                None => return Err(Failure(ErrorKind::Connect)),
            };
            if !conn_slot.as_ref().is_some_and(Conn::usable) {
                *conn_slot = None;
                let c = connect(shared, origin).await?;
                connecting_us = Some(c.connecting_us);
                tls_us = c.tls_us;
                *conn_slot = Some(c.conn);
                sent_at = Instant::now();
            }
            let Some(conn) = conn_slot.as_mut() else {
                return Err(Failure(ErrorKind::Connect));
            };
            match &mut conn.sender {
                Sender::H1 { send, driver } => {
                    let mut request = Request::new(Full::new(req.body.clone()));
                    *request.method_mut() = req.method.clone();
                    *request.uri_mut() = req.uri_h1.clone();
                    *request.headers_mut() = req.headers_h1.clone();
                    let fut = async {
                        send.ready().await.map_err(|e| Failure(hyper_kind(&e)))?;
                        let resp = send
                            .send_request(request)
                            .await
                            .map_err(|e| Failure(hyper_kind(&e)))?;
                        let head_at = Instant::now();
                        let status = resp.status().as_u16();
                        let mut body = resp.into_body();
                        while let Some(frame) = body.frame().await {
                            frame.map_err(|e| Failure(hyper_kind(&e)))?;
                        }
                        Ok((status, head_at, Instant::now()))
                    };
                    tokio::pin!(fut);
                    let Some(d) = driver.as_mut() else {
                        return Err(Failure(ErrorKind::Reset));
                    };
                    let conn_result = tokio::select! {
                        biased;
                        r = &mut fut => return r,
                        c = d.as_mut() => c,
                    };
                    // The connection ended first (server closed or failed); the request
                    // future resolves once the driver is gone.
                    *driver = None;
                    match fut.await {
                        Ok(v) => Ok(v),
                        Err(f) => Err(match conn_result {
                            Err(e) => Failure(hyper_kind(&e)),
                            Ok(()) => f,
                        }),
                    }
                }
                Sender::H2 { send } => {
                    let mut request = Request::new(Full::new(req.body.clone()));
                    *request.method_mut() = req.method.clone();
                    *request.uri_mut() = req.uri_h2.clone();
                    *request.headers_mut() = req.headers_h2.clone();
                    send.ready().await.map_err(|e| Failure(hyper_kind(&e)))?;
                    let resp = send
                        .send_request(request)
                        .await
                        .map_err(|e| Failure(hyper_kind(&e)))?;
                    let head_at = Instant::now();
                    let status = resp.status().as_u16();
                    let mut body = resp.into_body();
                    while let Some(frame) = body.frame().await {
                        frame.map_err(|e| Failure(hyper_kind(&e)))?;
                    }
                    Ok((status, head_at, Instant::now()))
                }
            }
        };
        let result: Result<(u16, Instant, Instant), Failure> = tokio::select! {
            biased;
            r = work => r,
            _ = timer.as_mut() => Err(Failure(ErrorKind::Timeout)),
        };

        let (sent, received) = match self.conns.get(slot).and_then(Option::as_ref) {
            Some(c) => (
                c.counts.sent.swap(0, Ordering::Relaxed),
                c.counts.received.swap(0, Ordering::Relaxed),
            ),
            None => (0, 0),
        };
        let (outcome, waiting_us, duration_us, ended_at) = match result {
            Ok((status, head_at, end)) => (
                Outcome::Status(status),
                head_at.saturating_duration_since(sent_at).as_micros() as u64,
                end.saturating_duration_since(sent_at).as_micros() as u64,
                end,
            ),
            Err(Failure(kind)) => {
                // A failed exchange leaves the connection in an unknown state.
                if let Some(s) = self.conns.get_mut(slot) {
                    *s = None;
                }
                let ended_at = Instant::now();
                let took = ended_at.saturating_duration_since(sent_at).as_micros() as u64;
                (Outcome::Error(kind), 0, took, ended_at)
            }
        };
        Exchange {
            sample: Sample {
                outcome,
                duration_us,
                uncorrected_us: duration_us,
                waiting_us,
                connecting_us,
                tls_us,
                sent,
                received,
            },
            ended_at,
        }
    }
}

/// Builds the TLS connector: ring provider, native roots, ALPN h2 + http/1.1.
pub(crate) fn tls_connector(insecure: bool) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        // An empty or missing platform store leaves no roots: HTTPS then fails with kind
        // `tls`, never silently passes.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// `insecureSkipTLSVerify`: accept any certificate, still checking handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `Host` header value: host plus port unless it is the scheme's default.
pub(crate) fn host_header(url: &url::Url) -> Option<HeaderValue> {
    let host = url.host_str()?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let value = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    HeaderValue::from_str(&value).ok()
}
