//! Kubernetes label selectors, in both of their written forms:
//! the `kubectl -l` / `?labelSelector=` text (`app=web,tier!=db,env in (a,b),!legacy,team`)
//! and the API's `LabelSelector` object (`matchLabels` + `matchExpressions`).
//!
//! Both compile to the API form, as apimachinery's `ParseToLabelSelector` does: `k=v` and
//! `k==v` become `matchLabels`, `k!=v` becomes `k notin (v)`. The text grammar follows
//! apimachinery's parser: a set needs at least one value, keys are qualified names.

use std::collections::BTreeMap;
use std::fmt;

/// Labels of a namespace, pod or workload.
pub type Labels = BTreeMap<String, String>;

/// The operator of one `matchExpressions` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Operator {
    /// The operator as the API spells it (`In`, `NotIn`, `Exists`, `DoesNotExist`).
    pub fn parse_api(text: &str) -> Option<Self> {
        match text {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    fn matches<'a>(&self, label: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = label(&self.key);
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

/// A selector Kubernetes would reject; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid label selector: {}", self.0)
    }
}

impl std::error::Error for SelectorError {}

const EXPECTED_TERM: &str =
    "expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key";

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

    /// Compiles the API form from its parts: `matchLabels` pairs and `matchExpressions`
    /// as (key, operator as the API spells it, values).
    pub fn from_api<'a>(
        match_labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        expressions: impl IntoIterator<Item = (&'a str, &'a str, Vec<String>)>,
    ) -> Result<Self, SelectorError> {
        let mut selector = Selector::labels(match_labels);
        for (key, operator_text, values) in expressions {
            let operator = Operator::parse_api(operator_text).ok_or_else(|| {
                SelectorError(format!(
                    "operator {operator_text:?} on key {key:?}; expected In, NotIn, Exists or DoesNotExist"
                ))
            })?;
            match operator {
                Operator::In | Operator::NotIn if values.is_empty() => {
                    return Err(SelectorError(format!(
                        "{key:?} {operator_text} needs at least one value"
                    )));
                }
                Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                    return Err(SelectorError(format!(
                        "{key:?} {operator_text} must not have values"
                    )));
                }
                _ => {}
            }
            selector.expressions.push(Requirement {
                key: key.to_string(),
                operator,
                values,
            });
        }
        Ok(selector)
    }

    /// Compiles a k8s-openapi `LabelSelector`.
    #[cfg(feature = "k8s")]
    pub fn from_k8s(
        selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> Result<Self, SelectorError> {
        Self::from_api(
            selector
                .match_labels
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
            selector.match_expressions.iter().flatten().map(|e| {
                (
                    e.key.as_str(),
                    e.operator.as_str(),
                    e.values.clone().unwrap_or_default(),
                )
            }),
        )
    }

    /// Parses the `kubectl -l` form: `app=web,tier!=db,env in (a,b),!legacy,team`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut selector = Selector::default();
        for term in split_terms(text)? {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            selector.add_term(term)?;
        }
        Ok(selector)
    }

    fn add_term(&mut self, term: &str) -> Result<(), SelectorError> {
        if let Some(key) = term.strip_prefix('!') {
            let key = valid_key(key.trim(), term)?;
            self.push(key, Operator::DoesNotExist, Vec::new());
        } else if let Some((key, values)) = set_term(term)? {
            self.expressions.push(Requirement {
                key: key.key,
                operator: key.operator,
                values,
            });
        } else if let Some((k, v)) = term.split_once("!=") {
            let key = valid_key(k.trim(), term)?;
            let value = valid_value(v.trim(), term)?;
            self.push(key, Operator::NotIn, vec![value]);
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            let key = valid_key(k.trim(), term)?;
            let value = valid_value(v.trim(), term)?;
            self.match_labels.insert(key, value);
        } else if let Some(word) = term
            .split_whitespace()
            .nth(1)
            .filter(|w| matches!(*w, "in" | "notin"))
        {
            return Err(SelectorError(format!(
                "expected a parenthesised set like (a,b) after {word:?} in {term:?}"
            )));
        } else {
            let key = valid_key(term, term)?;
            self.push(key, Operator::Exists, Vec::new());
        }
        Ok(())
    }

    fn push(&mut self, key: String, operator: Operator, values: Vec<String>) {
        self.expressions.push(Requirement {
            key,
            operator,
            values,
        });
    }

    /// Whether the selector matches these labels.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_with(|key| labels.get(key).map(String::as_str))
    }

    /// Whether the selector matches the labels `label` looks up, for callers that keep
    /// labels in another shape (a JSON object, an interned table).
    pub fn matches_with<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| label(k) == Some(v.as_str()))
            && self.expressions.iter().all(|e| e.matches(&label))
    }

    /// Whether this is `{}`.
    pub fn is_everything(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    /// The `kubectl -l` text of this selector (`app=web,env in (a,b)`), which `parse` reads back.
    pub fn to_query(&self) -> String {
        self.terms().join(",")
    }

    fn terms(&self) -> Vec<String> {
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
        parts
    }
}

