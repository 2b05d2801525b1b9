//! The Volundr checklist kinds in every verdict, on views built from the Volundr demo
//! cluster (`assets/demo/volundr/`), made compliant and then broken one item at a time.

use super::*;
use crate::cluster::{ClusterEvent, WatchError, WatchErrorKind};
use crate::plan::{self, LoadedPlan};
use crate::probe::{ProbeResult, Probes, probe_key};
use serde_json::{Value, json};
use std::time::Duration;

const CLUSTER: &str = include_str!("../../assets/demo/volundr/cluster.yaml");

const COMPLIANT_CONFIG: &str = "identity:\n  adapter: EnvoyHeaderIdentityAdapter\nauthorization:\n  adapter: CerbosAuthorizationAdapter\ncredentials:\n  store: vault\nsecrets:\n  injection: csi\ngit:\n  existingSecret: volundr-git-token\ncors:\n  allowedOrigins: [https://volundr.example.com]\nlogging:\n  format: json\ndatabase:\n  maxPoolSize: 10\n  maxConnections: 200\n";

fn volundr() -> LoadedPlan {
    plan::load_with_env("volundr", |_| None).expect("the built-in volundr plan is valid")
}

fn volundr_with_postgres() -> LoadedPlan {
    plan::load_with_env("volundr", |k| {
        (k == "VOLUNDR_POSTGRES").then(|| "10.0.0.5:5432".to_string())
    })
    .expect("the built-in volundr plan is valid")
}

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("valid timestamp")
}

fn demo_objects() -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(CLUSTER).expect("the volundr demo cluster parses")
}

fn edit(objects: &mut [Value], kind: &str, name: &str, f: impl Fn(&mut Value)) {
    let o = objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the fixture"));
    f(o);
}

fn remove(objects: &mut Vec<Value>, kind: &str, name: &str) {
    objects.retain(|o| !(o["kind"] == kind && o["metadata"]["name"] == name));
}

fn set_config(objects: &mut [Value], from: &str, to: &str) {
    edit(objects, "ConfigMap", "volundr-config", |o| {
        let text = o["data"]["config.yaml"]
            .as_str()
            .unwrap_or("")
            .replace(from, to);
        o["data"]["config.yaml"] = json!(text);
    });
}

/// The demo cluster with its three deliberate findings fixed.
fn compliant() -> Vec<Value> {
    let mut objs = demo_objects();
    edit(&mut objs, "ConfigMap", "volundr-config", |o| {
        o["data"]["config.yaml"] = json!(COMPLIANT_CONFIG);
    });
    edit(&mut objs, "PodDisruptionBudget", "volundr-api", |o| {
        o["spec"]["minAvailable"] = json!(1);
    });
    objs
}

fn view_of(plan: &LoadedPlan, objects: &[Value]) -> ClusterView {
    super::test_views::synced(&plan_watches(&plan.plan), objects, now())
}

fn ok_probe(status: u16, body: &str, content_type: &str) -> ProbeResult {
    ProbeResult {
        at: now(),
        elapsed: Duration::from_millis(12),
        status: Some(status),
        content_type: Some(content_type.into()),
        body: Some(body.into()),
        first_event: None,
        error: None,
    }
}

/// Probe results as a healthy Volundr service would give them.
fn healthy_probes(plan: &LoadedPlan) -> Probes {
    let mut probes = Probes::new();
    for check in plan.plan.gates.iter().flat_map(|g| g.checks.iter()) {
        let Some(key) = probe_key(check) else {
            continue;
        };
        let result = match check {
            Check::Http(_) => ok_probe(200, r#"{"status":"healthy"}"#, "application/json"),
            Check::Sse(_) => ProbeResult {
                first_event: Some((Duration::from_millis(40), "event: session\ndata: {}".into())),
                body: None,
                ..ok_probe(200, "", "text/event-stream")
            },
            _ => ProbeResult {
                status: None,
                content_type: None,
                body: None,
                ..ok_probe(0, "", "")
            },
        };
        probes.insert(key, result);
    }
    probes
}

fn evaluate_all(plan: &LoadedPlan, view: &ClusterView, probes: Probes) -> Vec<GateVerdict> {
    let ctx = Context::new(now()).with_probes(probes);
    plan.plan
        .gates
        .iter()
        .map(|g| evaluate_gate(g, view, &ctx))
        .collect()
}

fn find<'a>(verdicts: &'a [GateVerdict], id: &str) -> &'a GateVerdict {
    verdicts
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("gate {id}"))
}

