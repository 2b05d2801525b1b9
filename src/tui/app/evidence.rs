//! Evidence from outside the cluster arriving in the cockpit: Prometheus and
//! Alertmanager answers, the pre-deploy baselines, DNS answers and probe results. Each
//! bumps its epoch, so the gates that read it are judged again (`gates::incremental`).

use super::{App, Effect};
use crate::runbook::journal::Action as Record;
use jiff::{SignedDuration, Timestamp};

/// How often the cockpit looks the `dns_records` hosts up again (stale after 5 minutes).
pub const DNS_EVERY: SignedDuration = SignedDuration::from_secs(20);
/// How long after a failed baseline capture it is asked again.
pub const BASELINE_RETRY: SignedDuration = SignedDuration::from_secs(60);

impl App {
    pub(super) fn on_metrics(&mut self, update: crate::metrics::MetricsUpdate) -> Vec<Effect> {
        let effects = match &update.alerts {
            Some(Ok(alerts)) => self.journal_alerts(alerts),
            _ => Vec::new(),
        };
        let checks = self.plan.plan.prometheus_checks();
        crate::gates::monitor::take_in(
            std::sync::Arc::make_mut(&mut self.metrics),
            update,
            &checks,
        );
        self.epochs.metrics += 1;
        self.needs_evaluation = true;
        effects
    }

    /// Journals each alert that starts firing and each that stops, so the report lists
    /// every alert of the go-live with when it ended, after a restart too.
    fn journal_alerts(&mut self, alerts: &[crate::metrics::alertmanager::Alert]) -> Vec<Effect> {
        use crate::metrics::alertmanager::AlertState;
        let active: std::collections::BTreeMap<&str, &crate::metrics::alertmanager::Alert> = alerts
            .iter()
            .filter(|a| a.state == AlertState::Active)
            .map(|a| (a.fingerprint.as_str(), a))
            .collect();
        let mut effects = Vec::new();
        for (fingerprint, a) in &active {
            let known = self.runbook.alerts.get(*fingerprint);
            if known.is_some_and(|r| r.resolved_at.is_none()) {
                continue;
            }
            let asked = format!(
                "{fingerprint}|firing|{:?}",
                known.and_then(|r| r.resolved_at)
            );
            if self.alert_records_asked.insert(asked) {
                effects.push(Effect::Record(Record::Alert {
                    fingerprint: fingerprint.to_string(),
                    name: a.labels.get("alertname").cloned().unwrap_or_default(),
                    labels: a.labels.clone(),
                    starts_at: a.starts_at,
                    event: "firing".into(),
                }));
            }
        }
        for (fingerprint, r) in &self.runbook.alerts {
            if r.resolved_at.is_some() || active.contains_key(fingerprint.as_str()) {
                continue;
            }
            let asked = format!("{fingerprint}|resolved|{}", r.seen_at);
            if self.alert_records_asked.insert(asked) {
                effects.push(Effect::Record(Record::Alert {
                    fingerprint: fingerprint.clone(),
                    name: r.name.clone(),
                    labels: r.labels.clone(),
                    starts_at: r.starts_at,
                    event: "resolved".into(),
                }));
            }
        }
        effects
    }

    /// The plan's Grafana dashboard for the go-live's time range (its start to now).
    pub fn grafana_link(&self) -> Option<String> {
        let g = self.plan.plan.monitoring.as_ref()?.grafana.as_ref()?;
        let base = g.url.trim_end_matches('/');
        let from = self
            .runbook
            .started_at
            .unwrap_or(self.started)
            .as_millisecond();
        Some(match &g.dashboard {
            Some(d) => format!("{base}/d/{d}?from={from}&to=now"),
            None => format!("{base}?from={from}&to=now"),
        })
    }

    /// The deploy moment monitoring compares against: the first rollout golive saw start,
    /// else the Deploy phase's opening.
    pub fn deploy_moment(&self) -> Option<Timestamp> {
        crate::runbook::timing::deploy_moment(&self.plan.plan.runbook, &self.runbook)
    }

    /// Once the deploy moment is known, asks Prometheus for each baseline the plan wants
    /// and the journal does not hold yet: once, and again a minute after a failure.
    pub(super) fn capture_baselines(&mut self) -> Vec<Effect> {
        let Some(end) = self.deploy_moment() else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        for check in self.plan.plan.gates.iter().flat_map(|g| &g.checks) {
            let crate::plan::Check::Prometheus(c) = check else {
                continue;
            };
            let Some(spec) = &c.baseline else {
                continue;
            };
            let key = crate::gates::monitor::key(c);
            // Asked and not answered yet, or failed within the last minute: not again yet.
            // A Prometheus that blinked at the deploy moment is asked again.
            let waiting = match self.baselines_asked.get(&key) {
                Some(None) => true,
                Some(Some((at, _))) => self.now.duration_since(*at) < BASELINE_RETRY,
                None => false,
            };
            if self.runbook.baselines.contains_key(&key) || waiting {
                continue;
            }
            let window =
                jiff::SignedDuration::try_from(spec.window.0).unwrap_or(jiff::SignedDuration::ZERO);
            self.baselines_asked.insert(key.clone(), None);
            effects.push(Effect::CaptureBaseline {
                check: key,
                query: c.query.trim().to_string(),
                start: end - window,
                end,
            });
        }
        effects
    }

    pub(super) fn on_baseline(
        &mut self,
        check: String,
        result: Result<crate::metrics::BaselineValue, String>,
    ) -> Vec<Effect> {
        match result {
            Ok(baseline) => {
                std::sync::Arc::make_mut(&mut self.metrics)
                    .baseline_errors
                    .remove(&check);
                vec![Effect::Record(Record::Baseline { check, baseline })]
            }
            Err(why) => {
                self.set_status(
                    format!("no baseline for {check}: {why}"),
                    super::state::Severity::Warning,
                );
                // The gate's evidence says why, where the comparison would be.
                std::sync::Arc::make_mut(&mut self.metrics)
                    .baseline_errors
                    .insert(check.clone(), why.clone());
                self.epochs.metrics += 1;
                self.needs_evaluation = true;
                self.baselines_asked.insert(check, Some((self.now, why)));
                Vec::new()
            }
        }
    }

    pub(super) fn on_dns(&mut self, answers: crate::dns::DnsAnswers) -> Vec<Effect> {
        self.dns = answers;
        self.epochs.dns += 1;
        self.needs_evaluation = true;
        Vec::new()
    }

    /// Asks for the `dns_records` lookups when the names to look up changed (an Ingress
    /// arrived) or the last answers are [`DNS_EVERY`] old.
    pub(super) fn ask_dns(&mut self) -> Vec<Effect> {
        let lookups = crate::gates::dns_lookups(&self.plan.plan, &self.view);
        let due = match &self.dns_asked {
            None => !lookups.is_empty(),
            Some((asked, at)) => *asked != lookups || self.now.duration_since(*at) >= DNS_EVERY,
        };
        if !due || lookups.is_empty() {
            return Vec::new();
        }
        self.dns_asked = Some((lookups.clone(), self.now));
        vec![Effect::LookUpDns(lookups)]
    }

    pub(super) fn on_probes(&mut self, probes: crate::probe::Probes) -> Vec<Effect> {
        self.probes = probes;
        self.epochs.probes += 1;
        self.needs_evaluation = true;
        Vec::new()
    }
}
