//! `http`, `sse` and `tcp`: verdicts over probe results kept in the context. The probing
//! itself is `crate::probe`; a probe not yet run, or run too long ago, is unknown.

use super::json::{lookup, scalar_text};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status};
use crate::cluster::{ClusterView, WatchKey};
use crate::plan::{HttpCheck, SseCheck, TcpCheck};
use crate::probe::{ProbeResult, Probes, http_key, sse_key, tcp_key};
use jiff::Timestamp;

/// Probe results older than this no longer count as evidence.
const STALE_AFTER_SECONDS: i64 = 300;

fn millis(d: std::time::Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn result<'a>(
    kind: &'static str,
    key: String,
    probes: &'a Probes,
    now: Timestamp,
) -> Result<(&'a ProbeResult, String), CheckVerdict> {
    let Some(r) = probes.get(&key) else {
        return Err(CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("not probed yet: {key}"),
        ));
    };
    let age = now.as_second() - r.at.as_second();
    if age > STALE_AFTER_SECONDS {
        return Err(CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("stale: {key} last probed {age}s ago"),
        ));
    }
    Ok((r, key))
}

pub fn http(c: &HttpCheck, probes: &Probes, now: Timestamp) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "http";
    let (r, key) = result(kind, http_key(c), probes, now)?;
    let Some(status) = r.status else {
        let why = r.error.clone().unwrap_or_else(|| "no answer".into());
        return Ok(
            CheckVerdict::new(kind, Status::Fail, format!("{} {}: {why}", c.method, c.url))
                .with_evidence(vec![Evidence::new(key, why)])
                .with_fix("is the service up and the URL right? set VOLUNDR_URL to reach it"),
        );
    };
    let mut faults = Vec::new();
    let mut detail = vec![format!("{status} in {}", millis(r.elapsed))];
    if status != c.status {
        faults.push(format!("status {status}, expected {}", c.status));
    }
    if r.elapsed > c.within.0 {
        faults.push(format!("took {}, bound {}", millis(r.elapsed), c.within));
    }
    if let Some(e) = &r.error {
        faults.push(e.clone());
    }
    if let Some(path) = &c.json_path {
        let body = r.body.as_deref().unwrap_or("");
        match serde_json::from_str::<serde_json::Value>(body) {
            Err(e) => faults.push(format!("body is not JSON: {e}")),
            Ok(json) => match lookup(&json, path) {
                None => faults.push(format!("{path} missing from the body")),
                Some(v) => {
                    let text = scalar_text(v);
                    detail.push(format!("{path} = {text}"));
                    if let Some(want) = &c.equals
                        && &text != want
                    {
                        faults.push(format!("{path} is `{text}`, expected `{want}`"));
                    }
                }
            },
        }
    }
    let evidence = vec![Evidence::new(key, detail.join(", "))];
    if faults.is_empty() {
        Ok(CheckVerdict::new(
            kind,
            Status::Pass,
            format!("{} {} → {status} in {}", c.method, c.url, millis(r.elapsed)),
        )
        .with_evidence(evidence))
    } else {
        Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("{} {}: {}", c.method, c.url, faults.join("; ")),
        )
        .with_evidence(evidence))
    }
}

pub fn sse(c: &SseCheck, probes: &Probes, now: Timestamp) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "sse";
    let (r, key) = result(kind, sse_key(c), probes, now)?;
    let fail = |why: String| -> Result<CheckVerdict, CheckVerdict> {
        Ok(
            CheckVerdict::new(kind, Status::Fail, format!("{}: {why}", c.url))
                .with_evidence(vec![Evidence::new(key.clone(), why.clone())]),
        )
    };
    let Some(status) = r.status else {
        return fail(r.error.clone().unwrap_or_else(|| "no answer".into()));
    };
    if !(200..300).contains(&status) {
        return fail(format!("status {status}"));
    }
    let ct = r
        .content_type
        .clone()
        .unwrap_or_else(|| "no content type".into());
    if !ct
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/event-stream")
    {
        return fail(format!("content type {ct}, not text/event-stream")).map(|v| {
            v.with_fix("the endpoint is not an SSE stream: check the route and any proxy in front")
        });
    }
    match &r.first_event {
        Some((after, event)) if *after <= c.first_event_within.0 => {
            let first_line = event.lines().next().unwrap_or("");
            Ok(CheckVerdict::new(
                kind,
                Status::Pass,
                format!("{}: first event after {}", c.url, millis(*after)),
            )
            .with_evidence(vec![Evidence::new(key, format!("{ct}; {first_line}"))]))
        }
        Some((after, _)) => fail(format!(
            "first event after {}, bound {}",
            millis(*after),
            c.first_event_within
        )),
        None => fail(r.error.clone().unwrap_or_else(|| "no event".into())).map(|v| {
            v.with_fix(
                "a buffering proxy (nginx proxy-buffering, 60s read timeout) holds SSE events back",
            )
        }),
    }
}

pub fn tcp(c: &TcpCheck, probes: &Probes, now: Timestamp) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "tcp";
    if c.address.trim().is_empty() {
        let step = c
            .attested_in
            .as_deref()
            .map(|s| format!(" (runbook step `{s}` records who attested)"))
            .unwrap_or_default();
        return Ok(CheckVerdict::new(
            kind,
            Status::Warn,
            format!("no address to probe: a manual attestation{step}"),
        ));
    }
    let (r, key) = result(kind, tcp_key(c).unwrap_or_default(), probes, now)?;
    match &r.error {
        None if r.elapsed <= c.within.0 => Ok(CheckVerdict::new(
            kind,
            Status::Pass,
            format!("{} accepts connections ({})", c.address, millis(r.elapsed)),
        )
        .with_evidence(vec![Evidence::new(key, format!("connected in {}", millis(r.elapsed)))])),
        None => Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("{} connected after {}, bound {}", c.address, millis(r.elapsed), c.within),
        )),
        Some(e) => Ok(CheckVerdict::new(kind, Status::Fail, format!("{}: {e}", c.address))
            .with_evidence(vec![Evidence::new(key, e.clone())])
            .with_fix("probe from where golive runs; check firewalls, NetworkPolicy egress and the address")),
    }
}

impl CheckKind for HttpCheck {
    const NAME: &'static str = "http";

    fn watches(&self) -> Vec<WatchKey> {
        vec![]
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        http(self, ctx.probes(), ctx.now())
    }
}

impl CheckKind for SseCheck {
    const NAME: &'static str = "sse";

    fn watches(&self) -> Vec<WatchKey> {
        vec![]
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        sse(self, ctx.probes(), ctx.now())
    }
}

impl CheckKind for TcpCheck {
    const NAME: &'static str = "tcp";

    fn watches(&self) -> Vec<WatchKey> {
        vec![]
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        tcp(self, ctx.probes(), ctx.now())
    }
}
