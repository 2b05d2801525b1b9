//! Writes a big cluster's worth of real-sized pods for the simulator: N pods of
//! about 13 KB of JSON each (managedFields from two managers, an Istio sidecar
//! and init container, 25 env vars, probes, a projected token volume, an owner
//! ReplicaSet, a dozen labels and annotations, full status), spread over the
//! namespaces `load-00`…`load-19`, plus those namespaces. Deterministic: the same
//! N gives the same bytes.
//!
//! `cargo run --release -p golive-sim --example big_pods -- N OUT.yaml`
//!
//! The file holds one JSON document per line with `---` lines between them: valid
//! YAML for any reader, and the simulator's JSON fast path for this one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
use std::io::{BufWriter, Write};

use serde_json::{Value, json};

const NAMESPACES: usize = 20;
const APPS: [&str; 25] = [
    "checkout",
    "cart",
    "catalog",
    "search",
    "payments",
    "ledger",
    "invoices",
    "shipping",
    "inventory",
    "pricing",
    "reviews",
    "recommend",
    "accounts",
    "auth",
    "sessions",
    "notify",
    "mailer",
    "media",
    "thumbnails",
    "reports",
    "audit",
    "billing",
    "gateway",
    "quotes",
    "feeds",
];
/// The alphabet Kubernetes uses for generated name suffixes.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const CREATED: &str = "2026-11-20T08:14:03Z";
const STARTED: &str = "2026-11-20T08:14:09Z";

/// splitmix64: a deterministic stream of well-mixed numbers from a seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn suffix(seed: u64, length: usize) -> String {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = mix(state);
            char::from(SUFFIX_ALPHABET[(state % SUFFIX_ALPHABET.len() as u64) as usize])
        })
        .collect()
}

fn hex(seed: u64, length: usize) -> String {
    let mut out = String::new();
    let mut state = seed;
    while out.len() < length {
        state = mix(state);
        out.push_str(&format!("{state:016x}"));
    }
    out.truncate(length);
    out
}

