//! `secret_exists` and `config_value`: what the service is configured with. Secrets are
//! read as metadata only; a value set from a Secret is reported, never read.

use super::json::{format_age, labels, lookup, name, scalar_text, timestamp};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{CONFIG_MAPS, ClusterView, DEPLOYMENTS, SECRETS, WatchKey};
use crate::plan::{ConfigValueCheck, SecretExistsCheck, ValueFormat, ValueSource};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

const SECRET: &str = "secret_exists";
const CONFIG: &str = "config_value";

/// `key` or `key=value` against a map of labels or annotations.
fn has_entry(map: &BTreeMap<String, String>, wanted: &str) -> bool {
    match wanted.split_once('=') {
        Some((k, v)) => map.get(k).map(String::as_str) == Some(v),
        None => map.contains_key(wanted),
    }
}

fn annotations(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn secret_exists(
    c: &SecretExistsCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(SECRET, view, &SECRETS, Some(ns), false)?;
    let mut selected: Vec<Value> = Vec::new();
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for wanted in &c.names {
        match view.object(&SECRETS, Some(ns), wanted) {
            Some(s) => selected.push(s),
            None => {
                problems.push(format!("{wanted} missing"));
                evidence.push(Evidence::new(format!("Secret {ns}/{wanted}"), "not found"));
            }
        }
    }
    if let Some(sel) = &c.selector {
        let matched: Vec<Value> = view
            .objects(&SECRETS, Some(ns))
            .filter(|s| sel.parsed.matches(&labels(s)))
            .collect();
        if matched.is_empty() {
            problems.push(format!("no Secret labelled {}", sel.text));
            evidence.push(Evidence::new(
                format!("Secrets in {ns}"),
                format!("none match {}", sel.text),
            ));
        }
        for s in matched {
            if !selected.iter().any(|x| name(x) == name(&s)) {
                selected.push(s);
            }
        }
    }
    for s in &selected {
        let mut detail = Vec::new();
        let mut bad = Vec::new();
        let created = timestamp(&s["metadata"]["creationTimestamp"]);
        match created {
            Some(t) => detail.push(format!(
                "created {} ago",
                format_age(now.as_second() - t.as_second())
            )),
            None => detail.push("no creationTimestamp".into()),
        }
        if let Some(min) = &c.min_age {
            match created {
                Some(t) if now.as_second() - t.as_second() < min.0.as_secs() as i64 => {
                    bad.push(format!("younger than {min}"))
                }
                None => bad.push(format!("age unknown, {min} required")),
                _ => {}
            }
        }
        let l = labels(s);
        for want in &c.labels {
            if !has_entry(&l, want) {
                bad.push(format!("label {want} missing"));
            }
        }
        let a = annotations(s);
        for want in &c.annotations {
            if !has_entry(&a, want) {
                bad.push(format!("annotation {want} missing"));
            }
        }
        if !bad.is_empty() {
            problems.push(format!("{}: {}", name(s), bad.join(", ")));
        }
        detail.extend(bad);
        evidence.push(Evidence::new(
            format!("Secret {ns}/{}", name(s)),
            detail.join("; "),
        ));
    }
    if c.names.is_empty() && c.selector.is_none() {
        return Ok(CheckVerdict::new(
            SECRET,
            Status::Fail,
            "secret_exists names no Secret: give `names` or `selector`",
        ));
    }
    if problems.is_empty() {
        let names: Vec<&str> = selected.iter().map(name).collect();
        Ok(CheckVerdict::new(
            SECRET,
            Status::Pass,
            format!("Secret {} present in {ns}", names.join(", ")),
        )
        .with_evidence(evidence))
    } else {
        Ok(CheckVerdict::new(
            SECRET,
            Status::Fail,
            format!("{ns}: {}", problems.join("; ")),
        )
        .with_evidence(evidence)
        .with_fix(format!(
            "create the Secret in {ns} (kubectl create secret generic …), or fix its labels"
        )))
    }
}

/// A configuration value and where it was found.
pub struct Found {
    pub value: Value,
    pub object: String,
    /// What the value is called in a summary: the path, key or variable name.
    pub label: String,
}

/// Reads a value from a ConfigMap key (optionally parsed, then a path) or a container's
/// environment. Missing objects and keys fail; values the cluster holds in Secrets are
/// unknown, because golive does not read Secret data.
pub fn resolve(
    kind: &'static str,
    source: &ValueSource,
    view: &ClusterView,
) -> Result<Found, CheckVerdict> {
    let ns = source.namespace.as_str();
    let fail = |summary: String, object: String, detail: &str| {
        CheckVerdict::new(kind, Status::Fail, summary)
            .with_evidence(vec![Evidence::new(object, detail.to_string())])
    };
    match (&source.config_map, &source.env) {
        (Some(cm), None) => {
            require_fresh(kind, view, &CONFIG_MAPS, Some(ns), false)?;
            let object = format!("ConfigMap {ns}/{}", cm.name);
            let Some(map) = view.object(&CONFIG_MAPS, Some(ns), &cm.name) else {
                return Err(fail(format!("{object} not found"), object, "not found"));
            };
            let map = &map;
            let Some(text) = map["data"][&cm.key].as_str() else {
                return Err(fail(
                    format!("{object} has no key {}", cm.key),
                    object,
                    &format!("key {} missing", cm.key),
                ));
            };
            let parsed = match cm.format {
                ValueFormat::Text => Ok(Value::String(text.to_string())),
                ValueFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
                ValueFormat::Yaml => {
                    serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
                }
            };
            let parsed = parsed.map_err(|e| {
                fail(
                    format!("{object} key {} does not parse", cm.key),
                    object.clone(),
                    &e,
                )
            })?;
            let object = format!("{object} {}", cm.key);
            match &cm.path {
                None => Ok(Found {
                    value: parsed,
                    object,
                    label: cm.key.clone(),
                }),
                Some(path) => match lookup(&parsed, path) {
                    Some(v) => Ok(Found {
                        value: v.clone(),
                        object: format!("{object} {path}"),
                        label: path.clone(),
                    }),
                    None => Err(fail(
                        format!("{path} is not set in {object}"),
                        object,
                        &format!("{path} not set"),
                    )),
                },
            }
        }
        (None, Some(env)) => {
            require_fresh(kind, view, &DEPLOYMENTS, Some(ns), false)?;
            let object = format!("Deployment {ns}/{}", env.deployment);
            let Some(d) = view.object(&DEPLOYMENTS, Some(ns), &env.deployment) else {
                return Err(fail(format!("{object} not found"), object, "not found"));
            };
            let d = &d;
            let containers = d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let container = match &env.container {
                Some(want) => containers
                    .iter()
                    .find(|c| c["name"].as_str() == Some(want.as_str())),
                None => containers.first(),
            };
            let Some(container) = container else {
                return Err(fail(
                    format!(
                        "{object} has no container {}",
                        env.container.as_deref().unwrap_or("")
                    ),
                    object,
                    "container not found",
                ));
            };
            let cname = container["name"].as_str().unwrap_or("?");
            let object = format!("{object} container {cname} env {}", env.name);
            let var = container["env"].as_array().and_then(|vars| {
                vars.iter()
                    .find(|v| v["name"].as_str() == Some(env.name.as_str()))
            });
            match var {
                None => Err(fail(
                    format!("{} is not set in {cname}", env.name),
                    object,
                    "not set",
                )),
                Some(v) if v["value"].is_string() => Ok(Found {
                    value: v["value"].clone(),
                    object,
                    label: env.name.clone(),
                }),
                Some(v) => {
                    let from = v["valueFrom"]
                        .as_object()
                        .and_then(|m| m.keys().next().cloned())
                        .unwrap_or_else(|| "an empty value".into());
                    Err(CheckVerdict::new(
                        kind,
                        Status::Unknown,
                        format!("{} comes from {from}, which golive does not read", env.name),
                    )
                    .with_evidence(vec![Evidence::new(object, format!("valueFrom {from}"))]))
                }
            }
        }
        _ => Err(CheckVerdict::new(
            kind,
            Status::Fail,
            "give exactly one of `config_map` and `env`",
        )),
    }
}

fn items(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| a.iter().map(scalar_text).collect())
}

