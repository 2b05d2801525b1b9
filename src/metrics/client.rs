//! The HTTP client that asks Prometheus and Alertmanager: one request per call over
//! hyper (rustls with ring), bounded in time and in size, each answer handed to the pure
//! readers in `prom` and `alertmanager`. Read-only: it never writes to either server.

use super::alertmanager::{self, Alert, RuleAlert, Status};
use super::prom::{self, PromError, QueryAnswer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use jiff::Timestamp;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The largest answer read. A dashboard-sized range query is a few hundred KiB; beyond
/// this the query selects far more series than a check can judge.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Prometheus refuses range queries of more than this many points per series.
pub const MAX_RANGE_POINTS: u64 = 11_000;

/// Where a Prometheus or Alertmanager answers, and how to authenticate to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL, with any path prefix kept (`http://host/prometheus`).
    pub url: String,
    pub bearer_token: Option<String>,
    /// Extra request headers (a tenant header, basic auth from a proxy).
    pub headers: Vec<(String, String)>,
    /// PEM file of the CAs to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Reached through the Kubernetes API server's service proxy: requests go through
    /// this client (the kubeconfig's credentials) to `path` + the API path.
    pub via_api_server: Option<ApiProxy>,
}

/// A Service reached through the API server's proxy
/// (`/api/v1/namespaces/NS/services/NAME:PORT/proxy`).
#[derive(Clone)]
pub struct ApiProxy {
    pub client: kube::Client,
    /// The proxy's path on the API server, without a trailing slash.
    pub path: String,
}

impl PartialEq for ApiProxy {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for ApiProxy {}

impl std::fmt::Debug for ApiProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiProxy({})", self.path)
    }
}

impl Endpoint {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The base URL joined with an API path, keeping a path prefix.
    fn join(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }
}

/// `POST /api/v1/query` at `at` (the server's now when `None`), with `timeout` passed to
/// Prometheus as well.
pub async fn instant(
    endpoint: &Endpoint,
    query: &str,
    at: Option<Timestamp>,
    timeout: Duration,
) -> Result<QueryAnswer, PromError> {
    // The serializer is not Send: finish it before any await.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("query", query);
        if let Some(at) = at {
            form.append_pair("time", &prom::unix_text(at));
        }
        form.append_pair("timeout", &seconds_text(timeout));
        form.finish()
    };
    let answer = send(endpoint, "/api/v1/query", Some(body), timeout).await?;
    prom::read_query(answer.status, &answer.content_type, &answer.body)
}

/// `POST /api/v1/query_range` from `start` to `end` every `step`. A range of more than
/// [`MAX_RANGE_POINTS`] points is refused before sending, as Prometheus would refuse it.
pub async fn range(
    endpoint: &Endpoint,
    query: &str,
    start: Timestamp,
    end: Timestamp,
    step: Duration,
    timeout: Duration,
) -> Result<QueryAnswer, PromError> {
    let refuse = |error: String| PromError::Api {
        status: 0,
        error_type: "bad_data".into(),
        error: format!("{error} (refused by golive; nothing was sent)"),
    };
    let step_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
    if step_ms == 0 {
        return Err(refuse("the range query step is zero".into()));
    }
    if end < start {
        return Err(refuse(format!(
            "the range ends ({end}) before it starts ({start})"
        )));
    }
    let span_ms = u64::try_from(end.as_millisecond() - start.as_millisecond()).unwrap_or(0);
    let points = span_ms / step_ms + 1;
    if points > MAX_RANGE_POINTS {
        return Err(refuse(format!(
            "{points} points per series ({start} to {end} every {}s) exceed Prometheus's \
             maximum resolution of 11,000 points; use a larger step or a shorter range",
            seconds_text(step)
        )));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .append_pair("start", &prom::unix_text(start))
        .append_pair("end", &prom::unix_text(end))
        .append_pair("step", &seconds_text(step))
        .append_pair("timeout", &seconds_text(timeout))
        .finish();
    let answer = send(endpoint, "/api/v1/query_range", Some(body), timeout).await?;
    prom::read_query(answer.status, &answer.content_type, &answer.body)
}

/// `GET /api/v1/status/buildinfo`: the server's version (`2.42.0`).
pub async fn buildinfo(endpoint: &Endpoint, timeout: Duration) -> Result<String, PromError> {
    let answer = send(endpoint, "/api/v1/status/buildinfo", None, timeout).await?;
    prom::read_buildinfo(answer.status, &answer.content_type, &answer.body)
}

/// `GET /-/ready`: `Ok` on 200, else the status and body (503 while Prometheus starts).
/// Alertmanager 0.25 always answers 200 here; use [`am_status`] for it.
pub async fn ready(endpoint: &Endpoint, timeout: Duration) -> Result<(), PromError> {
    let answer = send(endpoint, "/-/ready", None, timeout).await?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(PromError::Http {
            status: answer.status,
            body: prom::body_excerpt(&answer.body),
        })
    }
}

