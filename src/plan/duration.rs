//! Human durations in plans: `30s`, `1m30s`, `2h`, `21d`, `500ms`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PlanDuration(pub Duration);

impl PlanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let expected = || {
            format!(
                "`{text}` is not a duration: expected a number with a unit, like 500ms, 30s, 1m30s, 2h or 21d"
            )
        };
        if text.is_empty() {
            return Err(expected());
        }
        let mut total = Duration::ZERO;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(expected)?;
            if digits == 0 {
                return Err(expected());
            }
            let number: f64 = rest[..digits].parse().map_err(|_| expected())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let seconds = match &rest[..unit_len] {
                "ms" => number / 1000.0,
                "s" => number,
                "m" => number * 60.0,
                "h" => number * 3600.0,
                "d" => number * 86_400.0,
                _ => return Err(expected()),
            };
            total += Duration::from_secs_f64(seconds);
            rest = &rest[unit_len..];
        }
        Ok(Self(total))
    }
}

impl fmt::Display for PlanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            return write!(f, "{ms}ms");
        }
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PlanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PlanDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PlanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(
            PlanDuration::parse("1m30s").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            PlanDuration::parse("21d").unwrap().0,
            Duration::from_secs(21 * 86_400)
        );
        assert_eq!(
            PlanDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(PlanDuration::parse("1h30m").unwrap().to_string(), "1h30m");
    }

    #[test]
    fn a_number_without_unit_is_rejected() {
        assert!(
            PlanDuration::parse("30")
                .unwrap_err()
                .contains("expected a number with a unit")
        );
        assert!(PlanDuration::parse("3 weeks").is_err());
        assert!(PlanDuration::parse("").is_err());
    }
}