pub fn config_value(
    c: &ConfigValueCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    let found = resolve(CONFIG, &c.source(), view)?;
    let text = scalar_text(&found.value);
    let list = items(&found.value);
    let mut failures = Vec::new();
    if let Some(want) = &c.equals
        && &text != want
    {
        failures.push(format!("is `{text}`, expected `{want}`"));
    }
    if !c.one_of.is_empty() && !c.one_of.contains(&text) {
        failures.push(format!(
            "is `{text}`, expected one of {}",
            c.one_of.join(", ")
        ));
    }
    if c.not_one_of.contains(&text) {
        failures.push(format!("is `{text}`, which is not allowed"));
    }
    if let Some(p) = &c.matches
        && !p.regex.is_match(&text)
    {
        failures.push(format!("`{text}` does not match `{}`", p.text));
    }
    let holds = |needle: &str| match &list {
        Some(items) => items.iter().any(|i| i == needle),
        None => text.contains(needle),
    };
    if let Some(needle) = &c.contains
        && !holds(needle)
    {
        failures.push(format!("`{text}` does not contain `{needle}`"));
    }
    if let Some(needle) = &c.not_contains
        && holds(needle)
    {
        failures.push(format!("`{text}` contains `{needle}`"));
    }
    if text.is_empty() || found.value.as_array().is_some_and(|a| a.is_empty()) {
        failures.push("is empty".into());
    }
    let mut evidence = vec![Evidence::new(found.object.clone(), format!("= {text}"))];
    if c.names_secret && failures.is_empty() {
        let ns = c.namespace.as_str();
        require_fresh(CONFIG, view, &SECRETS, Some(ns), false)?;
        match view.object(&SECRETS, Some(ns), &text) {
            Some(_) => evidence.push(Evidence::new(format!("Secret {ns}/{text}"), "present")),
            None => {
                failures.push(format!("names Secret {text}, which does not exist in {ns}"));
                evidence.push(Evidence::new(format!("Secret {ns}/{text}"), "not found"));
            }
        }
    }
    if failures.is_empty() {
        Ok(
            CheckVerdict::new(CONFIG, Status::Pass, format!("{} = {text}", found.label))
                .with_evidence(evidence),
        )
    } else {
        Ok(CheckVerdict::new(
            CONFIG,
            Status::Fail,
            format!("{} {}", found.label, failures.join("; ")),
        )
        .with_evidence(evidence)
        .with_fix(format!("change {} and roll out the workload", found.object)))
    }
}

impl CheckKind for SecretExistsCheck {
    const NAME: &'static str = "secret_exists";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(SECRETS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        secret_exists(self, view, ctx.now())
    }
}

/// The watch a value source reads: its ConfigMap, or the Deployment whose env it names.
pub fn source_watch(s: &ValueSource) -> Option<WatchKey> {
    if s.config_map.is_some() {
        Some(WatchKey::namespaced(CONFIG_MAPS, &s.namespace))
    } else if s.env.is_some() {
        Some(WatchKey::namespaced(DEPLOYMENTS, &s.namespace))
    } else {
        None
    }
}

impl CheckKind for ConfigValueCheck {
    const NAME: &'static str = "config_value";

    fn watches(&self) -> Vec<WatchKey> {
        let mut keys: Vec<WatchKey> = source_watch(&self.source()).into_iter().collect();
        if self.names_secret {
            keys.push(WatchKey::namespaced(SECRETS, &self.namespace));
        }
        keys
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        config_value(self, view)
    }
}
