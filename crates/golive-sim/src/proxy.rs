//! The service proxy: `/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH`,
//! which a real API server forwards to one of the Service's endpoints with the caller's
//! credentials checked, so tools reach an in-cluster Prometheus without a port-forward.
//! The simulator has no pod network: a Service says where its endpoints listen with the
//! annotation [`PROXY_TO`] (`127.0.0.1:9090`, or `9090=127.0.0.1:9090,web=…` per port),
//! for tests and the demo. Without it the answer is the real server's 503 "no endpoints
//! available for service".

use bytes::Bytes;
use http::{Method, Response, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use crate::counts::Verb;
use crate::respond::{Body, status_response};
use crate::state::{Shared, lock};

/// The annotation naming the loopback address a Service's proxy forwards to.
pub const PROXY_TO: &str = "sim.golive.dev/proxy-to";

/// Answers from an endpoint larger than this are refused (a proxy must bound them).
const MAX_ANSWER: usize = 32 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

/// A request for the service proxy, parsed from its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyRequest {
    pub namespace: String,
    pub service: String,
    /// The port name or number asked for; empty for the Service's only port.
    pub port: String,
    /// What follows `/proxy`, with its leading slash (`/` when nothing does).
    pub rest: String,
}

/// `Some` when `path` (raw, not trimmed) asks for the service proxy.
pub(crate) fn parse(path: &str) -> Option<ProxyRequest> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let (namespace, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("services/")?;
    let (service, rest) = rest.split_once('/')?;
    let rest = match rest.strip_prefix("proxy") {
        Some("") => "/",
        Some(r) if r.starts_with('/') => r,
        _ => return None,
    };
    // `[scheme:]name[:port]`; the scheme (http/https) is accepted and ignored.
    let parts: Vec<&str> = service.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [name] => (*name, ""),
        [scheme, name, port] if matches!(*scheme, "http" | "https") => (*name, *port),
        [scheme, name] if matches!(*scheme, "http" | "https") => (*name, ""),
        [name, port] => (*name, *port),
        _ => return None,
    };
    if namespace.is_empty() || name.is_empty() {
        return None;
    }
    Some(ProxyRequest {
        namespace: namespace.to_string(),
        service: name.to_string(),
        port: port.to_string(),
        rest: rest.to_string(),
    })
}

/// Where the proxy forwards `port` of a Service, from its [`PROXY_TO`] annotation.
fn address(service: &Value, port: &str) -> Result<String, String> {
    let name = service["metadata"]["name"].as_str().unwrap_or_default();
    let no_endpoints = || format!("no endpoints available for service \"{name}\"");
    let ports = service["spec"]["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let known = port.is_empty()
        || ports.iter().any(|p| {
            p["name"].as_str() == Some(port)
                || p["port"].as_u64().map(|n| n.to_string()) == Some(port.to_string())
        });
    if !known {
        return Err(no_endpoints());
    }
    let annotation = service["metadata"]["annotations"][PROXY_TO]
        .as_str()
        .ok_or_else(no_endpoints)?;
    if !annotation.contains('=') {
        return Ok(annotation.trim().to_string());
    }
    annotation
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(p, _)| p.trim() == port || port.is_empty())
        .map(|(_, a)| a.trim().to_string())
        .ok_or_else(no_endpoints)
}

