//! A 5,000-pod initial sync of real-sized pods never holds more than a page of whole
//! objects: the watcher lists in pages and cuts each object down before the next, so the
//! heap's high-water mark during the sync stays near what the view keeps at the end. A
//! counting allocator measures it, over the real kube client and the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::cluster::{self, ClusterEvent, ClusterView, PODS, Target, Watch, WatchKey};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PODS_N: usize = 5_000;
const MB: f64 = 1024.0 * 1024.0;

/// Bytes the heap holds while `f`'s result is alive.
fn held_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.load(Ordering::Relaxed);
    let value = f();
    (
        value,
        CURRENT.load(Ordering::Relaxed).saturating_sub(before),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_initial_sync_holds_at_most_a_page_of_whole_pods() {
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    sim.apply(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}}),
    )
    .unwrap();
    for i in 0..PODS_N {
        sim.apply(realistic_pod("big", i)).unwrap();
    }
    let sample = realistic_pod("big", 1);
    let json_size = serde_json::to_string(&sample).unwrap().len();
    assert!(json_size > 11_000, "a real-sized pod: {json_size} bytes");
    // What one whole pod costs once parsed, as the client parses a page.
    let (whole, whole_cost) = held_by(|| {
        serde_json::from_str::<kube::api::DynamicObject>(&serde_json::to_string(&sample).unwrap())
            .unwrap()
    });
    drop(whole);

    // The projection golive runs for pods in the Gravl plan.
    let plan = gravl();
    let projection = golive::gates::plan_watch_specs(&plan.plan)
        .into_iter()
        .find(|w| w.key.resource == PODS)
        .expect("gravl watches pods")
        .projection;
    assert!(!projection.is_whole());
    let (slim, slim_cost) = held_by(|| projection.project(&sample));
    eprintln!(
        "one pod projected: {} B JSON, {slim_cost} B parsed",
        serde_json::to_string(&slim).unwrap().len()
    );
    let watch = Watch {
        key: WatchKey::namespaced(PODS, "big"),
        projection,
        why: vec!["test".into()],
    };
    let connection = cluster::connect(&Target {
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await
    .unwrap();
    let mut view = ClusterView::for_watches("sim", "sim", std::slice::from_ref(&watch));
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);

    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let tasks = cluster::watch::spawn_watchers(&connection.client, [watch], tx);
    while view.keys().any(|(_, s)| !s.synced) {
        let event = tokio::time::timeout(std::time::Duration::from_secs(120), rx.recv())
            .await
            .expect("the sync finishes")
            .expect("the watcher runs");
        if let ClusterEvent::Failed { error, .. } = &event {
            panic!("watch failed: {}", error.message);
        }
        view.apply(event, jiff::Timestamp::now());
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let kept = CURRENT.load(Ordering::Relaxed).saturating_sub(base);
    let held = view.objects(&PODS, Some("big")).count();
    assert_eq!(held, PODS_N);
    let page = cluster::watch::PAGE_SIZE as usize * whole_cost;
    let all_whole = PODS_N * whole_cost;
    eprintln!(
        "{PODS_N} pods of {json_size} B JSON ({:.1} KB parsed): view keeps {:.1} MB ({:.0} B/pod), \
         peak during sync {:.1} MB; one page of whole pods {:.1} MB, all of them whole {:.0} MB",
        whole_cost as f64 / 1024.0,
        kept as f64 / MB,
        kept as f64 / PODS_N as f64,
        peak as f64 / MB,
        page as f64 / MB,
        all_whole as f64 / MB
    );
    // The simulator serializes a page and the client reads it while the previous page's
    // objects are cut down: allow what is kept, plus three pages of whole objects.
    assert!(
        peak <= kept + 3 * page,
        "peak {:.1} MB > kept {:.1} MB + 3 pages of {:.1} MB",
        peak as f64 / MB,
        kept as f64 / MB,
        page as f64 / MB
    );
    assert!(kept * 4 < all_whole, "the view keeps cut-down pods");
    // Kept as compact projected text: what every Gravl check reads of a pod in a watched
    // namespace (network policies, readiness, rollout, images, RBAC) is ~1.7 KB of JSON
    // per 18 KB pod; as a `Value` it was ~19 KB. (Pods in namespaces no check reads cost
    // nothing: the goal of at most 2 KB per additional pod is measured by
    // benches/bigcluster.sh.)
    assert!(
        kept / PODS_N <= 3 * 1024,
        "the view keeps {} B per pod",
        kept / PODS_N
    );
    for t in tasks {
        t.abort();
    }
    sim.shutdown().await;
}