fn uid(seed: u64) -> String {
    let h = hex(seed, 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `f:name: {}` entries for a list of keys, as fieldsV1 writes them.
fn fields(keys: &[&str]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(".".into(), json!({}));
    for key in keys {
        map.insert(format!("f:{key}"), json!({}));
    }
    Value::Object(map)
}

fn env(app: &str, namespace: &str) -> Vec<Value> {
    let mut vars = vec![
        json!({"name": "APP_NAME", "value": app}),
        json!({"name": "APP_ENV", "value": "production"}),
        json!({"name": "LOG_LEVEL", "value": "info"}),
        json!({"name": "LOG_FORMAT", "value": "json"}),
        json!({"name": "HTTP_PORT", "value": "8080"}),
        json!({"name": "METRICS_PORT", "value": "9090"}),
        json!({"name": "DATABASE_HOST", "value": format!("{app}-db.{namespace}.svc.cluster.local")}),
        json!({"name": "DATABASE_PORT", "value": "5432"}),
        json!({"name": "DATABASE_NAME", "value": app}),
        json!({"name": "DATABASE_POOL_SIZE", "value": "20"}),
        json!({"name": "REDIS_URL", "value": format!("redis://redis.{namespace}:6379/0")}),
        json!({"name": "KAFKA_BROKERS", "value": "kafka.kafka.svc:9092"}),
        json!({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel.observability:4317"}),
        json!({"name": "OTEL_SERVICE_NAME", "value": app}),
        json!({"name": "OTEL_RESOURCE_ATTRIBUTES", "value": format!("service.namespace={namespace},deployment.environment=production")}),
        json!({"name": "FEATURE_FLAGS_URL", "value": "http://flagd.platform:8013"}),
        json!({"name": "REQUEST_TIMEOUT", "value": "15s"}),
        json!({"name": "SHUTDOWN_GRACE", "value": "25s"}),
        json!({"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"containerName": "app", "divisor": "0", "resource": "limits.cpu"}}}),
        json!({"name": "GOMEMLIMIT", "valueFrom": {"resourceFieldRef": {"containerName": "app", "divisor": "0", "resource": "limits.memory"}}}),
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}),
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}),
        json!({"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}),
        json!({"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": format!("{app}-db-credentials")}}}),
        json!({"name": "API_SIGNING_KEY", "valueFrom": {"secretKeyRef": {"key": "signing-key", "name": format!("{app}-keys")}}}),
    ];
    vars.truncate(25);
    vars
}

fn probe(path: &str, initial: u32) -> Value {
    json!({"failureThreshold": 3, "httpGet": {"path": path, "port": 15020, "scheme": "HTTP"},
           "initialDelaySeconds": initial, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 2})
}

fn istio_proxy(app: &str, namespace: &str) -> Value {
    let istio_env = [
        ("PILOT_CERT_PROVIDER", "istiod"),
        ("CA_ADDR", "istiod.istio-system.svc:15012"),
        ("ISTIO_META_APP_CONTAINERS", "app"),
        ("ISTIO_META_CLUSTER_ID", "Kubernetes"),
        (
            "ISTIO_META_OWNER",
            &format!("kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{app}"),
        ),
    ];
    let mut env: Vec<Value> = istio_env
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    for (name, path) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
        ("INSTANCE_IP", "status.podIP"),
    ] {
        env.push(json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}));
    }
    json!({
        "name": "istio-proxy",
        "image": "docker.io/istio/proxyv2:1.24.2",
        "imagePullPolicy": "IfNotPresent",
        "args": ["proxy", "sidecar", "--domain", format!("$(POD_NAMESPACE).svc.cluster.local"),
                 "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "env": env,
        "ports": [
            {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}
        ],
        "readinessProbe": {"failureThreshold": 4, "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                           "periodSeconds": 15, "successThreshold": 1, "timeoutSeconds": 3},
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "privileged": false,
                            "readOnlyRootFilesystem": true, "runAsGroup": 1337, "runAsNonRoot": true, "runAsUser": 1337},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
            {"mountPath": "/var/lib/istio/data", "name": "istio-data"},
            {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
            {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"}
        ]
    })
}

fn managed_fields(app: &str, rs_uid: &str) -> Value {
    let env_names: Vec<String> = env(app, "x")
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    let mut env_fields = serde_json::Map::new();
    env_fields.insert(".".into(), json!({}));
    // Only the plain-value entries, to keep the pod near 13 KB.
    for name in env_names.iter().take(8) {
        env_fields.insert(
            format!("k:{{\"name\":\"{name}\"}}"),
            json!({".": {}, "f:name": {}, "f:value": {}}),
        );
    }
    let controller = json!({
        "f:metadata": {
            "f:annotations": fields(&["istio.io/rev", "kubectl.kubernetes.io/default-container",
                "kubectl.kubernetes.io/default-logs-container", "prometheus.io/path", "prometheus.io/port",
                "prometheus.io/scrape", "sidecar.istio.io/status", "checksum/config"]),
            "f:generateName": {},
            "f:labels": fields(&["app", "app.kubernetes.io/component", "app.kubernetes.io/instance",
                "app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/part-of",
                "app.kubernetes.io/version", "pod-template-hash", "security.istio.io/tlsMode",
                "service.istio.io/canonical-name", "service.istio.io/canonical-revision", "team"]),
            "f:ownerReferences": {".": {}, format!("k:{{\"uid\":\"{rs_uid}\"}}"): {}}
        },
        "f:spec": {
            "f:containers": {
                "k:{\"name\":\"app\"}": {
                    ".": {}, "f:env": Value::Object(env_fields), "f:image": {}, "f:imagePullPolicy": {},
                    "f:livenessProbe": {".": {}, "f:failureThreshold": {}, "f:httpGet": {".": {}, "f:path": {}, "f:port": {}, "f:scheme": {}},
                        "f:initialDelaySeconds": {}, "f:periodSeconds": {}, "f:successThreshold": {}, "f:timeoutSeconds": {}},
                    "f:name": {},
                    "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}},
                        "k:{\"containerPort\":9090,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                    "f:readinessProbe": {".": {}, "f:httpGet": {".": {}, "f:path": {}, "f:port": {}},
                        "f:periodSeconds": {}, "f:successThreshold": {}, "f:timeoutSeconds": {}},
                    "f:resources": {".": {}, "f:limits": {".": {}, "f:cpu": {}, "f:memory": {}}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}},
                    "f:securityContext": {".": {}, "f:allowPrivilegeEscalation": {}, "f:readOnlyRootFilesystem": {}},
                    "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}
                }
            },
            "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {},
            "f:securityContext": {".": {}, "f:fsGroup": {}, "f:runAsNonRoot": {}},
            "f:serviceAccount": {}, "f:serviceAccountName": {}, "f:terminationGracePeriodSeconds": {}
        }
    });
    let condition = |kind: &str| {
        (
            format!("k:{{\"type\":\"{kind}\"}}"),
            json!({".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}),
        )
    };
    let mut conditions = serde_json::Map::new();
    for kind in [
        "ContainersReady",
        "Initialized",
        "PodReadyToStartContainers",
        "Ready",
    ] {
        let (key, value) = condition(kind);
        conditions.insert(key, value);
    }
    let kubelet = json!({
        "f:status": {
            "f:conditions": Value::Object(conditions),
            "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:initContainerStatuses": {},
            "f:phase": {}, "f:podIP": {}, "f:podIPs": {".": {}, "k:{\"ip\":\"10.0.0.0\"}": {".": {}, "f:ip": {}}},
            "f:startTime": {}
        }
    });
    json!([
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": controller,
         "manager": "kube-controller-manager", "operation": "Update", "time": CREATED},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": kubelet,
         "manager": "kubelet", "operation": "Update", "subresource": "status", "time": STARTED}
    ])
}

