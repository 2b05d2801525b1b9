//! Asking Prometheus and Alertmanager, bounded: one round at a time, every check's query
//! once per round (at most one in flight per query), a timeout on each, the round every
//! `every` of the fastest check (never under 15 s). A slow or dead server costs a round's
//! timeout and shows as errors in the evidence; it never blocks the cockpit.

use super::client::{self, Endpoint};
use super::prom::PromError;
use super::{BaselineValue, MetricsUpdate};
use crate::plan::{Check, Plan, Source};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::time::Duration;

/// The shortest interval between two rounds.
pub const MIN_EVERY: Duration = Duration::from_secs(15);
/// How long one query may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The cluster a `service:` source is reached through: its client and its URL.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub server: String,
}

/// `NAMESPACE/NAME:PORT` (or `NAMESPACE/NAME`) as the service proxy's path.
pub fn proxy_path(service: &str) -> Result<String, String> {
    let bad = || format!("`service: {service}`: expected NAMESPACE/NAME:PORT");
    let (namespace, rest) = service.split_once('/').ok_or_else(bad)?;
    let (name, port) = match rest.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (rest, None),
    };
    let dns_label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    // A number, or a port name (IANA service name: at most 15, at least one letter).
    let port_ok = port.is_none_or(|p| match p.parse::<u16>() {
        Ok(n) => n > 0,
        Err(_) => dns_label(p) && p.len() <= 15 && p.bytes().any(|b| b.is_ascii_lowercase()),
    });
    if !dns_label(namespace) || !dns_label(name) || !port_ok {
        return Err(bad());
    }
    Ok(match port {
        Some(p) => format!("/api/v1/namespaces/{namespace}/services/{name}:{p}/proxy"),
        None => format!("/api/v1/namespaces/{namespace}/services/{name}/proxy"),
    })
}

/// Where to ask, from a plan source. A `service:` goes through `cluster`'s API server
/// proxy; without a cluster connection it cannot be reached.
pub fn endpoint(source: &Source, cluster: Option<&Cluster>) -> Result<Endpoint, String> {
    if let Some(service) = &source.service {
        let path = proxy_path(service)?;
        let Some(cluster) = cluster else {
            return Err(format!(
                "`service: {service}` is reached through the API server, and the cluster is not connected"
            ));
        };
        return Ok(Endpoint {
            url: format!("{}{path}", cluster.server.trim_end_matches('/')),
            via_api_server: Some(client::ApiProxy {
                client: cluster.client.clone(),
                path,
            }),
            ..Endpoint::default()
        });
    }
    let Some(url) = &source.url else {
        return Err("no `url` or `service`".into());
    };
    let bearer_token = match &source.bearer_token_env {
        Some(var) => {
            Some(std::env::var(var).map_err(|_| format!("bearer_token_env: `{var}` is not set"))?)
        }
        None => None,
    };
    Ok(Endpoint {
        url: url.clone(),
        bearer_token,
        headers: source
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ca_file: source.ca_file.clone().map(Into::into),
        insecure_skip_verify: source.insecure_skip_verify,
        via_api_server: None,
    })
}

/// The plan's Prometheus and Alertmanager endpoints (`None` where the plan names none and
/// asks nothing of it). A `service:` source connects to the cluster of `target` first.
pub async fn sources(
    plan: &Plan,
    target: &crate::cluster::Target,
) -> (
    Option<Result<Endpoint, String>>,
    Option<Result<Endpoint, String>>,
) {
    let asks = asks(plan);
    let monitoring = plan.monitoring.clone().unwrap_or_default();
    let wants_cluster = [&monitoring.prometheus, &monitoring.alertmanager]
        .into_iter()
        .flatten()
        .any(|s| s.service.is_some());
    let cluster = if wants_cluster {
        match crate::cluster::connect(target).await {
            Ok(c) => Ok(Cluster {
                client: c.client,
                server: c.server,
            }),
            Err(e) => Err(e.to_string()),
        }
    } else {
        Err("no cluster".to_string())
    };
    let resolve = |source: &Source| match (&cluster, &source.service) {
        (Err(e), Some(service)) => Err(format!(
            "`service: {service}` is reached through the API server, which cannot be reached: {e}"
        )),
        _ => endpoint(source, cluster.as_ref().ok()),
    };
    let prometheus = monitoring.prometheus.as_ref().map(resolve).or_else(|| {
        (!asks.queries.is_empty())
            .then(|| Err("the plan's `monitoring:` names no prometheus".to_string()))
    });
    let alertmanager = monitoring.alertmanager.as_ref().map(resolve);
    (prometheus, alertmanager)
}

/// What a plan asks of the metrics sources each round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asks {
    pub queries: BTreeSet<String>,
    pub alerts: bool,
    pub every: Duration,
}

