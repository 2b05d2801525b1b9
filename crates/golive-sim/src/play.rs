//! Playing a scenario's timeline: object changes through the store, as a client's writes
//! would be, and faults the server suffers, each ended by itself.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::SimError;
use crate::scenario::{self, Scenario};
use crate::state::{Shared, lock};

/// Starts a fault now; one with a duration ends by itself, when the last fault of its
/// kind (and resource) that overlaps it ends.
fn inject(shared: &Arc<Shared>, accepting: &watch::Sender<bool>, fault: &scenario::Fault) {
    use scenario::Fault;
    tracing::info!(?fault, "scenario fault");
    let later = |key: String, lasts: Duration, end: Box<dyn FnOnce() + Send>| {
        let ends = tokio::time::Instant::now() + lasts;
        {
            let mut all = lock(&shared.fault_ends);
            let held = all.entry(key.clone()).or_insert(ends);
            *held = (*held).max(ends);
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(ends).await;
            let mut all = lock(&shared.fault_ends);
            // A later fault of the same kind still holds: its own timer ends it.
            if all.get(&key).is_some_and(|held| *held > ends) {
                return;
            }
            all.remove(&key);
            drop(all);
            end();
        });
    };
    match fault.clone() {
        Fault::Outage { status, lasts } => {
            *lock(&shared.outage) = Some(status);
            let shared = shared.clone();
            later(
                "outage".into(),
                lasts,
                Box::new(move || *lock(&shared.outage) = None),
            );
        }
        Fault::Latency { delay, lasts } => {
            *lock(&shared.latency) = Some(delay);
            let shared = shared.clone();
            later(
                "latency".into(),
                lasts,
                Box::new(move || *lock(&shared.latency) = None),
            );
        }
        Fault::DropWatches => lock(&shared.store).drop_watches(),
        Fault::ExpireHistory => lock(&shared.store).expire_history(),
        Fault::StopAccepting { lasts } => {
            lock(&shared.store).drop_watches();
            accepting.send_replace(false);
            let accepting = accepting.clone();
            later(
                "stop_accepting".into(),
                lasts,
                Box::new(move || {
                    accepting.send_replace(true);
                }),
            );
        }
        Fault::Deny { resource, lasts } => {
            lock(&shared.denied).insert(resource.clone());
            let shared = shared.clone();
            later(
                format!("deny {resource}"),
                lasts,
                Box::new(move || {
                    lock(&shared.denied).remove(&resource);
                }),
            );
        }
    }
}

pub(crate) async fn play_scenario(
    shared: Arc<Shared>,
    accepting: watch::Sender<bool>,
    scenario: Scenario,
) {
    let started = tokio::time::Instant::now();
    for step in scenario.steps {
        tokio::time::sleep_until(started + step.at).await;
        if let scenario::Action::Fault(fault) = &step.action {
            inject(&shared, &accepting, fault);
            continue;
        }
        let mut store = lock(&shared.store);
        let result = match &step.action {
            scenario::Action::Apply(object) => store.apply(scenario::stamped(object)).map(drop),
            scenario::Action::Patch { target, merge } => store
                .merge_patch(
                    &target.api_version,
                    &target.kind,
                    target.namespace.as_deref(),
                    &target.name,
                    &scenario::stamped(merge),
                )
                .map(drop),
            scenario::Action::Delete(target) => store
                .delete(
                    &target.api_version,
                    &target.kind,
                    target.namespace.as_deref(),
                    &target.name,
                )
                .map(drop),
            scenario::Action::Fault(_) => Ok(()),
        };
        drop(store);
        if let Err(error) = result {
            let error = SimError::from(error);
            tracing::warn!(step = %step.location, %error, "scenario step failed");
            lock(&shared.scenario_errors).push(format!("{}: {error}", step.location));
        }
    }
}
