//! Loading manifests from files, directories and strings: multi-document YAML,
//! and JSON documents (a fast path for big generated files).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::store::{Store, StoreError, expected_crd_name};
use crate::{NamedText, SimError, json_documents};

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

/// Parses a whole YAML text into its documents.
#[cfg(test)]
fn parse_text(origin: &str, text: &str) -> Result<Vec<Document>, SimError> {
    let mut documents = Vec::new();
    for_each_yaml(origin, text, Offsets::default(), &mut |document| {
        documents.push(document);
        Ok(())
    })?;
    Ok(documents)
}

/// Where a text starts within its file, when it is the tail of one.
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    /// Documents before it.
    documents: usize,
    /// Lines before it.
    lines: usize,
}

/// Above this, a YAML text parses in slices of documents, a batch of slices
/// in parallel, and each batch is applied before the next is parsed, so only
/// a batch's values are ever held at once.
const PARALLEL_ABOVE: usize = 256 * 1024;
const SLICE_BYTES: usize = 4 * 1024 * 1024;

fn for_each_yaml(
    origin: &str,
    text: &str,
    offsets: Offsets,
    each: &mut dyn FnMut(Document) -> Result<(), SimError>,
) -> Result<(), SimError> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    if text.len() > PARALLEL_ABOVE {
        let slices = split_documents(text, workers.max(text.len() / SLICE_BYTES));
        if slices.len() > 1 {
            let mut position = offsets.documents;
            let mut sliced_ok = true;
            for batch in slices.chunks(workers) {
                let parsed: Vec<Option<Vec<Value>>> = std::thread::scope(|scope| {
                    let handles: Vec<_> = batch
                        .iter()
                        .map(|slice| {
                            scope.spawn(move || {
                                serde_saphyr::from_multiple_with_options::<Value>(
                                    slice,
                                    yaml_options(),
                                )
                                .ok()
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|handle| handle.join().ok().flatten())
                        .collect()
                });
                let Some(parts) = parsed.into_iter().collect::<Option<Vec<_>>>() else {
                    sliced_ok = false;
                    break;
                };
                for object in parts.into_iter().flatten() {
                    position += 1;
                    hand_over(origin, position, object, each)?;
                }
            }
            if sliced_ok {
                return Ok(());
            }
            // A slice failed: parse the whole text for the exact location.
            // Its documents before the error are already applied; the load fails anyway.
        }
    }
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|error| SimError::Yaml {
            origin: with_location(origin, error.location(), offsets.lines),
            message: first_line(&error.to_string()),
        })?;
    for (position, object) in documents.into_iter().enumerate() {
        hand_over(origin, offsets.documents + position + 1, object, each)?;
    }
    Ok(())
}

/// Passes a parsed document on, skipping empty ones (which still count).
fn hand_over(
    origin: &str,
    index: usize,
    object: Value,
    each: &mut dyn FnMut(Document) -> Result<(), SimError>,
) -> Result<(), SimError> {
    if object.is_null() {
        return Ok(());
    }
    each(Document {
        origin: origin.to_string(),
        index,
        object,
    })
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

fn with_location(
    origin: &str,
    location: Option<serde_saphyr::Location>,
    lines_before: usize,
) -> String {
    match location {
        Some(location) if location.line() > 0 => {
            let line = usize::try_from(location.line()).unwrap_or(0) + lines_before;
            format!("{origin}:{line}:{}", location.column())
        }
        _ => origin.to_string(),
    }
}

/// The message without the rendered source snippet serde-saphyr appends.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
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

const CRD_KIND: &str = "CustomResourceDefinition";

/// Where manifests come from: a file, or a text held in memory.
enum Source<'a> {
    File(PathBuf),
    Text(&'a NamedText),
}

impl Source<'_> {
    fn origin(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Text(named) => named.name.clone(),
        }
    }

    fn read_error(&self, source: std::io::Error) -> SimError {
        let path = match self {
            Source::File(path) => path.clone(),
            Source::Text(named) => PathBuf::from(&named.name),
        };
        SimError::Read { path, source }
    }

    /// Whether the text contains `word` anywhere, read a megabyte at a time.
    fn mentions(&self, word: &str) -> Result<bool, SimError> {
        let path = match self {
            Source::Text(named) => return Ok(named.text.contains(word)),
            Source::File(path) => path,
        };
        let mut file = File::open(path).map_err(|error| self.read_error(error))?;
        let finder = memchr::memmem::Finder::new(word.as_bytes());
        let mut window = vec![0; 1024 * 1024];
        let mut kept = 0;
        loop {
            let read = file
                .read(&mut window[kept..])
                .map_err(|error| self.read_error(error))?;
            if read == 0 {
                return Ok(false);
            }
            let filled = kept + read;
            if finder.find(&window[..filled]).is_some() {
                return Ok(true);
            }
            // Keep the tail a match could start in.
            kept = (word.len() - 1).min(filled);
            window.copy_within(filled - kept..filled, 0);
        }
    }

    /// Hands every document on in order: JSON through serde_json a chunk at a
    /// time, YAML through serde-saphyr.
    fn each_document(
        &self,
        each: &mut dyn FnMut(Document) -> Result<(), SimError>,
    ) -> Result<(), SimError> {
        let origin = self.origin();
        let mut json = |index: usize, object: Value| {
            each(Document {
                origin: origin.clone(),
                index,
                object,
            })
        };
        let tail = match self {
            Source::Text(named) => {
                if !json_documents::looks_like_json(named.text.as_bytes()) {
                    return for_each_yaml(&origin, &named.text, Offsets::default(), each);
                }
                json_documents::read(&origin, named.text.as_bytes(), &mut json)?
            }
            Source::File(path) => {
                let mut file = File::open(path).map_err(|error| self.read_error(error))?;
                let mut start = [0; 512];
                let read = file
                    .read(&mut start)
                    .map_err(|error| self.read_error(error))?;
                let reader = std::io::Cursor::new(start[..read].to_vec()).chain(file);
                if json_documents::looks_like_json(&start[..read]) {
                    json_documents::read(&origin, reader, &mut json)?
                } else {
                    let mut text = String::new();
                    BufReader::new(reader)
                        .read_to_string(&mut text)
                        .map_err(|error| self.read_error(error))?;
                    return for_each_yaml(&origin, &text, Offsets::default(), each);
                }
            }
        };
        match tail {
            None => Ok(()),
            Some(tail) => {
                let offsets = Offsets {
                    documents: tail.documents,
                    lines: tail.lines,
                };
                for_each_yaml(&origin, &tail.text, offsets, each)
            }
        }
    }
}