pub fn asks(plan: &Plan) -> Asks {
    let mut asks = Asks {
        every: Duration::from_secs(60),
        ..Default::default()
    };
    for check in plan.gates.iter().flat_map(|g| &g.checks) {
        match check {
            Check::Prometheus(p) => {
                asks.queries.insert(p.query.trim().to_string());
                if let Some(m) = &p.min_traffic {
                    asks.queries.insert(m.query.trim().to_string());
                }
                asks.every = asks.every.min(p.every.0.max(MIN_EVERY));
            }
            Check::Scraped(s) => {
                asks.queries.insert(s.query());
                asks.every = asks.every.min(MIN_EVERY.max(Duration::from_secs(30)));
            }
            Check::Alerts(_) => {
                asks.alerts = true;
                asks.every = asks.every.min(Duration::from_secs(30));
            }
            _ => {}
        }
    }
    asks
}

/// One round: every query, the alerts and both servers' state, as of `at`.
pub async fn round(
    prometheus: Option<&Result<Endpoint, String>>,
    alertmanager: Option<&Result<Endpoint, String>>,
    asks: &Asks,
) -> MetricsUpdate {
    let at = Timestamp::now();
    let config_error = |e: &String| PromError::Unreachable {
        url: "(plan)".into(),
        message: e.clone(),
    };
    let mut update = MetricsUpdate {
        at,
        ..Default::default()
    };
    match prometheus {
        Some(Ok(p)) => {
            // Not ready (replaying its WAL, shutting down): said instead of its version.
            update.prometheus_version = Some(match client::ready(p, QUERY_TIMEOUT).await {
                Ok(()) => client::buildinfo(p, QUERY_TIMEOUT).await,
                Err(e) => Err(e),
            });
            let asked = asks.queries.iter().map(|q| async move {
                (q.clone(), client::instant(p, q, None, QUERY_TIMEOUT).await)
            });
            update.queries = futures::future::join_all(asked).await;
            if asks.alerts {
                update.prometheus_alerts = Some(client::prometheus_alerts(p, QUERY_TIMEOUT).await);
            }
        }
        Some(Err(e)) => {
            update.prometheus_version = Some(Err(config_error(e)));
            update.queries = asks
                .queries
                .iter()
                .map(|q| (q.clone(), Err(config_error(e))))
                .collect();
        }
        None => {}
    }
    if asks.alerts {
        match alertmanager {
            Some(Ok(a)) => {
                // Through the API server's proxy the address is not one a browser can open.
                if a.via_api_server.is_none() {
                    update.alertmanager_url = Some(a.url.trim_end_matches('/').to_string());
                }
                update.alertmanager_status = Some(client::am_status(a, QUERY_TIMEOUT).await);
                update.alerts = Some(client::am_alerts(a, &[], QUERY_TIMEOUT).await);
            }
            Some(Err(e)) => {
                update.alertmanager_status = Some(Err(config_error(e)));
                update.alerts = Some(Err(config_error(e)));
            }
            None => {
                let e = "the plan's `monitoring:` names no alertmanager".to_string();
                update.alertmanager_status = Some(Err(config_error(&e)));
            }
        }
    }
    update
}

/// The mean of `query` over `[start, end]` at a step of at least 15 s: a baseline.
pub async fn baseline(
    prometheus: &Endpoint,
    query: &str,
    start: Timestamp,
    end: Timestamp,
) -> Result<BaselineValue, String> {
    let span = end.duration_since(start).as_secs().max(0) as u64;
    let step = Duration::from_secs((span / 240).max(MIN_EVERY.as_secs()));
    let answer = client::range(prometheus, query, start, end, step, QUERY_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let points: Vec<(Timestamp, f64)> = match &answer.data {
        super::prom::QueryData::Matrix(series) => series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(_, v)| v.is_finite())
            .collect(),
        _ => Vec::new(),
    };
    let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    // Samples are instants: many series at one step are one sample, not many.
    let instants: BTreeSet<Timestamp> = points.iter().map(|(t, _)| *t).collect();
    if values.is_empty() {
        return Err(format!(
            "no data for `{query}` between {start} and {end}: no baseline"
        ));
    }
    Ok(BaselineValue {
        query: query.to_string(),
        start,
        end,
        value: values.iter().sum::<f64>() / values.len() as f64,
        samples: instants.len(),
    })
}

/// What a headless run knows of the deploy: when it happened (`--deployed-at`, or the
/// journal's rollout start or Deploy phase), and the baselines the journal already holds,
/// so the report compares against the numbers the cockpit used.
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    pub at: Option<Timestamp>,
    pub baselines: std::collections::BTreeMap<String, super::BaselineValue>,
}

/// Points of a range query at most: a long window is asked at a coarser step.
const RANGE_POINTS: u64 = 240;

