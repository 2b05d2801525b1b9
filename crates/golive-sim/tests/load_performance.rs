//! Loading and serving thousands of objects stays fast (figures are printed,
//! not asserted: timings depend on the machine).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use std::time::Instant;

use futures::TryStreamExt;
use golive_sim::{NamedText, Sim, SimConfig};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, WatchParams};

fn ten_thousand_config_maps() -> String {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:05}\n  namespace: ns-{}\n  labels: {{app: load, shard: \"{}\"}}\ndata:\n  key: value-{i}\n",
            i % 20,
            i % 7
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_ten_thousand_objects_and_pages_through_them() {
    let text = ten_thousand_config_maps();
    let started = Instant::now();
    let sim = Sim::start(SimConfig {
        manifest_texts: vec![NamedText::new("10k.yaml", text)],
        ..SimConfig::default()
    })
    .await
    .expect("10k objects load");
    let load = started.elapsed();
    assert_eq!(sim.object_count(), 10_000);
    println!("loaded 10,000 objects in {load:?}");

    let maps: Api<ConfigMap> = Api::all(support::client_for(&sim));
    let started = Instant::now();
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(500);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = maps.list(&params).await.expect("page");
        seen += page.items.len();
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, 10_000);
    println!(
        "listed 10,000 objects in pages of 500 in {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let selected = maps
        .list(&ListParams::default().labels("shard=3"))
        .await
        .expect("selector list");
    println!(
        "label-selected {} of 10,000 in {:?}",
        selected.items.len(),
        started.elapsed()
    );
    assert_eq!(
        selected.items.len(),
        (0..10_000).filter(|i| i % 7 == 3).count()
    );

    // A watch from "0" starts with every object as ADDED.
    let started = Instant::now();
    let stream = maps
        .watch(&WatchParams::default().timeout(60), "0")
        .await
        .expect("watch starts");
    let mut stream = std::pin::pin!(stream);
    let mut added = 0;
    while added < 10_000 {
        match stream.try_next().await.expect("watch ok") {
            Some(kube::core::WatchEvent::Added(_)) => added += 1,
            Some(other) => panic!("unexpected event {other:?}"),
            None => panic!("watch ended after {added} events"),
        }
    }
    println!(
        "watched 10,000 initial ADDED events in {:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}
