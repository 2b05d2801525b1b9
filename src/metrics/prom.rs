//! The Prometheus HTTP API's answers: the envelope, the result shapes and the errors, read
//! without trusting anything (values arrive as strings: `"NaN"`, `"+Inf"`; a server that is
//! not ready answers plain text; an empty vector means "no series", never 0).

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// One series at one instant. `value` may be NaN or ±Inf: judging decides what they mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub at: Timestamp,
    pub value: f64,
}

/// One series over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(Timestamp, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(Timestamp, f64),
    String(Timestamp, String),
}

/// A successful answer, with the API's `warnings` (and `infos`, 2.54+) to show beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAnswer {
    pub data: QueryData,
    pub warnings: Vec<String>,
}

/// Why there is no answer. Each is shown as it came: Prometheus's own error text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    /// Connection refused, DNS, TLS: nothing answered.
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("no answer from {url} within {seconds}s")]
    Timeout { url: String, seconds: u64 },
    /// The API's error envelope: `bad_data` (400), `execution` (422), `timeout`/`canceled`/
    /// `unavailable` (503), `internal` (500), `not_found` (404).
    #[error("{error_type}: {error}")]
    Api {
        status: u16,
        error_type: String,
        error: String,
    },
    /// A non-JSON answer, e.g. the plain-text 503 of a server still starting.
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    /// JSON that is not the API's shape.
    #[error("unreadable answer: {0}")]
    Decode(String),
}

/// The longest piece of a non-JSON body kept in an error: enough for a proxy's message,
/// not a whole HTML page.
const BODY_EXCERPT: usize = 512;

/// The start of a body as text, for [`PromError::Http`].
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn is_json(content_type: &str) -> bool {
    content_type.to_ascii_lowercase().contains("json")
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    infos: Option<Vec<String>>,
}

/// Reads the `/api/v1/*` envelope and returns its `data` as `T` with the warnings (and
/// `infos`, prefixed `info: `). A non-JSON answer that is not a success is
/// [`PromError::Http`] (the plain-text 503 of a server that is not ready).
pub(crate) fn read_envelope<T: DeserializeOwned>(
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(T, Vec<String>), PromError> {
    let http = || PromError::Http {
        status,
        body: body_excerpt(body),
    };
    if !is_json(content_type) && !is_success(status) {
        return Err(http());
    }
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if !is_success(status) => return Err(http()),
        Err(e) => return Err(PromError::Decode(format!("not the API's envelope: {e}"))),
    };
    match envelope.status.as_str() {
        "success" => {}
        "error" => {
            return Err(PromError::Api {
                status,
                error_type: envelope.error_type.unwrap_or_else(|| "unknown".into()),
                error: envelope.error.unwrap_or_default(),
            });
        }
        other => {
            return Err(PromError::Decode(format!(
                "envelope status `{other}` (expected success or error)"
            )));
        }
    }
    if !is_success(status) {
        return Err(http());
    }
    let data = envelope
        .data
        .ok_or_else(|| PromError::Decode("a success envelope without `data`".into()))?;
    let data = serde_json::from_value(data).map_err(|e| PromError::Decode(e.to_string()))?;
    let mut notes = envelope.warnings.unwrap_or_default();
    notes.extend(
        envelope
            .infos
            .unwrap_or_default()
            .into_iter()
            .map(|i| format!("info: {i}")),
    );
    Ok((data, notes))
}

/// A sample value as the API writes it: a string, because JSON has no NaN or infinity.
pub fn parse_value(text: &str) -> Result<f64, PromError> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse::<f64>()
            .map_err(|_| PromError::Decode(format!("sample value `{text}` is not a number"))),
    }
}

/// A timestamp as the API writes it: unix seconds as a JSON number, millisecond precision.
pub fn timestamp_from_unix(seconds: f64) -> Result<Timestamp, PromError> {
    let bad = || PromError::Decode(format!("timestamp {seconds} is out of range"));
    if !seconds.is_finite() {
        return Err(bad());
    }
    // Prometheus keeps milliseconds; rounding undoes the float's binary error.
    let ms = (seconds * 1000.0).round();
    if ms.abs() > 1e15 {
        return Err(bad());
    }
    Timestamp::from_millisecond(ms as i64).map_err(|_| bad())
}

/// A timestamp as the API reads it: unix seconds with up to millisecond precision.
pub fn unix_text(at: Timestamp) -> String {
    // Shortest round-trip form: whole seconds print without a fraction.
    (at.as_millisecond() as f64 / 1000.0).to_string()
}

type RawPoint = (f64, String);

#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<RawPoint>,
    #[serde(default)]
    histogram: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Option<Vec<RawPoint>>,
    #[serde(default)]
    histograms: Option<serde_json::Value>,
}

fn point((at, value): &RawPoint) -> Result<(Timestamp, f64), PromError> {
    Ok((timestamp_from_unix(*at)?, parse_value(value)?))
}

fn result<T: DeserializeOwned>(kind: &str, value: serde_json::Value) -> Result<T, PromError> {
    serde_json::from_value(value).map_err(|e| PromError::Decode(format!("a {kind} result: {e}")))
}