/// What `golive check` and `golive report` know of the monitoring, asked once: a round
/// of answers, and for each check with `for`, a range query over the last `for` at the
/// check's step, judged point by point into the history, so "held throughout" is decided
/// on the past rather than on one instant. A check without enough points stays undecided
/// for `for`'s purposes. With a deploy moment, each `baseline` check gets its baseline
/// (the journal's, else captured now over the window before the deploy) and, when it has
/// no `for`, its samples since the deploy, which the comparison counts.
pub async fn once(
    plan: &Plan,
    target: &crate::cluster::Target,
    deploy: &Deploy,
) -> Option<super::MetricsEvidence> {
    let asks = asks(plan);
    if asks.queries.is_empty() && !asks.alerts {
        return None;
    }
    let (prometheus, alertmanager) = sources(plan, target).await;
    let update = round(prometheus.as_ref(), alertmanager.as_ref(), &asks).await;
    let at = update.at;
    let mut evidence = super::MetricsEvidence::default();
    let checks = plan.prometheus_checks();
    // Baselines first: the past is judged against them, as the cockpit judges each round.
    for c in checks.iter().filter(|c| c.baseline.is_some()) {
        let key = crate::gates::monitor::key(c);
        if let Some(known) = deploy.baselines.get(&key) {
            evidence.baselines.insert(key.clone(), known.clone());
            continue;
        }
        let (Some(deployed), Some(spec)) = (deploy.at, &c.baseline) else {
            continue;
        };
        match &prometheus {
            Some(Ok(p)) => {
                let window = jiff::SignedDuration::try_from(spec.window.0).unwrap_or_default();
                match baseline(p, c.query.trim(), deployed - window, deployed).await {
                    Ok(b) => {
                        evidence.baselines.insert(key, b);
                    }
                    Err(e) => {
                        evidence.baseline_errors.insert(key, e);
                    }
                }
            }
            Some(Err(e)) => {
                evidence.baseline_errors.insert(key, e.clone());
            }
            None => {}
        }
    }
    if let Some(Ok(p)) = &prometheus {
        for c in &checks {
            // `for` is judged over its own span; a baseline check without it over the
            // time since the deploy, whose samples the comparison counts.
            let (start, step) = match (c.hold, deploy.at) {
                (Some(hold), _) => (
                    at - jiff::SignedDuration::try_from(hold.0).unwrap_or_default(),
                    c.every.0.max(MIN_EVERY),
                ),
                (None, Some(deployed)) if c.baseline.is_some() && deployed < at => {
                    let span = at.duration_since(deployed).as_secs().max(0) as u64;
                    let step = c
                        .every
                        .0
                        .max(MIN_EVERY)
                        .max(Duration::from_secs(span / RANGE_POINTS));
                    (deployed, step)
                }
                _ => continue,
            };
            if let Err(e) = judge_range(p, c, start, at, step, &mut evidence).await {
                evidence
                    .history_errors
                    .insert(crate::gates::monitor::key(c), e);
            }
        }
    }
    crate::gates::monitor::take_in(&mut evidence, update, &checks);
    Some(evidence)
}

/// Asks `c`'s query (and its traffic query) over `[start, at)` at `step` and judges each
/// point into its history, against the baseline where there is one; the newest point is
/// the round's own answer, taken in after.
async fn judge_range(
    p: &Endpoint,
    c: &crate::plan::PrometheusCheck,
    start: Timestamp,
    at: Timestamp,
    step: Duration,
    evidence: &mut super::MetricsEvidence,
) -> Result<(), String> {
    let main = client::range(p, &c.query, start, at, step, QUERY_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let traffic = match &c.min_traffic {
        Some(m) => Some(
            client::range(p, &m.query, start, at, step, QUERY_TIMEOUT)
                .await
                .map_err(|e| format!("traffic: {e}"))?,
        ),
        None => None,
    };
    let key = crate::gates::monitor::key(c);
    for (t, answer, traffic_answer) in points(&main, traffic.as_ref()) {
        if t >= at {
            continue;
        }
        let outcome = crate::gates::monitor::judge(c, &answer, traffic_answer.as_ref());
        let outcome = crate::gates::monitor::with_baseline(c, evidence, t, outcome);
        evidence
            .history
            .entry(key.clone())
            .or_default()
            .push((t, outcome));
    }
    Ok(())
}

/// A range answer cut into one instant answer per step (and the traffic at that step).
fn points(
    main: &super::prom::QueryAnswer,
    traffic: Option<&super::prom::QueryAnswer>,
) -> Vec<(
    Timestamp,
    super::prom::QueryAnswer,
    Option<super::prom::QueryAnswer>,
)> {
    use super::prom::{QueryAnswer, QueryData, Sample};
    let at_step = |answer: &QueryAnswer, t: Timestamp| -> QueryAnswer {
        let samples = match &answer.data {
            QueryData::Matrix(series) => series
                .iter()
                .filter_map(|s| {
                    s.points
                        .iter()
                        .find(|(at, _)| *at == t)
                        .map(|(_, v)| Sample {
                            labels: s.labels.clone(),
                            at: t,
                            value: *v,
                        })
                })
                .collect(),
            _ => Vec::new(),
        };
        QueryAnswer {
            data: QueryData::Vector(samples),
            warnings: Vec::new(),
        }
    };
    let mut times: Vec<Timestamp> = match &main.data {
        QueryData::Matrix(series) => series
            .iter()
            .flat_map(|s| s.points.iter().map(|(t, _)| *t))
            .collect(),
        _ => Vec::new(),
    };
    times.sort();
    times.dedup();
    times
        .into_iter()
        .map(|t| (t, at_step(main, t), traffic.map(|tr| at_step(tr, t))))
        .collect()
}
