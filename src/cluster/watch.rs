//! kube-runtime watchers, one per [`WatchKey`], feeding [`ClusterEvent`]s into a channel.
//! Watcher errors are stream items: they are reported and the watcher carries on with
//! backoff; a task never ends because of one.

use super::resource::WatchKey;
use super::view::{ClusterEvent, WatchError, WatchErrorKind};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PartialObjectMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Starts one watcher task per key. Tasks end when the receiver is dropped.
pub fn spawn_watchers(
    client: &Client,
    keys: impl IntoIterator<Item = WatchKey>,
    tx: mpsc::Sender<ClusterEvent>,
) -> Vec<JoinHandle<()>> {
    keys.into_iter()
        .map(|key| {
            let client = client.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                if key.resource.metadata_only {
                    let api: Api<PartialObjectMeta<Secret>> = match &key.namespace {
                        Some(ns) => Api::namespaced(client, ns),
                        None => Api::all(client),
                    };
                    run(api, key, tx).await;
                } else {
                    let r = &key.resource;
                    let gvk = GroupVersionKind::gvk(r.group, r.version, r.kind);
                    let ar = ApiResource::from_gvk_with_plural(&gvk, r.plural);
                    let api: Api<DynamicObject> = match (&key.namespace, r.namespaced) {
                        (Some(ns), true) => Api::namespaced_with(client, ns, &ar),
                        _ => Api::all_with(client, &ar),
                    };
                    run(api, key, tx).await;
                }
            })
        })
        .collect()
}

fn to_value<K: Serialize>(object: &K, key: &WatchKey) -> serde_json::Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    // PartialObjectMeta serializes as PartialObjectMetadata; keep the real kind for evidence.
    if let Some(map) = value.as_object_mut() {
        map.insert("kind".into(), key.resource.kind.into());
        map.insert("apiVersion".into(), key.resource.api_version().into());
    }
    value
}

async fn run<K>(api: Api<K>, key: WatchKey, tx: mpsc::Sender<ClusterEvent>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Serialize + Send + 'static,
{
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut buffer: Vec<serde_json::Value> = Vec::new();
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(Event::Init) => {
                buffer.clear();
                continue;
            }
            Ok(Event::InitApply(object)) => {
                buffer.push(to_value(&object, &key));
                continue;
            }
            Ok(Event::InitDone) => ClusterEvent::Synced {
                key: key.clone(),
                objects: std::mem::take(&mut buffer),
            },
            Ok(Event::Apply(object)) => ClusterEvent::Applied {
                key: key.clone(),
                object: to_value(&object, &key),
            },
            Ok(Event::Delete(object)) => ClusterEvent::Deleted {
                key: key.clone(),
                object: to_value(&object, &key),
            },
            Err(error) => ClusterEvent::Failed {
                key: key.clone(),
                error: classify(&error, &key),
            },
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
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