const HISTOGRAM_NOTE: &str =
    "native histogram samples are not read by golive; query classic `_bucket` series";

/// Reads the answer to `/api/v1/query` or `/api/v1/query_range`.
pub fn read_query(status: u16, content_type: &str, body: &[u8]) -> Result<QueryAnswer, PromError> {
    let (raw, mut warnings): (RawData, _) = read_envelope(status, content_type, body)?;
    let mut histograms = false;
    let data = match raw.result_type.as_str() {
        "vector" => {
            let raw: Vec<RawSample> = result("vector", raw.result)?;
            let mut samples = Vec::with_capacity(raw.len());
            for s in raw {
                match &s.value {
                    Some(p) => {
                        let (at, value) = point(p)?;
                        samples.push(Sample {
                            labels: s.metric,
                            at,
                            value,
                        });
                    }
                    None if s.histogram.is_some() => histograms = true,
                    None => {
                        return Err(PromError::Decode(
                            "a vector sample with neither `value` nor `histogram`".into(),
                        ));
                    }
                }
            }
            QueryData::Vector(samples)
        }
        "matrix" => {
            let raw: Vec<RawSeries> = result("matrix", raw.result)?;
            let mut series = Vec::with_capacity(raw.len());
            for s in raw {
                histograms |= s.histograms.is_some();
                let points = s
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(point)
                    .collect::<Result<Vec<_>, _>>()?;
                if points.is_empty() && s.histograms.is_some() {
                    continue;
                }
                series.push(Series {
                    labels: s.metric,
                    points,
                });
            }
            QueryData::Matrix(series)
        }
        "scalar" => {
            let raw: RawPoint = result("scalar", raw.result)?;
            let (at, value) = point(&raw)?;
            QueryData::Scalar(at, value)
        }
        "string" => {
            let (at, text): RawPoint = result("string", raw.result)?;
            QueryData::String(timestamp_from_unix(at)?, text)
        }
        other => {
            return Err(PromError::Decode(format!(
                "resultType `{other}` (expected vector, matrix, scalar or string)"
            )));
        }
    };
    if histograms {
        warnings.push(HISTOGRAM_NOTE.into());
    }
    Ok(QueryAnswer { data, warnings })
}

#[derive(Deserialize)]
struct RawBuildInfo {
    version: String,
}

