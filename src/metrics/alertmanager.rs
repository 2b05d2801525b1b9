//! Alertmanager's v2 API answers (`/api/v2/alerts`, `/api/v2/status`) and Prometheus's own
//! alert list (`/api/v1/alerts`), read as evidence. Alertmanager 0.25's `/-/ready` always
//! answers 200, so readiness comes from `/api/v2/status`'s `cluster.status`.

use super::prom::{PromError, body_excerpt, read_envelope};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// `status.state` of an Alertmanager alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Active,
    Suppressed,
    Unprocessed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub state: AlertState,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
    pub fingerprint: String,
    pub generator_url: String,
}

/// `/api/v2/status`: the cluster's state (`ready`, `settling`, `disabled` for one
/// instance) and the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub cluster: String,
    pub version: String,
}

/// Prometheus's view of an alert (`/api/v1/alerts`): pending alerts never reach
/// Alertmanager.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    pub active_at: Option<Timestamp>,
    pub value: String,
}

/// Alertmanager answers errors as a JSON string (go-swagger) or plain text, with no
/// `errorType`: they become [`PromError::Http`] with the message unquoted.
fn read_json<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, PromError> {
    if !(200..300).contains(&status) {
        let body = match serde_json::from_slice::<String>(body) {
            Ok(message) => body_excerpt(message.as_bytes()),
            Err(_) => body_excerpt(body),
        };
        return Err(PromError::Http { status, body });
    }
    serde_json::from_slice(body).map_err(|e| PromError::Decode(e.to_string()))
}

/// RFC 3339 as both APIs write it; Go's zero time (`0001-01-01T00:00:00Z`) means unset.
fn time(text: Option<&str>) -> Result<Option<Timestamp>, PromError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let at: Timestamp = text
        .parse()
        .map_err(|e| PromError::Decode(format!("time `{text}`: {e}")))?;
    Ok((at.as_second() > -62_135_596_800).then_some(at))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default)]
    fingerprint: String,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
    status: RawAlertStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus {
    state: String,
    #[serde(default)]
    silenced_by: Option<Vec<String>>,
    #[serde(default)]
    inhibited_by: Option<Vec<String>>,
}

