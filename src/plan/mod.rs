//! Go-live plan files: model, environment interpolation, validation with positions,
//! and the plans that ship with golive.

pub mod deploy;
pub mod duration;
pub mod expr;
pub mod interpolate;
pub mod model;
pub mod monitor;
pub mod operations;
pub mod phases;
pub mod rbac;

pub use deploy::*;
pub use model::*;
pub use monitor::*;
pub use operations::*;
pub use phases::*;
pub use rbac::*;

use golive_grammar::edit_distance;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

/// Plans shipped with golive, selectable by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("gravl", include_str!("../../assets/plans/gravl.yaml")),
    ("volundr", include_str!("../../assets/plans/volundr.yaml")),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

#[derive(Debug)]
pub struct PlanErrors(pub Vec<PlanError>);

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// A plan read from disk or from the built-ins, with the name it was loaded under.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub source: String,
    pub plan: Plan,
    /// The plan as written, before `${VAR}`s: what the journal records and hashes.
    pub text: String,
}

impl LoadedPlan {
    /// SHA-256 of the plan's text, hex: which plan a journal belongs to.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }
}

/// Loads `name_or_path`: an existing file, else a built-in plan name.
pub fn load(name_or_path: &str) -> Result<LoadedPlan, PlanErrors> {
    load_with_env(name_or_path, |k| std::env::var(k).ok())
}

pub fn load_with_env(
    name_or_path: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<LoadedPlan, PlanErrors> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let error = |line, column, message| {
            PlanErrors(vec![PlanError {
                file: name_or_path.to_string(),
                line,
                column,
                message,
            }])
        };
        let bytes =
            std::fs::read(path).map_err(|e| error(0, 0, format!("cannot read the plan: {e}")))?;
        let text = crate::text::utf8_or_position(bytes).map_err(|(line, column)| {
            error(
                line,
                column,
                "not UTF-8 text: a plan is YAML in UTF-8".into(),
            )
        })?;
        return parse(name_or_path, &text, env);
    }
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        return parse(&format!("builtin:{name}"), text, env);
    }
    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    Err(PlanErrors(vec![PlanError {
        file: name_or_path.to_string(),
        line: 0,
        column: 0,
        message: format!(
            "no such file and no built-in plan of that name (built-in plans: {})",
            names.join(", ")
        ),
    }]))
}

