//! Request accounting, so tests can prove what a client did and did not do.

use std::collections::BTreeMap;

use serde::Serialize;

/// How a request is classified in [`RequestCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    List,
    Watch,
    Discovery,
    Other,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Discovery => "discovery",
            Verb::Other => "other",
        }
    }
}

/// Counts of every request the simulated API server has served.
///
/// `by_resource` is keyed by `plural` for the core group and `plural.group`
/// otherwise (`pods`, `clusterissuers.cert-manager.io`), then by verb.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Every request, whatever its outcome.
    pub total: u64,
    /// Requests per verb: `get`, `list`, `watch`, `discovery`, `other`.
    pub by_verb: BTreeMap<String, u64>,
    /// Requests per resource, then per verb.
    pub by_resource: BTreeMap<String, BTreeMap<String, u64>>,
    /// Responses whose body carried at least one full Secret with `data` or
    /// `stringData`; a metadata-only client keeps this at zero.
    pub secret_data_responses: u64,
    /// Requests answered with 403 Forbidden because the resource is denied.
    pub forbidden: u64,
}

impl RequestCounts {
    pub(crate) fn record(&mut self, verb: Verb, resource: Option<&str>) {
        self.total += 1;
        *self.by_verb.entry(verb.as_str().to_string()).or_default() += 1;
        if let Some(resource) = resource {
            *self
                .by_resource
                .entry(resource.to_string())
                .or_default()
                .entry(verb.as_str().to_string())
                .or_default() += 1;
        }
    }

    /// Requests of one verb on one resource (`"secrets"`, `"list"`).
    pub fn of(&self, resource: &str, verb: &str) -> u64 {
        self.by_resource
            .get(resource)
            .and_then(|verbs| verbs.get(verb))
            .copied()
            .unwrap_or(0)
    }

    /// Requests of one verb, any resource.
    pub fn verb(&self, verb: &str) -> u64 {
        self.by_verb.get(verb).copied().unwrap_or(0)
    }
}
