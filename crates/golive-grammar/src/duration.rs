//! Durations as golive's inputs write them: `500ms`, `30s`, `1m30s`, `2h`, `21d`, `250us`.
//!
//! One grammar for plans, load options and scenario offsets: one or more `<number><unit>`
//! terms with no spaces, units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`, and a bare `0`.
//! A bare number other than 0 is refused: `30` could mean seconds or milliseconds.

use std::fmt;
use std::time::Duration;

/// The longest duration accepted, about 31 years: anything longer is a typo.
const MAX_SECONDS: f64 = 1e9;

/// Why a text is not a duration; its message says what a duration looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    pub text: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a duration: expected a duration like 30s, 1m30s, 500ms, 2h or 21d \
             (expected a number with a unit: ns, us, ms, s, m, h or d)",
            self.text
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration; see the module's grammar.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError {
        text: text.to_string(),
    };
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !is_number(c)).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(is_number).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "d" => 86_400.0,
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > MAX_SECONDS {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_unit_and_compound_forms_add_up() {
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("21d"), Duration::from_secs(21 * 86_400));
        assert_eq!(ok("1d12h"), Duration::from_secs(36 * 3600));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("250µs"), Duration::from_micros(250));
        assert_eq!(ok("10ns"), Duration::from_nanos(10));
        assert_eq!(ok(" 0 "), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn malformed_durations_say_what_a_duration_looks_like() {
        for text in [
            "",
            "30",
            "3x",
            "s",
            "30 seconds",
            "1..5s",
            "-5s",
            "1e3s",
            "40000000000s",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert_eq!(err.text, text);
            let message = err.to_string();
            assert!(
                message.contains("expected a duration like 30s"),
                "{message}"
            );
            assert!(
                message.contains("expected a number with a unit"),
                "{message}"
            );
        }
    }
}
