//! The in-memory picture of the cluster: objects per watch, and how much to trust them.

use super::resource::{ResourceType, WatchKey};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a watcher reports. Objects are plain JSON: gates read the fields they need.
#[derive(Debug, Clone)]
pub enum ClusterEvent {
    /// A full (re-)list finished: these objects replace what the view held.
    Synced {
        key: WatchKey,
        objects: Vec<Value>,
    },
    Applied {
        key: WatchKey,
        object: Value,
    },
    Deleted {
        key: WatchKey,
        object: Value,
    },
    Failed {
        key: WatchKey,
        error: WatchError,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchErrorKind {
    /// 401/403: RBAC does not let golive read this.
    Forbidden,
    /// 404 on the collection: the API server does not serve this resource (CRD missing).
    NotServed,
    /// Connection refused, TLS, timeouts: the API server could not be reached.
    Unreachable,
    /// Anything else, including an expired watch being re-listed.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchError {
    pub kind: WatchErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceState {
    pub objects: BTreeMap<(String, String), Value>,
    /// Why the plan watches this (check kinds and their gates), for `cluster_access`.
    pub why: Vec<String>,
    pub synced: bool,
    pub last_sync: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// The latest error, kept until the next successful list or event.
    pub error: Option<(Timestamp, WatchError)>,
}

/// How far the view can be trusted for one watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness<'a> {
    /// Listed and watching without error.
    Fresh,
    /// Not listed yet.
    Pending,
    /// The last list or watch failed; what is held (if anything) may be out of date.
    Failed(&'a WatchError, Timestamp),
    /// No watch covers this resource: the plan did not ask for it.
    NotWatched,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub context: String,
    pub server: String,
    resources: BTreeMap<WatchKey, ResourceState>,
    /// Bumped on every change, so derived models know when to rebuild.
    revision: u64,
    netpol: NetpolCache,
}

type NetpolModel = Result<Arc<golive_netpol::Model>, String>;

/// The NetworkPolicy model derived from the view, rebuilt only when the view changed.
#[derive(Default)]
struct NetpolCache(Mutex<Option<(u64, NetpolModel)>>);

impl Clone for NetpolCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for NetpolCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetpolCache")
    }
}

fn object_key(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

impl ClusterView {
    pub fn new(context: &str, server: &str, keys: impl IntoIterator<Item = WatchKey>) -> Self {
        Self {
            context: context.to_string(),
            server: server.to_string(),
            resources: keys
                .into_iter()
                .map(|k| (k, ResourceState::default()))
                .collect(),
            ..Default::default()
        }
    }

    /// A view for these watches, each with the reason the plan needs it.
    pub fn for_watches(context: &str, server: &str, watches: &[super::Watch]) -> Self {
        let mut view = Self::new(context, server, watches.iter().map(|w| w.key.clone()));
        for w in watches {
            if let Some(state) = view.resources.get_mut(&w.key) {
                state.why = w.why.clone();
            }
        }
        view
    }

    pub fn keys(&self) -> impl Iterator<Item = (&WatchKey, &ResourceState)> {
        self.resources.iter()
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The NetworkPolicy model for this revision of the view, built by `build` on first use.
    pub fn derived_netpol(&self, build: impl FnOnce() -> NetpolModel) -> NetpolModel {
        let mut cache = self.netpol.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((revision, model)) = cache.as_ref()
            && *revision == self.revision
        {
            return model.clone();
        }
        let model = build();
        *cache = Some((self.revision, model.clone()));
        model
    }

    pub fn apply(&mut self, event: ClusterEvent, now: Timestamp) {
        self.revision += 1;
        match event {
            ClusterEvent::Synced { key, objects } => {
                let state = self.resources.entry(key).or_default();
                state.objects = objects.into_iter().map(|o| (object_key(&o), o)).collect();
                state.synced = true;
                state.last_sync = Some(now);
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Applied { key, object } => {
                let state = self.resources.entry(key).or_default();
                state.objects.insert(object_key(&object), object);
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Deleted { key, object } => {
                let state = self.resources.entry(key).or_default();
                state.objects.remove(&object_key(&object));
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Failed { key, error } => {
                let state = self.resources.entry(key).or_default();
                state.error = Some((now, error));
            }
        }
    }

    /// The watches that hold `resource` in `namespace`: the narrowest one that covers it.
    /// For `None` (every namespace golive sees) without a cluster-wide watch, every
    /// namespaced watch of the resource: the plan watches only the namespaces it needs.
    fn covering(&self, resource: &ResourceType, namespace: Option<&str>) -> Vec<&ResourceState> {
        let narrowest = self
            .resources
            .iter()
            .filter(|(k, _)| k.covers(resource, namespace))
            .min_by_key(|(k, _)| k.namespace.is_none());
        match (narrowest, namespace) {
            (Some((_, state)), _) => vec![state],
            (None, Some(_)) => Vec::new(),
            (None, None) => self
                .resources
                .iter()
                .filter(|(k, _)| k.resource == *resource)
                .map(|(_, s)| s)
                .collect(),
        }
    }

    /// How far the view can be trusted for `resource` in `namespace`; over several
    /// watches, the least fresh of them.
    pub fn freshness(&self, resource: &ResourceType, namespace: Option<&str>) -> Freshness<'_> {
        let mut worst = None;
        for state in self.covering(resource, namespace) {
            let this = match &state.error {
                Some((at, error)) => Freshness::Failed(error, *at),
                None if state.synced => Freshness::Fresh,
                None => Freshness::Pending,
            };
            let rank = |f: &Freshness| match f {
                Freshness::Fresh => 0,
                Freshness::Pending => 1,
                Freshness::Failed(..) | Freshness::NotWatched => 2,
            };
            if worst.as_ref().is_none_or(|w| rank(&this) > rank(w)) {
                worst = Some(this);
            }
        }
        worst.unwrap_or(Freshness::NotWatched)
    }

    /// When the evidence for `resource` was last confirmed (list or event); over several
    /// watches, the oldest confirmation.
    pub fn as_of(&self, resource: &ResourceType, namespace: Option<&str>) -> Option<Timestamp> {
        let states = self.covering(resource, namespace);
        let times: Vec<Option<Timestamp>> = states
            .iter()
            .map(|s| s.last_sync.max(s.last_event))
            .collect();
        if times.iter().any(Option::is_none) {
            return None;
        }
        times.into_iter().flatten().min()
    }

    /// Objects of `resource` in `namespace` (every namespace watched when `None`).
    pub fn objects<'a>(
        &'a self,
        resource: &ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.covering(resource, namespace)
            .into_iter()
            .flat_map(|s| s.objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|want| ns == want))
            .map(|(_, v)| v)
    }

    pub fn object(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        let key = (namespace.unwrap_or_default().to_string(), name.to_string());
        self.covering(resource, namespace)
            .into_iter()
            .find_map(|s| s.objects.get(&key))
    }
}
