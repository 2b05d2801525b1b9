//! Text from outside golive (object fields, condition and event messages, annotations,
//! command output) made safe to show. Such text is untrusted: a control sequence in a
//! condition message must never drive the operator's terminal (kubectl CVE-2021-25743).
//! The journal keeps the original; each output escapes at its edge.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 controls but tab (newline included, so
/// cluster text cannot forge a line of golive's own), DEL, C1 controls, and the Unicode
/// bidirectional embeddings, overrides and isolates that reorder what is shown.
/// U+FFFE and U+FFFF are not characters (XML 1.0 forbids them) and are shown the same way.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// A file's bytes as text; where they are not UTF-8, the 1-based line and column of the
/// first byte that is not, so the error can point at it.
pub fn utf8_or_position(bytes: Vec<u8>) -> Result<String, (usize, usize)> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        (line, column)
    })
}

/// `text` with every unsafe character shown visibly as an escape (`\x1b`, `\u{202e}`),
/// so the operator sees that something odd is there; safe text is borrowed unchanged.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escape_unless(text, |_| false)
}

/// Like [`for_terminal`] for text of several lines that golive prints as lines (an
/// analyzer's matrix, a list of errors): newlines stay, everything else is escaped.
pub fn for_terminal_lines(text: &str) -> Cow<'_, str> {
    escape_unless(text, |c| c == '\n')
}

/// A line of a step command's output: its colours (SGR sequences, `ESC [ … m`) are
/// dropped, as a pager without colour would, and every other control is shown escaped.
pub fn command_output(line: &str) -> Cow<'_, str> {
    if !line.contains('\x1b') {
        return for_terminal(line);
    }
    let mut plain = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\x1b[") {
        plain.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let params = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(tail.len());
        if tail[params..].starts_with('m') {
            rest = &tail[params + 1..];
        } else {
            plain.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    plain.push_str(rest);
    Cow::Owned(for_terminal(&plain).into_owned())
}

/// Text for an XML attribute or element: shown as [`for_terminal`] shows it (so nothing
/// XML 1.0 forbids remains, and no `]]>` can close a CDATA section since `>` is
/// escaped), then `&`, `<`, `>` and `"` as entities (attributes are `"`-quoted).
pub fn for_xml(text: &str) -> String {
    xml_escape(&for_terminal(text))
}

/// [`for_xml`] for text of several lines: newlines stay.
pub fn for_xml_lines(text: &str) -> String {
    xml_escape(&for_terminal_lines(text))
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for Markdown, inline or in a table cell: shown as [`for_terminal`] shows it (one
/// line, no controls), HTML's `<`, `>` and `&` as entities so no markup from outside is
/// ever rendered, and `\`, `` ` ``, `|`, `[`, `]`, `*` and `_` backslash-escaped so it
/// cannot open a code span, split a table cell, make a link or change emphasis.
pub fn for_markdown(text: &str) -> String {
    let shown = for_terminal(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '|' | '[' | ']' | '*' | '_' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for a Markdown code span (a command golive ran, a threshold): shown as
/// [`for_terminal`] shows it, fenced with enough backticks that none inside closes it.
pub fn markdown_code(text: &str) -> String {
    let shown = for_terminal(text);
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

fn escape_unless(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) || keep(c) {
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
    fn lines_keep_their_newlines_and_nothing_else() {
        assert_eq!(for_terminal_lines("a\nb\r\x1b[2Jc"), "a\nb\\x0d\\x1b[2Jc");
    }

    #[test]
    fn command_colours_are_dropped_and_other_sequences_shown() {
        assert_eq!(
            command_output("\x1b[1;31merror\x1b[0m: \x1b[38:5:1mx\x1b[m done"),
            "error: x done"
        );
        assert_eq!(
            command_output("\x1b]0;title\x07\x1b[2Jok\x1b["),
            "\\x1b]0;title\\x07\\x1b[2Jok\\x1b["
        );
    }

    #[test]
    fn xml_text_has_nothing_xml_forbids() {
        let hostile = "x\x1b]0;T\x07</td><script>alert(1)</script> | pipe ]]> & <b> \"q\" \u{fffe}";
        let xml = for_xml(hostile);
        assert!(
            !xml.contains(['<', '>', '\x1b', '\x07', '\u{fffe}']),
            "{xml}"
        );
        assert!(!xml.contains("]]>"), "{xml}");
        assert_eq!(for_xml_lines("a\nb&"), "a\nb&amp;");
    }

    #[test]
    fn markdown_text_renders_no_markup_from_outside() {
        assert_eq!(
            for_markdown("</td><script>x</script> | `code` [l](u) *b* a_b \\ &amp;\n"),
            "&lt;/td&gt;&lt;script&gt;x&lt;/script&gt; \\| \\`code\\` \\[l\\](u) \\*b\\* a\\_b \\\\ &amp;amp;\\\\x0a" // renders as \x0a
        );
        assert_eq!(markdown_code("kubectl get pods"), "`kubectl get pods`");
        assert_eq!(markdown_code("echo `id`"), "`` echo `id` ``");
        assert_eq!(markdown_code("a``b\x1b"), "```a``b\\x1b```");
    }

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