impl fmt::Display for Selector {
    /// `{name=kube-system}`, `{app=web, tier in (a,b)}`, `{}` for everything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.terms().join(", "))
    }
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Selector::parse(text)
    }
}

/// Formats labels as `{a=b, c=d}`.
pub fn format_labels(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Splits on commas outside a `(...)` value set; unbalanced parentheses are an error.
fn split_terms(text: &str) -> Result<Vec<&str>, SelectorError> {
    let mut terms = Vec::new();
    let mut open = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' if open => return Err(SelectorError(format!("nested '(' in {text:?}"))),
            '(' => open = true,
            ')' if !open => return Err(SelectorError(format!("')' without '(' in {text:?}"))),
            ')' => open = false,
            ',' if !open => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if open {
        return Err(SelectorError(format!("missing ')' in {text:?}")));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

struct SetKey {
    key: String,
    operator: Operator,
}

/// `key in (a,b)` / `key notin (a,b)`: None when the term is not a set term.
fn set_term(term: &str) -> Result<Option<(SetKey, Vec<String>)>, SelectorError> {
    let Some(open) = term.find('(') else {
        return Ok(None);
    };
    let head = term[..open].trim();
    let mut words = head.split_whitespace();
    let (Some(key), Some(word), None) = (words.next(), words.next(), words.next()) else {
        return Err(SelectorError(format!(
            "cannot read {term:?}; {EXPECTED_TERM}"
        )));
    };
    let operator = match word {
        "in" => Operator::In,
        "notin" => Operator::NotIn,
        other => {
            return Err(SelectorError(format!(
                "unknown operator {other:?} in {term:?}; expected in or notin"
            )));
        }
    };
    let key = valid_key(key, term)?;
    let Some(inner) = term[open + 1..].trim_end().strip_suffix(')') else {
        return Err(SelectorError(format!(
            "expected a parenthesised set like (a,b) after {word:?} in {term:?}"
        )));
    };
    let values = inner
        .split(',')
        .map(|v| valid_value(v.trim(), term))
        .collect::<Result<Vec<_>, _>>()?;
    if values.iter().all(String::is_empty) {
        return Err(SelectorError(format!(
            "{term:?}: a set for {word:?} needs at least one value, like (a,b)"
        )));
    }
    let values = values.into_iter().filter(|v| !v.is_empty()).collect();
    Ok(Some((SetKey { key, operator }, values)))
}

/// A qualified name, as label keys are: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters that starts and ends alphanumeric.
fn valid_key(key: &str, term: &str) -> Result<String, SelectorError> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    });
    if prefix_ok && !name.is_empty() && valid_name_chars(name) {
        Ok(key.to_string())
    } else {
        Err(SelectorError(format!(
            "cannot read {term:?}: invalid label key {key:?}; {EXPECTED_TERM}"
        )))
    }
}

/// A label value: empty, or like a key's name part.
fn valid_value(value: &str, term: &str) -> Result<String, SelectorError> {
    if value.is_empty() || valid_name_chars(value) {
        Ok(value.to_string())
    } else {
        Err(SelectorError(format!(
            "cannot read {term:?}: invalid label value {value:?} (at most 63 of a-z, A-Z, 0-9, '-', '_', '.', starting and ending alphanumeric)"
        )))
    }
}

fn valid_name_chars(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    name.len() <= 63
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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

    fn parse(text: &str) -> Selector {
        Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(parse("").matches(&Labels::new()));
        assert!(Selector::everything().matches(&labels(&[("a", "b")])));
        assert!(parse(" , ").is_everything());
    }

    #[test]
    fn equality_and_set_based_requirements_all_apply() {
        let s = parse("app=web, env in (prod,staging),!legacy,tier!=db");
        assert!(s.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "prod"), ("legacy", "1")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "prod"), ("tier", "db")])));
        assert_eq!(
            s.to_query(),
            "app=web,env in (prod,staging),!legacy,tier notin (db)"
        );
        assert_eq!(parse(&s.to_query()), s, "the query form reads back");
    }

    #[test]
    fn operators_follow_kubernetes_semantics() {
        assert!(!parse("env in (prod)").matches(&labels(&[])));
        assert!(
            parse("env notin (prod)").matches(&labels(&[])),
            "NotIn matches a missing key"
        );
        assert!(
            parse("env!=prod").matches(&labels(&[])),
            "!= matches a missing key"
        );
        assert!(!parse("env notin (prod)").matches(&labels(&[("env", "prod")])));
        assert!(parse("team").matches(&labels(&[("team", "")])));
        assert!(!parse("team").matches(&labels(&[])));
        assert!(parse("!team").matches(&labels(&[])));
        assert!(parse("env==prod").matches(&labels(&[("env", "prod")])));
        assert!(
            parse("app.kubernetes.io/name=coredns")
                .matches(&labels(&[("app.kubernetes.io/name", "coredns")]))
        );
        assert!(
            parse("tier=").matches(&labels(&[("tier", "")])),
            "empty values are values"
        );
    }

    #[test]
    fn an_empty_set_is_an_error_as_in_kubectl() {
        for text in ["env in ()", "env notin ( )", "env in (,)"] {
            let err = Selector::parse(text).expect_err(text).to_string();
            assert!(err.contains("at least one value"), "{err}");
        }
    }

    #[test]
    fn malformed_selectors_say_what_was_expected() {
        for text in [
            "app in web",
            "a b=c",
            "env in (a",
            "env) in (a",
            "x in (a,(b))",
            "env is (a)",
            "-bad",
            "app=we b",
            "Upper/x=1",
        ] {
            let err = Selector::parse(text).expect_err(text).to_string();
            assert!(err.starts_with("invalid label selector: "), "{err}");
        }
        let err = Selector::parse("app in web")
            .expect_err("no parentheses")
            .to_string();
        assert!(err.contains("parenthesised set like (a,b)"), "{err}");
        let err = Selector::parse("a b=c").expect_err("space").to_string();
        assert!(err.contains("expected key=value"), "{err}");
    }

    #[test]
    fn display_reads_like_kubectl_in_braces() {
        let s = parse("name=kube-system,env in (a,b),!x");
        assert_eq!(s.to_string(), "{name=kube-system, env in (a,b), !x}");
        assert_eq!(Selector::everything().to_string(), "{}");
        assert_eq!(
            format_labels(&labels(&[("a", "b"), ("c", "d")])),
            "{a=b, c=d}"
        );
    }

    #[test]
    fn the_api_form_is_checked_like_the_api_server_does() {
        let s = Selector::from_api(
            [("app", "web")],
            [
                ("env", "In", vec!["a".to_string()]),
                ("x", "DoesNotExist", vec![]),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s, parse("app=web,env in (a),!x"));
        let err = Selector::from_api([], [("a", "Equals", vec![])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected In, NotIn, Exists or DoesNotExist"),
            "{err}"
        );
        assert!(Selector::from_api([], [("a", "In", vec![])]).is_err());
        assert!(Selector::from_api([], [("a", "Exists", vec!["v".into()])]).is_err());
    }
}
