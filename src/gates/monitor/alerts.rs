//! `alerts`: Alertmanager's active alerts selected by matchers as Alertmanager selects
//! them, judged only through a pipeline that can be shown healthy (its cluster ready or
//! disabled, the watchdog firing); Prometheus's pending alerts warn.

use super::{age, labels_text};
use crate::cluster::{ClusterView, WatchKey};
use crate::gates::{CheckKind, CheckVerdict, Context, Evidence, Status};
use crate::metrics::alertmanager::AlertState;
use crate::plan::AlertsCheck;
use jiff::SignedDuration;
use std::collections::BTreeMap;

/// One Alertmanager matcher: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`
/// (regular expressions anchored, as Alertmanager anchors them).
pub fn matcher_matches(matcher: &str, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    let m = matcher.trim();
    let ops = ["!~", "=~", "!=", "="];
    let (name, op, value) = ops
        .iter()
        .filter_map(|op| m.find(op).map(|i| (i, *op)))
        .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
        .map(|(i, op)| (m[..i].trim(), op, m[i + op.len()..].trim()))
        .ok_or_else(|| format!("matcher `{m}` has no =, !=, =~ or !~"))?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let actual = labels.get(name).map(String::as_str).unwrap_or("");
    Ok(match op {
        "=" => actual == value,
        "!=" => actual != value,
        _ => {
            let re = regex::Regex::new(&format!("^(?:{value})$"))
                .map_err(|e| format!("matcher `{m}`: {e}"))?;
            (op == "=~") == re.is_match(actual)
        }
    })
}