/// Reads `GET /api/v2/alerts` (a `gettableAlerts` array).
pub fn read_alerts(status: u16, _content_type: &str, body: &[u8]) -> Result<Vec<Alert>, PromError> {
    let raw: Vec<RawAlert> = read_json(status, body)?;
    raw.into_iter()
        .map(|a| {
            let state = match a.status.state.as_str() {
                "active" => AlertState::Active,
                "suppressed" => AlertState::Suppressed,
                "unprocessed" => AlertState::Unprocessed,
                other => {
                    return Err(PromError::Decode(format!(
                        "alert state `{other}` (expected active, suppressed or unprocessed)"
                    )));
                }
            };
            Ok(Alert {
                starts_at: time(a.starts_at.as_deref())?,
                ends_at: time(a.ends_at.as_deref())?,
                labels: a.labels,
                annotations: a.annotations,
                state,
                silenced_by: a.status.silenced_by.unwrap_or_default(),
                inhibited_by: a.status.inhibited_by.unwrap_or_default(),
                fingerprint: a.fingerprint,
                generator_url: a.generator_url,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatus {
    cluster: RawCluster,
    version_info: RawVersion,
}

#[derive(Deserialize)]
struct RawCluster {
    status: String,
}

#[derive(Deserialize)]
struct RawVersion {
    version: String,
}

/// Reads `GET /api/v2/status`: the cluster's state and the version.
pub fn read_status(status: u16, _content_type: &str, body: &[u8]) -> Result<Status, PromError> {
    let raw: RawStatus = read_json(status, body)?;
    Ok(Status {
        cluster: raw.cluster.status,
        version: raw.version_info.version,
    })
}

#[derive(Deserialize)]
struct RawRuleAlerts {
    alerts: Vec<RawRuleAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRuleAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    active_at: Option<String>,
    #[serde(default)]
    value: String,
}

/// Reads Prometheus's `GET /api/v1/alerts` (pending and firing alerts, in the `/api/v1`
/// envelope).
pub fn read_rule_alerts(
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<Vec<RuleAlert>, PromError> {
    let (raw, _): (RawRuleAlerts, _) = read_envelope(status, content_type, body)?;
    raw.alerts
        .into_iter()
        .map(|a| {
            Ok(RuleAlert {
                active_at: time(a.active_at.as_deref())?,
                labels: a.labels,
                annotations: a.annotations,
                state: a.state,
                value: a.value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const JSON: &str = "application/json";

    #[test]
    fn alerts_read_labels_state_times_and_receivers() {
        let body = r#"[
          {"annotations":{"summary":"5xx ratio above 5% for gravl-backend"},
           "endsAt":"2026-12-04T07:14:00.000Z","fingerprint":"3f2a9c1e0b7d4a55",
           "receivers":[{"name":"oncall"}],"startsAt":"2026-12-04T07:10:00.000Z",
           "status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
           "updatedAt":"2026-12-04T07:10:30.000Z",
           "generatorURL":"http://prometheus:9090/graph?g0.expr=x",
           "labels":{"alertname":"GravlBackendHighErrorRate","namespace":"gravl-staging","severity":"critical"}},
          {"annotations":{},"endsAt":"2026-12-04T07:14:00.000Z","fingerprint":"0a0b",
           "receivers":[{"name":"null"}],"startsAt":"2026-12-04T06:00:00Z",
           "status":{"inhibitedBy":[],"silencedBy":["9d1f2b43-6a55-4a2e-bb0b-1c3f5e7a9d10"],"state":"suppressed"},
           "updatedAt":"2026-12-04T07:10:30Z","labels":{"alertname":"Watchdog"}}
        ]"#;
        let alerts = read_alerts(200, JSON, body.as_bytes()).unwrap();
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert_eq!(a.labels["alertname"], "GravlBackendHighErrorRate");
        assert_eq!(
            a.annotations["summary"],
            "5xx ratio above 5% for gravl-backend"
        );
        assert_eq!(a.state, AlertState::Active);
        assert_eq!(a.starts_at, Some("2026-12-04T07:10:00Z".parse().unwrap()));
        assert_eq!(a.ends_at, Some("2026-12-04T07:14:00Z".parse().unwrap()));
        assert_eq!(a.fingerprint, "3f2a9c1e0b7d4a55");
        assert!(a.generator_url.starts_with("http://prometheus:9090/"));
        let w = &alerts[1];
        assert_eq!(w.state, AlertState::Suppressed);
        assert_eq!(w.silenced_by, ["9d1f2b43-6a55-4a2e-bb0b-1c3f5e7a9d10"]);
        assert_eq!(w.generator_url, "");
    }

    #[test]
    fn no_alerts_is_an_empty_list() {
        assert_eq!(read_alerts(200, JSON, b"[]").unwrap(), []);
    }

    #[test]
    fn unprocessed_alert_with_null_lists_and_zero_end() {
        let body = r#"[{"labels":{"alertname":"X"},"annotations":{},"startsAt":"2026-12-04T07:10:00Z",
            "endsAt":"0001-01-01T00:00:00Z","fingerprint":"ff","receivers":[],
            "status":{"state":"unprocessed","silencedBy":null,"inhibitedBy":null},"updatedAt":"2026-12-04T07:10:00Z"}]"#;
        let alerts = read_alerts(200, JSON, body.as_bytes()).unwrap();
        assert_eq!(alerts[0].state, AlertState::Unprocessed);
        assert_eq!(alerts[0].ends_at, None);
        assert!(alerts[0].silenced_by.is_empty() && alerts[0].inhibited_by.is_empty());
    }

    #[test]
    fn alertmanager_errors_are_http_with_the_message() {
        let err = read_alerts(400, JSON, br#""bad matcher format: severity==""#).unwrap_err();
        assert_eq!(
            err,
            PromError::Http {
                status: 400,
                body: "bad matcher format: severity==".into()
            }
        );
        let err = read_status(500, "text/plain", b"internal error\n").unwrap_err();
        assert!(matches!(err, PromError::Http { status: 500, .. }));
    }

    #[test]
    fn malformed_alerts_are_decode_errors() {
        for body in [
            "{}",
            r#"[{"labels":{},"status":{"state":"resolved"}}]"#,
            r#"[{"labels":{},"status":{"state":"active"},"startsAt":"yesterday"}]"#,
            "<html>",
        ] {
            let err = read_alerts(200, JSON, body.as_bytes()).unwrap_err();
            assert!(matches!(err, PromError::Decode(_)), "{body}: {err:?}");
        }
    }

    #[test]
    fn status_reads_cluster_state_and_version() {
        let body = r#"{"cluster":{"name":"01HGV5W3","peers":[],"status":"disabled"},
            "config":{"original":"global:\n  resolve_timeout: 5m\n"},
            "uptime":"2026-12-04T07:00:00.000Z",
            "versionInfo":{"branch":"debian/sid","buildDate":"20230301","buildUser":"pkg","goVersion":"go1.19.6","revision":"0.25.0","version":"0.25.0"}}"#;
        let status = read_status(200, JSON, body.as_bytes()).unwrap();
        assert_eq!(
            status,
            Status {
                cluster: "disabled".into(),
                version: "0.25.0".into()
            }
        );
        let body = r#"{"cluster":{"name":"a","peers":[{"address":"10.0.0.2:9094","name":"b"}],"status":"ready"},"versionInfo":{"version":"0.27.0"}}"#;
        assert_eq!(
            read_status(200, JSON, body.as_bytes()).unwrap().cluster,
            "ready"
        );
        assert!(matches!(
            read_status(200, JSON, br#"{"cluster":{}}"#),
            Err(PromError::Decode(_))
        ));
    }

    #[test]
    fn prometheus_rule_alerts_read_pending_and_firing() {
        let body = r#"{"status":"success","data":{"alerts":[
            {"labels":{"alertname":"GravlBackendHighErrorRate","severity":"critical"},
             "annotations":{"summary":"5xx above 5%"},"state":"firing",
             "activeAt":"2026-12-04T07:09:41.331296744Z","value":"6.2e-02"},
            {"labels":{"alertname":"GravlBackendSlow"},"annotations":{},"state":"pending",
             "activeAt":"2026-12-04T07:10:11Z","value":"1e+00"}]}}"#;
        let alerts = read_rule_alerts(200, JSON, body.as_bytes()).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].state, "firing");
        assert_eq!(alerts[0].value, "6.2e-02");
        assert_eq!(
            alerts[0].active_at.unwrap().as_millisecond(),
            "2026-12-04T07:09:41.331Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_millisecond()
        );
        assert_eq!(alerts[1].state, "pending");
        let empty = read_rule_alerts(200, JSON, br#"{"status":"success","data":{"alerts":[]}}"#);
        assert_eq!(empty.unwrap(), []);
        assert!(matches!(
            read_rule_alerts(503, "text/plain", b"Service Unavailable"),
            Err(PromError::Http { status: 503, .. })
        ));
    }
}