fn text(g: &GateVerdict) -> String {
    let mut out = vec![g.summary.clone()];
    for c in &g.checks {
        out.push(c.summary.clone());
        out.extend(
            c.evidence
                .iter()
                .map(|e| format!("{}: {}", e.object, e.detail)),
        );
    }
    out.join("\n")
}

#[test]
fn compliant_volundr_cluster_with_healthy_probes_is_go() {
    let plan = volundr_with_postgres();
    let view = view_of(&plan, &compliant());
    let verdicts = evaluate_all(&plan, &view, healthy_probes(&plan));
    for g in &verdicts {
        assert_eq!(g.status, Status::Pass, "{}: {}", g.id, text(g));
    }
    assert_eq!(overall(&verdicts).0, Verdict::Go);
}

#[test]
fn demo_cluster_fails_exactly_its_three_findings() {
    let plan = volundr_with_postgres();
    let view = view_of(&plan, &demo_objects());
    let verdicts = evaluate_all(&plan, &view, healthy_probes(&plan));
    let failing: Vec<&str> = verdicts
        .iter()
        .filter(|g| g.status != Status::Pass)
        .map(|g| g.id.as_str())
        .collect();
    assert_eq!(failing, vec!["cors", "pdb", "log-format-json"]);
    assert!(text(find(&verdicts, "cors")).contains("contains `*`"));
    assert!(text(find(&verdicts, "pdb")).contains("blocks every eviction at 2 replicas"));
}

type Breakage = fn(&mut Vec<Value>);

