//! The `load:` section of a golive plan: serde model and cross-field validation.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, de};

use crate::duration::GoDuration;
use crate::threshold::{MetricSelector, ThresholdSpec};

fn default_timeout() -> GoDuration {
    GoDuration::from_secs(60)
}

/// The `load:` section. Keys follow k6's camelCase option names.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadConfig {
    /// Base URL that relative request paths are joined to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Accept any server certificate (staging certificates). Off by default.
    #[serde(default, rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    /// Default per-request timeout (k6's default is 60s).
    #[serde(default = "default_timeout")]
    pub timeout: GoDuration,
    /// Headers sent with every request (a request's own headers win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Load-generator threads; default: the CPUs this process may run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// A k6 (or golive) summary file to judge instead of running scenarios: the team ran
    /// its own k6 script. Read by the root binary, relative to its working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default)]
    pub scenarios: BTreeMap<String, Scenario>,
    #[serde(default)]
    pub thresholds: BTreeMap<MetricSelector, Vec<ThresholdSpec>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    ConstantVus,
    RampingVus,
    ConstantArrivalRate,
    RampingArrivalRate,
}

impl ExecutorKind {
    pub fn name(self) -> &'static str {
        match self {
            ExecutorKind::ConstantVus => "constant-vus",
            ExecutorKind::RampingVus => "ramping-vus",
            ExecutorKind::ConstantArrivalRate => "constant-arrival-rate",
            ExecutorKind::RampingArrivalRate => "ramping-arrival-rate",
        }
    }
}

/// `{duration: 10s, target: 100}`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub duration: GoDuration,
    pub target: u64,
}

/// One named scenario. A flat struct (rather than an enum tagged by `executor`) so every
/// field error keeps its line:column; executor-specific rules live in `validate()`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    pub executor: ExecutorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<GoDuration>,
    #[serde(default, rename = "startVUs", skip_serializing_if = "Option::is_none")]
    pub start_vus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Stage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_ramp_down: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<GoDuration>,
    #[serde(
        default,
        rename = "preAllocatedVUs",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_allocated_vus: Option<u64>,
    #[serde(default, rename = "maxVUs", skip_serializing_if = "Option::is_none")]
    pub max_vus: Option<u64>,
    /// Delay before the scenario starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<GoDuration>,
    /// How long in-flight iterations may run after the scenario ends (k6 default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_stop: Option<GoDuration>,
    /// golive extension for arrival-rate executors: how long an iteration that finds every
    /// VU busy (maxVUs reached) may wait for one before it counts as dropped. Default 0s,
    /// k6's behaviour (drop at once). Waiting iterations are measured from their intended
    /// start, so the queueing shows in the corrected latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after: Option<GoDuration>,
    pub requests: Vec<RequestSpec>,
}

/// One request of an iteration. Short form `"GET /health"` or the long form.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSpec {
    pub method: String,
    /// Path relative to `target`, or an absolute `http(s)://` URL.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongRequest {
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    timeout: Option<GoDuration>,
}

fn default_method() -> String {
    "GET".into()
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RequestSpec {
    pub fn parse_short(text: &str) -> Result<RequestSpec, String> {
        let mut parts = text.split_whitespace();
        let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "expected a request like \"GET /health\", got {text:?}"
            ));
        };
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(format!(
                "expected a request like \"GET /health\", got {text:?} (unknown method {method}; use one of {})",
                METHODS.join(", ")
            ));
        }
        Ok(RequestSpec {
            method,
            path: path.to_string(),
            name: None,
            headers: BTreeMap::new(),
            body: None,
            timeout: None,
        })
    }

    /// The `name` tag: the explicit name, else the path as written (k6 uses the URL).
    pub fn tag_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.path)
    }
}

