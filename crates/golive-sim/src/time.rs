//! Timestamps and durations in the forms Kubernetes uses.

use std::time::Duration;

/// Now as RFC 3339 with second precision, like metadata.creationTimestamp.
pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Age of an RFC 3339 timestamp as kubectl prints it ("5m12s", "3d4h"), or
/// `<unknown>` when absent or unparsable.
pub(crate) fn age(timestamp: Option<&str>) -> String {
    let Some(parsed) = timestamp.and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".to_string();
    };
    let seconds = jiff::Timestamp::now()
        .duration_since(parsed)
        .as_secs()
        .max(0);
    human_duration(seconds as u64)
}

/// Port of apimachinery's `duration.HumanDuration`.
pub(crate) fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    if seconds < 60 * 2 {
        format!("{seconds}s")
    } else if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        }
    } else if minutes < 60 * 3 {
        format!("{minutes}m")
    } else if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{h}h")
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        let years = days / 365;
        let d = days % 365;
        if d == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{d}d")
        }
    } else {
        format!("{}y", days / 365)
    }
}

/// Parses scenario offsets: golive's one duration grammar (`10s`, `1m30s`, `200ms`, `1h`),
/// optionally prefixed `t+`.
pub(crate) fn parse_offset(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("t+")
        .or_else(|| trimmed.strip_prefix("T+"))
        .unwrap_or(trimmed);
    golive_grammar::parse_duration(body).map_err(|e| format!("invalid offset {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_accept_compound_units_and_t_plus_prefix() {
        assert_eq!(parse_offset("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_offset("t+1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_offset("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_offset("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_offset("10").is_err());
        assert_eq!(
            parse_offset("t+1d"),
            Ok(Duration::from_secs(86_400)),
            "one grammar: days too"
        );
        assert!(parse_offset("s").is_err());
    }

    #[test]
    fn human_duration_matches_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 5 + 60 * 7), "5h7m");
        assert_eq!(human_duration(3600 * 30), "30h");
        assert_eq!(human_duration(3600 * 24 * 3 + 3600), "3d1h");
    }
}