/// One broken item per row: the gate, how to break it, the status and words expected.
fn breakages() -> Vec<(&'static str, Breakage, Status, &'static str)> {
    vec![
        (
            "migrations-applied",
            |o| {
                edit(o, "Pod", "volundr-api-7c9f8d-abcde", |p| {
                    p["status"]["initContainerStatuses"][0]["state"] =
                        json!({"terminated": {"exitCode": 1, "reason": "Error"}});
                })
            },
            Status::Fail,
            "exit 1",
        ),
        (
            "migrations-applied",
            |o| {
                edit(o, "Pod", "volundr-api-7c9f8d-abcde", |p| {
                    p["status"]["initContainerStatuses"][0]["state"] = json!({"running": {}});
                })
            },
            Status::Unknown,
            "still running",
        ),
        (
            "migrations-applied",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["template"]["spec"]["initContainers"] = json!([]);
                })
            },
            Status::Fail,
            "has no init container migrate",
        ),
        (
            "migrations-applied",
            |o| {
                o.retain(|x| x["kind"] != "Pod");
            },
            Status::Unknown,
            "no current pods",
        ),
        (
            "db-secret",
            |o| remove(o, "Secret", "volundr-db"),
            Status::Fail,
            "volundr-db missing",
        ),
        (
            "anthropic-secret",
            |o| remove(o, "Secret", "volundr-anthropic-api"),
            Status::Fail,
            "volundr-anthropic-api missing",
        ),
        (
            "ingress-tls",
            |o| {
                edit(o, "Ingress", "volundr", |i| {
                    if let Some(rules) = i["spec"]["rules"].as_array_mut() {
                        rules.push(json!({"host": "api.volundr.example.com"}));
                    }
                })
            },
            Status::Fail,
            "api.volundr.example.com not in spec.tls",
        ),
        (
            "ingress-tls",
            |o| remove(o, "Secret", "volundr-tls"),
            Status::Fail,
            "TLS Secret volundr-tls missing",
        ),
        (
            "ingress-tls",
            |o| {
                edit(o, "Certificate", "volundr-tls", |c| {
                    c["status"]["conditions"][0] = json!({"type": "Ready", "status": "False", "reason": "Failed", "message": "ACME challenge failed"});
                })
            },
            Status::Fail,
            "ACME challenge failed",
        ),
        (
            "ingress-tls",
            |o| {
                edit(o, "Ingress", "volundr", |i| {
                    i["spec"]["tls"] = json!(null);
                })
            },
            Status::Fail,
            "has no spec.tls",
        ),
        (
            "ingress-tls",
            |o| remove(o, "Certificate", "volundr-tls"),
            Status::Fail,
            "no Certificate for volundr-tls",
        ),
        (
            "identity-adapter",
            |o| set_config(o, "EnvoyHeaderIdentityAdapter", "AllowAllIdentityAdapter"),
            Status::Fail,
            "expected `EnvoyHeaderIdentityAdapter`",
        ),
        (
            "identity-adapter",
            |o| set_config(o, "identity:\n  adapter: EnvoyHeaderIdentityAdapter\n", ""),
            Status::Fail,
            "identity.adapter is not set",
        ),
        (
            "authorization-adapter",
            |o| {
                set_config(
                    o,
                    "CerbosAuthorizationAdapter",
                    "AllowAllAuthorizationAdapter",
                )
            },
            Status::Fail,
            "expected one of",
        ),
        (
            "storage-rwx",
            |o| {
                edit(o, "PersistentVolumeClaim", "volundr-home", |p| {
                    p["status"] = json!({"phase": "Pending"});
                    p["spec"]["accessModes"] = json!(["ReadWriteOnce"]);
                })
            },
            Status::Fail,
            "Pending, not Bound",
        ),
        (
            "storage-rwx",
            |o| remove(o, "StorageClass", "nfs-rwx"),
            Status::Fail,
            "StorageClass nfs-rwx does not exist",
        ),
        (
            "storage-rwx",
            |o| remove(o, "PersistentVolumeClaim", "volundr-sessions"),
            Status::Fail,
            "volundr-sessions not found",
        ),
        (
            "envoy-jwt",
            |o| {
                edit(o, "SecurityPolicy", "volundr-sessions-jwt", |s| {
                    s["spec"].as_object_mut().map(|m| m.remove("jwt"));
                })
            },
            Status::Fail,
            "has no spec.jwt",
        ),
        (
            "envoy-jwt",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    let c = d["spec"]["template"]["spec"]["containers"].as_array_mut();
                    if let Some(c) = c {
                        c.retain(|c| c["name"] != "envoy");
                    }
                })
            },
            Status::Fail,
            "spec.template.spec.containers[name=envoy]",
        ),
        (
            "envoy-jwt",
            |o| remove(o, "SecurityPolicy", "volundr-sessions-jwt"),
            Status::Fail,
            "no SecurityPolicy volundr-sessions-jwt",
        ),
        (
            "credential-store",
            |o| set_config(o, "store: vault", "store: memory"),
            Status::Fail,
            "is `memory`",
        ),
        (
            "secret-injection",
            |o| set_config(o, "injection: csi", "injection: memory"),
            Status::Fail,
            "expected `csi`",
        ),
        (
            "secret-injection",
            |o| remove(o, "CSIDriver", "secrets-store.csi.k8s.io"),
            Status::Fail,
            "no CSIDriver secrets-store.csi.k8s.io",
        ),
        (
            "git-token-secret",
            |o| remove(o, "Secret", "volundr-git-token"),
            Status::Fail,
            "names Secret volundr-git-token, which does not exist",
        ),
        (
            "git-token-secret",
            |o| {
                set_config(
                    o,
                    "existingSecret: volundr-git-token",
                    "existingSecret: \"\"",
                )
            },
            Status::Fail,
            "is empty",
        ),
        (
            "pod-security",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["template"]["spec"]["containers"][1]["securityContext"] =
                        json!({"privileged": true, "runAsUser": 0});
                    d["spec"]["template"]["spec"]["securityContext"] = json!({});
                })
            },
            Status::Fail,
            "container envoy: runAsNonRoot not set (container or pod); capabilities.drop lacks ALL; readOnlyRootFilesystem not true; privileged: true; allowPrivilegeEscalation not false",
        ),
        (
            "pod-security",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] =
                        json!(false);
                })
            },
            Status::Fail,
            "container api: runAsNonRoot: false",
        ),
        (
            "cors",
            |o| set_config(o, "[https://volundr.example.com]", "[\"*\"]"),
            Status::Fail,
            "contains `*`",
        ),
        (
            "hpa",
            |o| remove(o, "HorizontalPodAutoscaler", "volundr-api"),
            Status::Fail,
            "no HorizontalPodAutoscaler targets",
        ),
        (
            "hpa",
            |o| {
                edit(o, "HorizontalPodAutoscaler", "volundr-api", |h| {
                    h["spec"]["minReplicas"] = json!(1);
                    h["spec"]["maxReplicas"] = json!(50);
                })
            },
            Status::Fail,
            "minReplicas 1 below 2; maxReplicas 50 above 20",
        ),
        (
            "pdb",
            |o| remove(o, "PodDisruptionBudget", "volundr-api"),
            Status::Fail,
            "no PodDisruptionBudget selects",
        ),
        (
            "pdb",
            |o| {
                edit(o, "PodDisruptionBudget", "volundr-api", |p| {
                    p["spec"]["minAvailable"] = json!("100%");
                })
            },
            Status::Fail,
            "blocks every eviction",
        ),
        (
            "pdb",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["replicas"] = json!(4)
                });
                edit(o, "PodDisruptionBudget", "volundr-api", |p| {
                    p["spec"]["minAvailable"] = json!(3)
                });
            },
            Status::Fail,
            "minAvailable 3 above the HPA minimum 2",
        ),
        (
            "pdb",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["replicas"] = json!(4)
                });
                edit(o, "PodDisruptionBudget", "volundr-api", |p| {
                    p["spec"]["minAvailable"] = json!(2)
                });
            },
            Status::Warn,
            "no disruption when scaled to the HPA minimum 2",
        ),
        (
            "network-policy",
            |o| remove(o, "NetworkPolicy", "default-deny"),
            Status::Fail,
            "",
        ),
        (
            "resources",
            |o| {
                edit(o, "Deployment", "volundr-api", |d| {
                    d["spec"]["template"]["spec"]["initContainers"][0]["resources"] =
                        json!({"requests": {"cpu": "100m"}});
                })
            },
            Status::Fail,
            "init container migrate: no requests.memory, limits.cpu, limits.memory",
        ),
        (
            "kyverno-pvc-isolation",
            |o| {
                edit(o, "ClusterPolicy", "volundr-pvc-isolation", |p| {
                    p["status"]["conditions"][0]["status"] = json!("False");
                })
            },
            Status::Fail,
            "Ready=False",
        ),
        (
            "kyverno-pvc-isolation",
            |o| {
                edit(o, "ClusterPolicy", "volundr-pvc-isolation", |p| {
                    p["status"] = json!({})
                });
            },
            Status::Unknown,
            "no Ready condition",
        ),
        (
            "log-format-json",
            |o| set_config(o, "format: json", "format: text"),
            Status::Fail,
            "expected `json`",
        ),
        (
            "db-pool",
            |o| set_config(o, "maxPoolSize: 10", "maxPoolSize: 25"),
            Status::Fail,
            "pool * replicas <= max_connections - reserved = 250 <= 197 does not hold",
        ),
        (
            "db-pool",
            |o| {
                edit(o, "HorizontalPodAutoscaler", "volundr-api", |h| {
                    h["spec"]["maxReplicas"] = json!(20)
                });
            },
            Status::Fail,
            "200 <= 197",
        ),
        (
            "db-pool",
            |o| set_config(o, "maxPoolSize: 10", "maxPoolSize: ten"),
            Status::Fail,
            "not a number",
        ),
    ]
}

