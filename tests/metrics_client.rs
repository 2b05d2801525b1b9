//! The metrics client over real sockets against a small recording HTTP server: what it
//! sends (method, path prefix, form, filters, headers) and how it fails (refused, timeout,
//! too large, too many points).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use golive::metrics::client::{self, Endpoint};
use golive::metrics::prom::{PromError, QueryData};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

type Reply = fn(&str) -> (u16, &'static str, String);

/// A server that records every request and answers with `reply(path)`.
async fn recording_server(reply: Reply) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        log.lock().unwrap().push(Seen {
                            method: parts.method.to_string(),
                            uri: parts.uri.to_string(),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                                .collect(),
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        let (status, content_type, text) = reply(parts.uri.path());
                        if parts.uri.path().starts_with("/slow/") {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                        let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        response
                            .headers_mut()
                            .insert("content-type", content_type.parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

const EMPTY_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;

fn prometheus_like(path: &str) -> (u16, &'static str, String) {
    match path {
        p if p.starts_with("/huge/") => (200, "application/json", "x".repeat(9 * 1024 * 1024)),
        p if p.ends_with("/api/v1/query") || p.ends_with("/api/v1/query_range") => {
            (200, "application/json", EMPTY_VECTOR.into())
        }
        p if p.ends_with("/api/v2/alerts") => (200, "application/json", "[]".into()),
        p if p.ends_with("/-/ready") => (503, "text/plain", "Service Unavailable".into()),
        _ => (404, "text/plain", "404 page not found".into()),
    }
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn instant_posts_a_form_under_the_path_prefix_with_auth_headers() {
    let (base, seen) = recording_server(prometheus_like).await;
    let endpoint = Endpoint {
        url: format!("{base}/prometheus/"),
        bearer_token: Some("s3cret".into()),
        headers: vec![("X-Scope-OrgID".into(), "gravl".into())],
        ..Endpoint::default()
    };
    let at = jiff::Timestamp::from_millisecond(1_764_835_200_500).unwrap();
    let query = r#"sum(rate(http_requests_total{code=~"5.."}[1m]))"#;
    let answer = client::instant(&endpoint, query, Some(at), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(answer.data, QueryData::Vector(vec![]));
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/prometheus/api/v1/query");
    let header = |name: &str| {
        seen.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header("authorization").as_deref(), Some("Bearer s3cret"));
    assert_eq!(header("x-scope-orgid").as_deref(), Some("gravl"));
    assert_eq!(
        form(&seen.body),
        [
            ("query".to_string(), query.to_string()),
            ("time".into(), "1764835200.5".into()),
            ("timeout".into(), "10".into()),
        ]
    );
}

#[tokio::test]
async fn range_posts_start_end_step_and_refuses_more_than_11000_points() {
    let (base, seen) = recording_server(prometheus_like).await;
    let endpoint = Endpoint::new(&base);
    let end = jiff::Timestamp::from_second(1_764_835_200).unwrap();
    let start = end - jiff::SignedDuration::from_hours(1);
    client::range(
        &endpoint,
        "up",
        start,
        end,
        Duration::from_secs(15),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.uri, "/api/v1/query_range");
    assert_eq!(
        form(&seen.body),
        [
            ("query".to_string(), "up".to_string()),
            ("start".into(), "1764831600".into()),
            ("end".into(), "1764835200".into()),
            ("step".into(), "15".into()),
            ("timeout".into(), "5".into()),
        ]
    );

    let week = end - jiff::SignedDuration::from_hours(24 * 7);
    let err = client::range(
        &endpoint,
        "up",
        week,
        end,
        Duration::from_secs(15),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    let PromError::Api {
        error_type, error, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(error_type, "bad_data");
    assert!(
        error.contains("40321 points") && error.contains("11,000"),
        "{error}"
    );
}

#[tokio::test]
async fn alert_filters_are_repeated_and_encoded() {
    let (base, seen) = recording_server(prometheus_like).await;
    let filters = [
        r#"namespace="gravl-staging""#.to_string(),
        r#"severity=~"crit.*""#.to_string(),
    ];
    let alerts = client::am_alerts(&Endpoint::new(&base), &filters, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(alerts.is_empty());
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    let (path, query) = seen.uri.split_once('?').unwrap();
    assert_eq!(path, "/api/v2/alerts");
    assert_eq!(
        form(query),
        [
            ("filter".to_string(), filters[0].clone()),
            ("filter".into(), filters[1].clone()),
        ]
    );
}

#[tokio::test]
async fn ready_reports_the_status_and_body_when_not_200() {
    let (base, _) = recording_server(prometheus_like).await;
    let err = client::ready(&Endpoint::new(&base), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PromError::Http {
            status: 503,
            body: "Service Unavailable".into()
        }
    );
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client::buildinfo(&Endpoint::new(&url), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PromError::Unreachable { url: u, .. } if u.starts_with(&url)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let (base, _) = recording_server(prometheus_like).await;
    let endpoint = Endpoint::new(format!("{base}/slow"));
    let started = std::time::Instant::now();
    let err = client::ready(&endpoint, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PromError::Timeout { seconds: 1, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_answer_over_8_mib_is_refused_and_says_so() {
    let (base, _) = recording_server(prometheus_like).await;
    let err = client::am_status(
        &Endpoint::new(format!("{base}/huge")),
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    let PromError::Decode(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("larger than 8 MiB"), "{message}");
}

/// An HTTPS server for `localhost` with a fresh self-signed certificate, answering every
/// request like Prometheus's `/-/ready`; returns its URL and the certificate as PEM.
async fn tls_server() -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                        "Prometheus Server is Ready.\n",
                    ))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://localhost:{port}"), pem)
}

#[tokio::test]
async fn tls_trusts_the_ca_file_refuses_an_unknown_issuer_and_can_skip_verification() {
    let (url, pem) = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();

    let trusted = Endpoint {
        url: url.clone(),
        ca_file: Some(ca),
        ..Endpoint::default()
    };
    client::ready(&trusted, Duration::from_secs(5))
        .await
        .unwrap();

    let err = client::ready(&Endpoint::new(&url), Duration::from_secs(5))
        .await
        .unwrap_err();
    let PromError::Unreachable { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("certificate"), "{message}");

    let skipping = Endpoint {
        url,
        insecure_skip_verify: true,
        ..Endpoint::default()
    };
    client::ready(&skipping, Duration::from_secs(5))
        .await
        .unwrap();

    let missing = Endpoint {
        url: "https://localhost:1".into(),
        ca_file: Some(dir.path().join("absent.pem")),
        ..Endpoint::default()
    };
    let err = client::ready(&missing, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PromError::Unreachable { message, .. } if message.contains("absent.pem")),
        "{err:?}"
    );
}

/// The poller spawns these calls on tokio's multi-threaded runtime: each future must be
/// `Send` (a form serializer held across an await once made two of them not).
#[test]
fn every_client_future_is_send() {
    fn send<T: Send>(_: T) {}
    let ep = Endpoint::new("http://127.0.0.1:9");
    let t = Duration::from_secs(1);
    let now = jiff::Timestamp::now();
    send(client::instant(&ep, "up", Some(now), t));
    send(client::range(&ep, "up", now, now, t, t));
    send(client::buildinfo(&ep, t));
    send(client::ready(&ep, t));
    send(client::am_alerts(&ep, &[], t));
    send(client::am_status(&ep, t));
    send(client::prometheus_alerts(&ep, t));
}