impl<'de> Deserialize<'de> for RequestSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RequestSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request like \"GET /health\" or {method: GET, path: /health}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestSpec, E> {
                RequestSpec::parse_short(v).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RequestSpec, A::Error> {
                let long = LongRequest::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let method = long.method.to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    return Err(de::Error::custom(format!(
                        "unknown HTTP method {method}; use one of {}",
                        METHODS.join(", ")
                    )));
                }
                Ok(RequestSpec {
                    method,
                    path: long.path,
                    name: long.name,
                    headers: long.headers,
                    body: long.body,
                    timeout: long.timeout,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A validation problem, naming the field path (`load.scenarios.spike.maxVUs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl FieldError {
    /// 1-based line and column of the deepest key of `path` found in the plan's YAML
    /// `text`, each key searched after the previous one: plain, `"double"` or `'single'`
    /// quoted, in block or flow style. `None` when not even the first key is there.
    pub fn locate(&self, text: &str) -> Option<(usize, usize)> {
        let mut from = 0;
        let mut found = None;
        for key in path_keys(&self.path) {
            let Some(at) = find_key(&text[from..], &key).map(|i| from + i) else {
                break;
            };
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            found = Some((
                text[..at].matches('\n').count() + 1,
                text[line_start..at].chars().count() + 1,
            ));
            from = at + key.len();
        }
        found
    }
}

/// A map key as a path segment: bare when it is a plain name, quoted otherwise (threshold
/// selectors carry braces, colons and possibly dots), so a bare key reads as in the YAML.
fn path_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The keys of a field path (`load.thresholds."a{name:x.y}"[0].b`), without indexes.
fn path_keys(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let (key, after) = if let Some(quoted) = rest.strip_prefix('"') {
            // Debug-quoted: the closing quote is the first one not escaped.
            let mut escaped = false;
            let end = quoted
                .char_indices()
                .find(|&(_, c)| {
                    let close = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    close
                })
                .map_or(quoted.len(), |(i, _)| i);
            let key = quoted[..end].replace("\\\"", "\"").replace("\\\\", "\\");
            (key, quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        keys.push(key);
        // Skip indexes and the separator before the next key.
        let next = after.find('.').map_or("", |i| &after[i + 1..]);
        rest = if after.starts_with('[') || after.starts_with('.') {
            next
        } else {
            ""
        };
    }
    keys
}

/// Byte offset of `key` written as a mapping key in `text`: bare (at a line start, or after
/// whitespace, `{` or `,`), or quoted either way, followed by `:`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let quoted = [format!("\"{key}\":"), format!("'{key}':")];
    let bare = format!("{key}:");
    let quoted_at = quoted.iter().filter_map(|q| text.find(q.as_str())).min();
    let bare_at = text
        .match_indices(bare.as_str())
        .map(|(i, _)| i)
        .find(|&i| {
            text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || c == '{' || c == ',')
        });
    match (quoted_at, bare_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl LoadConfig {
    /// A constant-vus or constant-arrival-rate test of one URL, as `golive load --url` runs it.
    pub fn ad_hoc(url: &str, vus: u64, duration: Duration, rate: Option<f64>) -> LoadConfig {
        let request = RequestSpec {
            method: "GET".into(),
            path: url.to_string(),
            name: None,
            headers: BTreeMap::new(),
            body: None,
            timeout: None,
        };
        let mut scenario = Scenario {
            executor: ExecutorKind::ConstantVus,
            vus: Some(vus),
            duration: Some(GoDuration(duration)),
            start_vus: None,
            stages: None,
            graceful_ramp_down: None,
            rate: None,
            start_rate: None,
            time_unit: None,
            pre_allocated_vus: None,
            max_vus: None,
            start_time: None,
            graceful_stop: None,
            drop_after: None,
            requests: vec![request],
        };
        if let Some(rate) = rate {
            scenario.executor = ExecutorKind::ConstantArrivalRate;
            scenario.vus = None;
            scenario.rate = Some(rate);
            scenario.time_unit = Some(GoDuration::from_secs(1));
            scenario.pre_allocated_vus = Some(vus);
            scenario.max_vus = Some(vus);
        }
        let mut scenarios = BTreeMap::new();
        scenarios.insert("default".to_string(), scenario);
        LoadConfig {
            target: None,
            insecure_skip_tls_verify: false,
            timeout: default_timeout(),
            headers: BTreeMap::new(),
            workers: None,
            from: None,
            scenarios,
            thresholds: BTreeMap::new(),
        }
    }

    /// Cross-field rules serde cannot express. Every error names the field path.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |path: String, message: String| errors.push(FieldError { path, message });
        if let Some(target) = &self.target {
            match url::Url::parse(target) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => err(
                    "load.target".into(),
                    format!("expected an http:// or https:// URL, got {target:?}"),
                ),
            }
        }
        if self.timeout.0.is_zero() {
            err("load.timeout".into(), "must be greater than 0s".into());
        }
        if self.workers == Some(0) {
            err("load.workers".into(), "must be at least 1".into());
        }
        match &self.from {
            Some(_) if !self.scenarios.is_empty() => err(
                "load.from".into(),
                "a plan either runs scenarios or judges a summary file (from:); remove one".into(),
            ),
            Some(file) if file.trim().is_empty() => {
                err("load.from".into(), "expected a file name".into())
            }
            Some(_) => {}
            None if self.scenarios.is_empty() => err(
                "load.scenarios".into(),
                "define at least one scenario (or `from:` a k6 summary file)".into(),
            ),
            None => {}
        }
        for (name, sc) in &self.scenarios {
            let p = |field: &str| format!("load.scenarios.{name}.{field}");
            let kind = sc.executor;
            let allowed: &[&str] = match kind {
                ExecutorKind::ConstantVus => &["vus", "duration"],
                ExecutorKind::RampingVus => &["startVUs", "stages", "gracefulRampDown"],
                ExecutorKind::ConstantArrivalRate => &[
                    "rate",
                    "timeUnit",
                    "duration",
                    "preAllocatedVUs",
                    "maxVUs",
                    "dropAfter",
                ],
                ExecutorKind::RampingArrivalRate => &[
                    "startRate",
                    "timeUnit",
                    "stages",
                    "preAllocatedVUs",
                    "maxVUs",
                    "dropAfter",
                ],
            };
            let present = [
                ("vus", sc.vus.is_some()),
                ("duration", sc.duration.is_some()),
                ("startVUs", sc.start_vus.is_some()),
                ("stages", sc.stages.is_some()),
                ("gracefulRampDown", sc.graceful_ramp_down.is_some()),
                ("rate", sc.rate.is_some()),
                ("startRate", sc.start_rate.is_some()),
                ("timeUnit", sc.time_unit.is_some()),
                ("preAllocatedVUs", sc.pre_allocated_vus.is_some()),
                ("maxVUs", sc.max_vus.is_some()),
                ("dropAfter", sc.drop_after.is_some()),
            ];
            for (field, is_set) in present {
                if is_set && !allowed.contains(&field) {
                    err(
                        p(field),
                        format!("is not an option of executor {}", kind.name()),
                    );
                }
            }
            let need_duration = matches!(
                kind,
                ExecutorKind::ConstantVus | ExecutorKind::ConstantArrivalRate
            );
            if need_duration {
                match sc.duration {
                    None => err(p("duration"), format!("is required for {}", kind.name())),
                    Some(d) if d.0.is_zero() => {
                        err(p("duration"), "must be greater than 0s".into())
                    }
                    _ => {}
                }
            }
            if kind == ExecutorKind::ConstantVus {
                match sc.vus {
                    Some(0) => err(p("vus"), "must be at least 1".into()),
                    Some(v) if v > 100_000 => err(p("vus"), "must be at most 100000".into()),
                    _ => {}
                }
            }
            if matches!(
                kind,
                ExecutorKind::RampingVus | ExecutorKind::RampingArrivalRate
            ) {
                match &sc.stages {
                    None => err(p("stages"), format!("is required for {}", kind.name())),
                    Some(stages) if stages.is_empty() => {
                        err(p("stages"), "needs at least one stage".into())
                    }
                    Some(stages) => {
                        if kind == ExecutorKind::RampingVus {
                            for (i, st) in stages.iter().enumerate() {
                                if st.target > 100_000 {
                                    err(
                                        format!("{}[{i}].target", p("stages")),
                                        "must be at most 100000 VUs".into(),
                                    );
                                }
                            }
                        }
                    }
                }
            }
            if matches!(
                kind,
                ExecutorKind::ConstantArrivalRate | ExecutorKind::RampingArrivalRate
            ) {
                if kind == ExecutorKind::ConstantArrivalRate {
                    match sc.rate {
                        None => err(p("rate"), "is required for constant-arrival-rate".into()),
                        Some(r) if !(r > 0.0 && r.is_finite()) => {
                            err(p("rate"), format!("must be greater than 0, got {r}"))
                        }
                        _ => {}
                    }
                }
                if let Some(r) = sc.start_rate
                    && !(r >= 0.0 && r.is_finite())
                {
                    err(p("startRate"), format!("must be 0 or more, got {r}"));
                }
                if let Some(t) = sc.time_unit
                    && t.0.is_zero()
                {
                    err(p("timeUnit"), "must be greater than 0s".into());
                }
                let pre = sc.pre_allocated_vus;
                match pre {
                    None => err(
                        p("preAllocatedVUs"),
                        format!("is required for {}", kind.name()),
                    ),
                    Some(0) if sc.max_vus.unwrap_or(0) == 0 => err(
                        p("preAllocatedVUs"),
                        "must be at least 1 (or set maxVUs)".into(),
                    ),
                    _ => {}
                }
                if let (Some(pre), Some(max)) = (pre, sc.max_vus)
                    && max < pre
                {
                    err(
                        p("maxVUs"),
                        format!("must be >= preAllocatedVUs ({pre}), got {max}"),
                    );
                }
                if sc.max_vus.unwrap_or(0).max(pre.unwrap_or(0)) > 100_000 {
                    err(p("maxVUs"), "must be at most 100000".into());
                }
            }
            if sc.requests.is_empty() {
                err(p("requests"), "needs at least one request".into());
            }
            for (i, r) in sc.requests.iter().enumerate() {
                let rp = format!("{}[{i}]", p("requests"));
                let absolute = r.path.starts_with("http://") || r.path.starts_with("https://");
                if absolute {
                    if url::Url::parse(&r.path)
                        .map(|u| u.host_str().is_none())
                        .unwrap_or(true)
                    {
                        err(
                            format!("{rp}.path"),
                            format!("is not a valid URL: {:?}", r.path),
                        );
                    }
                } else if !r.path.starts_with('/') {
                    err(
                        format!("{rp}.path"),
                        format!(
                            "expected a path starting with / or an http(s):// URL, got {:?}",
                            r.path
                        ),
                    );
                } else if self.target.is_none() {
                    err(
                        format!("{rp}.path"),
                        format!("{:?} is relative but load.target is not set", r.path),
                    );
                }
                for (k, v) in &r.headers {
                    if http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                        err(
                            format!("{rp}.headers.{k}"),
                            "is not a valid header name".into(),
                        );
                    }
                    if http::HeaderValue::from_str(v).is_err() {
                        err(
                            format!("{rp}.headers.{k}"),
                            "is not a valid header value".into(),
                        );
                    }
                }
                if let Some(t) = r.timeout
                    && t.0.is_zero()
                {
                    err(format!("{rp}.timeout"), "must be greater than 0s".into());
                }
            }
        }
        for (k, v) in &self.headers {
            if http::HeaderName::from_bytes(k.as_bytes()).is_err()
                || http::HeaderValue::from_str(v).is_err()
            {
                err(format!("load.headers.{k}"), "is not a valid header".into());
            }
        }
        for (selector, specs) in &self.thresholds {
            if let Some(sc) = &selector.filter.scenario
                && self.from.is_none()
                && !self.scenarios.contains_key(sc)
            {
                err(
                    format!("load.thresholds.{}", path_key(&selector.to_string())),
                    format!("filters on scenario {sc:?}, which is not defined"),
                );
            }
            for (i, spec) in specs.iter().enumerate() {
                if let Err(m) = spec.expr.check_metric(selector.metric) {
                    err(
                        format!("load.thresholds.{}[{i}]", path_key(&selector.to_string())),
                        m,
                    );
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Planned run length: the longest scenario (startTime + duration or stages).
    pub fn planned_duration(&self) -> Duration {
        self.scenarios
            .values()
            .map(Scenario::planned_duration)
            .max()
            .unwrap_or_default()
    }
}

impl Scenario {
    pub fn planned_duration(&self) -> Duration {
        let start = self.start_time.map(|d| d.0).unwrap_or_default();
        let body = match self.executor {
            ExecutorKind::ConstantVus | ExecutorKind::ConstantArrivalRate => {
                self.duration.map(|d| d.0).unwrap_or_default()
            }
            ExecutorKind::RampingVus | ExecutorKind::RampingArrivalRate => {
                self.stages.iter().flatten().map(|s| s.duration.0).sum()
            }
        };
        start + body
    }
}
