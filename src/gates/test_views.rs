//! Views for the gate tests: every watch listed from the fixture objects it covers.

use crate::cluster::{ClusterEvent, ClusterView, Stored, WatchKey};
use jiff::Timestamp;
use serde_json::Value;

/// A view with each of `keys` listed, at `at`, from the `objects` of its kind, version
/// and namespace.
pub(crate) fn synced(keys: &[WatchKey], objects: &[Value], at: Timestamp) -> ClusterView {
    let mut view = ClusterView::new("test", "http://test", keys.to_vec());
    for key in keys {
        let matching = objects
            .iter()
            .filter(|o| {
                o["kind"].as_str() == Some(key.resource.kind)
                    && o["apiVersion"].as_str() == Some(key.resource.api_version().as_str())
                    && key
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            })
            .map(Stored::new)
            .collect();
        view.apply(
            ClusterEvent::Synced {
                key: key.clone(),
                objects: matching,
            },
            at,
        );
    }
    view
}
