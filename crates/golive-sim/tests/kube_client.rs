//! The real kube 5 client against the simulated API server over loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, PartialObjectMeta, WatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::json;
use support::{client_for, eventually, start_fixture_sim};

fn cluster_issuers(client: kube::Client) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("cert-manager.io", "v1", "ClusterIssuer"),
        "clusterissuers",
    );
    Api::all_with(client, &resource)
}

#[tokio::test]
async fn typed_pods_and_deployments_list_and_get() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);

    let all_pods: Api<Pod> = Api::all(client.clone());
    let pods = all_pods
        .list(&ListParams::default())
        .await
        .expect("list pods");
    let mut names: Vec<_> = pods
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, vec!["api-7d9f", "coredns-668d", "web-5c2a"]);
    assert!(
        pods.metadata
            .resource_version
            .is_some_and(|rv| rv.parse::<u64>().is_ok())
    );

    let staging: Api<Pod> = Api::namespaced(client.clone(), "gravl-staging");
    let web = staging.get("web-5c2a").await.expect("get pod");
    assert_eq!(web.status.and_then(|s| s.phase).as_deref(), Some("Running"));
    assert!(web.metadata.uid.is_some());
    assert_eq!(web.metadata.generation, Some(1));

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "gravl-staging");
    let api = deployments.get("api").await.expect("get deployment");
    assert_eq!(api.status.and_then(|s| s.ready_replicas), Some(2));

    let missing = staging
        .get("nope")
        .await
        .expect_err("missing pod is an error");
    match missing {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
            assert!(
                status.message.contains("pods \"nope\" not found"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 404 Status, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn dynamic_cluster_issuers_carry_status_as_written() {
    let sim = start_fixture_sim().await;
    let issuers = cluster_issuers(client_for(&sim));
    let list = issuers
        .list(&ListParams::default())
        .await
        .expect("list issuers");
    assert_eq!(list.items.len(), 2);
    let internal = issuers.get("internal-ca").await.expect("get issuer");
    assert_eq!(
        internal.data["status"]["conditions"][0]["status"],
        json!("False")
    );
    assert_eq!(
        sim.request_counts()
            .of("clusterissuers.cert-manager.io", "list"),
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn namespaces_carry_the_metadata_name_label() {
    let sim = start_fixture_sim().await;
    let namespaces: Api<Namespace> = Api::all(client_for(&sim));
    let kube_system = namespaces.get("kube-system").await.expect("get namespace");
    let labels = kube_system.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("kube-system")
    );
    let selected = namespaces
        .list(&ListParams::default().labels("kubernetes.io/metadata.name=kube-system"))
        .await
        .expect("list by label");
    assert_eq!(selected.items.len(), 1);
    let by_old_label = namespaces
        .list(&ListParams::default().labels("name=kube-system"))
        .await
        .expect("list by label");
    assert!(by_old_label.items.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn metadata_only_secret_list_and_watch_never_return_secret_data() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);
    let secrets: Api<PartialObjectMeta<Secret>> = Api::all(client.clone());
    let list = secrets
        .list_metadata(&ListParams::default())
        .await
        .expect("metadata list");
    assert_eq!(list.items.len(), 2);

    let raw: serde_json::Value = client
        .request(
            http::Request::get("/api/v1/secrets")
                .header(
                    "Accept",
                    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                )
                .body(Vec::new())
                .expect("request builds"),
        )
        .await
        .expect("raw metadata list");
    assert_eq!(raw["kind"], "PartialObjectMetadataList");
    let body = raw.to_string();
    assert!(!body.contains("c2VjcmV0LWtleS1tYXRlcmlhbA=="), "{body}");
    assert!(!body.contains("\"data\""), "{body}");

    let stream = watcher(secrets, watcher::Config::default());
    let mut stream = std::pin::pin!(stream);
    let mut seen = Vec::new();
    while let Ok(Ok(Some(event))) =
        tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await
    {
        match event {
            watcher::Event::InitApply(secret) => {
                seen.push(secret.metadata.name.unwrap_or_default())
            }
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["db-password", "sealed-secrets-keyabcde"]);
    sim.apply(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "late", "namespace": "default"}, "data": {"k": "dmFsdWU="}}))
        .expect("apply secret");
    let applied = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("event before timeout")
        .expect("watcher ok")
        .expect("stream open");
    assert!(
        matches!(applied, watcher::Event::Apply(ref s) if s.metadata.name.as_deref() == Some("late"))
    );

    let counts = sim.request_counts();
    assert!(counts.of("secrets", "watch") >= 1, "{counts:?}");
    assert_eq!(counts.secret_data_responses, 0, "{counts:?}");

    // A full read does return data, and the counter notices.
    let full: Api<Secret> = Api::namespaced(client, "default");
    full.get("late").await.expect("full get");
    assert_eq!(sim.request_counts().secret_data_responses, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_sees_added_modified_and_deleted() {
    let sim = start_fixture_sim().await;
    let issuers = cluster_issuers(client_for(&sim));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(issuers, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let label = match event {
                Ok(watcher::Event::Apply(o)) => {
                    format!("apply {}", o.metadata.name.unwrap_or_default())
                }
                Ok(watcher::Event::Delete(o)) => {
                    format!("delete {}", o.metadata.name.unwrap_or_default())
                }
                Ok(watcher::Event::InitDone) => "init-done".to_string(),
                Ok(_) => continue,
                Err(error) => format!("error {error}"),
            };
            if tx.send(label).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("watch event before timeout")
            .expect("watch task alive")
    };
    assert_eq!(next().await, "init-done");
    sim.apply(
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
        "metadata": {"name": "selfsigned"}, "spec": {"selfSigned": {}}}),
    )
    .expect("apply");
    assert_eq!(next().await, "apply selfsigned");
    sim.merge_patch(
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "internal-ca",
        json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    )
    .expect("patch");
    assert_eq!(next().await, "apply internal-ca");
    let patched = sim
        .get("cert-manager.io/v1", "ClusterIssuer", None, "internal-ca")
        .expect("stored");
    assert_eq!(patched["status"]["conditions"][0]["status"], "True");
    assert_eq!(
        patched["metadata"]["generation"], 1,
        "status patches keep generation"
    );
    sim.delete("cert-manager.io/v1", "ClusterIssuer", None, "selfsigned")
        .expect("delete");
    assert_eq!(next().await, "delete selfsigned");
    task.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_relists_after_history_expires_and_watches_drop() {
    let sim = start_fixture_sim().await;
    let pods: Api<Pod> = Api::all(client_for(&sim));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(pods, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let label = match event {
                Ok(watcher::Event::Init) => "init".to_string(),
                Ok(watcher::Event::InitDone) => "init-done".to_string(),
                Ok(watcher::Event::Apply(o)) => {
                    format!("apply {}", o.metadata.name.unwrap_or_default())
                }
                Ok(_) => continue,
                Err(error) => format!("error {error}"),
            };
            if tx.send(label).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("watch event before timeout")
            .expect("watch task alive")
    };
    assert_eq!(next().await, "init");
    assert_eq!(next().await, "init-done");
    let lists_before = sim.request_counts().of("pods", "list");

    sim.expire_history();
    sim.drop_watches();
    let error = next().await;
    assert!(
        error.starts_with("error") && error.contains("too old resource version"),
        "{error}"
    );
    assert_eq!(next().await, "init", "the watcher re-lists after 410");
    assert_eq!(next().await, "init-done");
    assert!(sim.request_counts().of("pods", "list") > lists_before);

    sim.apply(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "after-relist", "namespace": "default"}}))
        .expect("apply");
    assert_eq!(next().await, "apply after-relist");
    task.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn denied_resource_answers_403_like_a_real_server() {
    let sim = start_fixture_sim().await;
    sim.deny("secrets");
    let secrets: Api<Secret> = Api::namespaced(client_for(&sim), "kube-system");
    let error = secrets
        .list(&ListParams::default())
        .await
        .expect_err("denied");
    let kube::Error::Api(status) = error else {
        panic!("expected a Status, got {error:?}");
    };
    assert_eq!(status.code, 403);
    assert_eq!(status.reason, "Forbidden");
    assert_eq!(
        status.message,
        "secrets is forbidden: User \"golive-sim\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\""
    );
    sim.allow("secrets");
    assert_eq!(
        secrets
            .list(&ListParams::default())
            .await
            .expect("allowed")
            .items
            .len(),
        1
    );
    assert_eq!(sim.request_counts().forbidden, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists_and_watches() {
    let sim = start_fixture_sim().await;
    let pods: Api<Pod> = Api::all(client_for(&sim));
    let names = |list: kube::core::ObjectList<Pod>| {
        let mut names: Vec<_> = list
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        names.sort();
        names
    };
    let cases = [
        ("app=web", vec!["web-5c2a"]),
        ("app!=web", vec!["api-7d9f", "coredns-668d"]),
        ("tier in (backend,frontend)", vec!["api-7d9f", "web-5c2a"]),
        ("tier notin (backend)", vec!["coredns-668d", "web-5c2a"]),
        ("tier", vec!["api-7d9f", "web-5c2a"]),
        ("!tier", vec!["coredns-668d"]),
    ];
    for (selector, expected) in cases {
        let list = pods
            .list(&ListParams::default().labels(selector))
            .await
            .expect(selector);
        assert_eq!(names(list), expected, "{selector}");
    }
    let by_field = pods
        .list(&ListParams::default().fields("metadata.namespace=kube-system"))
        .await
        .expect("field selector");
    assert_eq!(names(by_field), vec!["coredns-668d"]);
    let by_name = pods
        .list(&ListParams::default().fields("metadata.name=api-7d9f"))
        .await
        .expect("field selector");
    assert_eq!(names(by_name), vec!["api-7d9f"]);
    let bad = pods
        .list(&ListParams::default().labels("app in web"))
        .await
        .expect_err("bad selector");
    assert!(
        matches!(bad, kube::Error::Api(ref s) if s.code == 400),
        "{bad:?}"
    );

    // A watch with a selector sees a pod leave the selection as DELETED.
    let staging: Api<Pod> = Api::namespaced(client_for(&sim), "gravl-staging");
    let rv = sim.resource_version().to_string();
    let stream = staging
        .watch(
            &WatchParams::default().labels("tier=frontend").timeout(10),
            &rv,
        )
        .await
        .expect("watch starts");
    let mut stream = std::pin::pin!(stream);
    sim.merge_patch(
        "v1",
        "Pod",
        Some("gravl-staging"),
        "api-7d9f",
        json!({"metadata": {"labels": {"owner": "x"}}}),
    )
    .expect("patch outside selection");
    sim.merge_patch(
        "v1",
        "Pod",
        Some("gravl-staging"),
        "web-5c2a",
        json!({"metadata": {"labels": {"tier": "edge"}}}),
    )
    .expect("patch out of selection");
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("event before timeout")
        .expect("watch ok")
        .expect("stream open");
    match event {
        kube::core::WatchEvent::Deleted(pod) => {
            assert_eq!(pod.metadata.name.as_deref(), Some("web-5c2a"))
        }
        other => panic!("expected DELETED for web-5c2a, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn pagination_walks_every_item_with_continue_tokens() {
    let sim = start_fixture_sim().await;
    for i in 0..25 {
        sim.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:02}"), "namespace": "paged"}, "data": {"i": i.to_string()}}))
            .expect("apply");
    }
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client_for(&sim), "paged");
    let first = maps
        .list(&ListParams::default().limit(10))
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.metadata.remaining_item_count, Some(15));
    let mut names: Vec<String> = first
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let mut token = first.metadata.continue_;
    let mut pages = 1;
    while let Some(next) = token.filter(|t| !t.is_empty()) {
        let page = maps
            .list(&ListParams::default().limit(10).continue_token(&next))
            .await
            .expect("next page");
        pages += 1;
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(names, expected);

    // Later pages report the first page's resourceVersion, like a snapshot,
    // and a token older than the history window is 410 Expired.
    let first_rv = first.metadata.resource_version.clone();
    sim.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "zz-late", "namespace": "paged"}}))
        .expect("apply");
    let fresh = maps
        .list(&ListParams::default().limit(10))
        .await
        .expect("fresh page 1");
    let token = fresh.metadata.continue_.clone().expect("more pages");
    let second = maps
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        second.metadata.resource_version,
        fresh.metadata.resource_version
    );
    assert_ne!(fresh.metadata.resource_version, first_rv);
    sim.expire_history();
    let expired = maps
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect_err("expired token");
    assert!(
        matches!(expired, kube::Error::Api(ref s) if s.code == 410 && s.reason == "Expired"),
        "{expired:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn outage_answers_500_then_recovers() {
    let sim = start_fixture_sim().await;
    let pods: Api<Pod> = Api::all(client_for(&sim));
    sim.set_outage(Some(500));
    let error = pods.list(&ListParams::default()).await.expect_err("outage");
    assert!(
        matches!(error, kube::Error::Api(ref s) if s.code == 500),
        "{error:?}"
    );
    sim.set_outage(None);
    pods.list(&ListParams::default()).await.expect("recovered");
    sim.shutdown().await;
}

