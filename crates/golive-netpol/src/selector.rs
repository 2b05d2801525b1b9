//! Kubernetes label selectors (`matchLabels` + `matchExpressions`).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of a namespace, pod or workload.
pub type Labels = BTreeMap<String, String>;

/// The operator of one `matchExpressions` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Operator::NotIn => value.is_none_or(|v| self.values.iter().all(|x| x != v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A compiled label selector. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    pub match_labels: Labels,
    pub expressions: Vec<Requirement>,
}

/// A selector that Kubernetes would reject (unknown operator, missing values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector: {0}")]
pub struct SelectorError(pub String);

impl Selector {
    /// The selector that matches every object (`{}`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// `matchLabels` only.
    pub fn labels<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            match_labels: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            expressions: Vec::new(),
        }
    }

    /// Compiles a Kubernetes `LabelSelector`.
    pub fn from_k8s(selector: &LabelSelector) -> Result<Self, SelectorError> {
        let mut expressions = Vec::new();
        for expr in selector.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "operator {other:?} on key {:?}; expected In, NotIn, Exists or DoesNotExist",
                        expr.key
                    )));
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            match operator {
                Operator::In | Operator::NotIn if values.is_empty() => {
                    return Err(SelectorError(format!(
                        "{:?} {} needs at least one value",
                        expr.key, expr.operator
                    )));
                }
                Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                    return Err(SelectorError(format!(
                        "{:?} {} must not have values",
                        expr.key, expr.operator
                    )));
                }
                _ => {}
            }
            expressions.push(Requirement {
                key: expr.key.clone(),
                operator,
                values,
            });
        }
        Ok(Self {
            match_labels: selector.match_labels.clone().unwrap_or_default(),
            expressions,
        })
    }

    /// Parses the `kubectl -l` form: `app=web,tier!=db,env in (a,b),!legacy,team`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut selector = Selector::default();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            if let Some(key) = term.strip_prefix('!') {
                selector.expressions.push(Requirement {
                    key: key.trim().to_string(),
                    operator: Operator::DoesNotExist,
                    values: Vec::new(),
                });
            } else if let Some((key, values)) = split_set(term, " notin ") {
                selector.expressions.push(Requirement {
                    key,
                    operator: Operator::NotIn,
                    values: values?,
                });
            } else if let Some((key, values)) = split_set(term, " in ") {
                selector.expressions.push(Requirement {
                    key,
                    operator: Operator::In,
                    values: values?,
                });
            } else if let Some((k, v)) = term.split_once("!=") {
                selector.expressions.push(Requirement {
                    key: k.trim().to_string(),
                    operator: Operator::NotIn,
                    values: vec![v.trim().to_string()],
                });
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                selector
                    .match_labels
                    .insert(k.trim().to_string(), v.trim().to_string());
            } else if term
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./".contains(c))
            {
                selector.expressions.push(Requirement {
                    key: term.to_string(),
                    operator: Operator::Exists,
                    values: Vec::new(),
                });
            } else {
                return Err(SelectorError(format!(
                    "cannot read {term:?}; expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key"
                )));
            }
        }
        Ok(selector)
    }

    /// Whether the selector matches these labels.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|e| e.matches(labels))
    }

    /// Whether this is `{}`.
    pub fn is_everything(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }
}

fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

type SetTerm = (String, Result<Vec<String>, SelectorError>);

fn split_set(term: &str, op: &str) -> Option<SetTerm> {
    let (key, rest) = term.split_once(op)?;
    let rest = rest.trim();
    let values = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .ok_or_else(|| {
            SelectorError(format!(
                "expected a set like (a,b) after {op:?} in {term:?}"
            ))
        });
    Some((key.trim().to_string(), values))
}

impl fmt::Display for Selector {
    /// `{name=kube-system}`, `{app=web, tier in (a,b)}`, `{}` for everything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for e in &self.expressions {
            parts.push(match e.operator {
                Operator::In => format!("{} in ({})", e.key, e.values.join(",")),
                Operator::NotIn => format!("{} notin ({})", e.key, e.values.join(",")),
                Operator::Exists => e.key.clone(),
                Operator::DoesNotExist => format!("!{}", e.key),
            });
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

/// Formats labels as `{a=b, c=d}`.
pub fn format_labels(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(Selector::everything().matches(&Labels::new()));
        assert!(Selector::everything().matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_require_every_pair() {
        let s = Selector::labels([("app", "web"), ("tier", "front")]);
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
    }

    #[test]
    fn match_expressions_follow_kubernetes_operators() {
        let s = Selector::parse("env in (prod,staging)").unwrap();
        assert!(s.matches(&labels(&[("env", "prod")])));
        assert!(!s.matches(&labels(&[("env", "dev")])));
        assert!(!s.matches(&labels(&[])));
        let s = Selector::parse("env notin (prod)").unwrap();
        assert!(s.matches(&labels(&[])), "NotIn matches a missing key");
        assert!(!s.matches(&labels(&[("env", "prod")])));
        let s = Selector::parse("team").unwrap();
        assert!(s.matches(&labels(&[("team", "")])));
        assert!(!s.matches(&labels(&[])));
        let s = Selector::parse("!team").unwrap();
        assert!(!s.matches(&labels(&[("team", "a")])));
        assert!(s.matches(&labels(&[])));
    }

    #[test]
    fn selector_display_reads_like_kubectl() {
        let s = Selector::parse("name=kube-system,env in (a,b),!x").unwrap();
        assert_eq!(s.to_string(), "{name=kube-system, env in (a,b), !x}");
    }

    #[test]
    fn unknown_operator_is_rejected_with_the_expected_ones() {
        let ls = LabelSelector {
            match_expressions: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
                    key: "a".into(),
                    operator: "Equals".into(),
                    values: None,
                },
            ]),
            match_labels: None,
        };
        let err = Selector::from_k8s(&ls).unwrap_err().to_string();
        assert!(
            err.contains("expected In, NotIn, Exists or DoesNotExist"),
            "{err}"
        );
    }
}
