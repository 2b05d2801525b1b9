//! Human durations in plans: `30s`, `1m30s`, `2h`, `21d`, `500ms`, parsed by the one
//! duration grammar of `golive_grammar` and written back in the same units.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PlanDuration(pub Duration);

impl PlanDuration {
    /// Parses golive's one duration grammar (`golive_grammar::duration`).
    pub fn parse(text: &str) -> Result<Self, String> {
        golive_grammar::parse_duration(text)
            .map(Self)
            .map_err(|e| e.to_string())
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
