//! Text from outside golive (object fields, condition and event messages, annotations,
//! command output) made safe to show. Such text is untrusted: a control sequence in a
//! condition message must never drive the operator's terminal (kubectl CVE-2021-25743).
//! The journal keeps the original; each output escapes at its edge.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 controls but tab (newline included, so
/// cluster text cannot forge a line of golive's own), DEL, C1 controls, and the Unicode
/// bidirectional embeddings, overrides and isolates that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character shown visibly as an escape (`\x1b`, `\u{202e}`),
/// so the operator sees that something odd is there; safe text is borrowed unchanged.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_shown_not_sent() {
        let hostile =
            "x\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED\u{9b}1m\u{9d}8;;http://e\r\nfake ✓";
        let shown = for_terminal(hostile);
        for byte in [0x1b_u8, 0x07, b'\r', b'\n'] {
            assert!(!shown.as_bytes().contains(&byte), "{byte:#x} in {shown}");
        }
        assert!(
            !shown.contains('\u{9b}') && !shown.contains('\u{9d}'),
            "{shown}"
        );
        assert_eq!(
            shown,
            "x\\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x1b[31mRED\\x9b1m\\x9d8;;http://e\\x0d\\x0afake ✓"
        );
    }

    #[test]
    fn bidi_overrides_are_neutralised_and_plain_text_is_untouched() {
        assert_eq!(for_terminal("a\u{202e}cba"), "a\\u{202e}cba");
        assert_eq!(for_terminal("b\u{2067}x"), "b\\u{2067}x");
        let plain = "Ready=False: issuer not ready\tretry — ünïcode ✓";
        assert!(matches!(for_terminal(plain), Cow::Borrowed(_)));
    }
}