/// Loads files (directories searched for `.yaml`/`.yml` in name order) and
/// texts into the store, CustomResourceDefinitions first so the order of
/// files and documents does not matter. Only sources that mention CRDs are
/// parsed whole up front; every other one streams straight into the store, so
/// a big load never holds more than a few megabytes of parsed documents.
pub(crate) fn load(
    store: &mut Store,
    paths: &[PathBuf],
    texts: &[NamedText],
) -> Result<usize, SimError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let sources: Vec<Source<'_>> = files
        .into_iter()
        .map(Source::File)
        .chain(texts.iter().map(Source::Text))
        .collect();
    let mut applied = 0;
    let mut held: Vec<Option<Vec<Document>>> = Vec::with_capacity(sources.len());
    for source in &sources {
        if !source.mentions(CRD_KIND)? {
            held.push(None);
            continue;
        }
        let mut others = Vec::new();
        source.each_document(&mut |document| {
            if document.object.get("kind").and_then(Value::as_str) == Some(CRD_KIND) {
                applied += apply_document(store, document)?;
            } else {
                others.push(document);
            }
            Ok(())
        })?;
        held.push(Some(others));
    }
    for (source, held) in sources.iter().zip(held) {
        match held {
            Some(documents) => {
                for document in documents {
                    applied += apply_document(store, document)?;
                }
            }
            None => source.each_document(&mut |document| {
                applied += apply_document(store, document)?;
                Ok(())
            })?,
        }
    }
    Ok(applied)
}

/// Applies one document; `List` documents (kubectl get -o yaml output) and
/// top-level arrays carry their objects as items.
fn apply_document(store: &mut Store, document: Document) -> Result<usize, SimError> {
    let (origin, index) = (document.origin, document.index);
    let objects = match document.object {
        Value::Array(items) => items,
        object if object.get("kind").and_then(Value::as_str) == Some("List") => object
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        object => vec![object],
    };
    let count = objects.len();
    for object in objects {
        store
            .apply(object)
            .map_err(|error| load_error(&origin, index, error))?;
    }
    Ok(count)
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
    fn json_documents_load_like_yaml_with_crds_first_and_a_yaml_tail() {
        let crds = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/crds/sealed-secrets.yaml"
        ))
        .expect("the CRD fixture");
        // The custom resource comes before its CRD, in a JSON text with a YAML tail.
        let json = concat!(
            "{\"apiVersion\":\"bitnami.com/v1alpha1\",\"kind\":\"SealedSecret\",",
            "\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"}}\n---\n",
            "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"}}]\n---\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: ns}\n"
        );
        let texts = [
            NamedText::new("objects.json", json),
            NamedText::new("crds.yaml", crds),
        ];
        let mut store = Store::new();
        load(&mut store, &[], &texts).expect("loads");
        let sealed = store
            .catalogue
            .by_kind("bitnami.com/v1alpha1", "SealedSecret")
            .expect("the CRD registered");
        assert!(store.get(&sealed, "ns", "s").is_some());
        let maps = store
            .catalogue
            .by_kind("v1", "ConfigMap")
            .expect("built in");
        let names: Vec<String> = store
            .scan(&maps, Some("ns"), None)
            .map(|(key, _)| key.1.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);

        let broken = NamedText::new(
            "broken.json",
            concat!(
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}\n",
                "---\nkind: [unclosed\n"
            ),
        );
        let error = load(&mut Store::new(), &[], &[broken])
            .err()
            .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .unwrap_or_default()
                .starts_with("broken.json:3:"),
            "{error:?}"
        );
    }

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