/// `GET /api/v2/alerts` with each of `filters` (`alertname="X"`, `severity=~"crit.*"`) as
/// a `filter` parameter. Alertmanager returns active and suppressed alerts alike.
pub async fn am_alerts(
    endpoint: &Endpoint,
    filters: &[String],
    timeout: Duration,
) -> Result<Vec<Alert>, PromError> {
    let mut path = String::from("/api/v2/alerts");
    if !filters.is_empty() {
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for f in filters {
                query.append_pair("filter", f);
            }
            query.finish()
        };
        path.push('?');
        path.push_str(&query);
    }
    let answer = send(endpoint, &path, None, timeout).await?;
    alertmanager::read_alerts(answer.status, &answer.content_type, &answer.body)
}

/// `GET /api/v2/status`: cluster state (`ready`, `settling`, `disabled`) and version.
pub async fn am_status(endpoint: &Endpoint, timeout: Duration) -> Result<Status, PromError> {
    let answer = send(endpoint, "/api/v2/status", None, timeout).await?;
    alertmanager::read_status(answer.status, &answer.content_type, &answer.body)
}

/// Prometheus's own `GET /api/v1/alerts`: pending and firing alerts.
pub async fn prometheus_alerts(
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Vec<RuleAlert>, PromError> {
    let answer = send(endpoint, "/api/v1/alerts", None, timeout).await?;
    alertmanager::read_rule_alerts(answer.status, &answer.content_type, &answer.body)
}

/// Seconds as Prometheus reads a duration parameter (a float).
fn seconds_text(d: Duration) -> String {
    (d.as_millis() as f64 / 1000.0).to_string()
}

struct Answer {
    status: u16,
    content_type: String,
    body: Bytes,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One request: `POST` with a form body when `form` is given, else `GET`. The whole
/// exchange (connect, headers, body) is bounded by `timeout`.
async fn send(
    endpoint: &Endpoint,
    path: &str,
    form: Option<String>,
    timeout: Duration,
) -> Result<Answer, PromError> {
    let url = endpoint.join(path);
    if let Some(proxy) = &endpoint.via_api_server {
        return send_via_api_server(proxy, &url, path, form, timeout).await;
    }
    let unreachable = |message: String| PromError::Unreachable {
        url: url.clone(),
        message,
    };
    let client = client(endpoint).map_err(&unreachable)?;
    let mut request = http::Request::builder()
        .uri(&url)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "golive");
    if let Some(token) = &endpoint.bearer_token {
        request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in &endpoint.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = match form {
        Some(form) => request
            .method(http::Method::POST)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(form))),
        None => request
            .method(http::Method::GET)
            .body(Full::new(Bytes::new())),
    }
    .map_err(|e| unreachable(format!("cannot build the request: {e}")))?;

    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| unreachable(error_text(&e)))?;
        read_answer(response, &url).await
    };
    within(timeout, &url, exchange).await
}

/// A response's status, content type and body, read up to [`BODY_LIMIT`].
async fn read_answer<B>(response: http::Response<B>, url: &str) -> Result<Answer, PromError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = response.into_parts();
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(PromError::Decode(format!(
                "the answer from {url} is larger than {} MiB; narrow the query \
                 (fewer series, a larger step) or filter the alerts",
                BODY_LIMIT / (1024 * 1024)
            )));
        }
        Err(e) => {
            return Err(PromError::Unreachable {
                url: url.to_string(),
                message: format!("reading the answer: {e}"),
            });
        }
    };
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok(Answer {
        status: parts.status.as_u16(),
        content_type,
        body,
    })
}

