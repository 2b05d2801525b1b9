//! Reading Kubernetes objects as JSON: the few accessors every check needs.

use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("?")
}

pub fn namespace(obj: &Value) -> Option<&str> {
    obj["metadata"]["namespace"].as_str()
}

/// `Kind namespace/name` or `Kind name`.
pub fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("Object");
    match namespace(obj) {
        Some(ns) if !ns.is_empty() => format!("{kind} {ns}/{}", name(obj)),
        _ => format!("{kind} {}", name(obj)),
    }
}

pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

pub fn timestamp(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

pub fn generation(obj: &Value) -> Option<i64> {
    obj["metadata"]["generation"].as_i64()
}

pub fn format_age(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else if s < 172_800 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// "Ready=False ErrGetKeyPair: secret not found" from a condition.
pub fn condition_text(c: &Value) -> String {
    let mut text = format!("{}={}", str_field(c, "type"), str_field(c, "status"));
    let reason = str_field(c, "reason");
    if !reason.is_empty() {
        text.push(' ');
        text.push_str(reason);
    }
    let message = str_field(c, "message");
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

/// Follows a dotted path: `database.maxPoolSize`, `items[0]`, `containers[name=envoy]`.
/// `None` when a segment is missing or malformed.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, mut rest) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            at = at.get(key)?;
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            let index = &stripped[..end];
            rest = &stripped[end + 1..];
            let items = at.as_array()?;
            at = match index.split_once('=') {
                Some((field, want)) => items
                    .iter()
                    .find(|item| item[field].as_str() == Some(want))?,
                None => items.get(index.parse::<usize>().ok()?)?,
            };
        }
    }
    if at.is_null() { None } else { Some(at) }
}

/// A scalar as text (`"json"`, `20`, `true`); lists and maps as compact JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a Kubernetes `LabelSelector` object (`matchLabels`, `matchExpressions`)
/// selects `labels`. An empty selector selects everything; one the API server would
/// reject (an unknown operator, `In` without values) selects nothing.
pub fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels: Option<Vec<(&str, &str)>> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    let Some(match_labels) = match_labels else {
        return false;
    };
    let expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let values = e["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            (str_field(e, "key"), str_field(e, "operator"), values)
        });
    golive_grammar::Selector::from_api(match_labels, expressions).is_ok_and(|s| s.matches(labels))
}

/// The labels of a Deployment's pod template.
pub fn template_labels(deployment: &Value) -> BTreeMap<String, String> {
    labels(&deployment["spec"]["template"])
}