pub fn evaluate_alerts(c: &AlertsCheck, ctx: &Context) -> CheckVerdict {
    const KIND: &str = "alerts";
    let Some(evidence) = ctx.metrics() else {
        return CheckVerdict::new(
            KIND,
            Status::Unknown,
            "no Alertmanager answers: monitoring is not running here",
        );
    };
    let mut out = Vec::new();
    match &evidence.alertmanager_status {
        None => return CheckVerdict::new(KIND, Status::Unknown, "Alertmanager not asked yet"),
        Some(Err(e)) => {
            return CheckVerdict::new(KIND, Status::Unknown, format!("Alertmanager status: {e}"));
        }
        Some(Ok(s)) if s.cluster != "ready" && s.cluster != "disabled" => {
            return CheckVerdict::new(
                KIND,
                Status::Unknown,
                format!(
                    "Alertmanager cluster is {}: its silence of alerts means nothing yet",
                    s.cluster
                ),
            );
        }
        Some(Ok(s)) => out.push(Evidence::new(
            "Alertmanager",
            format!("version {}, cluster {}", s.version, s.cluster),
        )),
    }
    let alerts = match &evidence.alerts {
        None => return CheckVerdict::new(KIND, Status::Unknown, "alerts not asked yet"),
        Some((_, Err(e))) => {
            return CheckVerdict::new(KIND, Status::Unknown, format!("stale: {e}"));
        }
        Some((at, Ok(a))) if ctx.now().duration_since(*at) > SignedDuration::from_secs(120) => {
            let _ = a;
            return CheckVerdict::new(
                KIND,
                Status::Unknown,
                format!(
                    "stale: alerts last read {} ago",
                    age(ctx.now().duration_since(*at))
                ),
            );
        }
        Some((_, Ok(a))) => a,
    };
    let name = |a: &crate::metrics::alertmanager::Alert| {
        a.labels.get("alertname").cloned().unwrap_or_default()
    };
    let mut selected = Vec::new();
    for a in alerts {
        let mut keep = true;
        for m in &c.matchers {
            match matcher_matches(m, &a.labels) {
                Ok(yes) => keep &= yes,
                Err(e) => return CheckVerdict::new(KIND, Status::Unknown, e),
            }
        }
        // The watchdog proves the pipeline whatever its labels.
        if keep || c.watchdog.as_deref() == Some(name(a).as_str()) {
            selected.push(a);
        }
    }
    let alerts = selected;
    if let Some(w) = &c.watchdog
        && !alerts.iter().any(|a| name(a) == *w)
    {
        return CheckVerdict::new(
            KIND,
            Status::Unknown,
            format!("the `{w}` alert is not firing: the alert pipeline cannot be shown healthy"),
        )
        .with_evidence(out);
    }
    let deployed = ctx.moments().deployed;
    let mut firing = Vec::new();
    let mut before_deploy = Vec::new();
    for a in alerts.iter().copied() {
        let n = name(a);
        if c.watchdog.as_deref() == Some(n.as_str()) {
            continue;
        }
        let summary = a.annotations.get("summary").cloned().unwrap_or_default();
        let since = a
            .starts_at
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        // Firing before the deploy: the service was already so; not this deploy's doing.
        let old = matches!((a.starts_at, deployed), (Some(s), Some(d)) if s < d);
        let (word, counts) = match a.state {
            AlertState::Suppressed if !a.silenced_by.is_empty() => ("silenced", false),
            AlertState::Suppressed => ("inhibited", false),
            _ if c.ignore.contains(&n) => ("ignored", false),
            _ if old => ("firing since before the deploy", false),
            _ => ("firing", true),
        };
        let object = format!("alert {n} {}", labels_text(&a.labels));
        out.push(Evidence::new(&object, format!("{word}{since}: {summary}")));
        let active = a.state != AlertState::Suppressed && !c.ignore.contains(&n);
        if active && let Some(link) = silence_link(evidence.alertmanager_url.as_deref(), a) {
            out.push(Evidence::new(&object, format!("silence: {link}")));
        }
        if counts {
            firing.push(n);
        } else if active && old {
            before_deploy.push(n);
        }
    }
    // Prometheus's pending alerts, selected by the same matchers: another namespace's
    // pending alert says nothing of this service.
    match &evidence.prometheus_alerts {
        Some(Ok(rules)) => {
            for p in rules.iter().filter(|p| p.state == "pending") {
                let n = p.labels.get("alertname").cloned().unwrap_or_default();
                let selected = c
                    .matchers
                    .iter()
                    .all(|m| matcher_matches(m, &p.labels).unwrap_or(false));
                if !selected || c.ignore.contains(&n) || c.watchdog.as_deref() == Some(&n) {
                    continue;
                }
                out.push(Evidence::new(
                    format!("pending {n}"),
                    format!("pending in Prometheus (value {})", p.value),
                ));
            }
        }
        Some(Err(e)) => out.push(Evidence::new(
            "Prometheus alerts",
            format!("pending alerts not read: {e}"),
        )),
        None => {}
    }
    let pending = out.iter().any(|e| e.object.starts_with("pending "));
    if !firing.is_empty() {
        CheckVerdict::new(KIND, Status::Fail, format!("firing: {}", firing.join(", ")))
            .with_evidence(out)
    } else if !before_deploy.is_empty() {
        CheckVerdict::new(
            KIND,
            Status::Warn,
            format!(
                "firing since before the deploy: {}",
                before_deploy.join(", ")
            ),
        )
        .with_evidence(out)
    } else if pending {
        CheckVerdict::new(
            KIND,
            Status::Warn,
            "no alert firing; some pending in Prometheus",
        )
        .with_evidence(out)
    } else {
        CheckVerdict::new(KIND, Status::Pass, "no alert firing").with_evidence(out)
    }
}

/// Alertmanager's page for a new silence of exactly this alert (its labels as matchers).
fn silence_link(base: Option<&str>, alert: &crate::metrics::alertmanager::Alert) -> Option<String> {
    let base = base?;
    let matchers: Vec<String> = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    let filter = format!("{{{}}}", matchers.join(","));
    let encoded: String = filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect();
    Some(format!("{base}/#/silences/new?filter={encoded}"))
}

impl CheckKind for AlertsCheck {
    const NAME: &'static str = "alerts";

    fn watches(&self) -> Vec<WatchKey> {
        Vec::new()
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        Ok(evaluate_alerts(self, ctx))
    }
}
