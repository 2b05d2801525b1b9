//! How the cockpit writes numbers and times: ages, durations, the header clock, a
//! threshold's measured value, a load test's planned length. Pure text, no state.

use jiff::SignedDuration;

/// The runbook's phase times and the cockpit's ages, timeouts and test lengths are written
/// alike; the reports print phase times too, so the function lives below them.
pub use crate::runbook::timing::short_duration;

/// `41s`, `12m`, `3h`, `2d`: how old a piece of evidence is.
pub fn age(d: SignedDuration) -> String {
    let s = d.as_secs().max(0) as u64;
    short_duration(s)
}

/// `hh:mm:ss` for the header clock.
pub fn clock(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// The first line of a message that may run over several.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A threshold's observed value in its unit, for evidence.
pub fn measured(t: &golive_load::ThresholdResult) -> String {
    match t.value {
        None => "no data".into(),
        Some(v) if t.metric.starts_with("http_req_duration") || t.metric.ends_with("_duration") => {
            golive_load::format_ms(v)
        }
        Some(v) if t.expr.starts_with("rate") && t.metric.contains("failed") => {
            format!("{:.2}%", v * 100.0)
        }
        Some(v) if t.expr.starts_with("rate") => format!("{v:.1}/s"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The longest scenario, counting its start delay: how long the test is planned to run.
pub fn planned_duration(config: &golive_load::LoadConfig) -> std::time::Duration {
    config
        .scenarios
        .values()
        .map(|s| {
            let start = s.start_time.map(|d| d.as_duration()).unwrap_or_default();
            let run = match &s.stages {
                Some(stages) => stages.iter().map(|st| st.duration.as_duration()).sum(),
                None => s.duration.map(|d| d.as_duration()).unwrap_or_default(),
            };
            start + run
        })
        .max()
        .unwrap_or_default()
}