/// `exchange`, or a timeout error naming `url` once `timeout` has passed.
async fn within(
    timeout: Duration,
    url: &str,
    exchange: impl std::future::Future<Output = Result<Answer, PromError>>,
) -> Result<Answer, PromError> {
    match tokio::time::timeout(timeout, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(PromError::Timeout {
            url: url.to_string(),
            seconds: timeout.as_secs_f64().ceil() as u64,
        }),
    }
}

/// One request through the API server's service proxy, with the kubeconfig's
/// credentials. A refusal by the API server itself (its `Status` body: no RBAC for
/// `services/proxy`, no such Service, no endpoints) is told apart from Prometheus's own
/// answers.
async fn send_via_api_server(
    proxy: &ApiProxy,
    url: &str,
    path: &str,
    form: Option<String>,
    timeout: Duration,
) -> Result<Answer, PromError> {
    let unreachable = |message: String| PromError::Unreachable {
        url: url.to_string(),
        message,
    };
    let request = http::Request::builder()
        .uri(format!("{}{path}", proxy.path))
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "golive");
    let request = match form {
        Some(form) => request
            .method(http::Method::POST)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(kube::client::Body::from(form.into_bytes())),
        None => request
            .method(http::Method::GET)
            .body(kube::client::Body::empty()),
    }
    .map_err(|e| unreachable(format!("cannot build the request: {e}")))?;
    let exchange = async {
        let response = proxy
            .client
            .send(request)
            .await
            .map_err(|e| unreachable(error_text(&e)))?;
        let answer = read_answer(response, url).await?;
        if answer.status >= 400
            && let Some(refusal) = api_server_refusal(&answer.body)
        {
            return Err(unreachable(refusal));
        }
        Ok(answer)
    };
    within(timeout, url, exchange).await
}

/// The API server's own `Status` refusal in a proxied answer, in words.
fn api_server_refusal(body: &[u8]) -> Option<String> {
    let status: serde_json::Value = serde_json::from_slice(body).ok()?;
    if status["kind"] != "Status" || status["apiVersion"] != "v1" {
        return None;
    }
    let message = status["message"].as_str().unwrap_or("refused");
    let hint = match status["code"].as_u64() {
        Some(401 | 403) => {
            "; golive needs `get` on services/proxy there (`golive rbac --plan` prints the role)"
        }
        _ => "",
    };
    Some(format!(
        "the API server's service proxy refused: {message}{hint}"
    ))
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A client per call: hyper's pool belongs to the runtime it was first used on, so
/// sharing one across runtimes (tests, `golive check`) would hand out dead connections.
/// The TLS configuration, costly to build, is shared.
fn client(endpoint: &Endpoint) -> Result<HttpsClient, String> {
    let config = tls_config(endpoint)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*config).clone())
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

type TlsKey = (bool, Option<PathBuf>, bool);

fn tls_config(endpoint: &Endpoint) -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIGS: OnceLock<Mutex<HashMap<TlsKey, Arc<rustls::ClientConfig>>>> = OnceLock::new();
    // Plain HTTP never uses the roots: skip reading the system's.
    let https = endpoint.url.to_ascii_lowercase().starts_with("https:");
    let key = (
        https,
        endpoint.ca_file.clone(),
        endpoint.insecure_skip_verify,
    );
    let configs = CONFIGS.get_or_init(Default::default);
    if let Some(config) = configs.lock().map_err(|e| e.to_string())?.get(&key) {
        return Ok(config.clone());
    }
    let config = Arc::new(build_tls_config(&key)?);
    configs
        .lock()
        .map_err(|e| e.to_string())?
        .insert(key, config.clone());
    Ok(config)
}

fn build_tls_config((https, ca_file, insecure): &TlsKey) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    if *insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("CA file {} holds no certificate", path.display()));
            }
        }
        None if *https => {
            // Unreadable system certificates leave the store short; the handshake's
            // error then names the certificate it could not verify.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
        None => {}
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `insecure_skip_verify`: any certificate is accepted, but handshake signatures are
/// still checked, so the connection is at least encrypted to whoever holds the key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