pub fn parse(
    file: &str,
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<LoadedPlan, PlanErrors> {
    let error = |line: usize, column: usize, message: String| PlanError {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let interpolated = interpolate::interpolate(text, env).map_err(|errors| {
        PlanErrors(
            errors
                .into_iter()
                .map(|e| error(e.line, e.column, e.message))
                .collect(),
        )
    })?;
    let plan: Plan = serde_saphyr::from_str(&interpolated.text).map_err(|e| {
        let message = e.without_snippet().to_string();
        let message = strip_position_suffix(&message);
        let (line, column) = e
            .location()
            .map(|l| {
                let line = l.line() as usize;
                (line, interpolated.source_column(line, l.column() as usize))
            })
            .unwrap_or((0, 0));
        PlanErrors(vec![error(line, column, message)])
    })?;
    let mut errors = validate(&plan);
    if let Some(load) = &plan.load
        && let Err(field_errors) = load.validate()
    {
        for mut e in field_errors {
            e.path = format!("load.{}", e.path.trim_start_matches("load."));
            let (line, column) = e.locate(&interpolated.text).unwrap_or((0, 0));
            errors.push((line, column, e.to_string()));
        }
    }
    let errors = errors
        .into_iter()
        .map(|(line, column, message)| {
            error(line, interpolated.source_column(line, column), message)
        })
        .collect::<Vec<_>>();
    if errors.is_empty() {
        Ok(LoadedPlan {
            source: file.to_string(),
            plan,
            text: text.to_string(),
        })
    } else {
        Err(PlanErrors(errors))
    }
}

/// serde-saphyr appends " at line L, column C" to messages; we print the position first.
fn strip_position_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

fn pos<T>(s: &serde_saphyr::Spanned<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

/// Cross-references serde cannot check: duplicate ids and references to unknown ones.
/// What is wrong with a `monitoring:` source, if anything: exactly one of `url` and
/// `service`, and a service written `NAMESPACE/NAME:PORT`.
fn source_error(source: &crate::plan::Source) -> Option<String> {
    match (&source.url, &source.service) {
        (Some(_), Some(_)) => Some("give `url` or `service`, not both".into()),
        (None, None) => Some("expected `url` or `service`".into()),
        (None, Some(service)) => crate::metrics::poll::proxy_path(service).err(),
        (Some(url), None) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            Some(format!("`url: {url}` must start with http:// or https://"))
        }
        _ => None,
    }
}

fn validate(plan: &Plan) -> Vec<(usize, usize, String)> {
    let mut errors = Vec::new();
    let mut gate_ids: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut groups = BTreeSet::new();
    let mut sources_told = BTreeSet::new();
    for gate in &plan.gates {
        let (line, column) = pos(&gate.id);
        if gate.id.value.trim().is_empty() {
            errors.push((line, column, "a gate id cannot be empty".into()));
        }
        if let Some((first_line, _)) = gate_ids.insert(&gate.id.value, (line, column)) {
            errors.push((
                line,
                column,
                format!(
                    "duplicate gate id `{}` (first defined on line {first_line})",
                    gate.id.value
                ),
            ));
        }
        groups.insert(gate.group.as_str());
        if gate.checks.is_empty() {
            errors.push((
                line,
                column,
                format!(
                    "gate `{}` has no checks: expected at least one",
                    gate.id.value
                ),
            ));
        }
        for check in &gate.checks {
            if let Check::LoadThresholds(_) = check
                && plan.load.is_none()
            {
                errors.push((
                    line,
                    column,
                    format!(
                        "gate `{}` checks load thresholds but the plan has no `load` section",
                        gate.id.value
                    ),
                ));
            }
            for message in check_errors(check) {
                errors.push((line, column, format!("gate `{}`: {message}", gate.id.value)));
            }
            let monitoring = plan.monitoring.as_ref();
            let missing = match check {
                Check::Prometheus(_) | Check::Scraped(_)
                    if monitoring.and_then(|m| m.prometheus.as_ref()).is_none() =>
                {
                    Some("prometheus")
                }
                Check::Alerts(_) if monitoring.and_then(|m| m.alertmanager.as_ref()).is_none() => {
                    Some("alertmanager")
                }
                _ => None,
            };
            if let Some(source) = missing {
                errors.push((
                    line,
                    column,
                    format!(
                        "gate `{}` checks {source} but the plan's `monitoring:` names no {source}",
                        gate.id.value
                    ),
                ));
            }
            // A source's own mistakes, told once, at the first gate that uses it.
            let used = match check {
                Check::Prometheus(_) | Check::Scraped(_) => {
                    Some(("prometheus", monitoring.and_then(|m| m.prometheus.as_ref())))
                }
                Check::Alerts(_) => Some((
                    "alertmanager",
                    monitoring.and_then(|m| m.alertmanager.as_ref()),
                )),
                _ => None,
            };
            if let Some((name, Some(source))) = used
                && sources_told.insert(name)
                && let Some(problem) = source_error(source)
            {
                errors.push((
                    line,
                    column,
                    format!(
                        "gate `{}` checks {name}, but `monitoring.{name}`: {problem}",
                        gate.id.value
                    ),
                ));
            }
            if let Check::WarningEvents(w) = check
                && let Since::Phase(name) = &w.since
                && !plan.runbook.is_empty()
                && w.since
                    .phase(plan.runbook.iter().map(|p| p.phase.value.as_str()))
                    .is_none()
            {
                let known = plan.runbook.iter().map(|p| p.phase.value.as_str());
                errors.push((
                    line,
                    column,
                    format!(
                        "gate `{}`: warning_events since: {}",
                        gate.id.value,
                        unknown("phase", name, known)
                    ),
                ));
            }
            if let Check::Allow(r) | Check::Deny(r) = check {
                for (side, peer) in [("from", &r.from), ("to", &r.to)] {
                    let kinds = [
                        peer.namespace.is_some() || peer.namespace_selector.is_some(),
                        peer.cidr.is_some(),
                    ];
                    if kinds.iter().filter(|k| **k).count() != 1 {
                        errors.push((
                            line,
                            column,
                            format!(
                                "gate `{}`: `{side}` needs either `namespace`/`namespace_selector` (with an optional `selector`) or `cidr`",
                                gate.id.value
                            ),
                        ));
                    }
                }
            }
        }
    }
    let mut phase_names: HashMap<&str, usize> = HashMap::new();
    let mut step_ids: HashMap<String, usize> = HashMap::new();
    for phase in &plan.runbook {
        let (line, column) = pos(&phase.phase);
        if let Some(first) = phase_names.insert(&phase.phase.value, line) {
            errors.push((
                line,
                column,
                format!(
                    "duplicate phase `{}` (first on line {first})",
                    phase.phase.value
                ),
            ));
        }
        for step in &phase.steps {
            let id = step.id();
            let line = step.0.id.as_ref().map(|i| pos(i).0).unwrap_or(line);
            if let Some(first) = step_ids.insert(id.clone(), line) {
                let (l, c) = step.0.id.as_ref().map(pos).unwrap_or((line, column));
                errors.push((
                    l,
                    c,
                    format!(
                        "duplicate step id `{id}` (first on line {first}); give one of them an `id`"
                    ),
                ));
            }
        }
    }
    // `requires` names steps or phases that exist, never the phase the step is in.
    let check_requirement = |req: &serde_saphyr::Spanned<String>,
                             own_phase: &str,
                             who: &str,
                             errors: &mut Vec<(usize, usize, String)>| {
        let (line, column) = pos(req);
        if req.value == own_phase {
            errors.push((
                line,
                column,
                format!(
                    "`{who}` requires its own phase `{own_phase}`, which can never be done first"
                ),
            ));
        } else if !step_ids.contains_key(&req.value)
            && !phase_names.contains_key(req.value.as_str())
        {
            errors.push((
                line,
                column,
                unknown(
                    "step or phase",
                    &req.value,
                    step_ids
                        .keys()
                        .map(String::as_str)
                        .chain(phase_names.keys().copied()),
                ),
            ));
        }
    };
    for phase in &plan.runbook {
        for step in &phase.steps {
            if let Some(verify) = &step.0.verify {
                let (line, column) = pos(verify);
                match &verify.value {
                    Verify::Gate(id) | Verify::Held(id, _)
                        if !gate_ids.contains_key(id.as_str()) =>
                    {
                        errors.push((line, column, unknown("gate", id, gate_ids.keys().copied())))
                    }
                    Verify::Group(g) if !groups.contains(g.as_str()) => errors.push((
                        line,
                        column,
                        unknown("gate group", g, groups.iter().copied()),
                    )),
                    Verify::Load if plan.load.is_none() => errors.push((
                        line,
                        column,
                        "`verify: load` but the plan has no `load` section".into(),
                    )),
                    _ => {}
                }
            }
            for req in &step.0.requires {
                check_requirement(req, &phase.phase.value, &step.0.text, &mut errors);
            }
        }
        for req in &phase.requires {
            check_requirement(req, &phase.phase.value, &phase.phase.value, &mut errors);
        }
    }
    for gate in &plan.gates {
        for check in &gate.checks {
            if let Check::Tcp(t) = check
                && let Some(step) = &t.attested_in
                && !step_ids.contains_key(step)
            {
                let (line, column) = pos(&gate.id);
                errors.push((
                    line,
                    column,
                    format!(
                        "gate `{}`: `attested_in`: {}",
                        gate.id.value,
                        unknown("runbook step", step, step_ids.keys().map(String::as_str))
                    ),
                ));
            }
        }
    }
    let mut roles = BTreeSet::new();
    for role in &plan.signoff {
        if !roles.insert(role) {
            errors.push((0, 0, format!("sign-off role `{role}` is listed twice")));
        }
    }
    errors.sort();
    errors
}

fn url_errors(text: &str) -> Vec<String> {
    match url::Url::parse(text) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Vec::new(),
        Ok(u) => vec![format!(
            "`{text}`: scheme {} is not http or https",
            u.scheme()
        )],
        Err(e) => vec![format!("`{text}` is not a URL: {e}")],
    }
}

fn source_errors(s: &ValueSource) -> Vec<String> {
    let mut errors = Vec::new();
    match (&s.config_map, &s.env) {
        (Some(_), Some(_)) | (None, None) => {
            errors.push("a value comes from exactly one of `config_map` and `env`".into())
        }
        (Some(cm), None) if cm.path.is_some() && cm.format == ValueFormat::Text => {
            errors.push(format!(
                "`path` needs `format: yaml` or `format: json` on key {}",
                cm.key
            ))
        }
        _ => {}
    }
    errors
}

/// What serde cannot see inside one check: sources, expressions, names.
fn check_errors(check: &Check) -> Vec<String> {
    match check {
        Check::ConfigValue(c) => source_errors(&c.source()),
        Check::SecretExists(c) if c.names.is_empty() && c.selector.is_none() => {
            vec!["secret_exists needs `names` or `selector`".into()]
        }
        Check::ResourceExists(c) if c.api_version.trim().is_empty() || c.kind.trim().is_empty() => {
            vec!["resource_exists needs `api_version` and `kind`".into()]
        }
        Check::Prometheus(p) => {
            let mut errors = Vec::new();
            if let Some(e) = monitor::query_errors(&p.query) {
                errors.push(format!("prometheus query: {e}: `{}`", p.query.trim()));
            }
            if let Some(m) = &p.min_traffic
                && let Some(e) = monitor::query_errors(&m.query)
            {
                errors.push(format!("min_traffic query: {e}: `{}`", m.query.trim()));
            }
            if p.every.0 < std::time::Duration::from_secs(15) {
                errors.push(format!(
                    "`every: {}` is under 15s: golive asks Prometheus at most every 15s",
                    p.every
                ));
            }
            errors
        }
        Check::Rollout(c) if c.kinds.is_empty() => {
            vec!["rollout needs at least one of `kinds`: Deployment, StatefulSet, DaemonSet".into()]
        }
        Check::JobSucceeded(c) if c.name.is_none() && c.selector.is_none() => {
            vec!["job_succeeded needs `name` or `selector`".into()]
        }
        Check::Http(h) => {
            let mut errors = url_errors(&h.url);
            if http::Method::from_bytes(h.method.to_ascii_uppercase().as_bytes()).is_err() {
                errors.push(format!("`{}` is not an HTTP method", h.method));
            }
            if h.equals.is_some() && h.json_path.is_none() {
                errors.push("`equals` needs a `json_path`".into());
            }
            errors
        }
        Check::Sse(s) => url_errors(&s.url),
        Check::DnsRecords(c) => operations::dns_errors(c),
        Check::Tcp(t) if !t.address.trim().is_empty() && !t.address.contains(':') => {
            vec![format!(
                "tcp address `{}` needs a port: host:port",
                t.address
            )]
        }
        Check::Expression(e) => {
            let mut errors = Vec::new();
            for (name, v) in &e.values {
                if let ExpressionValue::ConfigValue(s) = v {
                    errors.extend(
                        source_errors(s)
                            .into_iter()
                            .map(|m| format!("value `{name}`: {m}")),
                    );
                }
            }
            match expr::Expression::parse(&e.expr) {
                Err(m) => errors.push(format!("expression: {m}")),
                Ok(parsed) => {
                    for name in parsed.names() {
                        if !e.values.contains_key(&name) {
                            errors.push(format!(
                                "expression uses `{name}`, which `values` does not declare"
                            ));
                        }
                    }
                }
            }
            errors
        }
        _ => Vec::new(),
    }
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let mut known: Vec<&str> = known.collect();
    known.sort();
    let close: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.contains(name) || name.contains(k) || edit_distance(k, name) <= 2)
        .collect();
    if close.is_empty() {
        format!("unknown {what} `{name}` (known: {})", known.join(", "))
    } else {
        format!(
            "unknown {what} `{name}`; did you mean `{}`?",
            close.join("`, `")
        )
    }
}

#[cfg(test)]
mod tests;
