//! `${VAR}` and `${VAR:-default}` in plan files, applied to the raw text before parsing.
//!
//! Substitution changes column offsets on the lines it touches, so the result keeps a
//! map back to the original columns: an error in an interpolated line still points at
//! the character the user wrote.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Interpolated text plus, per line, the substitutions as (column after, shift) pairs.
#[derive(Debug, Default)]
pub struct Interpolated {
    pub text: String,
    shifts: HashMap<usize, Vec<(usize, isize)>>,
}

impl Interpolated {
    /// Maps a 1-based column in the interpolated text back to the column in the source.
    pub fn source_column(&self, line: usize, column: usize) -> usize {
        let Some(shifts) = self.shifts.get(&line) else {
            return column;
        };
        let mut delta: isize = 0;
        for &(after, shift) in shifts {
            if column > after {
                delta += shift;
            }
        }
        (column as isize - delta).max(1) as usize
    }
}

/// Replaces `${NAME}` and `${NAME:-default}`; `$${` stands for a literal `${`.
/// A variable that is unset (or empty, for the `:-` form) and has no default is an error.
pub fn interpolate(
    source: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Interpolated, Vec<InterpolationError>> {
    let mut out = Interpolated::default();
    let mut errors = Vec::new();
    for (index, line) in source.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let mut rest = line;
        let mut src_col = 1usize;
        let mut out_col = 1usize;
        while let Some(pos) = rest.find('$') {
            let (before, from_dollar) = rest.split_at(pos);
            out.text.push_str(before);
            let before_chars = before.chars().count();
            src_col += before_chars;
            out_col += before_chars;
            if let Some(after) = from_dollar.strip_prefix("$${") {
                out.text.push_str("${");
                out.shifts
                    .entry(line_no)
                    .or_default()
                    .push((out_col + 1, -1));
                src_col += 3;
                out_col += 2;
                rest = after;
                continue;
            }
            if !from_dollar.starts_with("${") {
                out.text.push('$');
                src_col += 1;
                out_col += 1;
                rest = &from_dollar[1..];
                continue;
            }
            let Some(end) = from_dollar.find('}') else {
                errors.push(InterpolationError {
                    line: line_no,
                    column: src_col,
                    message: "unterminated `${`: expected `${NAME}` or `${NAME:-default}`".into(),
                });
                out.text.push_str(from_dollar);
                rest = "";
                break;
            };
            let inner = &from_dollar[2..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let valid_name = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            let raw_len = from_dollar[..=end].chars().count();
            let value = if !valid_name {
                errors.push(InterpolationError {
                    line: line_no,
                    column: src_col,
                    message: format!(
                        "`${{{inner}}}` is not a variable reference: expected `${{NAME}}` or `${{NAME:-default}}` with NAME made of letters, digits and `_`"
                    ),
                });
                String::new()
            } else {
                match (lookup(name), default) {
                    (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                    (Some(v), _) => v,
                    (None, Some(d)) => d.to_string(),
                    (None, None) => {
                        errors.push(InterpolationError {
                            line: line_no,
                            column: src_col,
                            message: format!(
                                "environment variable {name} is not set: set it or write `${{{name}:-default}}`"
                            ),
                        });
                        String::new()
                    }
                }
            };
            if value.contains('\n') {
                errors.push(InterpolationError {
                    line: line_no,
                    column: src_col,
                    message: format!(
                        "the value of `{name}` contains a newline, which a plan value cannot hold"
                    ),
                });
            }
            let value_len = value.chars().count();
            out.text.push_str(&value);
            out.shifts.entry(line_no).or_default().push((
                out_col + value_len - 1,
                value_len as isize - raw_len as isize,
            ));
            src_col += raw_len;
            out_col += value_len;
            rest = &from_dollar[end + 1..];
        }
        out.text.push_str(rest);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "URL" => Some("http://example.test".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_set_variables_and_defaults() {
        let out = interpolate("a: ${URL}\nb: ${MISSING:-x}\nc: ${EMPTY:-d}\n", env).unwrap();
        assert_eq!(out.text, "a: http://example.test\nb: x\nc: d\n");
    }

    #[test]
    fn unset_variable_without_default_names_line_and_column() {
        let errors = interpolate("name: x\ntarget: ${NOPE}\n", env).unwrap_err();
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[0].column, 9);
        assert!(errors[0].message.contains("NOPE is not set"));
    }

    #[test]
    fn dollar_dollar_brace_is_a_literal() {
        let out = interpolate("a: $${URL} $5\n", env).unwrap();
        assert_eq!(out.text, "a: ${URL} $5\n");
    }

    #[test]
    fn columns_after_a_substitution_map_back_to_the_source() {
        let out = interpolate("t: ${URL} bad\n", env).unwrap();
        // "t: http://example.test bad": `bad` starts at column 24, in the source at 11.
        assert_eq!(out.source_column(1, 24), 11);
        assert_eq!(out.source_column(1, 2), 2);
    }
}
