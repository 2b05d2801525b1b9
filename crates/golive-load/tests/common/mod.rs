//! A real hyper server on 127.0.0.1 for the load engine's tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[derive(Default)]
pub struct ServerState {
    pub requests: AtomicU64,
    pub mix_counter: AtomicU64,
    pub http2_requests: AtomicU64,
    /// Connections accepted (TCP, before any TLS handshake).
    pub connections: AtomicU64,
    /// Requests arriving in [start, start + 1 s) are held until the window ends.
    pub stall_from: Mutex<Option<Instant>>,
    /// Requests read but closed on without an answer (`start_raw_answering_once`).
    pub unanswered: AtomicU64,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }
}

fn query_ms(req: &Request<Incoming>) -> u64 {
    req.uri()
        .query()
        .and_then(|q| q.strip_prefix("ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn handle(
    state: Arc<ServerState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    state.requests.fetch_add(1, Ordering::SeqCst);
    if req.version() == hyper::Version::HTTP_2 {
        state.http2_requests.fetch_add(1, Ordering::SeqCst);
    }
    let path = req.uri().path().to_string();
    let mut status = 200;
    let mut close = false;
    match path.as_str() {
        "/delay" => tokio::time::sleep(Duration::from_millis(query_ms(&req))).await,
        // Every 50th request takes 200 ms, the rest 10 ms: 98% / 2%.
        "/mix" => {
            let n = state.mix_counter.fetch_add(1, Ordering::SeqCst);
            let ms = if n % 50 == 49 { 200 } else { 10 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        "/stall" => {
            let from = *state.stall_from.lock().unwrap();
            if let Some(from) = from {
                let until = from + Duration::from_secs(1);
                if arrived >= from && arrived < until {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                }
            }
        }
        // The first request to arrive takes `ms`, the others none.
        "/first-slow" if state.mix_counter.fetch_add(1, Ordering::SeqCst) == 0 => {
            tokio::time::sleep(Duration::from_millis(query_ms(&req))).await;
        }
        "/error" => status = 500,
        // The server ends the connection after each response.
        "/close" => close = true,
        _ => {}
    }
    let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    if close {
        resp.headers_mut()
            .insert(hyper::header::CONNECTION, "close".parse().unwrap());
    }
    Ok(resp)
}

pub async fn start() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(ServerState::default());
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    TestServer { addr, state }
}

/// An HTTPS server with a fresh self-signed certificate for `localhost`, offering h2 and
/// http/1.1 by ALPN.
pub async fn start_tls() -> TestServer {
    start_tls_with(&[b"h2", b"http/1.1"]).await
}

/// An HTTPS server that speaks only HTTP/1.1 (ALPN `http/1.1`).
pub async fn start_tls_http1() -> TestServer {
    start_tls_with(&[b"http/1.1"]).await
}

async fn start_tls_with(alpn: &[&[u8]]) -> TestServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = cert.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert_der], key_der)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(ServerState::default());
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TestServer { addr, state }
}

/// How a raw test server treats the requests on one connection.
#[derive(Clone, Copy, PartialEq)]
enum RawMode {
    /// Answer every request; keep the connection.
    KeepAlive,
    /// Answer one request, then close.
    CloseAfter,
    /// Answer the first request; on the next, close without answering (an idle timeout
    /// racing the client's next request).
    AnswerOnce,
}

/// A raw TCP server that answers every request head it reads with `response`, verbatim,
/// and closes the connection after it when `close_after` is set. Counts requests.
pub async fn start_raw(response: &'static [u8], close_after: bool) -> TestServer {
    let mode = if close_after {
        RawMode::CloseAfter
    } else {
        RawMode::KeepAlive
    };
    serve_raw(response, mode).await
}

/// A raw TCP server that answers the first request of each connection with `response`
/// and closes the connection when the next request arrives, without answering it.
/// Counts answered and unanswered requests.
pub async fn start_raw_answering_once(response: &'static [u8]) -> TestServer {
    serve_raw(response, RawMode::AnswerOnce).await
}

async fn serve_raw(response: &'static [u8], mode: RawMode) -> TestServer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(ServerState::default());
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                let mut answered = false;
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    // Bodiless requests only: a head ends the request.
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        if answered && mode == RawMode::AnswerOnce {
                            st.unanswered.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        st.requests.fetch_add(1, Ordering::SeqCst);
                        if stream.write_all(response).await.is_err() {
                            return;
                        }
                        answered = true;
                        if mode == RawMode::CloseAfter {
                            let _ = stream.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    TestServer { addr, state }
}

/// Parses a `load:` section written as YAML, as the plan loader would.
pub fn config(yaml: &str) -> golive_load::LoadConfig {
    #[derive(serde::Deserialize)]
    struct Plan {
        load: golive_load::LoadConfig,
    }
    let plan: Plan =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("bad test yaml: {e}\n{yaml}"));
    plan.load
}

/// A port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
