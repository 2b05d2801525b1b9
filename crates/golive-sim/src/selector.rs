//! Label and field selectors as the API server parses them from query strings.

use golive_grammar::Selector;

use crate::object::{ObjectIndex, kind_fields};

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

    pub fn matches(&self, object: &ObjectIndex) -> bool {
        self.0.matches_with(|key| object.label(key))
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

    pub fn matches(&self, object: &ObjectIndex) -> bool {
        self.requirements
            .iter()
            .all(|(field, equal, value)| (object.field(field) == value) == *equal)
    }

    /// The name pinned by `metadata.name=X`, which lets a list skip a scan.
    pub fn pinned_name(&self) -> Option<&str> {
        self.requirements
            .iter()
            .find(|(field, equal, _)| field == "metadata.name" && *equal)
            .map(|(_, _, value)| value.as_str())
    }
}

fn field_supported(kind: &str, field: &str) -> bool {
    field == "metadata.name" || field == "metadata.namespace" || kind_fields(kind).contains(&field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use serde_json::{Value, json};

    fn pod(labels: Value) -> ObjectIndex {
        let object = json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels}});
        let catalogue = Catalogue::with_built_ins();
        ObjectIndex::of(&object, &catalogue.by_kind("v1", "Pod").expect("built in"))
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