#[test]
fn each_broken_item_fails_its_gate_alone_with_evidence() {
    let plan = volundr_with_postgres();
    for (id, breaks, want, words) in breakages() {
        let mut objs = compliant();
        breaks(&mut objs);
        let view = view_of(&plan, &objs);
        let verdicts = evaluate_all(&plan, &view, healthy_probes(&plan));
        let g = find(&verdicts, id);
        assert_eq!(g.status, want, "{id}: {}", text(g));
        assert!(
            text(g).contains(words),
            "{id}: `{words}` not in\n{}",
            text(g)
        );
        for other in &verdicts {
            if other.id != id && !(id == "hpa" || id == "pdb" || id == "db-pool") {
                assert_eq!(
                    other.status,
                    Status::Pass,
                    "breaking {id} changed {}: {}",
                    other.id,
                    text(other)
                );
            }
        }
    }
}

#[test]
fn probe_gates_are_unknown_until_probed_and_postgres_is_a_manual_attestation() {
    let plan = volundr();
    let view = view_of(&plan, &compliant());
    let verdicts = evaluate_all(&plan, &view, Probes::new());
    for id in ["health", "sessions-stream", "events-health"] {
        let g = find(&verdicts, id);
        assert_eq!(g.status, Status::Unknown, "{id}");
        assert!(g.summary.contains("not probed yet"), "{}", g.summary);
    }
    let pg = find(&verdicts, "postgres-reachable");
    assert_eq!(pg.status, Status::Warn);
    assert!(pg.summary.contains("postgres-attested"), "{}", pg.summary);
}

