//! The JSONPath subset CRD printer columns use: fields, indexes, `[*]` and
//! equality filters such as `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    Filter {
        path: Vec<String>,
        equal: bool,
        value: String,
    },
}

/// Every value the path selects; empty when the path is malformed or absent.
pub(crate) fn evaluate<'a>(path: &str, object: &'a Value) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    let mut current = vec![object];
    for step in &steps {
        let mut next = Vec::new();
        for value in current {
            match step {
                Step::Field(name) => next.extend(value.get(name.as_str())),
                Step::Index(index) => {
                    if let Some(items) = value.as_array() {
                        let position = if *index < 0 {
                            items.len() as i64 + index
                        } else {
                            *index
                        };
                        if let Ok(position) = usize::try_from(position) {
                            next.extend(items.get(position));
                        }
                    }
                }
                Step::All => match value {
                    Value::Array(items) => next.extend(items.iter()),
                    Value::Object(fields) => next.extend(fields.values()),
                    _ => {}
                },
                Step::Filter {
                    path,
                    equal,
                    value: wanted,
                } => {
                    if let Some(items) = value.as_array() {
                        next.extend(items.iter().filter(|item| {
                            let mut field = Some(*item);
                            for segment in path {
                                field = field.and_then(|f| f.get(segment.as_str()));
                            }
                            let actual = match field {
                                Some(Value::String(s)) => Some(s.clone()),
                                Some(other) => Some(other.to_string()),
                                None => None,
                            };
                            (actual.as_deref() == Some(wanted.as_str())) == *equal
                        }));
                    }
                }
            }
        }
        current = next;
    }
    current
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let mut text = path.trim();
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        text = inner.trim();
    }
    text = text.strip_prefix('$').unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let mut name = String::new();
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    // `\.` escapes a dot inside a key such as an annotation name.
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                if name == "*" {
                    steps.push(Step::All);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let close = find_close(&chars, i)?;
                let inner: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for (offset, &c) in chars[open..].iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + offset);
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(text: &str) -> String {
    let text = text.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner.to_string();
        }
    }
    text.to_string()
}

fn parse_bracket(inner: &str) -> Option<Step> {
    if inner == "*" {
        return Some(Step::All);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        let (left, equal, right) = if let Some((l, r)) = filter.split_once("!=") {
            (l, false, r)
        } else if let Some((l, r)) = filter.split_once("==") {
            (l, true, r)
        } else {
            return None;
        };
        let path = left
            .trim()
            .strip_prefix("@.")?
            .split('.')
            .map(str::to_string)
            .collect();
        return Some(Step::Filter {
            path,
            equal,
            value: unquote(right),
        });
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        return Some(Step::Field(unquote(inner)));
    }
    inner.parse().ok().map(Step::Index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_condition_filters_like_cert_manager_columns() {
        let issuer = json!({"status": {"conditions": [
            {"type": "Other", "status": "True"},
            {"type": "Ready", "status": "False", "message": "CA secret missing"}
        ]}});
        let ready = evaluate(r#".status.conditions[?(@.type=="Ready")].status"#, &issuer);
        assert_eq!(ready, vec![&json!("False")]);
        let message = evaluate(
            r#"{.status.conditions[?(@.type=='Ready')].message}"#,
            &issuer,
        );
        assert_eq!(message, vec![&json!("CA secret missing")]);
        assert_eq!(
            evaluate(".status.conditions[0].type", &issuer),
            vec![&json!("Other")]
        );
        assert_eq!(evaluate(".status.conditions[*].type", &issuer).len(), 2);
        assert!(evaluate(".spec.missing", &issuer).is_empty());
    }

    #[test]
    fn escaped_dots_address_annotation_keys() {
        let object = json!({"metadata": {"annotations": {"a.b/c": "x"}}});
        assert_eq!(
            evaluate(r".metadata.annotations.a\.b/c", &object),
            vec![&json!("x")]
        );
        assert_eq!(
            evaluate(".metadata.annotations['a.b/c']", &object),
            vec![&json!("x")]
        );
    }
}
