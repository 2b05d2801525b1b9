//! The HTTP client of one VU: one keep-alive connection per origin; HTTP/1.1 through the
//! hand-written `h1` connection, HTTP/2 (chosen by ALPN over rustls with ring) through
//! hyper's low-level connection API.

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
use hyper::client::conn::http2;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::failure::{hyper_kind, io_kind};
use crate::h1::{H1Conn, H1Request};
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
    pub h1: H1Request,
    pub uri_h2: Uri,
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

/// Counts bytes (above TLS) for `data_sent` / `data_received` on an HTTP/2 connection.
struct Counted {
    inner: Box<TlsStream<TcpStream>>,
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
        let res = Pin::new(this.inner.as_mut()).poll_read(cx, buf);
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
        let res = Pin::new(this.inner.as_mut()).poll_write(cx, data);
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
        let res = Pin::new(this.inner.as_mut()).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            this.counts.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        res
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().inner.as_mut()).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().inner.as_mut()).poll_shutdown(cx)
    }
}

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

/// One connection of a VU, by protocol.
enum Conn {
    H1(H1Conn<TcpStream>),
    H1Tls(Box<H1Conn<TlsStream<TcpStream>>>),
    H2 {
        send: http2::SendRequest<ReqBody>,
        counts: Arc<ByteCounts>,
    },
}

impl Conn {
    /// Whether the next request can be sent on this connection.
    fn ready_for_request(&mut self) -> bool {
        match self {
            Conn::H1(c) => c.ready_for_request(),
            Conn::H1Tls(c) => c.ready_for_request(),
            Conn::H2 { send, .. } => !send.is_closed(),
        }
    }

    /// Bytes sent and received since the last call.
    fn take_counts(&mut self) -> (u64, u64) {
        match self {
            Conn::H1(c) => c.take_counts(),
            Conn::H1Tls(c) => c.take_counts(),
            Conn::H2 { counts, .. } => (
                counts.sent.swap(0, Ordering::Relaxed),
                counts.received.swap(0, Ordering::Relaxed),
            ),
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
    let (conn, tls_us) = match (&origin.server_name, origin.https) {
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
            let tls_us = Some(t1.elapsed().as_micros() as u64);
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                let counts = Arc::new(ByteCounts::default());
                let io = TokioIo::new(Counted {
                    inner: Box::new(tls),
                    counts: counts.clone(),
                });
                let (send, conn) = http2::handshake(LocalExec, io)
                    .await
                    .map_err(|e| Failure(hyper_kind(&e)))?;
                tokio::task::spawn_local(conn);
                (Conn::H2 { send, counts }, tls_us)
            } else {
                (Conn::H1Tls(Box::new(H1Conn::new(tls))), tls_us)
            }
        }
        _ => (Conn::H1(H1Conn::new(tcp)), None),
    };
    Ok(Connected {
        conn,
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
        let mut sending = false;
        // Bytes of a connection replaced by a retry, still part of this request's traffic.
        let mut carried = (0u64, 0u64);
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
            let mut retried = false;
            loop {
                if !conn_slot.as_mut().is_some_and(Conn::ready_for_request) {
                    *conn_slot = None;
                    // A connection that fails has no connecting time to report (not 0).
                    connecting_us = None;
                    tls_us = None;
                    // Boxed: the TLS handshake state would otherwise make every request's
                    // future larger, and it is copied into place on each request.
                    let c = Box::pin(connect(shared, origin)).await?;
                    connecting_us = Some(c.connecting_us);
                    tls_us = c.tls_us;
                    *conn_slot = Some(c.conn);
                    // A retry stays measured from the first send: the user waited for both.
                    if !retried {
                        sent_at = Instant::now();
                    }
                }
                let Some(conn) = conn_slot.as_mut() else {
                    return Err(Failure(ErrorKind::Connect));
                };
                sending = true;
                let h1 = match conn {
                    Conn::H1(c) => c.exchange(&req.h1).await,
                    Conn::H1Tls(c) => c.exchange(&req.h1).await,
                    Conn::H2 { send, .. } => {
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
                        return Ok((status, head_at, Instant::now()));
                    }
                };
                match h1 {
                    Ok(r) => return Ok((r.status, r.head_at, r.done_at)),
                    // Once, on a new connection: the server closed the kept-alive one
                    // before answering (see `H1Failure::retry`). One request is counted.
                    Err(f) if f.retry && !retried => {
                        retried = true;
                        let (s, r) = conn.take_counts();
                        carried = (carried.0 + s, carried.1 + r);
                        *conn_slot = None;
                    }
                    Err(f) => return Err(Failure(f.kind)),
                }
            }
        };
        let result: Result<(u16, Instant, Instant), Failure> = tokio::select! {
            biased;
            r = work => r,
            _ = timer.as_mut() => Err(Failure(ErrorKind::Timeout)),
        };

        let (sent, received) = match self.conns.get_mut(slot).and_then(Option::as_mut) {
            Some(c) => c.take_counts(),
            None => (0, 0),
        };
        let (sent, received) = (sent + carried.0, received + carried.1);
        let (outcome, timed, waiting_us, duration_us, ended_at) = match result {
            Ok((status, head_at, end)) => (
                Outcome::Status(status),
                true,
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
                // Refused, unresolvable or rejected connections measured nothing of the
                // server; a request being sent, or any timeout, did.
                let timed = sending || kind == ErrorKind::Timeout;
                (Outcome::Error(kind), timed, 0, took, ended_at)
            }
        };
        Exchange {
            sample: Sample {
                outcome,
                timed,
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