fn probe_gate(id: &str, result: ProbeResult, at: Timestamp) -> GateVerdict {
    let plan = volundr_with_postgres();
    let view = view_of(&plan, &compliant());
    let mut probes = healthy_probes(&plan);
    let gate = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == id)
        .expect("gate");
    let key = probe_key(&gate.checks[0]).expect("a probe check");
    probes.insert(key, result);
    evaluate_gate(gate, &view, &Context::new(at).with_probes(probes))
}

#[test]
fn http_gate_fails_on_status_body_latency_and_refusal() {
    let g = probe_gate("health", ok_probe(500, "boom", "text/plain"), now());
    assert_eq!(g.status, Status::Fail);
    assert!(
        g.summary.contains("status 500, expected 200"),
        "{}",
        g.summary
    );
    let slow = ProbeResult {
        elapsed: Duration::from_secs(3),
        ..ok_probe(200, "", "text/plain")
    };
    let g = probe_gate("health", slow, now());
    assert!(
        g.summary.contains("took 3000 ms, bound 2s"),
        "{}",
        g.summary
    );
    let g = probe_gate(
        "events-health",
        ok_probe(200, r#"{"status":"degraded"}"#, "application/json"),
        now(),
    );
    assert_eq!(g.status, Status::Fail);
    assert!(
        g.summary
            .contains("status is `degraded`, expected `healthy`"),
        "{}",
        g.summary
    );
    let g = probe_gate("events-health", ok_probe(200, "<html>", "text/html"), now());
    assert!(g.summary.contains("body is not JSON"), "{}", g.summary);
    let refused = ProbeResult {
        status: None,
        error: Some("connection refused".into()),
        ..ok_probe(0, "", "")
    };
    let g = probe_gate("health", refused, now());
    assert_eq!(g.status, Status::Fail);
    assert!(g.summary.contains("connection refused"), "{}", g.summary);
}

#[test]
fn stale_probe_result_is_unknown() {
    let later: Timestamp = "2026-11-25T12:10:00Z".parse().expect("valid timestamp");
    let g = probe_gate("health", ok_probe(200, "", "text/plain"), later);
    // every probe in the context is ten minutes old
    assert_eq!(g.status, Status::Unknown);
    assert!(g.summary.contains("stale"), "{}", g.summary);
}

#[test]
fn sse_gate_needs_the_content_type_and_a_timely_first_event() {
    let g = probe_gate(
        "sessions-stream",
        ok_probe(200, "", "application/json"),
        now(),
    );
    assert_eq!(g.status, Status::Fail);
    assert!(g.summary.contains("not text/event-stream"), "{}", g.summary);
    let silent = ProbeResult {
        error: Some("no event within 5s".into()),
        body: None,
        ..ok_probe(200, "", "text/event-stream")
    };
    let g = probe_gate("sessions-stream", silent, now());
    assert_eq!(g.status, Status::Fail);
    assert!(g.summary.contains("no event within 5s"), "{}", g.summary);
    let late = ProbeResult {
        first_event: Some((Duration::from_secs(7), "data: x".into())),
        ..ok_probe(200, "", "text/event-stream")
    };
    let g = probe_gate("sessions-stream", late, now());
    assert!(g.summary.contains("bound 5s"), "{}", g.summary);
}

#[test]
fn tcp_gate_fails_when_the_connection_is_refused() {
    let refused = ProbeResult {
        status: None,
        error: Some("connect 10.0.0.5:5432: Connection refused".into()),
        ..ok_probe(0, "", "")
    };
    let g = probe_gate("postgres-reachable", refused, now());
    assert_eq!(g.status, Status::Fail);
    assert!(g.summary.contains("Connection refused"), "{}", g.summary);
}

#[test]
fn unserved_kind_fails_resource_exists_and_forbidden_secrets_are_unknown() {
    let plan = volundr_with_postgres();
    let mut view = view_of(&plan, &compliant());
    let kyverno = plan_watches(&plan.plan)
        .into_iter()
        .find(|k| k.resource.kind == "ClusterPolicy")
        .expect("a ClusterPolicy watch");
    view.apply(
        ClusterEvent::Failed {
            key: kyverno,
            error: WatchError {
                kind: WatchErrorKind::NotServed,
                message: "404 page not found".into(),
            },
        },
        now(),
    );
    let secrets = plan_watches(&plan.plan)
        .into_iter()
        .find(|k| k.resource.kind == "Secret")
        .expect("a Secret watch");
    view.apply(
        ClusterEvent::Failed {
            key: secrets,
            error: WatchError {
                kind: WatchErrorKind::Forbidden,
                message: "403".into(),
            },
        },
        now(),
    );
    let verdicts = evaluate_all(&plan, &view, healthy_probes(&plan));
    let k = find(&verdicts, "kyverno-pvc-isolation");
    assert_eq!(k.status, Status::Fail);
    assert!(
        k.summary.contains("not served by this cluster"),
        "{}",
        k.summary
    );
    assert_eq!(find(&verdicts, "db-secret").status, Status::Unknown);
    assert!(find(&verdicts, "db-secret").summary.contains("forbidden"));
}

#[test]
fn secret_exists_checks_selector_age_labels_and_annotations() {
    use crate::plan::duration::PlanDuration;
    use crate::plan::{SecretExistsCheck, Selector};
    let plan = volundr();
    let view = view_of(&plan, &compliant());
    let mut c = SecretExistsCheck {
        namespace: "volundr".into(),
        names: vec![],
        selector: Some(Selector::new("team=volundr").expect("selector")),
        min_age: None,
        labels: vec![],
        annotations: vec![],
    };
    let v = evaluate_check(&Check::SecretExists(c.clone()), &view, &Context::new(now()));
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary.contains("no Secret labelled team=volundr"),
        "{}",
        v.summary
    );
    c.selector = None;
    c.names = vec!["volundr-tls".into()];
    c.min_age = Some(PlanDuration(Duration::from_secs(30 * 86_400)));
    c.labels = vec!["owner".into()];
    c.annotations = vec!["cert-manager.io/certificate-name=volundr-tls".into()];
    let v = evaluate_check(&Check::SecretExists(c.clone()), &view, &Context::new(now()));
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("younger than 30d"), "{}", v.summary);
    assert!(v.summary.contains("label owner missing"), "{}", v.summary);
    assert!(!v.summary.contains("annotation"), "{}", v.summary);
    c.min_age = Some(PlanDuration(Duration::from_secs(86_400)));
    c.labels = vec![];
    let v = evaluate_check(&Check::SecretExists(c), &view, &Context::new(now()));
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
}

