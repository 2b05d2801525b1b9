//! What every gate returns: a [`Status`] and a [`Finding`] with its evidence, capped
//! so a namespace of thousands of pods stays readable.

use std::fmt;

/// Outcome of a gate evaluation. Missing evidence is `Unknown`, never `Pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Unknown => "unknown",
        })
    }
}

/// A gate result: one-line summary, the evidence behind it, and a fix when failing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub status: Status,
    pub summary: String,
    pub evidence: Vec<String>,
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    /// `fail: summary`, then evidence and fix lines indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.summary)?;
        for e in &self.evidence {
            write!(f, "\n  evidence: {e}")?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl Finding {
    pub(crate) fn new(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: None,
        }
    }
}

pub(crate) const EVIDENCE_LIMIT: usize = 8;

/// The first EVIDENCE_LIMIT of `total` lines (only those were built), and how many more.
pub(crate) fn push_counted(
    evidence: &mut Vec<String>,
    lines: impl IntoIterator<Item = String>,
    total: usize,
) {
    evidence.extend(lines.into_iter().take(EVIDENCE_LIMIT));
    if total > EVIDENCE_LIMIT {
        evidence.push(format!("... and {} more", total - EVIDENCE_LIMIT));
    }
}
