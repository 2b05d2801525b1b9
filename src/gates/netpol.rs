//! NetworkPolicy checks, evaluated by the golive-netpol analyzer over the live view.

use super::{CheckVerdict, Status};
use crate::cluster::{ClusterView, NAMESPACES, NETWORK_POLICIES, PODS, SERVICES, WatchKey};
use crate::plan::Check;

pub fn watches() -> Vec<WatchKey> {
    vec![
        WatchKey::cluster(NAMESPACES),
        WatchKey::cluster(PODS),
        WatchKey::cluster(NETWORK_POLICIES),
        WatchKey::cluster(SERVICES),
    ]
}

pub fn evaluate(check: &Check, _view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    Ok(CheckVerdict::new(super::kind_name(check), Status::Unknown, "NetworkPolicy analysis is not wired into this build yet"))
}