#[test]
fn config_value_reads_env_and_reports_secret_refs_as_unknown() {
    let plan = volundr();
    let mut objs = compliant();
    edit(&mut objs, "Deployment", "volundr-api", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
            {"name": "LOG_FORMAT", "value": "json"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "volundr-db", "key": "password"}}},
        ]);
    });
    let view = view_of(&plan, &objs);
    let parse = |yaml: &str| -> Check {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    };
    let ctx = Context::new(now());
    let v = evaluate_check(
        &parse(
            "config_value: {namespace: volundr, env: {deployment: volundr-api, container: api, name: LOG_FORMAT}, matches: 'js.n'}",
        ),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    let v = evaluate_check(
        &parse(
            "config_value: {namespace: volundr, env: {deployment: volundr-api, name: DB_PASSWORD}, equals: x}",
        ),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Unknown, "{}", v.summary);
    assert!(v.summary.contains("secretKeyRef"), "{}", v.summary);
    let v = evaluate_check(
        &parse("config_value: {namespace: volundr, env: {deployment: volundr-api, name: NOPE}}"),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Fail);
    let v = evaluate_check(
        &parse(
            "config_value: {namespace: volundr, config_map: {name: volundr-config, key: config.yaml, format: yaml, path: cors.allowedOrigins}, contains: 'https://volundr.example.com', not_one_of: [x]}",
        ),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    let v = evaluate_check(
        &parse(
            "config_value: {namespace: volundr, config_map: {name: volundr-config, key: config.yaml, format: json}}",
        ),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("does not parse"), "{}", v.summary);
    let v = evaluate_check(
        &parse("config_value: {namespace: volundr, config_map: {name: missing, key: k}}"),
        &view,
        &ctx,
    );
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("not found"), "{}", v.summary);
}