fn pod(index: usize) -> Value {
    let namespace = format!("load-{:02}", index % NAMESPACES);
    let app = APPS[(index / NAMESPACES) % APPS.len()];
    let app_seed = mix((index % (NAMESPACES * APPS.len())) as u64 + 7);
    let template_hash = suffix(app_seed, 10);
    let replica_set = format!("{app}-{template_hash}");
    let name = format!("{replica_set}-{}", suffix(mix(index as u64), 5));
    let rs_uid = uid(app_seed ^ 0x5eed);
    let node = format!("node-{:03}", index % 64);
    let ip = format!(
        "10.{}.{}.{}",
        40 + index / 62_500,
        (index / 250) % 250,
        index % 250 + 2
    );
    let host_ip = format!("10.0.{}.{}", (index % 64) / 250, index % 64 + 10);
    let version = format!("1.{}.{}", index % 9, index % 13);
    let tls_key = suffix(app_seed ^ 11, 5);
    let sidecar_status = json!({
        "initContainers": ["istio-init"], "containers": ["istio-proxy"],
        "volumes": ["istio-envoy", "istio-data", "istio-token", "istiod-ca-cert"],
        "imagePullSecrets": null, "revision": "default"})
    .to_string();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": format!("{replica_set}-"),
            "namespace": namespace,
            "uid": uid(mix(index as u64) ^ 0xabc),
            "creationTimestamp": CREATED,
            "labels": {
                "app": app,
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/instance": format!("{app}-production"),
                "app.kubernetes.io/version": version,
                "app.kubernetes.io/component": "api",
                "app.kubernetes.io/part-of": "storefront",
                "app.kubernetes.io/managed-by": "Helm",
                "pod-template-hash": template_hash,
                "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": app,
                "service.istio.io/canonical-revision": version,
                "team": format!("team-{}", index % 7)
            },
            "annotations": {
                "istio.io/rev": "default",
                "kubectl.kubernetes.io/default-container": "app",
                "kubectl.kubernetes.io/default-logs-container": "app",
                "prometheus.io/path": "/stats/prometheus",
                "prometheus.io/port": "15020",
                "prometheus.io/scrape": "true",
                "sidecar.istio.io/status": sidecar_status,
                "checksum/config": hex(app_seed ^ 3, 64)
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": replica_set,
                                 "uid": rs_uid, "controller": true, "blockOwnerDeletion": true}],
            "managedFields": managed_fields(app, &rs_uid)
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": format!("registry.example.com/storefront/{app}:{version}"),
                    "imagePullPolicy": "IfNotPresent",
                    "env": env(app, &namespace),
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"},
                              {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
                    "livenessProbe": probe(&format!("/app-health/{app}/livez"), 10),
                    "readinessProbe": probe(&format!("/app-health/{app}/readyz"), 0),
                    "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                      "name": format!("kube-api-access-{tls_key}"), "readOnly": true}]
                },
                istio_proxy(app, &namespace)
            ],
            "initContainers": [{
                "name": "istio-init",
                "image": "docker.io/istio/proxyv2:1.24.2",
                "imagePullPolicy": "IfNotPresent",
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                         "-i", "*", "-b", "*"],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                                    "privileged": false, "readOnlyRootFilesystem": false, "runAsGroup": 0,
                                    "runAsNonRoot": false, "runAsUser": 0},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": format!("kube-api-access-{tls_key}"), "readOnly": true}]
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {"fsGroup": 2000, "runAsNonRoot": true},
            "serviceAccount": app,
            "serviceAccountName": app,
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
            ],
            "volumes": [
                {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
                {"emptyDir": {}, "name": "istio-data"},
                {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
                {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
                {"name": format!("kube-api-access-{tls_key}"), "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                    {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}]}}
            ]
        },
        "status": {
            "conditions": [
                {"lastProbeTime": null, "lastTransitionTime": STARTED, "status": "True", "type": "PodReadyToStartContainers"},
                {"lastProbeTime": null, "lastTransitionTime": STARTED, "status": "True", "type": "Initialized"},
                {"lastProbeTime": null, "lastTransitionTime": STARTED, "status": "True", "type": "Ready"},
                {"lastProbeTime": null, "lastTransitionTime": STARTED, "status": "True", "type": "ContainersReady"},
                {"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "PodScheduled"}
            ],
            "containerStatuses": [
                {"containerID": format!("containerd://{}", hex(mix(index as u64) ^ 1, 64)),
                 "image": format!("registry.example.com/storefront/{app}:{version}"),
                 "imageID": format!("registry.example.com/storefront/{app}@sha256:{}", hex(app_seed ^ 5, 64)),
                 "lastState": {}, "name": "app", "ready": true, "restartCount": 0, "started": true,
                 "state": {"running": {"startedAt": STARTED}}},
                {"containerID": format!("containerd://{}", hex(mix(index as u64) ^ 2, 64)),
                 "image": "docker.io/istio/proxyv2:1.24.2",
                 "imageID": format!("docker.io/istio/proxyv2@sha256:{}", hex(17, 64)),
                 "lastState": {}, "name": "istio-proxy", "ready": true, "restartCount": 0, "started": true,
                 "state": {"running": {"startedAt": STARTED}}}
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "initContainerStatuses": [
                {"containerID": format!("containerd://{}", hex(mix(index as u64) ^ 3, 64)),
                 "image": "docker.io/istio/proxyv2:1.24.2",
                 "imageID": format!("docker.io/istio/proxyv2@sha256:{}", hex(17, 64)),
                 "lastState": {}, "name": "istio-init", "ready": true, "restartCount": 0, "started": false,
                 "state": {"terminated": {"containerID": format!("containerd://{}", hex(mix(index as u64) ^ 3, 64)),
                     "exitCode": 0, "finishedAt": STARTED, "reason": "Completed", "startedAt": CREATED}}}
            ],
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": "Burstable",
            "startTime": CREATED
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: big_pods N OUT.yaml";
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let out = args.next().ok_or(usage)?;
    let mut writer = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let mut bytes = 0usize;
    let mut first = true;
    let mut write = |document: &Value| -> std::io::Result<()> {
        if !first {
            writer.write_all(b"---\n")?;
        }
        first = false;
        let line = serde_json::to_vec(document)?;
        bytes += line.len();
        writer.write_all(&line)?;
        writer.write_all(b"\n")
    };
    for namespace in 0..NAMESPACES {
        write(&json!({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": format!("load-{namespace:02}"), "labels": {"purpose": "load"}}}))?;
    }
    for index in 0..count {
        write(&pod(index))?;
    }
    writer.flush()?;
    eprintln!(
        "big_pods: {count} pods in {NAMESPACES} namespaces, {bytes} bytes of JSON ({} per pod) in {out}",
        bytes / count.max(1)
    );
    Ok(())
}
