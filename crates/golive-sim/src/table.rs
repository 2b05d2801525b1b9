//! Server-side printing: the `meta.k8s.io/v1 Table` kubectl asks for.

use serde_json::{Value, json};

use crate::catalogue::{PrinterColumn, ResourceType};
use crate::time::age;

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

struct Column {
    name: String,
    column_type: String,
    format: String,
    description: String,
    priority: i64,
}

fn column(name: &str, column_type: &str, description: &str) -> Column {
    Column {
        name: name.to_string(),
        column_type: column_type.to_string(),
        format: if name == "Name" { "name" } else { "" }.to_string(),
        description: description.to_string(),
        priority: 0,
    }
}

fn is_core_event(resource: &ResourceType) -> bool {
    resource.group.is_empty() && resource.kind == "Event"
}

/// Events print without a leading name, as `kubectl get events` shows them.
fn event_columns() -> Vec<Column> {
    let mut columns = vec![
        column("Last Seen", "string", ""),
        column("Type", "string", ""),
        column("Reason", "string", ""),
        column("Object", "string", ""),
        column("Message", "string", ""),
        column("Count", "integer", ""),
        column("Name", "string", ""),
    ];
    for wide in &mut columns[5..] {
        wide.priority = 1;
    }
    columns
}

fn event_cells(event: &Value) -> Vec<Value> {
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
    let last_seen = text("/lastTimestamp")
        .or_else(|| text("/eventTime"))
        .or_else(|| text("/metadata/creationTimestamp"));
    let object = format!(
        "{}/{}",
        text("/involvedObject/kind")
            .unwrap_or_default()
            .to_lowercase(),
        text("/involvedObject/name").unwrap_or_default()
    );
    vec![
        json!(age(last_seen)),
        json!(text("/type").unwrap_or("Normal")),
        json!(text("/reason").unwrap_or_default()),
        json!(object),
        json!(text("/message").unwrap_or_default()),
        json!(event.get("count").and_then(Value::as_i64).unwrap_or(1)),
        json!(text("/metadata/name").unwrap_or_default()),
    ]
}