#[test]
fn job_succeeded_reads_complete_and_failed_conditions() {
    let plan = volundr();
    let job = |cond: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "volundr-migrate", "namespace": "volundr"},
               "status": {"conditions": [{"type": cond, "status": "True", "reason": cond}]}})
    };
    let check: Check =
        serde_saphyr::from_str("job_succeeded: {namespace: volundr, name: volundr-migrate}")
            .expect("check");
    let keys = watches(&check);
    let ctx = Context::new(now());
    for (objects, want) in [
        (vec![job("Complete")], Status::Pass),
        (vec![job("Failed")], Status::Fail),
        (
            vec![
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "volundr-migrate", "namespace": "volundr"}, "status": {"active": 1}}),
            ],
            Status::Unknown,
        ),
        (vec![], Status::Fail),
    ] {
        let mut view = ClusterView::new("t", "t", keys.clone());
        view.apply(
            ClusterEvent::Synced {
                key: keys[0].clone(),
                objects: objects.iter().map(crate::cluster::Stored::new).collect(),
            },
            now(),
        );
        assert_eq!(evaluate_check(&check, &view, &ctx).status, want);
    }
    let _ = plan;
}

#[test]
fn plan_rejects_bad_expressions_and_ambiguous_sources() {
    let base = "name: t\ngates:\n  - id: g\n    title: g\n    group: x\n    checks:\n";
    let bad = [
        (
            "      - expression: {values: {a: {literal: 1}}, expr: 'a + b <= 3'}\n",
            "does not declare",
        ),
        (
            "      - expression: {values: {a: {literal: 1}}, expr: 'a + 1'}\n",
            "needs one comparison",
        ),
        (
            "      - config_value: {namespace: n, config_map: {name: c, key: k, path: a.b}}\n",
            "needs `format: yaml`",
        ),
        ("      - config_value: {namespace: n}\n", "exactly one of"),
        ("      - http: {url: 'localhost/health'}\n", "is not a URL"),
        (
            "      - sse: {url: 'ftp://example.com/s'}\n",
            "not http or https",
        ),
        ("      - tcp: {address: db.internal}\n", "needs a port"),
        (
            "      - config_value: {namespace: n, env: {deployment: d, name: X}, matches: '(['}\n",
            "not a regular expression",
        ),
    ];
    for (check, words) in bad {
        let text = format!("{base}{check}");
        let e = plan::parse("t.yaml", &text, |_| None).expect_err(check);
        assert!(e.to_string().contains(words), "{check}: {e}");
    }
}

