//! A simulated Kubernetes API server on loopback.
//!
//! **This is a test double and a demo, not a cluster.** It serves the read
//! side of the Kubernetes REST API (discovery, get, list, watch, metadata-only
//! and Table forms, `Status` errors) over plain HTTP on 127.0.0.1 from
//! manifests held in memory, faithfully enough that `kube::Client` and
//! `kubectl` work against it. Nothing runs: no scheduler, no controllers, no
//! admission. Objects change only when manifests are loaded, a scenario
//! timeline plays, or the Rust API applies, patches or deletes them. Simple
//! JSON writes over HTTP (create, replace, merge patch, delete) exist for
//! demos; golive itself only reads.
//!
//! ```no_run
//! # async fn demo() -> Result<(), golive_sim::SimError> {
//! use golive_sim::{Sim, SimConfig};
//! let sim = Sim::start(SimConfig {
//!     manifests: vec!["assets/crds".into(), "fixtures/cluster".into()],
//!     deny: vec!["secrets".into()],
//!     ..SimConfig::default()
//! })
//! .await?;
//! println!("kubectl --server {}", sim.url());
//! golive_sim::serve_until_signal(sim).await?;
//! # Ok(()) }
//! ```
//!
//! See `docs/sim.md` for the scenario format and the fidelity notes.

mod authorize;
mod catalogue;
mod counts;
mod discovery;
mod json_documents;
mod jsonpatch;
mod jsonpath;
mod manifests;
mod object;
mod play;
mod proxy;
mod request;
mod respond;
mod scenario;
mod selector;
mod server;
mod state;
mod store;
mod table;
mod time;
mod watches;
mod writes;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use authorize::Authorization;
pub use counts::RequestCounts;
pub use proxy::PROXY_TO;
pub use scenario::Scenario;

use state::{Shared, lock};
use store::{Store, StoreError};

/// A manifest or scenario text held in memory, named for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedText {
    /// Shown where a file path would be, e.g. `demo/cluster.yaml`.
    pub name: String,
    /// The YAML itself.
    pub text: String,
}

impl NamedText {
    /// Names a YAML text, e.g. `NamedText::new("demo/cluster.yaml", include_str!(...))`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        NamedText {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// How to start the simulated API server. Mirrors
/// `golive sim --manifests PATH... --kubeconfig-out FILE --listen ADDR --deny RESOURCE... --scenario FILE`.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// Files or directories (searched recursively for `.yaml`/`.yml`).
    pub manifests: Vec<PathBuf>,
    /// Manifests embedded in the program, e.g. the demo's cluster.
    pub manifest_texts: Vec<NamedText>,
    /// Where to listen; `None` means 127.0.0.1 on a free port.
    pub listen: Option<SocketAddr>,
    /// Resources answered with 403: `plural` (any group) or `plural.group`.
    pub deny: Vec<String>,
    /// Take every request to come from one identity and answer 403 to whatever the
    /// given RBAC objects do not allow it; `None` allows everything.
    pub authorization: Option<Authorization>,
    /// A scenario timeline file, played from the moment the server starts.
    pub scenario: Option<PathBuf>,
    /// A scenario held in memory, played from the start too (alongside
    /// `scenario` if both are given).
    pub scenario_text: Option<NamedText>,
    /// Where to write a kubeconfig once the server listens.
    pub kubeconfig_out: Option<PathBuf>,
}

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: invalid YAML: {message}")]
    Yaml { origin: String, message: String },
    #[error(
        "{origin}: document {index}: kind {kind} ({api_version}) is neither built in nor defined by a loaded CustomResourceDefinition; load the CRD {missing_crd} (assets/crds/ has common ones)"
    )]
    UnknownKind {
        origin: String,
        index: usize,
        api_version: String,
        kind: String,
        missing_crd: String,
    },
    #[error("{origin}: document {index}: {message}")]
    InvalidManifest {
        origin: String,
        index: usize,
        message: String,
    },
    #[error(
        "kind {kind} ({api_version}) is neither built in nor defined by a loaded CustomResourceDefinition; load the CRD {missing_crd}"
    )]
    UnknownKindApplied {
        api_version: String,
        kind: String,
        missing_crd: String,
    },
    #[error("invalid object: {0}")]
    InvalidObject(String),
    #[error("{resource} {name:?} not found")]
    NotFound { resource: String, name: String },
    #[error("{at}: {message}")]
    Scenario { at: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write kubeconfig {path}: {source}")]
    WriteKubeconfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("loading the manifests failed unexpectedly: {0}")]
    Loader(String),
    #[error("cannot wait for a shutdown signal: {0}")]
    Signal(std::io::Error),
}

