#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
mod common;

use std::time::Duration;

use golive_load::LoadRun;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_vus_counts_every_request_of_every_iteration() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s:
      executor: constant-vus
      vus: 4
      duration: 1s
      requests: [GET /a, GET /b]
",
        server.base()
    ));
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let s = &summary.snapshot;
    assert!(s.iterations > 10, "{s:?}");
    assert_eq!(s.http_reqs, s.iterations * 2);
    assert_eq!(s.http_reqs, server.requests());
    assert_eq!(s.http_req_failed, 0);
    assert_eq!(s.status_counts, vec![(200, s.http_reqs)]);
    assert_eq!(s.vus_max, 4);
    assert!(s.data_received > s.http_reqs * 40, "wire bytes counted");
    assert!(s.data_sent > s.http_reqs * 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_arrival_rate_sends_rate_times_duration() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 2
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 50, timeUnit: 1s, duration: 2s, preAllocatedVUs: 5, maxVUs: 10, requests: [GET /]}}
",
        server.base()
    ));
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let s = &summary.snapshot;
    // Iteration k starts when the rate's integral reaches k: k = 0..99, exactly 100.
    assert_eq!(s.http_reqs, 100);
    assert_eq!(s.iterations, 100);
    assert_eq!(s.http_reqs, server.requests());
    assert_eq!(s.dropped_iterations, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_arrival_rate_integrates_the_stages() {
    let server = common::start().await;
    // 0 → 100/s over 1 s: 50 iterations.
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: ramping-arrival-rate, startRate: 0, timeUnit: 1s, preAllocatedVUs: 5, maxVUs: 10, stages: [{{duration: 1s, target: 100}}], requests: [GET /]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.http_reqs, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_vus_follows_the_stage_targets() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: ramping-vus, startVUs: 0, stages: [{{duration: 600ms, target: 4}}, {{duration: 600ms, target: 0}}], requests: [GET /delay?ms=5]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!((3..=4).contains(&s.vus_max), "vus_max {}", s.vus_max);
    assert!(s.http_reqs > 20);
    assert_eq!(s.vus, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentiles_match_a_known_latency_mix() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: constant-vus, vus: 10, duration: 2s, requests: [GET /mix]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    let l = &s.latency;
    // The server's own sleeps jitter on a busy machine, so the bounds are the two modes,
    // not HDR precision (checked exactly in the stats unit tests).
    assert!(l.count > 300, "{l:?}");
    assert!((10.0..30.0).contains(&l.med), "{l:?}");
    assert!((10.0..30.0).contains(&l.p95), "{l:?}");
    assert!((200.0..240.0).contains(&l.p99), "{l:?}");
    assert!((200.0..260.0).contains(&l.max), "{l:?}");
    // Closed model: nothing to correct.
    assert_eq!(s.latency, s.latency_uncorrected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stall_shows_in_corrected_latency_but_not_in_request_count() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 1
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 200, timeUnit: 1s, duration: 2s, preAllocatedVUs: 2, maxVUs: 2, dropAfter: 5s, requests: [GET /stall]}}
",
        server.base()
    ));
    *server.state.stall_from.lock().unwrap() =
        Some(std::time::Instant::now() + Duration::from_millis(500));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.http_reqs, 400);
    assert_eq!(s.dropped_iterations, 0);
    assert!(s.latency.p99 > 800.0, "corrected {:?}", s.latency);
    assert!(
        s.latency_uncorrected.p99 < 100.0,
        "uncorrected {:?}",
        s.latency_uncorrected
    );
    assert!(
        s.latency_uncorrected.max > 500.0,
        "the stalled requests themselves are slow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stall_with_k6_defaults_allocates_vus_and_shows_in_corrected_latency() {
    let server = common::start().await;
    // No dropAfter (k6's behaviour): a 1 s stall at 200/s needs ~200 VUs at once, which
    // maxVUs allows, so nothing is dropped and each request waits out the stall.
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 2
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 200, timeUnit: 1s, duration: 2s, preAllocatedVUs: 2, maxVUs: 400, requests: [GET /stall]}}
",
        server.base()
    ));
    *server.state.stall_from.lock().unwrap() =
        Some(std::time::Instant::now() + Duration::from_millis(500));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.http_reqs, 400);
    assert_eq!(s.dropped_iterations, 0);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert!(
        s.vus_max > 150,
        "VUs were allocated for the stall: {}",
        s.vus_max
    );
    // Requests arriving through the stall waited up to its full second.
    assert!(
        (900.0..1200.0).contains(&s.latency.p99),
        "corrected {:?}",
        s.latency
    );
    assert!(s.latency.max < 1200.0, "corrected {:?}", s.latency);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_iterations_counted_when_max_vus_exhausted() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 1
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 50, timeUnit: 1s, duration: 1s, preAllocatedVUs: 1, maxVUs: 2, requests: [GET /delay?ms=200]}}
",
        server.base()
    ));
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let s = &summary.snapshot;
    assert!(s.iterations <= 12, "{}", s.iterations);
    assert!(s.dropped_iterations >= 35, "{}", s.dropped_iterations);
    assert_eq!(s.iterations + s.dropped_iterations, 50);
    assert_eq!(s.vus_max, 2);
    assert_eq!(summary.dropped_by_scenario, vec![s.dropped_iterations]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_scenarios_run_at_once() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    closed: {{executor: constant-vus, vus: 2, duration: 1s, requests: [GET /a]}}
    open: {{executor: constant-arrival-rate, rate: 20, duration: 1s, preAllocatedVUs: 2, requests: [GET /b]}}
  thresholds:
    'iterations{{scenario:open}}': ['count==20']
",
        server.base()
    ));
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    assert_eq!(summary.scenario_names, vec!["closed", "open"]);
    assert!(summary.iterations_by_scenario[0] > 20);
    assert_eq!(summary.iterations_by_scenario[1], 20);
    assert!(summary.thresholds_ok(), "{:?}", summary.thresholds());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_snapshots_stream_while_running_and_on_demand() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: constant-vus, vus: 2, duration: 3s, requests: [GET /delay?ms=2]}}
  thresholds:
    http_req_duration: ['p(95)<1000']
