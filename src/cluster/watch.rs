//! kube-runtime watchers, one per [`Watch`], feeding [`ClusterEvent`]s into a channel.
//! Watcher errors are stream items: they are reported and the watcher carries on with
//! backoff; a task never ends because of one.
//!
//! Objects are projected as they arrive ([`super::Projection`]): the initial list comes
//! in pages of [`PAGE_SIZE`], read as each object's raw text ([`RawObject`]), and each
//! object is read once through the projection into the compact form the view keeps
//! ([`Stored`]), so golive never holds more than a page of raw text and never builds the
//! parts of an object nothing reads.

use super::projection::Projection;
use super::resource::{Watch, WatchKey};
use super::stored::{RawObject, Stored};
use super::view::{ClusterEvent, WatchError, WatchErrorKind};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, GroupVersionKind, PartialObjectMeta};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Objects per page of the initial list. kubectl asks for 500; a page of 500 real pods
/// is ~75 MB once parsed, so golive asks for fewer and projects each page before the next.
pub const PAGE_SIZE: u32 = 100;

/// Starts one watcher task per watch (a bare [`WatchKey`] keeps whole objects). Tasks end
/// when the receiver is dropped.
pub fn spawn_watchers<W: Into<Watch>>(
    client: &Client,
    watches: impl IntoIterator<Item = W>,
    tx: mpsc::Sender<ClusterEvent>,
) -> Vec<JoinHandle<()>> {
    watches
        .into_iter()
        .map(|watch| {
            let Watch {
                key, projection, ..
            } = watch.into();
            let client = client.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                if key.resource.metadata_only {
                    let api: Api<PartialObjectMeta<Secret>> = match &key.namespace {
                        Some(ns) => Api::namespaced(client, ns),
                        None => Api::all(client),
                    };
                    run(api, key, projection, tx).await;
                } else {
                    let r = &key.resource;
                    let gvk = GroupVersionKind::gvk(r.group, r.version, r.kind);
                    let ar = ApiResource::from_gvk_with_plural(&gvk, r.plural);
                    let api: Api<RawObject> = match (&key.namespace, r.namespaced) {
                        (Some(ns), true) => Api::namespaced_with(client, ns, &ar),
                        _ => Api::all_with(client, &ar),
                    };
                    run(api, key, projection, tx).await;
                }
            })
        })
        .collect()
}

/// An object as the view keeps it: projected, as JSON text.
trait IntoStored {
    fn into_stored(self, key: &WatchKey, projection: &Projection) -> Stored;
}

/// The real kind and version for evidence: list items may carry none, and
/// PartialObjectMeta says PartialObjectMetadata.
fn stamp(key: &WatchKey, value: &mut serde_json::Value) {
    if let serde_json::Value::Object(map) = value {
        map.insert("kind".into(), key.resource.kind.into());
        map.insert("apiVersion".into(), key.resource.api_version().into());
    }
}

impl IntoStored for RawObject {
    /// The text is read once through the projection: the fields nothing reads are skipped,
    /// never built.
    fn into_stored(self, key: &WatchKey, projection: &Projection) -> Stored {
        let mut value = projection
            .project_str(self.text())
            .unwrap_or_else(|_| serde_json::json!({}));
        stamp(key, &mut value);
        let meta = self.metadata;
        let json = value.to_string();
        Stored::from_parts(
            meta.namespace.unwrap_or_default(),
            meta.name.unwrap_or_default(),
            json,
        )
    }
}

impl IntoStored for PartialObjectMeta<Secret> {
    fn into_stored(mut self, key: &WatchKey, projection: &Projection) -> Stored {
        self.metadata.managed_fields = None;
        let mut value = serde_json::json!({
            "metadata": serde_json::to_value(&self.metadata).unwrap_or_default(),
        });
        stamp(key, &mut value);
        projection.apply(&mut value);
        Stored::new(&value)
    }
}

async fn run<K>(
    api: Api<K>,
    key: WatchKey,
    projection: Arc<Projection>,
    tx: mpsc::Sender<ClusterEvent>,
) where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + IntoStored + 'static,
{
    let mut backoff = RETRY_FIRST;
    loop {
        let failed = watch_until_error(&api, &key, &projection, &tx).await;
        let Some(failed) = failed else {
            return; // the receiver is gone
        };
        if failed {
            tokio::time::sleep(jittered(backoff)).await;
            backoff = (backoff * 2).min(RETRY_MAX);
        } else {
            backoff = RETRY_FIRST;
        }
    }
}

