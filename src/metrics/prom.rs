//! The Prometheus HTTP API's answers: the envelope, the result shapes and the errors, read
//! without trusting anything (values arrive as strings: `"NaN"`, `"+Inf"`; a server that is
//! not ready answers plain text; an empty vector means "no series", never 0).

use jiff::Timestamp;
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
