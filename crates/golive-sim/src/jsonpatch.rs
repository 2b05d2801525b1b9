//! JSON Patch (RFC 6902), as the API server takes it with
//! `Content-Type: application/json-patch+json`: `kubectl rollout undo` restores a
//! Deployment's template with one, `kubectl patch --type=json` sends them.

use serde_json::Value;

/// The `/a/b~1c/0` pointer as its unescaped segments.
fn segments(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path `{path}` does not start with /"));
    };
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn index(segment: &str, len: usize, inserting: bool) -> Result<usize, String> {
    if inserting && segment == "-" {
        return Ok(len);
    }
    let i: usize = segment
        .parse()
        .map_err(|_| format!("`{segment}` is not an array index"))?;
    let limit = if inserting {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > limit || (!inserting && len == 0) {
        return Err(format!("array index {i} is out of bounds"));
    }
    Ok(i)
}

/// The parent of the last segment, and that segment.
fn parent<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let mut segs = segments(path)?;
    let Some(last) = segs.pop() else {
        return Err("the whole document cannot be the target".into());
    };
    let mut at = doc;
    for s in &segs {
        at = match at {
            Value::Object(map) => map
                .get_mut(s)
                .ok_or_else(|| format!("path `{path}`: `{s}` does not exist"))?,
            Value::Array(items) => {
                let i = index(s, items.len(), false)?;
                &mut items[i]
            }
            _ => {
                return Err(format!(
                    "path `{path}`: `{s}` is not inside an object or array"
                ));
            }
        };
    }
    Ok((at, last))
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut at = doc;
    for s in segments(path)? {
        at = match at {
            Value::Object(map) => map
                .get(&s)
                .ok_or_else(|| format!("path `{path}` does not exist"))?,
            Value::Array(items) => &items[index(&s, items.len(), false)?],
            _ => return Err(format!("path `{path}` does not exist")),
        };
    }
    Ok(at)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent(doc, path)?;
    match parent {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let i = index(&last, items.len(), true)?;
            items.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "path `{path}`: the parent is not an object or array"
        )),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = parent(doc, path)?;
    match parent {
        Value::Object(map) => map
            .remove(&last)
            .ok_or_else(|| format!("path `{path}` does not exist")),
        Value::Array(items) => {
            let i = index(&last, items.len(), false)?;
            Ok(items.remove(i))
        }
        _ => Err(format!("path `{path}` does not exist")),
    }
}

/// Applies `ops` to a copy of `doc`; the first failing operation fails the whole patch.
pub(crate) fn apply(doc: &Value, ops: &Value) -> Result<Value, String> {
    let Some(ops) = ops.as_array() else {
        return Err("a JSON patch is an array of operations".into());
    };
    let mut out = doc.clone();
    for (n, op) in ops.iter().enumerate() {
        let field = |key: &str| {
            op.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("operation {n}: no `{key}`"))
        };
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("operation {n}: no `value`"))
        };
        let path = field("path")?;
        let result = match field("op")? {
            "add" => add(&mut out, path, value()?),
            "remove" => remove(&mut out, path).map(drop),
            "replace" => remove(&mut out, path).and_then(|_| add(&mut out, path, value()?)),
            "move" => {
                let from = field("from")?;
                remove(&mut out, from).and_then(|v| add(&mut out, path, v))
            }
            "copy" => {
                let from = field("from")?;
                get(&out, from)
                    .cloned()
                    .and_then(|v| add(&mut out, path, v))
            }
            "test" => {
                let expected = value()?;
                match get(&out, path) {
                    Ok(actual) if *actual == expected => Ok(()),
                    _ => Err(format!("test of `{path}` failed")),
                }
            }
            other => Err(format!("`{other}` is not a JSON patch operation")),
        };
        result.map_err(|e| format!("operation {n}: {e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_operations_apply_in_order_and_a_failure_fails_the_patch() {
        let doc =
            json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"items": [1, 2], "x~/y": 0}});
        let patched = apply(
            &doc,
            &json!([
                {"op": "replace", "path": "/metadata/annotations", "value": {"b": "2"}},
                {"op": "add", "path": "/spec/items/-", "value": 3},
                {"op": "add", "path": "/spec/items/0", "value": 0},
                {"op": "remove", "path": "/spec/items/1"},
                {"op": "test", "path": "/spec/x~0~1y", "value": 0},
                {"op": "copy", "from": "/spec/items", "path": "/spec/copy"},
                {"op": "move", "from": "/spec/copy", "path": "/spec/moved"}
            ]),
        )
        .expect("the patch applies");
        assert_eq!(
            patched,
            json!({"metadata": {"annotations": {"b": "2"}},
                   "spec": {"items": [0, 2, 3], "x~/y": 0, "moved": [0, 2, 3]}})
        );
        assert!(
            apply(
                &doc,
                &json!([{"op": "replace", "path": "/nope", "value": 1}])
            )
            .is_err()
        );
        assert!(
            apply(
                &doc,
                &json!([{"op": "test", "path": "/spec/items/0", "value": 9}])
            )
            .is_err()
        );
        assert!(apply(&doc, &json!({"op": "add"})).is_err());
    }
}