impl From<StoreError> for SimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownKind { api_version, kind } => SimError::UnknownKindApplied {
                missing_crd: store::expected_crd_name(&api_version, &kind),
                api_version,
                kind,
            },
            StoreError::Invalid(message) => SimError::InvalidObject(message),
            StoreError::NotFound { resource, name } => SimError::NotFound { resource, name },
        }
    }
}

/// A running simulated API server. Dropping it stops the server too, without
/// waiting; [`Sim::shutdown`] waits for the accept loop to end.
pub struct Sim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    accepting_tx: watch::Sender<bool>,
    server_task: Mutex<Option<JoinHandle<()>>>,
    scenario_tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("addr", &self.addr).finish()
    }
}

impl Sim {
    /// Loads manifests and scenario, binds, and starts serving. Every load
    /// error is reported before anything listens.
    pub async fn start(config: SimConfig) -> Result<Sim, SimError> {
        // Reading and parsing can take a while for big fixtures: keep it off
        // the async workers.
        let load_config = config.clone();
        let (store, scenarios) = tokio::task::spawn_blocking(move || load(&load_config))
            .await
            .map_err(|error| SimError::Loader(error.to_string()))??;

        let listen = config
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (accepting_tx, accepting_rx) = watch::channel(true);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            denied: Mutex::new(config.deny.iter().cloned().collect::<BTreeSet<_>>()),
            authorization: Mutex::new(config.authorization.clone()),
            outage: Mutex::new(None),
            counts: Mutex::new(RequestCounts::default()),
            bookmark_interval: Mutex::new(Duration::from_secs(30)),
            scenario_errors: Mutex::new(Vec::new()),
            latency: Mutex::new(None),
            fault_ends: Mutex::new(Default::default()),
            shutdown: shutdown_rx.clone(),
        });
        let server_task = tokio::spawn(accept_loop(
            listener,
            addr,
            shared.clone(),
            shutdown_rx,
            accepting_rx,
        ));
        let sim = Sim {
            addr,
            shared,
            shutdown_tx,
            accepting_tx,
            server_task: Mutex::new(Some(server_task)),
            scenario_tasks: Mutex::new(Vec::new()),
        };
        for scenario in scenarios {
            let shared = sim.shared.clone();
            let accepting = sim.accepting_tx.clone();
            lock(&sim.scenario_tasks).push(tokio::spawn(play::play_scenario(
                shared, accepting, scenario,
            )));
        }
        if let Some(path) = &config.kubeconfig_out {
            sim.write_kubeconfig(path)
                .map_err(|source| SimError::WriteKubeconfig {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(sim)
    }

    /// The bound address (a real port even when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose cluster, user and context are all named `golive-sim`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "# golive-sim: a simulated API server for tests and demos, not a real cluster.\n\
             apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: golive-sim\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: golive-sim\n  user: {{}}\n\
             contexts:\n\
             - name: golive-sim\n  context:\n    cluster: golive-sim\n    user: golive-sim\n    namespace: default\n\
             current-context: golive-sim\n\
             preferences: {{}}\n",
            url = self.url()
        )
    }

    /// Writes [`Sim::kubeconfig_yaml`]; the server is already listening.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Creates or replaces an object (a full manifest). CRDs take effect at once.
    pub fn apply(&self, object: Value) -> Result<(), SimError> {
        lock(&self.shared.store).apply(object)?;
        Ok(())
    }

    /// Applies a JSON merge patch (RFC 7386) to an object; `status` may be patched.
    pub fn merge_patch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: Value,
    ) -> Result<(), SimError> {
        lock(&self.shared.store).merge_patch(api_version, kind, namespace, name, &patch)?;
        Ok(())
    }

    /// Deletes an object; watchers see DELETED.
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), SimError> {
        lock(&self.shared.store).delete(api_version, kind, namespace, name)?;
        Ok(())
    }

    /// A copy of one stored object, if present.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let store = lock(&self.shared.store);
        let resource = store.catalogue.by_kind(api_version, kind)?;
        let namespace = if resource.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        store.get(&resource, namespace, name).map(|o| o.value())
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.store).current_rv()
    }

    /// Number of stored objects of all kinds.
    pub fn object_count(&self) -> usize {
        lock(&self.shared.store).object_count()
    }

    /// Answers 403 Forbidden for a resource: `plural` (any group) or `plural.group`.
    pub fn deny(&self, resource: &str) {
        lock(&self.shared.denied).insert(resource.to_string());
    }

    /// Authorizes every request from now on as [`SimConfig::authorization`] says.
    pub fn set_authorization(&self, authorization: Option<Authorization>) {
        *lock(&self.shared.authorization) = authorization;
    }

    /// Lifts a denial made by [`Sim::deny`] or [`SimConfig::deny`].
    pub fn allow(&self, resource: &str) {
        lock(&self.shared.denied).remove(resource);
    }

    /// Closes every open watch stream; clients see the stream end.
    pub fn drop_watches(&self) {
        lock(&self.shared.store).drop_watches();
    }

    /// Forgets the event history and moves the resourceVersion on, so a watch
    /// resuming from any RV a client holds gets an `ERROR` event with 410 Expired.
    pub fn expire_history(&self) {
        lock(&self.shared.store).expire_history();
    }

    /// How many events are kept for watch resumption (default 10,000).
    pub fn set_history_limit(&self, events: usize) {
        lock(&self.shared.store).set_history_limit(events);
    }

    /// Interval between BOOKMARK events on watches that allow them
    /// (default 30 s); applies to watches opened afterwards.
    pub fn set_bookmark_interval(&self, interval: Duration) {
        *lock(&self.shared.bookmark_interval) = interval.max(Duration::from_millis(10));
    }

    /// `Some(500 | 503 | ...)`: answer every API request with that status until
    /// `set_outage(None)`. `/debug/requests` stays up. 503 and 429 carry
    /// `Retry-After: 1`, so kube's default retry policy keeps retrying them.
    pub fn set_outage(&self, status: Option<u16>) {
        *lock(&self.shared.outage) = status;
    }

    /// Like [`Sim::set_outage`], ended by the sim itself after `duration`.
    pub fn set_outage_for(&self, status: u16, duration: Duration) {
        self.set_outage(Some(status));
        // Holding only the shared state, the timer outlives nothing that matters.
        let shared = self.shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            *lock(&shared.outage) = None;
        });
    }

    /// Delays every answer (watch streams once, when they open) to simulate a
    /// slow API server; `None` answers at once.
    pub fn set_latency(&self, latency: Option<Duration>) {
        *lock(&self.shared.latency) = latency;
    }

    /// `false` closes the listening socket (new connections are refused) and
    /// every open connection, watches included, like a crashed server; `true`
    /// listens again on the same address.
    pub fn set_accepting(&self, accepting: bool) {
        if !accepting {
            self.drop_watches();
        }
        self.accepting_tx.send_replace(accepting);
    }

    /// Counts of every request served so far (also at `GET /debug/requests`).
    pub fn request_counts(&self) -> RequestCounts {
        lock(&self.shared.counts).clone()
    }

    /// Starts counting afresh, e.g. after a test's setup.
    pub fn reset_request_counts(&self) {
        *lock(&self.shared.counts) = RequestCounts::default();
    }

    /// Plays a scenario timeline; offsets count from this call. Fails at
    /// once, naming the step, when a step's kind is not served.
    pub fn play(&self, scenario: Scenario) -> Result<(), SimError> {
        scenario.check_kinds(&lock(&self.shared.store).catalogue)?;
        let shared = self.shared.clone();
        let task = tokio::spawn(play::play_scenario(
            shared,
            self.accepting_tx.clone(),
            scenario,
        ));
        lock(&self.scenario_tasks).push(task);
        Ok(())
    }

    /// Scenario steps that failed when played (e.g. patching a missing
    /// object), each as `file:line:column: error`.
    pub fn scenario_errors(&self) -> Vec<String> {
        lock(&self.shared.scenario_errors).clone()
    }

    /// True once every scenario passed to [`Sim::play`] or the config has run.
    pub fn scenarios_finished(&self) -> bool {
        lock(&self.scenario_tasks)
            .iter()
            .all(JoinHandle::is_finished)
    }

    /// Stops listening, ends open watches and scenarios, and waits for the
    /// accept loop to finish.
    pub async fn shutdown(self) {
        self.shutdown_tx.send_replace(true);
        lock(&self.shared.store).drop_watches();
        for task in lock(&self.scenario_tasks).drain(..) {
            task.abort();
        }
        let server_task = lock(&self.server_task).take();
        if let Some(task) = server_task
            && let Err(error) = task.await
            && !error.is_cancelled()
        {
            tracing::warn!(%error, "simulated API server task failed");
        }
    }
}