#[test]
fn expression_arithmetic_follows_precedence() {
    use crate::plan::expr::Expression;
    let e = Expression::parse("a * (b + 2) - 4 / 2 >= 10").expect("parses");
    let values = [("a".to_string(), 2.0), ("b".to_string(), 4.0)]
        .into_iter()
        .collect();
    assert_eq!(e.left.eval(&values), Some(10.0));
    assert!(e.op.holds(10.0, 10.0));
    let z = Expression::parse("a / 0 < 1").expect("parses");
    assert_eq!(z.left.eval(&values), None);
}

#[test]
fn volundr_plan_walks_the_four_checklist_groups_with_three_signoff_roles() {
    let plan = volundr().plan;
    let ids = |group: &str| -> Vec<String> {
        plan.gates
            .iter()
            .filter(|g| g.group == group)
            .map(|g| g.id.value.clone())
            .collect()
    };
    assert_eq!(
        ids("required"),
        [
            "cluster-access",
            "migrations-applied",
            "db-secret",
            "anthropic-secret",
            "ingress-tls",
            "identity-adapter",
            "authorization-adapter",
            "storage-rwx",
            "postgres-reachable"
        ]
    );
    assert_eq!(
        ids("security"),
        [
            "envoy-jwt",
            "credential-store",
            "secret-injection",
            "git-token-secret",
            "rbac",
            "pod-security",
            "cors"
        ]
    );
    assert_eq!(
        ids("recommended"),
        [
            "hpa",
            "pdb",
            "network-policy",
            "resources",
            "kyverno-pvc-isolation",
            "log-format-json",
            "db-pool"
        ]
    );
    assert_eq!(
        ids("monitoring"),
        ["health", "sessions-stream", "events-health"]
    );
    let phases: Vec<&str> = plan
        .runbook
        .iter()
        .map(|p| p.phase.value.as_str())
        .collect();
    assert_eq!(
        phases,
        ["Required", "Security", "Recommended", "Monitoring"]
    );
    assert_eq!(plan.signoff, ["platform", "security", "on-call"]);
}

#[test]
fn tcp_attestation_must_name_a_runbook_step() {
    let text = "name: t\ngates:\n  - id: pg\n    title: pg\n    group: x\n    checks:\n      - tcp: {address: '', attested_in: pg-checkd}\nrunbook:\n  - phase: P\n    steps:\n      - {id: pg-checked, text: PostgreSQL reachable}\n";
    let e = plan::parse("t.yaml", text, |_| None).expect_err("unknown step");
    assert!(e.to_string().contains("did you mean `pg-checked`"), "{e}");
}

#[test]
fn every_volundr_verdict_is_the_same_on_projected_objects() {
    // Config values, expressions, HPAs, PDBs, PVCs, Jobs, init containers, pod security,
    // resources, ingress TLS and secrets: the compliant cluster and each breakage.
    let plan = volundr_with_postgres();
    let ctx = Context::new(now()).with_probes(healthy_probes(&plan));
    let mut cases: Vec<(&str, Vec<Value>)> =
        vec![("compliant", compliant()), ("demo", demo_objects())];
    for (id, breaks, _, _) in breakages() {
        let mut objs = compliant();
        breaks(&mut objs);
        cases.push((id, objs));
    }
    for (case, objs) in cases {
        let (whole, projected) = super::projection_tests::both_ways(&plan.plan, &objs, &ctx);
        assert_eq!(
            whole, projected,
            "{case}: verdicts differ on projected objects"
        );
    }
}
