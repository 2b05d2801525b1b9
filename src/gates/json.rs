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