",
        server.base()
    ));
    let run = LoadRun::start(cfg).unwrap();
    let mut rx = run.snapshots();
    tokio::time::timeout(Duration::from_millis(1600), rx.changed())
        .await
        .unwrap()
        .unwrap();
    let first = rx.borrow().clone();
    assert!(first.http_reqs > 0 && first.window.reqs > 0, "{first:?}");
    assert_eq!(first.history.len(), 1);
    assert!(first.remaining.is_some());
    assert_eq!(first.thresholds.len(), 1);
    assert!(!first.histogram.is_empty());
    let now = run.snapshot_now().await;
    assert!(now.http_reqs >= first.http_reqs);
    run.stop();
    let summary = run.wait().await;
    assert!(summary.snapshot.finished);
    assert!(
        summary.snapshot.elapsed < Duration::from_millis(2500),
        "stop ended the run early"
    );
    assert_eq!(summary.aborted.as_deref(), Some("stopped on request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_without_waiting_stops_its_traffic() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: constant-vus, vus: 2, duration: 5s, requests: [GET /delay?ms=1]}}
",
        server.base()
    ));
    let run = LoadRun::start(cfg).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(run);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = server.requests();
    assert!(settled > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests(), settled);
}

/// Two VUs each start a 2 s request, then the stages drop to 0 VUs at 300–310 ms.
fn slow_ramp_down(server: &common::TestServer, grace: &str) -> golive_load::LoadConfig {
    common::config(&format!(
        "load:
  target: {}
  scenarios:
    s:
      executor: ramping-vus
      startVUs: 2
      gracefulRampDown: {grace}
      stages: [{{duration: 300ms, target: 2}}, {{duration: 10ms, target: 0}}]
      requests: [GET /delay?ms=2000]
",
        server.base()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_ramp_down_interrupts_iterations_that_outlast_it() {
    let server = common::start().await;
    let summary = LoadRun::start(slow_ramp_down(&server, "200ms"))
        .unwrap()
        .wait()
        .await;
    let s = &summary.snapshot;
    assert_eq!(server.requests(), 2, "both VUs sent their slow request");
    // k6: an interrupted iteration is not counted, nor the request it was waiting on.
    assert_eq!((s.iterations, s.http_reqs, s.http_req_failed), (0, 0, 0));
    assert!(s.error_counts.is_empty(), "{:?}", s.error_counts);
    assert!(
        s.elapsed >= Duration::from_millis(480) && s.elapsed < Duration::from_millis(1200),
        "interrupted about 200 ms after the ramp-down, not after the 2 s response: {:?}",
        s.elapsed
    );
    assert_eq!(s.vus, 0);
    assert!(summary.aborted.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_ramp_down_longer_than_the_iteration_lets_it_complete() {
    let server = common::start().await;
    let s = LoadRun::start(slow_ramp_down(&server, "5s"))
        .unwrap()
        .wait()
        .await
        .snapshot;
    assert_eq!(server.requests(), 2);
    assert_eq!((s.iterations, s.http_reqs, s.http_req_failed), (2, 2, 0));
    assert_eq!(s.status_counts, vec![(200, 2)]);
    assert!(
        s.elapsed >= Duration::from_millis(1950) && s.elapsed < Duration::from_millis(3500),
        "the run ends when the 2 s responses arrive: {:?}",
        s.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_still_queued_when_graceful_stop_ends_the_scenario_count_as_dropped() {
    let server = common::start().await;
    // One VU on a 2 s request; the other 9 iterations queue (dropAfter 5s) until
    // gracefulStop cuts the scenario at 500 ms + 200 ms.
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 1
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 20, duration: 500ms, preAllocatedVUs: 1, maxVUs: 1, dropAfter: 5s, gracefulStop: 200ms, requests: [GET /delay?ms=2000]}}
",
        server.base()
    ));
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let s = &summary.snapshot;
    // k6: the interrupted iteration counts in neither; the queued ones were dropped.
    assert_eq!(s.iterations, 0);
    assert_eq!(s.dropped_iterations, 9);
    assert_eq!(summary.dropped_by_scenario, vec![9]);
    assert!(s.elapsed < Duration::from_millis(1500), "{:?}", s.elapsed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_finds_an_idle_vu_on_another_worker_instead_of_being_dropped() {
    let server = common::start().await;
    // Two workers with one VU each. Worker 0 starts iterations 0, 2, 4…; its VU is held
    // 450 ms by the first request, while worker 1's VU idles between fast requests. k6 has
    // one pool: iterations 2–8 must run on worker 1's VU, not be dropped.
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 2
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 20, duration: 1s, preAllocatedVUs: 2, maxVUs: 2, requests: [GET /first-slow?ms=450]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.dropped_iterations, 0);
    assert_eq!(s.iterations, 20);
    assert_eq!(s.http_reqs, 20);
    assert_eq!(s.vus_max, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_granularity_is_not_charged_to_corrected_latency_against_a_fast_server() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 1
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 1000, timeUnit: 1s, duration: 2s, preAllocatedVUs: 20, maxVUs: 50, requests: [GET /]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    eprintln!(
        "1000 it/s: corrected p50 {:.3} ms p90 {:.3} ms, uncorrected p50 {:.3} ms p90 {:.3} ms",
        s.latency.med, s.latency.p90, s.latency_uncorrected.med, s.latency_uncorrected.p90
    );
    assert_eq!(s.http_reqs, 2000);
    // Charging the 1 ms timer tick made the corrected p50 ~0.75 ms above the uncorrected
    // one against this sub-ms server; what remains is the hand-over to the VU and the
    // occasional real hiccup of a shared machine.
    assert!(
        s.latency.med <= s.latency_uncorrected.med + 0.4,
        "corrected {:?} uncorrected {:?}",
        s.latency,
        s.latency_uncorrected
    );
}