fn loopback(address: &str) -> bool {
    address
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

/// Forwards the request to the Service's endpoint and hands back its answer.
pub(crate) async fn forward(
    shared: &Arc<Shared>,
    proxy: &ProxyRequest,
    parts: &http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    shared.count(Verb::Other, None);
    let service = {
        let store = lock(&shared.store);
        let Some(resource) = store.catalogue.by_kind("v1", "Service") else {
            return status_response(404, "NotFound", "services are not served", None);
        };
        if shared.is_denied(&resource) || lock(&shared.denied).contains("services/proxy") {
            return status_response(
                403,
                "Forbidden",
                &format!(
                    "services \"{}\" is forbidden: User \"{}\" cannot get resource \"services/proxy\" in API group \"\" in the namespace \"{}\"",
                    proxy.service,
                    crate::respond::SIM_USER,
                    proxy.namespace
                ),
                Some(serde_json::json!({"name": proxy.service, "kind": "services"})),
            );
        }
        store
            .get(&resource, &proxy.namespace, &proxy.service)
            .map(|o| o.value())
    };
    let Some(service) = service else {
        return status_response(
            404,
            "NotFound",
            &format!("services \"{}\" not found", proxy.service),
            Some(serde_json::json!({"name": proxy.service, "kind": "services"})),
        );
    };
    let address = match address(&service, &proxy.port) {
        Ok(a) if loopback(&a) => a,
        Ok(a) => {
            return status_response(
                503,
                "ServiceUnavailable",
                &format!("the simulator proxies only to loopback addresses, not {a}"),
                None,
            );
        }
        Err(message) => return status_response(503, "ServiceUnavailable", &message, None),
    };
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let uri = format!("http://{address}{}{query}", proxy.rest);
    let mut request = http::Request::builder()
        .method(parts.method.clone())
        .uri(&uri);
    for name in [header::ACCEPT, header::CONTENT_TYPE, header::USER_AGENT] {
        if let Some(value) = parts.headers.get(&name) {
            request = request.header(name, value);
        }
    }
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        Bytes::new()
    } else {
        body
    };
    let Ok(request) = request.body(Full::new(body)) else {
        return status_response(400, "BadRequest", &format!("cannot proxy to {uri}"), None);
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((parts, bytes))
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(Ok((upstream, bytes))) => {
            let mut response = Response::new(Full::new(bytes).map_err(|e| match e {}).boxed());
            *response.status_mut() = upstream.status;
            if let Some(t) = upstream.headers.get(header::CONTENT_TYPE) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, t.clone());
            }
            response
        }
        Ok(Err(e)) => status_response(
            503,
            "ServiceUnavailable",
            &format!("error trying to reach service: {e}"),
            None,
        ),
        Err(_) => status_response(
            503,
            "ServiceUnavailable",
            "error trying to reach service: timed out",
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proxy_paths_parse_as_the_api_server_reads_them() {
        let p =
            parse("/api/v1/namespaces/mon/services/prometheus:9090/proxy/api/v1/query").unwrap();
        assert_eq!(
            (
                p.namespace.as_str(),
                p.service.as_str(),
                p.port.as_str(),
                p.rest.as_str()
            ),
            ("mon", "prometheus", "9090", "/api/v1/query")
        );
        let p = parse("/api/v1/namespaces/mon/services/https:am:web/proxy").unwrap();
        assert_eq!(
            (p.service.as_str(), p.port.as_str(), p.rest.as_str()),
            ("am", "web", "/")
        );
        assert_eq!(
            parse("/api/v1/namespaces/mon/services/am/proxy/")
                .unwrap()
                .port,
            ""
        );
        assert!(parse("/api/v1/namespaces/mon/services/am").is_none());
        assert!(parse("/api/v1/namespaces/mon/services/am/status").is_none());
        assert!(parse("/api/v1/namespaces/mon/pods/am/proxy/x").is_none());
        assert!(parse("/api/v1/namespaces/mon/services/am/proxyx").is_none());
    }

    #[test]
    fn the_annotation_names_the_endpoint_per_port() {
        let svc = |annotation: Option<&str>| {
            json!({"metadata": {"name": "prometheus", "annotations": annotation.map(|a| json!({PROXY_TO: a})).unwrap_or(json!({}))},
                   "spec": {"ports": [{"name": "web", "port": 9090}, {"name": "grpc", "port": 10901}]}})
        };
        assert_eq!(
            address(&svc(Some("127.0.0.1:19090")), "9090").unwrap(),
            "127.0.0.1:19090"
        );
        assert_eq!(
            address(&svc(Some("127.0.0.1:19090")), "web").unwrap(),
            "127.0.0.1:19090"
        );
        let per_port = svc(Some("web=127.0.0.1:1, 10901=127.0.0.1:2"));
        assert_eq!(address(&per_port, "web").unwrap(), "127.0.0.1:1");
        assert_eq!(address(&per_port, "10901").unwrap(), "127.0.0.1:2");
        assert!(
            address(&svc(Some("127.0.0.1:1")), "8080")
                .unwrap_err()
                .contains("no endpoints available")
        );
        assert!(
            address(&svc(None), "9090")
                .unwrap_err()
                .contains("no endpoints available for service \"prometheus\"")
        );
        assert!(!loopback("10.0.0.1:9090") && loopback("127.0.0.1:9090") && !loopback("localhost"));
    }
}