/// Builds the store from the manifests and parses and checks the scenarios.
fn load(config: &SimConfig) -> Result<(Store, Vec<Scenario>), SimError> {
    let mut store = Store::new();
    let loaded = manifests::load(&mut store, &config.manifests, &config.manifest_texts)?;
    tracing::info!(objects = loaded, "simulated cluster loaded");

    let mut scenarios = Vec::new();
    if let Some(path) = &config.scenario {
        scenarios.push(Scenario::from_file(path)?);
    }
    if let Some(named) = &config.scenario_text {
        scenarios.push(Scenario::from_text(&named.name, &named.text)?);
    }
    for scenario in &scenarios {
        scenario.check_kinds(&store.catalogue)?;
    }
    Ok((store, scenarios))
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown_tx.send_replace(true);
        lock(&self.shared.store).drop_watches();
        for task in lock(&self.scenario_tasks).drain(..) {
            task.abort();
        }
    }
}

/// Serves until SIGINT or SIGTERM, then shuts the server down cleanly.
pub async fn serve_until_signal(sim: Sim) -> Result<(), SimError> {
    wait_for_signal().await?;
    tracing::info!("signal received, stopping the simulated API server");
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> Result<(), SimError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(SimError::Signal)?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.map_err(SimError::Signal),
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> Result<(), SimError> {
    tokio::signal::ctrl_c().await.map_err(SimError::Signal)
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    mut accepting: watch::Receiver<bool>,
) {
    // Dropping the JoinSet at the end aborts every open connection.
    let mut connections = tokio::task::JoinSet::new();
    let mut listener = Some(listener);
    loop {
        let Some(active) = listener.as_ref() else {
            tokio::select! {
                _ = shutdown.changed() => break,
                changed = accepting.changed() => {
                    if changed.is_err() { break; }
                    if *accepting.borrow_and_update() {
                        match TcpListener::bind(addr).await {
                            Ok(bound) => listener = Some(bound),
                            Err(error) => tracing::warn!(%addr, %error, "cannot listen again"),
                        }
                    }
                }
            }
            continue;
        };
        tokio::select! {
            _ = shutdown.changed() => break,
            changed = accepting.changed() => {
                if changed.is_err() { break; }
                if !*accepting.borrow_and_update() {
                    listener = None;
                    connections.abort_all();
                }
            }
            accepted = active.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            server::handle(shared.clone(), request)
                        });
                        if let Err(error) = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
