//! Scenario timelines: objects that appear, change or go away at `t+N`, and faults
//! the API server suffers (an outage, latency, dropped watches, expired history, a
//! crashed listener, a denied resource). The format is documented in `docs/sim.md`.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::SimError;

/// A parsed scenario timeline, ready to be played against a running [`crate::Sim`].
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) origin: String,
    pub(crate) steps: Vec<ScenarioStep>,
}

#[derive(Debug, Clone)]
pub(crate) struct ScenarioStep {
    pub at: Duration,
    /// `file:line:column` of the step, for run-time error messages.
    pub location: String,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Apply(Value),
    Patch { target: ObjectRef, merge: Value },
    Delete(ObjectRef),
    Fault(Fault),
}

/// A fault the API server suffers from a step's moment; those with a duration end by
/// themselves (a later fault of the same kind ending first ends it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Every API answer is this status (503 and 429 with `Retry-After`).
    Outage { status: u16, lasts: Duration },
    /// Every answer delayed.
    Latency { delay: Duration, lasts: Duration },
    /// Every open watch stream closed.
    DropWatches,
    /// The next resume from an older resourceVersion gets 410 Expired.
    ExpireHistory,
    /// Listener and connections closed, as a crashed server, then listening again.
    StopAccepting { lasts: Duration },
    /// 403 for a resource (plural or `plural.group`), then allowed again.
    Deny { resource: String, lasts: Duration },
}

/// What a `fault:` value means, or what is wrong with it.
fn fault(value: &Value) -> Result<Fault, String> {
    const KINDS: &str = "one of drop_watches, expire_history, {outage: STATUS, for: D}, {latency: D, for: D}, {stop_accepting: D}, {deny: RESOURCE, for: D}";
    let duration = |v: &Value, what: &str| -> Result<Duration, String> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(format!("{what}: expected a duration like 10s")),
        };
        match golive_grammar::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() => Err(format!("{what}: a fault lasts longer than 0s")),
            Ok(d) => Ok(d),
            Err(e) => Err(format!("{what}: expected a duration like 10s: {e}")),
        }
    };
    match value {
        Value::String(s) if s == "drop_watches" => Ok(Fault::DropWatches),
        Value::String(s) if s == "expire_history" => Ok(Fault::ExpireHistory),
        Value::String(s) => Err(format!("unknown fault `{s}`: expected {KINDS}")),
        Value::Object(map) => {
            let lasts = || {
                map.get("for")
                    .ok_or_else(|| "missing `for`: how long the fault lasts".to_string())
                    .and_then(|v| duration(v, "for"))
            };
            let allowed: &[&str] = if map.contains_key("stop_accepting") {
                &["stop_accepting"]
            } else {
                &["outage", "latency", "deny", "for"]
            };
            if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(format!(
                    "unknown field `{extra}` in fault: expected {KINDS}"
                ));
            }
            if let Some(status) = map.get("outage") {
                let status = status
                    .as_u64()
                    .filter(|s| (400..=599).contains(s))
                    .ok_or_else(|| "outage: expected an HTTP status from 400 to 599".to_string())?;
                return Ok(Fault::Outage {
                    status: status as u16,
                    lasts: lasts()?,
                });
            }
            if let Some(delay) = map.get("latency") {
                return Ok(Fault::Latency {
                    delay: duration(delay, "latency")?,
                    lasts: lasts()?,
                });
            }
            if let Some(d) = map.get("stop_accepting") {
                return Ok(Fault::StopAccepting {
                    lasts: duration(d, "stop_accepting")?,
                });
            }
            if let Some(resource) = map.get("deny") {
                let resource = resource.as_str().filter(|r| !r.is_empty()).ok_or_else(|| {
                    "deny: expected a resource like secrets or certificates.cert-manager.io"
                        .to_string()
                })?;
                return Ok(Fault::Deny {
                    resource: resource.to_string(),
                    lasts: lasts()?,
                });
            }
            Err(format!("fault names no kind: expected {KINDS}"))
        }
        _ => Err(format!("fault: expected {KINDS}")),
    }
}

