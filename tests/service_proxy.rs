//! `monitoring: {prometheus: {service: NS/NAME:PORT}}`: Prometheus and Alertmanager
//! reached through the API server's service proxy with the kubeconfig's credentials, over
//! the real kube client and the simulator's proxy, which forwards to the demo's stand-in.
//! kubectl, reading the same proxy path, is the reference for what the API server answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use golive::cluster::Target;
use golive::demo::standin::{self as monitor, StandIn};
use golive::metrics::client;
use golive::metrics::poll::{self, Cluster};
use golive::metrics::prom::{PromError, QueryData};
use golive::plan::Source;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(10);

fn service(name: &str, proxy_to: Option<&str>) -> serde_json::Value {
    let mut svc = serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "gravl-monitoring"},
        "spec": {"ports": [{"name": "web", "port": 9090, "targetPort": 9090}],
                 "selector": {"app": name}},
    });
    if let Some(address) = proxy_to {
        svc["metadata"]["annotations"] = serde_json::json!({golive_sim::PROXY_TO: address});
    }
    svc
}

fn source(service: &str) -> Source {
    Source {
        service: Some(service.to_string()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_alertmanager_answer_through_the_service_proxy() {
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let standin = StandIn::start(1).await.unwrap();
    let address = standin.url().trim_start_matches("http://").to_string();
    sim.apply(service("prometheus", Some(&address))).unwrap();
    sim.apply(service("bare", None)).unwrap();
    let target = Target {
        kubeconfig: Some(kubeconfig.clone()),
        context: None,
    };
    let connection = golive::cluster::connect(&target).await.unwrap();
    let cluster = Cluster {
        client: connection.client.clone(),
        server: connection.server.clone(),
    };

    // By port number and by port name: the same answers as asking the stand-in directly.
    let direct = client::Endpoint::new(standin.url());
    for s in [
        "gravl-monitoring/prometheus:9090",
        "gravl-monitoring/prometheus:web",
    ] {
        let ep = poll::endpoint(&source(s), Some(&cluster)).unwrap();
        assert!(ep.url.contains("/services/prometheus:"), "{}", ep.url);
        client::ready(&ep, T).await.unwrap();
        assert_eq!(client::buildinfo(&ep, T).await.unwrap(), monitor::VERSION);
        let via = client::instant(&ep, monitor::TRAFFIC, None, T)
            .await
            .unwrap();
        let straight = client::instant(&direct, monitor::TRAFFIC, None, T)
            .await
            .unwrap();
        let (QueryData::Vector(a), QueryData::Vector(b)) = (via.data, straight.data) else {
            panic!("vectors")
        };
        assert_eq!(a.len(), b.len());
        assert_eq!(a[0].labels, b[0].labels);
        // Prometheus's own errors come through the proxy as Prometheus words them.
        let bad = client::instant(&ep, "sum(", None, T).await.unwrap_err();
        assert!(matches!(bad, PromError::Api { .. }), "{bad:?}");
        let alerts = client::am_alerts(&ep, &[], T).await.unwrap();
        assert!(alerts.iter().any(|a| a.labels["alertname"] == "Watchdog"));
    }

    // kubectl reads the same path the same way.
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "get",
            "--raw",
            "/api/v1/namespaces/gravl-monitoring/services/prometheus:9090/proxy/api/v1/status/buildinfo",
        ])
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(monitor::VERSION));

    // What the API server refuses is said in its words, never taken for an answer.
    let unreachable = |e: PromError| match e {
        PromError::Unreachable { message, .. } => message,
        other => panic!("{other:?}"),
    };
    let missing = poll::endpoint(&source("gravl-monitoring/nothing:9090"), Some(&cluster)).unwrap();
    let e = unreachable(client::instant(&missing, "up", None, T).await.unwrap_err());
    assert!(e.contains("services \"nothing\" not found"), "{e}");
    let bare = poll::endpoint(&source("gravl-monitoring/bare:9090"), Some(&cluster)).unwrap();
    let e = unreachable(client::instant(&bare, "up", None, T).await.unwrap_err());
    assert!(
        e.contains("no endpoints available for service \"bare\""),
        "{e}"
    );
    sim.deny("services/proxy");
    let ep = poll::endpoint(&source("gravl-monitoring/prometheus:9090"), Some(&cluster)).unwrap();
    let e = unreachable(client::instant(&ep, "up", None, T).await.unwrap_err());
    assert!(
        e.contains("forbidden") && e.contains("services/proxy"),
        "{e}"
    );
    sim.allow("services/proxy");
    client::ready(&ep, T).await.unwrap();

    // The stand-in stops: unreachable through the proxy too, not an answer.
    drop(standin);
    let e = client::instant(&ep, "up", None, T).await.unwrap_err();
    assert!(
        matches!(&e, PromError::Unreachable { message, .. } if message.contains("error trying to reach service")),
        "{e:?}"
    );
    sim.shutdown().await;
}

#[test]
fn a_service_source_must_name_namespace_service_and_port() {
    for good in ["mon/prometheus:9090", "mon/prometheus:web", "mon/am"] {
        poll::proxy_path(good).unwrap();
    }
    for bad in [
        "prometheus:9090",
        "mon/Prom:9090",
        "mon/prom:0",
        "mon/prom:a_b",
        "/p:1",
        "mon/:1",
    ] {
        let e = poll::proxy_path(bad).unwrap_err();
        assert!(e.contains("expected NAMESPACE/NAME:PORT"), "{bad}: {e}");
    }
    assert_eq!(
        poll::proxy_path("mon/prometheus:9090").unwrap(),
        "/api/v1/namespaces/mon/services/prometheus:9090/proxy"
    );
}
