//! The fast path for large generated manifests: a file of JSON documents, one
//! after another (JSON lines, or separated by `---` lines, which keeps the file
//! valid YAML too), read a few megabytes at a time and parsed by serde_json.
//! YAML is a superset of JSON, so anything this reader does not take as JSON
//! goes on to the YAML parser from that document on.

use std::io::Read;

use serde_json::Value;

use crate::SimError;

/// How much is read at a time; a document larger than this grows the buffer.
const CHUNK: usize = 4 * 1024 * 1024;

/// Whether a text (or a file's first bytes) is read as JSON: its first
/// non-blank character opens an object or an array.
pub(crate) fn looks_like_json(start: &[u8]) -> bool {
    matches!(
        start.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Where the JSON reader stopped taking documents: the rest of the input is
/// YAML (or an error the YAML parser will locate).
pub(crate) struct YamlTail {
    pub text: String,
    /// Documents handed over before the tail.
    pub documents: usize,
    /// Lines before the tail.
    pub lines: usize,
}

/// Reads JSON documents from `reader`, handing each to `each` with its 1-based
/// position; empty (`null`) documents count but are not handed over. Returns the
/// unread rest when a document is not JSON.
pub(crate) fn read(
    origin: &str,
    mut reader: impl Read,
    each: &mut dyn FnMut(usize, Value) -> Result<(), SimError>,
) -> Result<Option<YamlTail>, SimError> {
    let read_error = |source| SimError::Read {
        path: origin.into(),
        source,
    };
    let mut buffer: Vec<u8> = Vec::new();
    let mut position = 0;
    let mut lines_dropped = 0;
    let mut at_end = false;
    let mut documents = 0;
    loop {
        position = skip_separators(&buffer, position, at_end);
        let rest = &buffer[position..];
        let needs_more =
            rest.is_empty() || (!at_end && starts_separator_line(rest) && !rest.contains(&b'\n'));
        if needs_more {
            if at_end {
                return Ok(None);
            }
            lines_dropped += count_lines(&buffer[..position]);
            at_end = refill(&mut reader, &mut buffer, &mut position).map_err(read_error)?;
            continue;
        }
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) if value.is_object() || value.is_array() || value.is_null() => {
                position += stream.byte_offset();
                documents += 1;
                if !value.is_null() {
                    each(documents, value)?;
                }
            }
            Some(Err(error)) if error.is_eof() && !at_end => {
                lines_dropped += count_lines(&buffer[..position]);
                at_end = refill(&mut reader, &mut buffer, &mut position).map_err(read_error)?;
            }
            _ => {
                let lines = lines_dropped + count_lines(&buffer[..position]);
                let mut tail = buffer.split_off(position);
                reader.read_to_end(&mut tail).map_err(read_error)?;
                let text = String::from_utf8(tail).map_err(|error| {
                    read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
                })?;
                return Ok(Some(YamlTail {
                    text,
                    documents,
                    lines,
                }));
            }
        }
    }
}

/// Drops what is parsed and reads the next chunk; true at the end of input.
fn refill(
    reader: &mut impl Read,
    buffer: &mut Vec<u8>,
    position: &mut usize,
) -> std::io::Result<bool> {
    buffer.drain(..*position);
    *position = 0;
    let start = buffer.len();
    buffer.resize(start + CHUNK, 0);
    let mut filled = start;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    buffer.truncate(filled);
    Ok(filled < start + CHUNK)
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Whether the text starts with a `---` document marker line.
fn starts_separator_line(text: &[u8]) -> bool {
    text.starts_with(b"---") && text.get(3).is_none_or(u8::is_ascii_whitespace)
}

/// Skips blanks and whole `---` lines; stops before a marker line whose end is
/// not read yet.
fn skip_separators(buffer: &[u8], mut position: usize, at_end: bool) -> usize {
    loop {
        while buffer.get(position).is_some_and(u8::is_ascii_whitespace) {
            position += 1;
        }
        let rest = &buffer[position..];
        if !starts_separator_line(rest) {
            return position;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(end) if rest[3..end].iter().all(u8::is_ascii_whitespace) => position += end + 1,
            None if at_end && rest[3..].iter().all(u8::is_ascii_whitespace) => {
                return buffer.len();
            }
            // `--- {...}` (a document on the marker's line) or an unfinished line.
            _ => return position,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> (Vec<(usize, Value)>, Option<YamlTail>) {
        let mut documents = Vec::new();
        let tail = read("test.json", text.as_bytes(), &mut |index, value| {
            documents.push((index, value));
            Ok(())
        })
        .expect("reads");
        (documents, tail)
    }

    #[test]
    fn reads_json_lines_and_documents_between_markers() {
        let text = "{\"a\":1}\n{\"b\":\n 2}\n---\n[{\"c\":3}]\n--- \nnull\n---\n{\"d\":4}";
        let (documents, tail) = read_all(text);
        let indexes: Vec<usize> = documents.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [1, 2, 3, 5]);
        assert_eq!(documents[1].1["b"], 2);
        assert!(tail.is_none());
    }

    #[test]
    fn a_document_that_is_not_json_leaves_the_rest_to_yaml() {
        let text = "{\"a\":1}\n---\n{\"b\": 2}\n---\nkind: Pod\nmetadata: {name: x}\n";
        let (documents, tail) = read_all(text);
        assert_eq!(documents.len(), 2);
        let tail = tail.expect("a YAML tail");
        assert!(tail.text.starts_with("kind: Pod"), "{}", tail.text);
        assert_eq!((tail.documents, tail.lines), (2, 4));
    }

    #[test]
    fn documents_larger_than_a_chunk_and_across_chunk_edges_read_whole() {
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(CHUNK + 10));
        let small = "{\"n\":1}\n".repeat(CHUNK / 8);
        let text = format!("{small}{big}\n{small}");
        let (documents, tail) = read_all(&text);
        assert!(tail.is_none());
        assert_eq!(documents.len(), 2 * (CHUNK / 8) + 1);
        assert_eq!(
            documents[CHUNK / 8].1["x"].as_str().map(str::len),
            Some(CHUNK + 10)
        );
    }

    #[test]
    fn recognises_json_by_its_first_character() {
        assert!(looks_like_json(b"  \n{\"a\": 1}"));
        assert!(looks_like_json(b"[1]"));
        assert!(!looks_like_json(b"apiVersion: v1"));
        assert!(!looks_like_json(b"---\n{}"));
    }
}
