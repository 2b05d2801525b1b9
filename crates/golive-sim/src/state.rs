//! The simulated server's state, shared by the `Sim` handle, the HTTP handlers and
//! the scenario player, and the accounting every handler does through it.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::catalogue::ResourceType;
use crate::counts::{RequestCounts, Verb};
use crate::store::Store;

/// State shared by the handle, the HTTP handlers and the scenario player.
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub denied: Mutex<BTreeSet<String>>,
    pub authorization: Mutex<Option<crate::Authorization>>,
    pub outage: Mutex<Option<u16>>,
    pub counts: Mutex<RequestCounts>,
    pub bookmark_interval: Mutex<Duration>,
    /// Added before every answer, to simulate a slow API server.
    pub latency: Mutex<Option<Duration>>,
    /// Scenario steps that failed at run time, with their file:line:column.
    pub scenario_errors: Mutex<Vec<String>>,
    /// When each fault in effect ends (by kind, and resource for `deny`): a fault that
    /// overlaps an earlier one of its kind holds until the later of their ends.
    pub fault_ends: Mutex<std::collections::HashMap<String, tokio::time::Instant>>,
    pub shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it:
/// every critical section leaves the state consistent before it can panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn count(&self, verb: Verb, resource: Option<&str>) {
        lock(&self.counts).record(verb, resource);
    }

    pub(crate) fn count_secret_data(&self) {
        lock(&self.counts).secret_data_responses += 1;
    }

    /// Whether a deny entry covers this resource: `plural` (any group) or
    /// `plural.group`.
    pub(crate) fn is_denied(&self, resource: &ResourceType) -> bool {
        let denied = lock(&self.denied);
        denied.contains(&resource.plural) || denied.contains(&resource.key())
    }
}

impl Shared {
    /// The user a request is refused for, when a deny entry covers its resource or the
    /// authorization does not allow `verb` on it.
    pub(crate) fn refuses(&self, verb: &str, target: &crate::request::Target) -> Option<String> {
        if self.is_denied(&target.resource) {
            return Some(crate::respond::SIM_USER.to_string());
        }
        let authorization = lock(&self.authorization);
        let authorization = authorization.as_ref()?;
        let resource = match &target.subresource {
            Some(sub) => format!("{}/{sub}", target.resource.plural),
            None => target.resource.plural.clone(),
        };
        let request = crate::authorize::Attributes {
            verb,
            group: &target.resource.group,
            resource: &resource,
            namespace: target.namespace.as_deref(),
            name: target.name.as_deref(),
        };
        (!authorization.allows(&request)).then(|| authorization.user.clone())
    }
}

/// Whether this object, served in full, hands out a Secret's values; counted so tests
/// can prove golive reads Secrets as metadata only.
pub(crate) fn has_secret_data(resource: &ResourceType, object: &Value) -> bool {
    resource.group.is_empty()
        && resource.plural == "secrets"
        && ["data", "stringData"].iter().any(|field| {
            object
                .get(*field)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
        })
}