/// Initial lists in progress at once, across every watch.
pub const CONCURRENT_LISTS: usize = 3;
static LISTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_LISTS);

/// The first wait before listing again after an error; it doubles up to [`RETRY_MAX`].
pub const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(500);
/// The longest wait between attempts: a cockpit must see the API server back within
/// seconds of its return (client-go's reflector waits up to 30 s).
pub const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(4);

/// `d` less up to a quarter, so many watches do not retry in step.
fn jittered(d: std::time::Duration) -> std::time::Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d - d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

/// Lists and watches until the first error, which is reported. A watch that comes back
/// after an error must list again: the view learns it is current only from a fresh
/// list (a resumed watch on a quiet resource says nothing), and anything missed while it
/// was down arrives with it. `Some(true)` after an error, `Some(false)` when the stream
/// ended cleanly, `None` when the receiver is gone.
async fn watch_until_error<K>(
    api: &Api<K>,
    key: &WatchKey,
    projection: &Projection,
    tx: &mpsc::Sender<ClusterEvent>,
) -> Option<bool>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + IntoStored + 'static,
{
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    let stream = watcher::watcher(api.clone(), config);
    futures::pin_mut!(stream);
    let mut buffer: Vec<Stored> = Vec::new();
    // Lists take turns: each page is held as text while it is cut down, and twenty
    // watches listing at once would hold twenty pages.
    let mut listing = Some(LISTS.acquire().await);
    while let Some(item) = stream.next().await {
        let failed = item.is_err();
        if failed || matches!(item, Ok(Event::InitDone)) {
            listing = None;
        }
        let _ = &listing;
        let event = match item {
            Ok(Event::Init) => {
                buffer.clear();
                continue;
            }
            Ok(Event::InitApply(object)) => {
                buffer.push(object.into_stored(key, projection));
                continue;
            }
            Ok(Event::InitDone) => ClusterEvent::Synced {
                key: key.clone(),
                objects: std::mem::take(&mut buffer),
            },
            Ok(Event::Apply(object)) => ClusterEvent::Applied {
                key: key.clone(),
                object: object.into_stored(key, projection),
            },
            Ok(Event::Delete(object)) => ClusterEvent::Deleted {
                key: key.clone(),
                object: object.into_stored(key, projection),
            },
            Err(error) => ClusterEvent::Failed {
                key: key.clone(),
                error: classify(&error, key),
            },
        };
        if tx.send(event).await.is_err() {
            return None;
        }
        if failed {
            return Some(true);
        }
    }
    Some(false)
}

fn api_status(error: &watcher::Error) -> Option<&kube::core::Status> {
    let kube_error = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) => return Some(status),
        _ => return None,
    };
    match kube_error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// Turns a watcher error into words an operator can act on.
pub fn classify(error: &watcher::Error, key: &WatchKey) -> WatchError {
    let r = &key.resource;
    let scope = match &key.namespace {
        Some(ns) => format!("in {ns}"),
        None if r.namespaced => "in all namespaces".to_string(),
        None => "(cluster-scoped)".to_string(),
    };
    if let Some(status) = api_status(error) {
        return match status.code {
            401 | 403 => WatchError {
                kind: WatchErrorKind::Forbidden,
                message: format!(
                    "forbidden: golive needs list and watch on {} {scope} ({})",
                    r.qualified_name(),
                    status.message
                ),
            },
            404 => WatchError {
                kind: WatchErrorKind::NotServed,
                message: format!(
                    "the API server does not serve {} ({}/{}): is its CRD installed?",
                    r.qualified_name(),
                    r.api_version(),
                    r.kind
                ),
            },
            410 => WatchError {
                kind: WatchErrorKind::Other,
                message: format!("watch on {key} expired (410 Gone); re-listing"),
            },
            code => WatchError {
                kind: WatchErrorKind::Other,
                message: format!("{key}: API error {code}: {}", status.message),
            },
        };
    }
    let text = error_chain(error);
    let unreachable = [
        "connect",
        "refused",
        "dns",
        "timed out",
        "tls",
        "certificate",
        "hyper",
    ]
    .iter()
    .any(|w| text.to_ascii_lowercase().contains(w));
    WatchError {
        kind: if unreachable {
            WatchErrorKind::Unreachable
        } else {
            WatchErrorKind::Other
        },
        message: format!("{key}: {text}"),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}
