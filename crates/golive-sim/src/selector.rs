//! Label and field selectors as the API server parses them from query strings.

use golive_grammar::Selector;
use serde_json::Value;

/// A parsed `labelSelector` in golive's one selector grammar; the empty selector matches
/// everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Selector);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        Selector::parse(text)
            .map(LabelSelector)
            .map_err(|e| format!("unable to parse requirement: {}", e.0))
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.0
            .matches_with(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }
}

/// A parsed `fieldSelector`: `metadata.name`, `metadata.namespace` and the few
/// per-kind fields real servers index.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(text: &str, kind: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in text.split(',') {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: {term:?}; expected field=value"));
            };
            let field = field.trim();
            if !field_supported(kind, field) {
                return Err(format!(
                    "field label not supported: {field} (supported: metadata.name, metadata.namespace{})",
                    kind_fields(kind)
                        .iter()
                        .map(|f| format!(", {f}"))
                        .collect::<String>()
                ));
            }
            requirements.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { requirements })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = object
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }

    /// The name pinned by `metadata.name=X`, which lets a list skip a scan.
    pub fn pinned_name(&self) -> Option<&str> {
        self.requirements
            .iter()
            .find(|(field, equal, _)| field == "metadata.name" && *equal)
            .map(|(_, _, value)| value.as_str())
    }
}

fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "Event" => &[
            "involvedObject.apiVersion",
            "involvedObject.fieldPath",
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.resourceVersion",
            "involvedObject.uid",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        _ => &[],
    }
}

fn field_supported(kind: &str, field: &str) -> bool {
    field == "metadata.name" || field == "metadata.namespace" || kind_fields(kind).contains(&field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn label_selector_supports_equality_and_set_operators() {
        let object = pod(json!({"app": "web", "tier": "front"}));
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("app in (web, db)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!legacy", true),
            ("app=web,tier in (front)", true),
            ("app=web,missing", false),
            ("missing notin (x)", true),
            ("", true),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).expect(selector);
            assert_eq!(parsed.matches(&object), expected, "{selector}");
        }
    }

    #[test]
    fn label_selector_rejects_garbage() {
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
        assert!(LabelSelector::parse("app in (web").is_err());
    }

    #[test]
    fn field_selector_matches_name_namespace_and_rejects_unknown_fields() {
        let object = pod(json!({}));
        let by_name = FieldSelector::parse("metadata.name=p", "Pod").expect("valid");
        assert!(by_name.matches(&object));
        assert_eq!(by_name.pinned_name(), Some("p"));
        let other_ns = FieldSelector::parse("metadata.namespace!=ns", "Pod").expect("valid");
        assert!(!other_ns.matches(&object));
        assert!(FieldSelector::parse("spec.replicas=1", "Deployment").is_err());
    }
}
