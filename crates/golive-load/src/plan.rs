//! Compiles a validated `LoadConfig` into what workers execute: prepared requests,
//! origins, submetric routes and a rate schedule.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use rustls::pki_types::ServerName;

use crate::client::{ClientShared, Origin, PreparedRequest, host_header, tls_connector};
use crate::config::{ExecutorKind, LoadConfig};
use crate::h1::H1Request;
use crate::stats::SubRoute;
use crate::threshold::{MetricSelector, TagFilter, ThresholdSpec};

pub(crate) enum ExecKind {
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<(Duration, u64)>,
        graceful_ramp_down: Duration,
    },
    ArrivalRate {
        schedule: RateSchedule,
        pre: u64,
        max: u64,
        drop_after: Duration,
    },
}

pub(crate) struct ScenarioPlan {
    pub name: String,
    pub kind: ExecKind,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    pub requests: Vec<PreparedRequest>,
}

impl ScenarioPlan {
    /// Time from the scenario's own start until it stops starting iterations.
    pub fn body_duration(&self) -> Duration {
        match &self.kind {
            ExecKind::ConstantVus { duration, .. } => *duration,
            ExecKind::RampingVus { stages, .. } => stages.iter().map(|s| s.0).sum(),
            ExecKind::ArrivalRate { schedule, .. } => schedule.total(),
        }
    }
}

pub(crate) struct CompiledThreshold {
    pub selector: MetricSelector,
    /// Index into the recorder's submetrics; `None` for an unfiltered metric.
    pub sub: Option<usize>,
    pub spec: ThresholdSpec,
}

pub(crate) struct Plan {
    pub scenarios: Vec<ScenarioPlan>,
    pub shared: ClientShared,
    pub subs: Vec<TagFilter>,
    pub thresholds: Vec<CompiledThreshold>,
    pub workers: usize,
    pub planned: Duration,
}

/// Piecewise-linear arrival rate in iterations per second, k6 style: iteration k starts
/// when the integral of the rate reaches k.
#[derive(Clone, Debug)]
pub(crate) struct RateSchedule {
    pub start_rate: f64,
    /// (duration, target rate per second at the end of the stage)
    pub stages: Vec<(Duration, f64)>,
}

impl RateSchedule {
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.0).sum()
    }

    /// Offsets of iterations `first, first + step, ...` in increasing order.
    pub fn times(&self, first: u64, step: u64) -> RateTimes<'_> {
        RateTimes {
            schedule: self,
            next_k: first,
            step: step.max(1),
            stage: 0,
            stage_start: 0.0,
            n_before: 0.0,
        }
    }
}

pub(crate) struct RateTimes<'a> {
    schedule: &'a RateSchedule,
    next_k: u64,
    step: u64,
    stage: usize,
    stage_start: f64,
    n_before: f64,
}