/// Reads `/api/v1/status/buildinfo` and returns the version (`2.42.0`).
pub fn read_buildinfo(status: u16, content_type: &str, body: &[u8]) -> Result<String, PromError> {
    let (info, _): (RawBuildInfo, _) = read_envelope(status, content_type, body)?;
    Ok(info.version)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const JSON: &str = "application/json";

    fn ok(body: &str) -> QueryAnswer {
        read_query(200, JSON, body.as_bytes()).unwrap()
    }

    fn at(seconds: f64) -> Timestamp {
        timestamp_from_unix(seconds).unwrap()
    }

    #[test]
    fn vector_reads_labels_timestamp_and_value() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"gravl-backend","instance":"10.0.0.7:8080"},"value":[1764835200.125,"1"]},
            {"metric":{},"value":[1764835200,"0.0625"]}]}}"#,
        );
        let QueryData::Vector(samples) = answer.data else {
            panic!("not a vector: {answer:?}")
        };
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["job"], "gravl-backend");
        assert_eq!(samples[0].labels.len(), 3);
        assert_eq!(samples[0].at.as_millisecond(), 1_764_835_200_125);
        assert_eq!(samples[0].value, 1.0);
        assert!(samples[1].labels.is_empty());
        assert_eq!(samples[1].value, 0.0625);
        assert!(answer.warnings.is_empty());
    }

    #[test]
    fn empty_vector_is_no_series_not_zero() {
        let answer = ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert_eq!(answer.data, QueryData::Vector(vec![]));
    }

    #[test]
    fn nan_and_infinities_arrive_as_strings() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"q":"nan"},"value":[1700000000,"NaN"]},
            {"metric":{"q":"inf"},"value":[1700000000,"+Inf"]},
            {"metric":{"q":"-inf"},"value":[1700000000,"-Inf"]},
            {"metric":{"q":"exp"},"value":[1700000000,"1e+00"]}]}}"#,
        );
        let QueryData::Vector(s) = answer.data else {
            panic!()
        };
        assert!(s[0].value.is_nan());
        assert_eq!(s[1].value, f64::INFINITY);
        assert_eq!(s[2].value, f64::NEG_INFINITY);
        assert_eq!(s[3].value, 1.0);
    }

    #[test]
    fn matrix_reads_every_point_in_order() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"gravl-backend"},"values":[[1700000000,"0.001"],[1700000015,"0.06"],[1700000030,"NaN"]]}]}}"#,
        );
        let QueryData::Matrix(series) = answer.data else {
            panic!()
        };
        assert_eq!(series.len(), 1);
        let points = &series[0].points;
        assert_eq!(points.len(), 3);
        assert_eq!(points[1], (at(1_700_000_015.0), 0.06));
        assert!(points[2].1.is_nan());
        assert!(points[0].0 < points[1].0);
    }

    #[test]
    fn empty_matrix_is_no_series() {
        let answer = ok(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
        assert_eq!(answer.data, QueryData::Matrix(vec![]));
    }

    #[test]
    fn scalar_and_string_results() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"42"]}}"#,
        );
        assert_eq!(answer.data, QueryData::Scalar(at(1_700_000_000.5), 42.0));
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}"#,
        );
        assert!(matches!(answer.data, QueryData::Scalar(_, v) if v.is_nan()));
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}"#,
        );
        assert_eq!(
            answer.data,
            QueryData::String(at(1_700_000_000.0), "hello".into())
        );
    }

    #[test]
    fn warnings_and_infos_are_kept() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[]},
            "warnings":["PromQL warning: encountered a mix of histograms and floats"],
            "infos":["PromQL info: metric might not be a counter"]}"#,
        );
        assert_eq!(
            answer.warnings,
            [
                "PromQL warning: encountered a mix of histograms and floats",
                "info: PromQL info: metric might not be a counter"
            ]
        );
    }

    #[test]
    fn stats_and_unknown_keys_are_ignored() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[],
            "stats":{"timings":{"evalTotalTime":0.0001},"samples":{"totalQueryableSamples":0,"peakSamples":1}}}}"#,
        );
        assert_eq!(answer.data, QueryData::Vector(vec![]));
    }

    #[test]
    fn native_histogram_samples_are_skipped_with_a_warning() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"a":"1"},"histogram":[1700000000,{"count":"3","sum":"0.2","buckets":[[0,"0","0.1","3"]]}]},
            {"metric":{"a":"2"},"value":[1700000000,"5"]}]}}"#,
        );
        let QueryData::Vector(s) = &answer.data else {
            panic!()
        };
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels["a"], "2");
        assert_eq!(answer.warnings, [HISTOGRAM_NOTE]);
    }

    #[test]
    fn bad_data_400_is_an_api_error_with_prometheus_text() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unexpected right parenthesis ')'"}"#;
        let err = read_query(400, JSON, body.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            PromError::Api {
                status: 400,
                error_type: "bad_data".into(),
                error: "invalid parameter \"query\": 1:6: parse error: unexpected right parenthesis ')'".into(),
            }
        );
    }

    #[test]
    fn execution_422_and_timeout_503_envelopes_are_api_errors() {
        let body = r#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}"#;
        assert!(matches!(
            read_query(422, JSON, body.as_bytes()),
            Err(PromError::Api { status: 422, ref error_type, .. }) if error_type == "execution"
        ));
        let body = r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
        assert!(matches!(
            read_query(503, JSON, body.as_bytes()),
            Err(PromError::Api { status: 503, ref error_type, ref error }) if error_type == "timeout" && error.contains("timed out")
        ));
    }

    #[test]
    fn plain_text_503_of_a_starting_server_is_http() {
        let err =
            read_query(503, "text/plain; charset=utf-8", b"Service Unavailable\n").unwrap_err();
        assert_eq!(
            err,
            PromError::Http {
                status: 503,
                body: "Service Unavailable".into()
            }
        );
    }

    #[test]
    fn html_error_from_a_proxy_is_http_and_cut_short() {
        let page = format!("<html>{}</html>", "x".repeat(5000));
        let err = read_query(502, "text/html", page.as_bytes()).unwrap_err();
        let PromError::Http { status, body } = err else {
            panic!()
        };
        assert_eq!(status, 502);
        assert!(body.chars().count() <= BODY_EXCERPT + 1, "{}", body.len());
    }

    #[test]
    fn malformed_answers_are_decode_errors() {
        for body in [
            "not json",
            r#"{"status":"success"}"#,
            r#"{"status":"maybe","data":{}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":{}}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"zero"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
            r#"{"status":"success","data":{"resultType":"histogramish","result":[]}}"#,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000]}}"#,
        ] {
            let err = read_query(200, JSON, body.as_bytes()).unwrap_err();
            assert!(matches!(err, PromError::Decode(_)), "{body}: {err:?}");
        }
    }

    #[test]
    fn buildinfo_gives_the_version() {
        let body = r#"{"status":"success","data":{"version":"2.42.0","revision":"225c61122d88b01d1f0eaaee0e05b6f3e0567ac0","branch":"debian/sid","buildUser":"team+pkg-go@tracker.debian.org","buildDate":"20230315-10:20:32","goVersion":"go1.19.8"}}"#;
        assert_eq!(
            read_buildinfo(200, JSON, body.as_bytes()).unwrap(),
            "2.42.0"
        );
        assert!(matches!(
            read_buildinfo(404, "text/plain", b"404 page not found"),
            Err(PromError::Http { status: 404, .. })
        ));
    }

    #[test]
    fn unix_text_round_trips_milliseconds() {
        assert_eq!(unix_text(at(1_700_000_000.0)), "1700000000");
        assert_eq!(unix_text(at(1_700_000_000.25)), "1700000000.25");
        assert_eq!(unix_text(at(1_700_000_000.001)), "1700000000.001");
        assert_eq!(unix_text(at(-1.5)), "-1.5");
    }
}
