//! The in-memory picture of the cluster: objects per watch, and how much to trust them.

use super::resource::{ResourceType, WatchKey};
use super::stored::Stored;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a watcher reports. Objects are projected JSON, kept as text ([`Stored`]); gates
/// read them as `Value`s.
#[derive(Debug, Clone)]
pub enum ClusterEvent {
    /// A full (re-)list finished: these objects replace what the view held.
    Synced {
        key: WatchKey,
        objects: Vec<Stored>,
    },
    Applied {
        key: WatchKey,
        object: Stored,
    },
    Deleted {
        key: WatchKey,
        object: Stored,
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
    /// (namespace, name) → the object's projected JSON.
    objects: BTreeMap<(String, String), Box<str>>,
    /// Why the plan watches this (check kinds and their gates), for `cluster_access`.
    pub why: Vec<String>,
    pub synced: bool,
    pub last_sync: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// The latest error, kept until the next successful list or event.
    pub error: Option<(Timestamp, WatchError)>,
    /// The view's revision when this watch last changed (objects, sync or error).
    pub revision: u64,
}

impl ResourceState {
    /// How many objects the watch holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Bytes of JSON (and of keys) the watch holds.
    pub fn bytes(&self) -> usize {
        self.objects
            .iter()
            .map(|((ns, name), json)| ns.len() + name.len() + json.len())
            .sum()
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
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
    reads: ReadLog,
}

/// What has been read of a view since [`ClusterView::take_reads`]: the resources whose
/// objects, freshness or times were asked for, or the whole view (its watch list, its
/// revision, a model derived from all of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewReads {
    pub all: bool,
    pub resources: std::collections::BTreeSet<ResourceType>,
}

impl ViewReads {
    /// The view's revision for what was read: the latest change among the resources read,
    /// or of the whole view. Equal revisions mean nothing read has changed since.
    pub fn revision(&self, view: &ClusterView) -> u64 {
        if self.all {
            return view.revision;
        }
        view.resources
            .iter()
            .filter(|(k, _)| self.resources.contains(&k.resource))
            .map(|(_, s)| s.revision)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct ReadLog(Mutex<ViewReads>);

impl ReadLog {
    fn note(&self, f: impl FnOnce(&mut ViewReads)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl Clone for ReadLog {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for ReadLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadLog")
    }
}

type NetpolModel = Result<Arc<golive_netpol::Model>, String>;

/// NetworkPolicy models derived from the view, one per scope (the namespaces a check
/// asks about; `None`: all), each with the stamp of the inputs it was built from.
#[derive(Default)]
#[allow(clippy::type_complexity)]
struct NetpolCache(Mutex<Vec<(Option<Vec<String>>, u64, NetpolModel)>>);

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
        self.reads.note(|r| r.all = true);
        self.resources.iter()
    }

    pub fn revision(&self) -> u64 {
        self.reads.note(|r| r.all = true);
        self.revision
    }

    /// What was read since the last call, and starts counting afresh.
    pub fn take_reads(&self) -> ViewReads {
        std::mem::take(&mut self.reads.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The NetworkPolicy model of `scope`'s namespaces (all when `None`), built by
    /// `build` from `inputs` on first use and again only when a watch of one of the
    /// `inputs` has changed since: a pod elsewhere in the view does not rebuild it.
    pub fn derived_netpol(
        &self,
        scope: Option<&[String]>,
        inputs: &[ResourceType],
        build: impl FnOnce() -> NetpolModel,
    ) -> NetpolModel {
        self.reads
            .note(|r| r.resources.extend(inputs.iter().copied()));
        // Revisions only grow, and a watch takes the view's new revision when it changes:
        // the highest over the inputs' watches in scope moves whenever one of them does.
        let stamp = self
            .resources
            .iter()
            .filter(|(k, _)| {
                inputs.contains(&k.resource)
                    && match (scope, &k.namespace) {
                        (Some(namespaces), Some(ns)) => namespaces.contains(ns),
                        _ => true,
                    }
            })
            .map(|(_, s)| s.revision)
            .max()
            .unwrap_or(0);
        let key = scope.map(<[String]>::to_vec);
        let mut cache = self.netpol.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, model)) = cache.iter().find(|(s, at, _)| *s == key && *at == stamp) {
            return model.clone();
        }
        let model = build();
        cache.retain(|(s, _, _)| *s != key);
        cache.push((key, stamp, model.clone()));
        model
    }

    pub fn apply(&mut self, event: ClusterEvent, now: Timestamp) {
        self.revision += 1;
        let revision = self.revision;
        let key = match &event {
            ClusterEvent::Synced { key, .. }
            | ClusterEvent::Applied { key, .. }
            | ClusterEvent::Deleted { key, .. }
            | ClusterEvent::Failed { key, .. } => key.clone(),
        };
        let state = self.resources.entry(key).or_default();
        state.revision = revision;
        match event {
            ClusterEvent::Synced { objects, .. } => {
                state.objects = objects.into_iter().map(Stored::into_entry).collect();
                state.synced = true;
                state.last_sync = Some(now);
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Applied { object, .. } => {
                let (k, json) = object.into_entry();
                state.objects.insert(k, json);
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Deleted { object, .. } => {
                state.objects.remove(&object.key());
                state.last_event = Some(now);
                state.error = None;
            }
            ClusterEvent::Failed { error, .. } => {
                state.error = Some((now, error));
            }
        }
    }

    /// The watches that hold `resource` in `namespace`: the narrowest one that covers it.
    /// For `None` (every namespace golive sees) without a cluster-wide watch, every
    /// namespaced watch of the resource: the plan watches only the namespaces it needs.
    fn covering(&self, resource: &ResourceType, namespace: Option<&str>) -> Vec<&ResourceState> {
        self.reads.note(|r| {
            r.resources.insert(*resource);
        });
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

    /// Objects of `resource` in `namespace` (every namespace watched when `None`), each
    /// parsed as it is reached: a caller that looks at one object at a time never holds
    /// more than that one as a tree.
    pub fn objects<'a>(
        &'a self,
        resource: &ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = Value> + 'a {
        self.covering(resource, namespace)
            .into_iter()
            .flat_map(move |s| match namespace {
                // Keys sort by namespace first: one namespace is one range of the map.
                Some(ns) => Box::new(
                    s.objects
                        .range((ns.to_string(), String::new())..)
                        .take_while(move |((n, _), _)| n == ns),
                )
                    as Box<dyn Iterator<Item = (&(String, String), &Box<str>)>>,
                None => Box::new(s.objects.iter()),
            })
            .map(|(_, json)| parse(json))
    }

    /// How many objects of `resource` in `namespace` the view holds.
    pub fn count(&self, resource: &ResourceType, namespace: Option<&str>) -> usize {
        self.covering(resource, namespace)
            .into_iter()
            .flat_map(|s| s.objects.keys())
            .filter(|(ns, _)| namespace.is_none_or(|want| ns == want))
            .count()
    }

    pub fn object(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let key = (namespace.unwrap_or_default().to_string(), name.to_string());
        self.covering(resource, namespace)
            .into_iter()
            .find_map(|s| s.objects.get(&key))
            .map(|json| parse(json))
    }
}
