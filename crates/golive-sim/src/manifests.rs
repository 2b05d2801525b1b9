//! Loading multi-document YAML manifests from files, directories and strings.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::SimError;
use crate::store::{Store, StoreError, expected_crd_name};

/// One YAML document and where it came from, for error messages.
pub(crate) struct Document {
    pub origin: String,
    /// 1-based position of the document within its file.
    pub index: usize,
    pub object: Value,
}

/// Options that lift serde-saphyr's default budget (1,024 documents), which is
/// too small for a 10,000-object fixture; inputs are the operator's own files.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_documents = 10_000_000;
    budget.max_events = 1_000_000_000;
    budget.max_nodes = 500_000_000;
    budget.max_total_scalar_bytes = 4 * 1024 * 1024 * 1024;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

pub(crate) fn parse_text(origin: &str, text: &str) -> Result<Vec<Document>, SimError> {
    // Large inputs parse in parallel, one slice of documents per core; any
    // error re-parses the whole text so the location is exact.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    if workers > 1 && text.len() > 256 * 1024 {
        let chunks = split_documents(text, workers);
        if chunks.len() > 1 {
            let parsed: Vec<Option<Vec<Value>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunks
                    .iter()
                    .map(|chunk| {
                        scope.spawn(move || {
                            serde_saphyr::from_multiple_with_options::<Value>(chunk, yaml_options())
                                .ok()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().ok().flatten())
                    .collect()
            });
            if let Some(parts) = parsed.into_iter().collect::<Option<Vec<_>>>() {
                return Ok(documents_from(
                    origin,
                    parts.into_iter().flatten().collect(),
                ));
            }
        }
    }
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|error| SimError::Yaml {
            origin: with_location(origin, error.location()),
            message: first_line(&error.to_string()),
        })?;
    Ok(documents_from(origin, documents))
}

fn documents_from(origin: &str, documents: Vec<Value>) -> Vec<Document> {
    documents
        .into_iter()
        .enumerate()
        .filter(|(_, object)| !object.is_null())
        .map(|(position, object)| Document {
            origin: origin.to_string(),
            index: position + 1,
            object,
        })
        .collect()
}

/// Cuts the text into about `parts` slices at `---` document markers, which
/// YAML only allows at the start of a line outside any node.
fn split_documents(text: &str, parts: usize) -> Vec<&str> {
    let target = text.len() / parts;
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if is_marker && offset - start >= target && chunks.len() + 1 < parts {
            chunks.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    chunks.push(&text[start..]);
    chunks
}

fn with_location(origin: &str, location: Option<serde_saphyr::Location>) -> String {
    match location {
        Some(location) if location.line() > 0 => {
            format!("{origin}:{}:{}", location.line(), location.column())
        }
        _ => origin.to_string(),
    }
}

/// The message without the rendered source snippet serde-saphyr appends.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

/// Reads `.yaml`/`.yml` files, descending into directories in name order.
pub(crate) fn read_paths(paths: &[PathBuf]) -> Result<Vec<Document>, SimError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| SimError::Read {
            path: file.clone(),
            source,
        })?;
        documents.extend(parse_text(&file.display().to_string(), &text)?);
    }
    Ok(documents)
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), SimError> {
    let metadata = std::fs::metadata(path).map_err(|source| SimError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|source| SimError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        children.push(entry.path());
    }
    children.sort();
    for child in children {
        if child.is_dir() {
            collect_files(&child, files)?;
        } else if child
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml")
        {
            files.push(child);
        }
    }
    Ok(())
}

/// Applies documents with CustomResourceDefinitions first, so the order of
/// files and documents within one load does not matter.
pub(crate) fn apply_all(store: &mut Store, documents: Vec<Document>) -> Result<usize, SimError> {
    let is_crd = |document: &Document| {
        document.object.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
    };
    let (crds, others): (Vec<_>, Vec<_>) = documents.into_iter().partition(is_crd);
    let mut applied = 0;
    for document in crds.into_iter().chain(others) {
        let (origin, index) = (document.origin, document.index);
        // `List` documents (kubectl get -o yaml output) carry their objects in items.
        let objects = if document.object.get("kind").and_then(Value::as_str) == Some("List") {
            document
                .object
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        } else {
            vec![document.object]
        };
        for object in objects {
            store
                .apply(object)
                .map_err(|error| load_error(&origin, index, error))?;
            applied += 1;
        }
    }
    Ok(applied)
}

fn load_error(origin: &str, index: usize, error: StoreError) -> SimError {
    match error {
        StoreError::UnknownKind { api_version, kind } => SimError::UnknownKind {
            origin: origin.to_string(),
            index,
            missing_crd: expected_crd_name(&api_version, &kind),
            api_version,
            kind,
        },
        StoreError::Invalid(message) => SimError::InvalidManifest {
            origin: origin.to_string(),
            index,
            message,
        },
        StoreError::NotFound { resource, name } => SimError::InvalidManifest {
            origin: origin.to_string(),
            index,
            message: format!("{resource} {name:?} not found"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_documents_cuts_only_at_document_markers() {
        let text = "a: 1\n---\nb: |\n  ---x\n--- \nc: 3\n";
        let chunks = split_documents(text, 3);
        assert_eq!(chunks.concat(), text);
        assert!(chunks.iter().skip(1).all(|c| c.starts_with("---")));
    }

    #[test]
    fn yaml_errors_name_the_line_even_for_large_inputs() {
        let mut text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n".repeat(10_000);
        text.push_str("apiVersion: v1\nkind: [unclosed\n");
        let error = parse_text("big.yaml", &text).err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(
            error.starts_with("big.yaml:40001:") || error.starts_with("big.yaml:40002:"),
            "{error}"
        );
    }
}