#[tokio::test]
async fn client_without_retries_sees_503_and_default_client_retries_through_it() {
    let sim = start_fixture_sim().await;
    let url = sim.url().parse().expect("valid URL");
    let mut config = kube::Config::new(url);
    config.default_retry = false;
    let no_retry: Api<Pod> = Api::all(kube::Client::try_from(config).expect("client"));
    sim.set_outage(Some(503));
    let error = no_retry
        .list(&ListParams::default())
        .await
        .expect_err("outage");
    assert!(
        matches!(error, kube::Error::Api(ref s) if s.code == 503 && s.reason == "ServiceUnavailable"),
        "{error:?}"
    );

    let retrying: Api<Pod> = Api::all(client_for(&sim));
    let pending = tokio::spawn(async move { retrying.list(&ListParams::default()).await });
    let before = sim.request_counts().total;
    eventually("the default client retries the 503", || {
        let total = sim.request_counts().total;
        async move { total > before }
    })
    .await;
    sim.set_outage(None);
    let pods = pending
        .await
        .expect("task ran")
        .expect("retried through the outage");
    assert_eq!(pods.items.len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn stopped_listener_refuses_connections_until_resumed() {
    let sim = start_fixture_sim().await;
    let watched: Api<Pod> = Api::all(client_for(&sim));
    let rv = sim.resource_version().to_string();
    let stream = watched
        .watch(&WatchParams::default().timeout(30), &rv)
        .await
        .expect("watch starts");
    let mut stream = std::pin::pin!(stream);
    sim.set_accepting(false);
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the open watch ends when the server stops");
    assert!(!matches!(ended, Some(Ok(_))), "{ended:?}");
    let addr = sim.addr();
    eventually("the listener closes", || async move {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    sim.set_accepting(true);
    eventually("the listener is back", || async move {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    let pods: Api<Pod> = Api::all(client_for(&sim));
    pods.list(&ListParams::default())
        .await
        .expect("serving again");
    sim.shutdown().await;
}

#[tokio::test]
async fn bookmarks_carry_only_the_resource_version() {
    let sim = start_fixture_sim().await;
    sim.set_bookmark_interval(Duration::from_millis(100));
    let pods: Api<Pod> = Api::all(client_for(&sim));
    let rv = sim.resource_version().to_string();
    let stream = pods
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch starts");
    let mut stream = std::pin::pin!(stream);
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("bookmark before timeout")
        .expect("watch ok")
        .expect("stream open");
    match event {
        kube::core::WatchEvent::Bookmark(bookmark) => {
            assert_eq!(bookmark.metadata.resource_version, rv);
        }
        other => panic!("expected a BOOKMARK, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn metadata_watch_body_holds_partial_metadata_only() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);
    let body = client
        .request_text(
            http::Request::get("/api/v1/secrets?watch=true&timeoutSeconds=1")
                .header(
                    "Accept",
                    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                )
                .body(Vec::new())
                .expect("request builds"),
        )
        .await
        .expect("watch body until the server-side timeout");
    let events: Vec<serde_json::Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON event"))
        .collect();
    assert_eq!(events.len(), 2, "{body}");
    for event in &events {
        assert_eq!(event["type"], "ADDED");
        assert_eq!(event["object"]["kind"], "PartialObjectMetadata");
        assert!(event["object"].get("data").is_none(), "{event}");
    }
    assert!(!body.contains("c2VjcmV0LWtleS1tYXRlcmlhbA=="));
    assert_eq!(sim.request_counts().secret_data_responses, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_then_changes() {
    let sim = start_fixture_sim().await;
    let pods: Api<Pod> = Api::namespaced(client_for(&sim), "gravl-staging");
    let mut stream = std::pin::pin!(watcher(pods, watcher::Config::default().streaming_lists()));
    let mut initial = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("event before timeout")
            .expect("watcher ok")
            .expect("stream open");
        match event {
            watcher::Event::InitApply(pod) => initial.push(pod.metadata.name.unwrap_or_default()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    initial.sort();
    assert_eq!(initial, vec!["api-7d9f", "web-5c2a"]);
    assert_eq!(
        sim.request_counts().of("pods", "list"),
        0,
        "no list with streaming lists"
    );
    sim.delete("v1", "Pod", Some("gravl-staging"), "api-7d9f")
        .expect("delete");
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("event before timeout")
        .expect("watcher ok")
        .expect("stream open");
    assert!(
        matches!(event, watcher::Event::Delete(ref p) if p.metadata.name.as_deref() == Some("api-7d9f"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn http_writes_create_patch_and_delete_objects() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "gravl-staging");
    let created = maps
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "flags"}, "data": {"a": "1"}}))
                .expect("config map"),
        )
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace.as_deref(), Some("gravl-staging"));
    let again = maps
        .create(&Default::default(), &created)
        .await
        .expect_err("already exists");
    assert!(
        matches!(again, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{again:?}"
    );

    let patched = maps
        .patch(
            "flags",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"data": {"b": "2"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.data.unwrap_or_default().len(), 2);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "gravl-staging");
    let status_write = pods
        .patch(
            "api-7d9f",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await
        .expect("patch main resource");
    assert_eq!(
        status_write.status.and_then(|s| s.phase).as_deref(),
        Some("Running"),
        "the main resource ignores status changes"
    );
    let status_patch = pods
        .patch_status(
            "api-7d9f",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await
        .expect("patch status");
    assert_eq!(
        status_patch.status.and_then(|s| s.phase).as_deref(),
        Some("Failed")
    );

    pods.delete("api-7d9f", &Default::default())
        .await
        .expect("delete");
    assert!(
        sim.get("v1", "Pod", Some("gravl-staging"), "api-7d9f")
            .is_none()
    );

    sim.deny("configmaps");
    let denied = maps
        .delete("flags", &Default::default())
        .await
        .expect_err("denied");
    assert!(
        matches!(denied, kube::Error::Api(ref s) if s.code == 403 && s.message.contains("cannot delete resource \"configmaps\"")),
        "{denied:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_answer_a_404_status() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);
    for path in ["/apis/example.com/v1", "/api/v1/widgets", "/nope"] {
        let error = client
            .request::<serde_json::Value>(
                http::Request::get(path)
                    .body(Vec::new())
                    .expect("request builds"),
            )
            .await
            .expect_err(path);
        assert!(
            matches!(error, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"),
            "{path}: {error:?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn table_watch_sends_column_definitions_once() {
    let sim = start_fixture_sim().await;
    let client = client_for(&sim);
    let body = client
        .request_text(
            http::Request::get("/api/v1/namespaces/gravl-staging/pods?watch=true&timeoutSeconds=1")
                .header(
                    "Accept",
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                )
                .body(Vec::new())
                .expect("request builds"),
        )
        .await
        .expect("watch body until the server-side timeout");
    let events: Vec<serde_json::Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON event"))
        .collect();
    assert_eq!(events.len(), 2, "{body}");
    assert_eq!(events[0]["object"]["kind"], "Table");
    assert_eq!(events[0]["object"]["columnDefinitions"][1]["name"], "Ready");
    assert_eq!(events[1]["object"]["columnDefinitions"], json!([]));
    assert_eq!(
        events[1]["object"]["rows"][0]["object"]["kind"],
        "PartialObjectMetadata"
    );
    sim.reset_request_counts();
    assert_eq!(sim.request_counts().total, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn kube_discovery_resolves_crd_kinds_both_legacy_and_aggregated() {
    let sim = start_fixture_sim().await;
    let gvk = GroupVersionKind::gvk("cert-manager.io", "v1", "ClusterIssuer");
    let legacy = kube::Discovery::new(client_for(&sim))
        .run()
        .await
        .expect("legacy discovery");
    let (resource, capabilities) = legacy.resolve_gvk(&gvk).expect("ClusterIssuer discovered");
    assert_eq!(resource.plural, "clusterissuers");
    assert_eq!(capabilities.scope, kube::discovery::Scope::Cluster);

    let aggregated = kube::Discovery::new(client_for(&sim))
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    let (resource, capabilities) = aggregated
        .resolve_gvk(&gvk)
        .expect("ClusterIssuer discovered");
    assert_eq!(resource.plural, "clusterissuers");
    assert_eq!(capabilities.scope, kube::discovery::Scope::Cluster);
    let pods = aggregated
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod"))
        .expect("pods discovered");
    assert_eq!(pods.1.scope, kube::discovery::Scope::Namespaced);
    sim.shutdown().await;
}

#[tokio::test]
async fn timed_outage_ends_by_itself_and_latency_delays_answers() {
    let sim = start_fixture_sim().await;
    let pods: Api<Pod> = Api::all(client_for(&sim));
    sim.set_outage_for(500, Duration::from_millis(200));
    let error = pods.list(&ListParams::default()).await.expect_err("outage");
    assert!(
        matches!(error, kube::Error::Api(ref s) if s.code == 500),
        "{error:?}"
    );
    eventually("the outage ends", || {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default()).await.is_ok() }
    })
    .await;

    sim.set_latency(Some(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    pods.list(&ListParams::default())
        .await
        .expect("slow but fine");
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.set_latency(None);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_with_frequent_bookmarks_and_a_dropped_watch_loses_no_events() {
    let sim = start_fixture_sim().await;
    sim.set_bookmark_interval(Duration::from_millis(20));
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client_for(&sim), "burst");
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = kube::runtime::reflector(writer, watcher(maps, watcher::Config::default()));
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    reader.wait_until_ready().await.expect("initial list");
    for i in 0..200 {
        sim.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("burst-{i:03}"), "namespace": "burst"}}))
            .expect("apply");
        if i % 3 == 0 {
            sim.delete("v1", "ConfigMap", Some("burst"), &format!("burst-{i:03}"))
                .expect("delete");
        }
        if i % 50 == 0 {
            tokio::task::yield_now().await;
        }
        // Resuming from the last bookmark or event must replay what was missed.
        if i == 120 {
            sim.drop_watches();
        }
    }
    let expected = (0..200).filter(|i| i % 3 != 0).count();
    eventually("the reflector holds every surviving object", || {
        let count = reader.state().len();
        async move { count == expected }
    })
    .await;
    task.abort();
    sim.shutdown().await;
}