impl Iterator for RateTimes<'_> {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let k = self.next_k as f64;
        loop {
            let (dur, target) = *self.schedule.stages.get(self.stage)?;
            let d = dur.as_secs_f64();
            let r0 = if self.stage == 0 {
                self.schedule.start_rate
            } else {
                self.schedule.stages[self.stage - 1].1
            };
            let r1 = target;
            let in_stage = r0 * d + (r1 - r0) * d / 2.0;
            let n_after = self.n_before + in_stage;
            let c = k - self.n_before;
            // Iteration k belongs to this stage while k < n_after; an exact boundary
            // (k = rate × duration) belongs to the next one. Rounding can put n_after a hair
            // above an integer (7000 per 300ms over 1h gives 84000000.00000001, beyond any
            // absolute epsilon), so the tolerance is relative.
            if k < n_after - 1e-9 * n_after.max(1.0) {
                let a = (r1 - r0) / (2.0 * d.max(1e-12));
                let x = if a.abs() < 1e-12 {
                    if r0 <= 0.0 { 0.0 } else { c / r0 }
                } else {
                    let disc = (r0 * r0 + 4.0 * a * c).max(0.0);
                    (-r0 + disc.sqrt()) / (2.0 * a)
                };
                let x = if x.is_finite() { x } else { d };
                self.next_k += self.step;
                return Some(Duration::from_secs_f64(
                    (self.stage_start + x.clamp(0.0, d)).max(0.0),
                ));
            }
            self.n_before += in_stage;
            self.stage_start += d;
            self.stage += 1;
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Turns a validated config into a runnable plan. Errors here are about the
/// environment (TLS setup) or URLs, and name the field.
pub(crate) fn compile(config: &LoadConfig) -> Result<Plan, String> {
    let mut origins: Vec<Origin> = Vec::new();
    let mut origin_index: BTreeMap<(bool, String, u16), usize> = BTreeMap::new();

    let mut subs: Vec<TagFilter> = Vec::new();
    for selector in config.thresholds.keys() {
        if !selector.filter.is_empty() && !subs.contains(&selector.filter) {
            subs.push(selector.filter.clone());
        }
    }

    let mut scenarios = Vec::new();
    for (name, sc) in &config.scenarios {
        let mut requests = Vec::new();
        for (i, r) in sc.requests.iter().enumerate() {
            let field = format!("load.scenarios.{name}.requests[{i}]");
            let absolute = r.path.starts_with("http://") || r.path.starts_with("https://");
            let full = if absolute {
                r.path.clone()
            } else {
                let target = config
                    .target
                    .as_deref()
                    .ok_or_else(|| format!("{field}.path: relative but load.target is not set"))?;
                format!("{}{}", target.trim_end_matches('/'), r.path)
            };
            let url = url::Url::parse(&full)
                .map_err(|e| format!("{field}.path: {full:?} is not a valid URL: {e}"))?;
            let https = match url.scheme() {
                "http" => false,
                "https" => true,
                other => {
                    return Err(format!(
                        "{field}.path: unsupported scheme {other:?} (use http or https)"
                    ));
                }
            };
            let host = url
                .host_str()
                .ok_or_else(|| format!("{field}.path: {full:?} has no host"))?
                .to_string();
            let port = url
                .port_or_known_default()
                .unwrap_or(if https { 443 } else { 80 });
            let key = (https, host.clone(), port);
            let origin = match origin_index.get(&key) {
                Some(&i) => i,
                None => {
                    let bare = host.trim_start_matches('[').trim_end_matches(']');
                    let literal = bare
                        .parse::<IpAddr>()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, port));
                    let server_name = if https {
                        Some(ServerName::try_from(bare.to_string()).map_err(|_| {
                            format!("{field}.path: {host:?} is not a valid TLS server name")
                        })?)
                    } else {
                        None
                    };
                    origins.push(Origin {
                        https,
                        host: host.clone(),
                        port,
                        server_name,
                        literal,
                    });
                    origin_index.insert(key, origins.len() - 1);
                    origins.len() - 1
                }
            };
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{}", url.path(), q),
                None => url.path().to_string(),
            };
            // Parsing as a URI rejects what would break the request line.
            let _: Uri = path_and_query
                .parse()
                .map_err(|e| format!("{field}.path: {e}"))?;
            let uri_h2: Uri = url
                .as_str()
                .parse()
                .map_err(|e| format!("{field}.path: {e}"))?;
            let method = Method::from_bytes(r.method.as_bytes())
                .map_err(|_| format!("{field}.method: invalid method {:?}", r.method))?;
            let mut headers_h2 = HeaderMap::new();
            for (k, v) in config.headers.iter().chain(r.headers.iter()) {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("{field}.headers: invalid header name {k:?}"))?;
                let value = HeaderValue::from_str(v)
                    .map_err(|_| format!("{field}.headers.{k}: invalid header value"))?;
                headers_h2.insert(name, value);
            }
            let mut headers_h1 = headers_h2.clone();
            if !headers_h1.contains_key(http::header::HOST)
                && let Some(h) = host_header(&url)
            {
                headers_h1.insert(http::header::HOST, h);
            }
            headers_h2.remove(http::header::HOST);
            let tag_name = r.tag_name();
            let routes = subs
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    f.name.as_deref().is_none_or(|n| n == tag_name)
                        && f.scenario.as_deref().is_none_or(|s| s == name)
                        && f.method.as_deref().is_none_or(|m| m == r.method)
                })
                .map(|(sub, f)| SubRoute {
                    sub,
                    status: f.status,
                })
                .collect();
            let body = Bytes::from(r.body.clone().unwrap_or_default());
            let h1 = H1Request::new(&method, &path_and_query, &headers_h1, &body);
            requests.push(PreparedRequest {
                method,
                origin,
                h1,
                uri_h2,
                headers_h2,
                body,
                timeout: r.timeout.unwrap_or(config.timeout).0,
                routes,
            });
        }
        let dur = |d: Option<crate::duration::GoDuration>| d.map(|d| d.0).unwrap_or_default();
        let kind = match sc.executor {
            ExecutorKind::ConstantVus => ExecKind::ConstantVus {
                vus: sc.vus.unwrap_or(1),
                duration: dur(sc.duration),
            },
            ExecutorKind::RampingVus => ExecKind::RampingVus {
                start_vus: sc.start_vus.unwrap_or(1),
                stages: sc
                    .stages
                    .iter()
                    .flatten()
                    .map(|s| (s.duration.0, s.target))
                    .collect(),
                graceful_ramp_down: sc
                    .graceful_ramp_down
                    .map(|d| d.0)
                    .unwrap_or(Duration::from_secs(30)),
            },
            ExecutorKind::ConstantArrivalRate | ExecutorKind::RampingArrivalRate => {
                let unit = sc
                    .time_unit
                    .map(|t| t.0)
                    .unwrap_or(Duration::from_secs(1))
                    .as_secs_f64();
                let per_sec = |r: f64| r / unit;
                let schedule = if sc.executor == ExecutorKind::ConstantArrivalRate {
                    let r = per_sec(sc.rate.unwrap_or(1.0));
                    RateSchedule {
                        start_rate: r,
                        stages: vec![(dur(sc.duration), r)],
                    }
                } else {
                    RateSchedule {
                        start_rate: per_sec(sc.start_rate.unwrap_or(0.0)),
                        stages: sc
                            .stages
                            .iter()
                            .flatten()
                            .map(|s| (s.duration.0, per_sec(s.target as f64)))
                            .collect(),
                    }
                };
                let pre = sc.pre_allocated_vus.unwrap_or(1);
                ExecKind::ArrivalRate {
                    schedule,
                    pre,
                    max: sc.max_vus.unwrap_or(pre).max(pre),
                    drop_after: dur(sc.drop_after),
                }
            }
        };
        scenarios.push(ScenarioPlan {
            name: name.clone(),
            kind,
            start_time: dur(sc.start_time),
            graceful_stop: sc
                .graceful_stop
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(30)),
            requests,
        });
    }

    let mut thresholds = Vec::new();
    for (selector, specs) in &config.thresholds {
        let sub = if selector.filter.is_empty() {
            None
        } else {
            subs.iter().position(|f| *f == selector.filter)
        };
        for spec in specs {
            thresholds.push(CompiledThreshold {
                selector: selector.clone(),
                sub,
                spec: spec.clone(),
            });
        }
    }
    let tls = if origins.iter().any(|o| o.https) {
        Some(tls_connector(config.insecure_skip_tls_verify)?)
    } else {
        None
    };
    Ok(Plan {
        scenarios,
        shared: ClientShared { origins, tls },
        subs,
        thresholds,
        workers: config.workers.unwrap_or_else(default_workers).max(1),
        planned: config.planned_duration(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_schedule_spaces_iterations_evenly() {
        let s = RateSchedule {
            start_rate: 10.0,
            stages: vec![(Duration::from_secs(2), 10.0)],
        };
        let times: Vec<Duration> = s.times(0, 1).collect();
        assert_eq!(times.len(), 20);
        assert_eq!(times[1], Duration::from_millis(100));
        let odd: Vec<Duration> = s.times(1, 2).collect();
        assert_eq!(odd.len(), 10);
    }

    #[test]
    fn ramping_rate_schedule_integrates_the_rate() {
        // 0 → 100/s over 10 s then 100 → 0 over 10 s: 500 + 500 iterations.
        let s = RateSchedule {
            start_rate: 0.0,
            stages: vec![
                (Duration::from_secs(10), 100.0),
                (Duration::from_secs(10), 0.0),
            ],
        };
        let times: Vec<Duration> = s.times(0, 1).collect();
        assert_eq!(times.len(), 1000);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            times[500],
            Duration::from_secs(10),
            "the second stage starts at 10 s"
        );
    }

    #[test]
    fn rate_times_duration_is_exact_when_the_rate_product_rounds_up() {
        // 7000 per 300ms for 1h is 84,000,000 iterations; in floating point the product is
        // 84000000.00000001, which once made a 84,000,001st iteration.
        let per_sec = 7000.0 / Duration::from_millis(300).as_secs_f64();
        let s = RateSchedule {
            start_rate: per_sec,
            stages: vec![(Duration::from_secs(3600), per_sec)],
        };
        assert!(s.times(83_999_999, 1).next().is_some());
        assert_eq!(s.times(84_000_000, 1).next(), None);
    }
}