fn columns_for(resource: &ResourceType) -> Vec<Column> {
    if is_core_event(resource) {
        return event_columns();
    }
    let name = column("Name", "string", "Name must be unique within a namespace.");
    let age = column(
        "Age",
        "string",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    if let Some(custom) = &resource.printer_columns {
        let mut columns = vec![name];
        if custom.is_empty() {
            columns.push(age);
        }
        columns.extend(custom.iter().map(|c: &PrinterColumn| Column {
            name: c.name.clone(),
            column_type: c.column_type.clone(),
            format: String::new(),
            description: c.description.clone(),
            priority: c.priority,
        }));
        return columns;
    }
    let mut columns = vec![name];
    let extra: &[(&str, &str)] = match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Pod") => &[
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
        ],
        ("apps", "Deployment") => &[
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        ("apps", "StatefulSet") => &[("Ready", "string")],
        ("apps", "ReplicaSet") => &[
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        ("apps", "DaemonSet") => &[
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        ("", "Secret") => &[("Type", "string"), ("Data", "string")],
        ("", "ConfigMap") => &[("Data", "string")],
        ("", "Namespace") => &[("Status", "string")],
        ("", "Service") => &[
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        ("", "Node") => &[("Status", "string"), ("Roles", "string")],
        ("", "PersistentVolumeClaim") => &[
            ("Status", "string"),
            ("Volume", "string"),
            ("Capacity", "string"),
        ],
        ("networking.k8s.io", "NetworkPolicy") => &[("Pod-Selector", "string")],
        ("networking.k8s.io", "Ingress") => &[("Class", "string"), ("Hosts", "string")],
        ("batch", "Job") => &[("Status", "string"), ("Completions", "string")],
        ("policy", "PodDisruptionBudget") => &[
            ("Min Available", "string"),
            ("Max Unavailable", "string"),
            ("Allowed Disruptions", "integer"),
        ],
        _ => &[],
    };
    columns.extend(extra.iter().map(|(n, t)| column(n, t, "")));
    columns.push(age);
    if resource.kind == "Node" && resource.group.is_empty() {
        columns.push(column("Version", "string", ""));
    }
    if resource.kind == "Pod" && resource.group.is_empty() {
        // Shown by `kubectl get pods -o wide` only.
        for name in ["IP", "Node"] {
            let mut wide = column(name, "string", "");
            wide.priority = 1;
            columns.push(wide);
        }
    }
    columns
}

fn cells_for(resource: &ResourceType, object: &Value) -> Vec<Value> {
    if is_core_event(resource) {
        return event_cells(object);
    }
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
    let int = |pointer: &str| object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
    let name = json!(text("/metadata/name").unwrap_or_default());
    let created = age(text("/metadata/creationTimestamp"));
    if let Some(custom) = &resource.printer_columns {
        let mut cells = vec![name];
        if custom.is_empty() {
            cells.push(json!(created));
        }
        cells.extend(custom.iter().map(|c| custom_cell(c, object)));
        return cells;
    }
    let mut cells = vec![name];
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Pod") => {
            let statuses = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let containers = object
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses.map_or(0, |s| {
                s.iter()
                    .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                    .count()
            });
            let restarts: i64 = statuses.map_or(0, |s| {
                s.iter()
                    .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                    .sum()
            });
            // A waiting container's reason (CrashLoopBackOff...) is what kubectl shows.
            let waiting = statuses.and_then(|s| {
                s.iter().find_map(|c| {
                    c.pointer("/state/waiting/reason")
                        .or_else(|| c.pointer("/state/terminated/reason"))
                        .and_then(Value::as_str)
                })
            });
            let status = if object.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else {
                waiting
                    .or_else(|| text("/status/reason"))
                    .or_else(|| text("/status/phase"))
                    .unwrap_or("Pending")
            };
            cells.push(json!(format!("{ready}/{containers}")));
            cells.push(json!(status));
            cells.push(json!(restarts.to_string()));
        }
        ("apps", "Deployment") => {
            cells.push(json!(format!(
                "{}/{}",
                int("/status/readyReplicas"),
                object
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            )));
            cells.push(json!(int("/status/updatedReplicas")));
            cells.push(json!(int("/status/availableReplicas")));
        }
        ("apps", "StatefulSet") => {
            cells.push(json!(format!(
                "{}/{}",
                int("/status/readyReplicas"),
                object
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            )));
        }
        ("apps", "ReplicaSet") => {
            cells.push(json!(int("/spec/replicas")));
            cells.push(json!(int("/status/replicas")));
            cells.push(json!(int("/status/readyReplicas")));
        }
        ("apps", "DaemonSet") => {
            for field in [
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "numberReady",
                "updatedNumberScheduled",
                "numberAvailable",
            ] {
                cells.push(json!(int(&format!("/status/{field}"))));
            }
        }
        ("", "Secret") => {
            // Count keys without naming them: the table never exposes secret content.
            let count = ["/data", "/stringData"]
                .iter()
                .filter_map(|p| object.pointer(p).and_then(Value::as_object))
                .map(|m| m.len())
                .sum::<usize>();
            cells.push(json!(text("/type").unwrap_or("Opaque")));
            cells.push(json!(count.to_string()));
        }
        ("", "ConfigMap") => {
            let count = ["/data", "/binaryData"]
                .iter()
                .filter_map(|p| object.pointer(p).and_then(Value::as_object))
                .map(|m| m.len())
                .sum::<usize>();
            cells.push(json!(count.to_string()));
        }
        ("", "Namespace") => {
            cells.push(json!(text("/status/phase").unwrap_or("Active")));
        }
        ("", "Service") => {
            let external = object
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|ingress| {
                    ingress
                        .iter()
                        .filter_map(|i| {
                            i.get("ip")
                                .or_else(|| i.get("hostname"))
                                .and_then(Value::as_str)
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "<none>".to_string());
            let ports = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ports| {
                    ports
                        .iter()
                        .map(|p| {
                            format!(
                                "{}/{}",
                                p.get("port").and_then(Value::as_i64).unwrap_or(0),
                                p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "<none>".to_string());
            cells.push(json!(text("/spec/type").unwrap_or("ClusterIP")));
            cells.push(json!(text("/spec/clusterIP").unwrap_or("<none>")));
            cells.push(json!(external));
            cells.push(json!(ports));
        }
        ("", "Node") => {
            let ready = object
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|conditions| {
                    conditions
                        .iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
                })
                .and_then(|c| c.get("status").and_then(Value::as_str));
            let status = if ready == Some("True") {
                "Ready"
            } else {
                "NotReady"
            };
            let roles = object
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|labels| {
                    labels
                        .keys()
                        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "<none>".to_string());
            cells.push(json!(status));
            cells.push(json!(roles));
        }
        ("", "PersistentVolumeClaim") => {
            cells.push(json!(text("/status/phase").unwrap_or("Pending")));
            cells.push(json!(text("/spec/volumeName").unwrap_or("")));
            cells.push(json!(text("/status/capacity/storage").unwrap_or("")));
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            let selector = object
                .pointer("/spec/podSelector/matchLabels")
                .and_then(Value::as_object)
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "<none>".to_string());
            cells.push(json!(selector));
        }
        ("networking.k8s.io", "Ingress") => {
            let hosts = object
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .map(|rules| {
                    rules
                        .iter()
                        .filter_map(|r| r.get("host").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "*".to_string());
            cells.push(json!(text("/spec/ingressClassName").unwrap_or("<none>")));
            cells.push(json!(hosts));
        }
        ("batch", "Job") => {
            let succeeded = int("/status/succeeded");
            let completions = object
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let status = if succeeded >= completions {
                "Complete"
            } else if int("/status/failed") > 0 {
                "Failed"
            } else {
                "Running"
            };
            cells.push(json!(status));
            cells.push(json!(format!("{succeeded}/{completions}")));
        }
        ("policy", "PodDisruptionBudget") => {
            let show = |pointer: &str| match object.pointer(pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "N/A".to_string(),
            };
            cells.push(json!(show("/spec/minAvailable")));
            cells.push(json!(show("/spec/maxUnavailable")));
            cells.push(json!(int("/status/disruptionsAllowed")));
        }
        _ => {}
    }
    cells.push(json!(created));
    if resource.kind == "Node" && resource.group.is_empty() {
        cells.push(json!(text("/status/nodeInfo/kubeletVersion").unwrap_or("")));
    }
    if resource.kind == "Pod" && resource.group.is_empty() {
        cells.push(json!(text("/status/podIP").unwrap_or("<none>")));
        cells.push(json!(text("/spec/nodeName").unwrap_or("<none>")));
    }
    cells
}

fn custom_cell(column: &PrinterColumn, object: &Value) -> Value {
    let found = crate::jsonpath::evaluate(&column.json_path, object);
    let Some(first) = found.into_iter().next() else {
        return Value::Null;
    };
    match column.column_type.as_str() {
        "date" => json!(age(first.as_str())),
        "integer" | "number" | "boolean" => first.clone(),
        _ => match first {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
    }
}

/// Metadata-only view of an object; for Secrets the last-applied annotation
/// is dropped because kubectl copies the whole Secret, data included, into it.
pub(crate) fn partial_metadata(object: &Value) -> Value {
    let mut metadata = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if object.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
    })
}

/// A Table of the given objects, with list metadata filled by the caller.
pub(crate) fn table(
    resource: &ResourceType,
    objects: &[&Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| table_row(resource, object, include))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": column_definitions(resource),
        "rows": rows,
    })
}

/// What a [`table`] document holds before its rows, in the order serde_json
/// writes its keys (sorted), ending with the opening of the rows array; the
/// rows and `]}` follow.
pub(crate) fn table_head(resource: &ResourceType, list_metadata: &Value) -> String {
    format!(
        "{{\"apiVersion\":\"meta.k8s.io/v1\",\"columnDefinitions\":{},\"kind\":\"Table\",\"metadata\":{list_metadata},\"rows\":[",
        Value::Array(column_definitions(resource))
    )
}

fn column_definitions(resource: &ResourceType) -> Vec<Value> {
    columns_for(resource)
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.column_type,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect()
}

/// One row: the cells and, as asked, the object's metadata or the object.
pub(crate) fn table_row(resource: &ResourceType, object: &Value, include: IncludeObject) -> Value {
    let mut row = json!({ "cells": cells_for(resource, object) });
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => row["object"] = partial_metadata(object),
        IncludeObject::Object => row["object"] = object.clone(),
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn pod_row_shows_ready_status_and_restarts() {
        let catalogue = Catalogue::with_built_ins();
        let pods = catalogue.by_kind("v1", "Pod").expect("built in");
        let pod = json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"ready": true, "restartCount": 2},
                {"ready": false, "restartCount": 1,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        });
        let cells = cells_for(&pods, &pod);
        assert_eq!(
            cells[..4],
            [
                json!("web-1"),
                json!("1/2"),
                json!("CrashLoopBackOff"),
                json!("3")
            ]
        );
    }

    #[test]
    fn a_table_written_row_by_row_is_the_table_document() {
        let catalogue = Catalogue::with_built_ins();
        let pods = catalogue.by_kind("v1", "Pod").expect("built in");
        let objects: Vec<Value> = (0..3)
            .map(|i| {
                json!({"kind": "Pod", "metadata": {"name": format!("p{i}"), "namespace": "ns"},
                            "status": {"phase": "Running"}})
            })
            .collect();
        let refs: Vec<&Value> = objects.iter().collect();
        let metadata = json!({"resourceVersion": "9"});
        for include in [
            IncludeObject::None,
            IncludeObject::Metadata,
            IncludeObject::Object,
        ] {
            let rows: Vec<String> = objects
                .iter()
                .map(|o| table_row(&pods, o, include).to_string())
                .collect();
            let written = format!("{}{}]}}", table_head(&pods, &metadata), rows.join(","));
            let whole = table(&pods, &refs, include, metadata.clone()).to_string();
            assert_eq!(written, whole);
        }
    }

    #[test]
    fn secret_metadata_drops_last_applied_configuration() {
        let secret = json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"k\":\"djE=\"}}",
            "team": "a"}}, "data": {"k": "djE="}});
        let partial = partial_metadata(&secret);
        assert_eq!(partial["metadata"]["annotations"], json!({"team": "a"}));
        assert!(partial.get("data").is_none());
    }
}