impl Fault {
    fn scale(&mut self, factor: u32) {
        match self {
            Fault::Outage { lasts, .. }
            | Fault::StopAccepting { lasts }
            | Fault::Deny { lasts, .. } => *lasts /= factor,
            Fault::Latency { delay, lasts } => {
                *delay /= factor;
                *lasts /= factor;
            }
            Fault::DropWatches | Fault::ExpireHistory => {}
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioDoc {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    steps: Vec<Spanned<StepDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDoc {
    at: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    #[serde(default)]
    apply: Option<Value>,
    #[serde(default)]
    patch: Option<PatchDoc>,
    #[serde(default)]
    delete: Option<ObjectRef>,
    #[serde(default)]
    fault: Option<Spanned<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatchDoc {
    api_version: String,
    kind: String,
    #[serde(default)]
    namespace: Option<String>,
    name: String,
    merge: Value,
}

impl Scenario {
    /// Parses a scenario held in memory; `origin` names it in error messages.
    pub fn from_text(origin: &str, text: &str) -> Result<Self, SimError> {
        let doc: ScenarioDoc =
            serde_saphyr::from_str_with_options(text, crate::manifests::yaml_options()).map_err(
                |error| {
                    let at = match error.location() {
                        Some(l) if l.line() > 0 => format!("{origin}:{}:{}", l.line(), l.column()),
                        _ => origin.to_string(),
                    };
                    let message = error.to_string();
                    SimError::Scenario {
                        at,
                        message: message.lines().next().unwrap_or_default().to_string(),
                    }
                },
            )?;
        let place = |line: u64, column: u64| format!("{origin}:{line}:{column}");
        let mut steps = Vec::new();
        for step in doc.steps {
            let location = place(step.referenced.line(), step.referenced.column());
            let step_doc = step.value;
            let at = crate::time::parse_offset(&step_doc.at.value).map_err(|message| {
                SimError::Scenario {
                    at: place(
                        step_doc.at.referenced.line(),
                        step_doc.at.referenced.column(),
                    ),
                    message,
                }
            })?;
            let mut actions = Vec::new();
            if let Some(object) = step_doc.apply {
                if object.get("apiVersion").and_then(Value::as_str).is_none()
                    || object.get("kind").and_then(Value::as_str).is_none()
                    || object
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .is_none()
                {
                    return Err(SimError::Scenario {
                        at: location,
                        message:
                            "apply needs a full manifest with apiVersion, kind and metadata.name"
                                .into(),
                    });
                }
                actions.push(Action::Apply(object));
            }
            if let Some(patch) = step_doc.patch {
                if !patch.merge.is_object() {
                    return Err(SimError::Scenario {
                        at: location,
                        message: "patch.merge must be a mapping (a JSON merge patch)".into(),
                    });
                }
                actions.push(Action::Patch {
                    target: ObjectRef {
                        api_version: patch.api_version,
                        kind: patch.kind,
                        namespace: patch.namespace,
                        name: patch.name,
                    },
                    merge: patch.merge,
                });
            }
            if let Some(target) = step_doc.delete {
                actions.push(Action::Delete(target));
            }
            if let Some(value) = step_doc.fault {
                let f = fault(&value.value).map_err(|message| SimError::Scenario {
                    at: place(value.referenced.line(), value.referenced.column()),
                    message,
                })?;
                actions.push(Action::Fault(f));
            }
            let action = match (actions.pop(), actions.is_empty()) {
                (Some(action), true) => action,
                (None, _) => {
                    return Err(SimError::Scenario {
                        at: location,
                        message: "step has no action: give one of apply, patch, delete or fault"
                            .into(),
                    });
                }
                (Some(_), false) => {
                    return Err(SimError::Scenario {
                        at: location,
                        message: "step has more than one action: give exactly one of apply, patch, delete or fault".into(),
                    });
                }
            };
            steps.push(ScenarioStep {
                at,
                location,
                action,
            });
        }
        // Stable: steps at the same offset keep their file order.
        steps.sort_by_key(|step| step.at);
        Ok(Scenario {
            origin: origin.to_string(),
            steps,
        })
    }

    /// Reads and parses a scenario file.
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_text(&path.display().to_string(), &text)
    }

    /// The same timeline played `factor` times faster (a demo in a hurry, a test of a
    /// story that takes minutes).
    pub fn faster(mut self, factor: u32) -> Self {
        let factor = factor.max(1);
        for step in &mut self.steps {
            step.at /= factor;
            if let Action::Fault(f) = &mut step.action {
                f.scale(factor);
            }
        }
        self
    }

    /// Number of steps in the timeline.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when the timeline has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Checks every step's kind against the served kinds plus the CRDs that
    /// earlier steps apply, so a typo fails at start with its location.
    pub(crate) fn check_kinds(
        &self,
        catalogue: &crate::catalogue::Catalogue,
    ) -> Result<(), SimError> {
        let mut catalogue = catalogue.clone();
        for step in &self.steps {
            let (api_version, kind) = match &step.action {
                Action::Apply(object) => (
                    object
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    object
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ),
                Action::Patch { target, .. } | Action::Delete(target) => {
                    (target.api_version.as_str(), target.kind.as_str())
                }
                Action::Fault(Fault::Deny { resource, .. }) => {
                    if !catalogue.knows_resource(resource) {
                        return Err(SimError::Scenario {
                            at: step.location.clone(),
                            message: format!(
                                "deny: no resource `{resource}` is served; name one as its plural (secrets) or plural.group (certificates.cert-manager.io)"
                            ),
                        });
                    }
                    continue;
                }
                Action::Fault(_) => continue,
            };
            if catalogue.by_kind(api_version, kind).is_none() {
                return Err(SimError::Scenario {
                    at: step.location.clone(),
                    message: format!(
                        "kind {kind} ({api_version}) is neither built in nor defined by a loaded CustomResourceDefinition; load the CRD {}",
                        crate::store::expected_crd_name(api_version, kind)
                    ),
                });
            }
            if let Action::Apply(object) = &step.action
                && kind == "CustomResourceDefinition"
            {
                catalogue
                    .register_crd(object)
                    .map_err(|message| SimError::Scenario {
                        at: step.location.clone(),
                        message,
                    })?;
            }
        }
        Ok(())
    }

    /// Where the scenario came from (file path or in-memory name).
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// The text a step writes where a controller would write the current time.
pub const NOW: &str = "$(now)";

/// `value` with every string [`NOW`] replaced by the moment the step plays, as a
/// controller stamps `startedAt`, `lastTransitionTime` or an event's time.
pub(crate) fn stamped(value: &Value) -> Value {
    match value {
        Value::String(s) if s == NOW => Value::String(crate::time::now_rfc3339()),
        Value::Array(items) => Value::Array(items.iter().map(stamped).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), stamped(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apply_patch_and_delete_steps_in_time_order() {
        let text = r#"
steps:
  - at: 1m30s
    delete: {apiVersion: v1, kind: ConfigMap, namespace: a, name: b}
  - at: t+10s
    patch:
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      name: internal-ca
      merge: {status: {conditions: [{type: Ready, status: "True"}]}}
  - at: 200ms
    apply: {apiVersion: v1, kind: Namespace, metadata: {name: late}}
"#;
        let scenario = Scenario::from_text("s.yaml", text).expect("valid scenario");
        let offsets: Vec<_> = scenario.steps.iter().map(|s| s.at).collect();
        assert_eq!(
            offsets,
            vec![
                Duration::from_millis(200),
                Duration::from_secs(10),
                Duration::from_secs(90)
            ]
        );
        assert!(matches!(scenario.steps[0].action, Action::Apply(_)));
        assert!(matches!(scenario.steps[2].action, Action::Delete(_)));
    }

    #[test]
    fn bad_duration_error_names_file_line_and_column() {
        let text = "steps:\n  - at: soon\n    delete: {apiVersion: v1, kind: Pod, name: p}\n";
        let error = Scenario::from_text("s.yaml", text)
            .expect_err("invalid")
            .to_string();
        assert!(error.contains("s.yaml:2:"), "{error}");
        assert!(error.contains("soon"), "{error}");
    }

    #[test]
    fn step_with_two_actions_is_rejected_with_its_location() {
        let text = "steps:\n  - at: 1s\n    delete: {apiVersion: v1, kind: Pod, name: p}\n    apply: {apiVersion: v1, kind: Pod, metadata: {name: p}}\n";
        let error = Scenario::from_text("s.yaml", text)
            .expect_err("invalid")
            .to_string();
        assert!(
            error.contains("s.yaml:2:") || error.contains("s.yaml:3:"),
            "{error}"
        );
        assert!(error.contains("exactly one"), "{error}");
    }

    #[test]
    fn faults_parse_and_their_mistakes_are_positioned() {
        let text = r#"
steps:
  - {at: 5s,  fault: {outage: 503, for: 10s}}
  - {at: 20s, fault: {latency: 2s, for: 10s}}
  - {at: 35s, fault: drop_watches}
  - {at: 40s, fault: expire_history}
  - {at: 45s, fault: {stop_accepting: 10s}}
  - {at: 60s, fault: {deny: secrets, for: 10s}}
"#;
        let s = Scenario::from_text("f.yaml", text).expect("valid faults");
        let faults: Vec<Fault> = s
            .steps
            .iter()
            .map(|step| match &step.action {
                Action::Fault(f) => f.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        let secs = Duration::from_secs;
        assert_eq!(
            faults,
            vec![
                Fault::Outage {
                    status: 503,
                    lasts: secs(10)
                },
                Fault::Latency {
                    delay: secs(2),
                    lasts: secs(10)
                },
                Fault::DropWatches,
                Fault::ExpireHistory,
                Fault::StopAccepting { lasts: secs(10) },
                Fault::Deny {
                    resource: "secrets".into(),
                    lasts: secs(10)
                },
            ]
        );
        let fast = s.faster(10);
        assert!(
            matches!(&fast.steps[1].action, Action::Fault(Fault::Latency { delay, lasts })
            if *delay == Duration::from_millis(200) && *lasts == secs(1))
        );
        for (bad, words) in [
            ("{outage: 503}", "missing `for`"),
            ("{outage: 200, for: 1s}", "from 400 to 599"),
            ("{latency: soon, for: 1s}", "latency:"),
            ("explode", "unknown fault `explode`"),
            (
                "{deny: secrets, for: 1s, extra: 1}",
                "unknown field `extra`",
            ),
            ("{stop_accepting: 1s, for: 1s}", "unknown field `for`"),
            ("[1]", "fault: expected one of"),
            (
                "{outage: 503, for: 0s}",
                "for: a fault lasts longer than 0s",
            ),
            (
                "{latency: 2s, for: soon}",
                "for: expected a duration like 10s",
            ),
        ] {
            let text = format!("steps:\n  - at: 1s\n    fault: {bad}\n");
            let e = Scenario::from_text("f.yaml", &text)
                .expect_err(bad)
                .to_string();
            assert!(e.contains("f.yaml:3:") && e.contains(words), "{bad}: {e}");
        }
        let two = "steps:\n  - at: 1s\n    fault: drop_watches\n    delete: {apiVersion: v1, kind: Pod, name: p}\n";
        let e = Scenario::from_text("f.yaml", two)
            .expect_err("two")
            .to_string();
        assert!(
            e.contains("exactly one of apply, patch, delete or fault"),
            "{e}"
        );
    }

    #[test]
    fn a_deny_fault_must_name_a_served_resource() {
        let catalogue = crate::catalogue::Catalogue::with_built_ins();
        for good in ["secrets", "pods", "networkpolicies.networking.k8s.io"] {
            let text = format!("steps:\n  - at: 1s\n    fault: {{deny: {good}, for: 1s}}\n");
            let s = Scenario::from_text("f.yaml", &text).expect(good);
            s.check_kinds(&catalogue).expect(good);
        }
        let text = "steps:\n  - at: 1s\n    fault: {deny: secretz, for: 1s}\n";
        let s = Scenario::from_text("f.yaml", text).expect("parses");
        let e = s.check_kinds(&catalogue).expect_err("secretz").to_string();
        assert!(
            e.contains("f.yaml:2:") || e.contains("f.yaml:3:"),
            "positioned: {e}"
        );
        assert!(e.contains("no resource `secretz` is served"), "{e}");
    }

    #[test]
    fn unknown_field_error_names_its_location() {
        let text = "steps:\n  - at: 1s\n    dlete: {apiVersion: v1, kind: Pod, name: p}\n";
        let error = Scenario::from_text("s.yaml", text)
            .expect_err("invalid")
            .to_string();
        assert!(error.contains("s.yaml:3:"), "{error}");
    }
}
