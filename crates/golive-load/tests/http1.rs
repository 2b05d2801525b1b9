#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
mod common;

use std::sync::atomic::Ordering;

use golive_load::LoadRun;

fn constant(target: &str, extra: &str, vus: u64, duration: &str, request: &str) -> String {
    format!(
        "load:
  target: {target}
{extra}  scenarios:
    s: {{executor: constant-vus, vus: {vus}, duration: {duration}, requests: [{request}]}}
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_reuses_one_connection_per_vu() {
    let server = common::start().await;
    let cfg = common::config(&constant(&server.base(), "", 3, "600ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 30, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(s.http_reqs, server.requests());
    assert_eq!(server.connections(), 3, "one connection per VU, reused");
    // A reused connection records 0 connecting time; only the 3 first requests connect.
    assert_eq!(s.connecting.count, s.http_reqs);
    assert!(s.connecting.med == 0.0, "{:?}", s.connecting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_connection_close_after_each_response_reconnects_and_succeeds() {
    let server = common::start().await;
    let cfg = common::config(&constant(&server.base(), "", 2, "600ms", "GET /close"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 10, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(s.status_counts, vec![(200, s.http_reqs)]);
    assert_eq!(server.requests(), s.http_reqs);
    assert_eq!(
        server.connections(),
        s.http_reqs,
        "a new connection per request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_over_http1_when_the_server_offers_only_http1() {
    let server = common::start_tls_http1().await;
    let cfg = common::config(&constant(
        &format!("https://localhost:{}", server.addr.port()),
        "  insecureSkipTLSVerify: true\n",
        2,
        "500ms",
        "GET /, GET /close",
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 10, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(server.requests(), s.http_reqs);
    assert_eq!(server.state.http2_requests.load(Ordering::SeqCst), 0);
    // `/` reuses the connection, `/close` ends it: one handshake per iteration.
    assert_eq!(s.http_reqs, 2 * s.iterations);
    assert_eq!(server.connections(), s.iterations);
    assert!(s.tls_handshaking.max > 0.0);
    assert!(
        s.data_received > s.http_reqs * 40,
        "bytes counted above TLS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_and_chunked_responses_from_a_raw_server_keep_the_connection() {
    const RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
    let server = common::start_raw(RESPONSE, false).await;
    let cfg = common::config(&constant(&server.base(), "", 2, "500ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 10, "{}", s.http_reqs);
    assert_eq!(s.status_counts, vec![(200, s.http_reqs)]);
    assert_eq!(server.connections(), 2);
    assert_eq!(s.data_received, s.http_reqs * RESPONSE.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delimited_responses_succeed_on_a_new_connection_each() {
    const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close";
    let server = common::start_raw(RESPONSE, true).await;
    let cfg = common::config(&constant(&server.base(), "", 1, "400ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 5, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(server.connections(), s.http_reqs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_responses_count_as_protocol_errors() {
    let server = common::start_raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", false).await;
    let cfg = common::config(&constant(&server.base(), "", 1, "300ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 3, "{}", s.http_reqs);
    assert_eq!(s.error_counts, vec![("protocol".to_string(), s.http_reqs)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_cut_by_the_server_counts_as_reset() {
    let server =
        common::start_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true).await;
    let cfg = common::config(&constant(&server.base(), "", 1, "300ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 3, "{}", s.http_reqs);
    assert_eq!(s.error_counts, vec![("reset".to_string(), s.http_reqs)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_the_server_closed_while_idle_is_replaced_not_failed() {
    // The server closes after each response without saying so, like an idle timeout
    // shorter than the 50 ms between this VU's requests.
    let server = common::start_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true).await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  workers: 1
  scenarios:
    s: {{executor: constant-arrival-rate, rate: 20, duration: 1s, preAllocatedVUs: 1, maxVUs: 1, requests: [GET /]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.http_reqs, 20);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(server.connections(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_the_server_drops_on_a_kept_alive_connection_is_retried_once_on_a_new_one() {
    let server =
        common::start_raw_answering_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let cfg = common::config(&constant(&server.base(), "", 1, "400ms", "GET /"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 5, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(server.requests(), s.http_reqs, "each request counted once");
    let dropped = server.state.unanswered.load(Ordering::SeqCst);
    assert_eq!(dropped, s.http_reqs - 1, "every reuse met the race");
    assert_eq!(server.connections(), s.http_reqs);
    // The attempt on the dead connection was written, so it counts in data_sent.
    let request = format!("GET / HTTP/1.1\r\nhost: {}\r\n\r\n", server.addr);
    assert_eq!(s.data_sent, (s.http_reqs + dropped) * request.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_the_server_drops_on_a_kept_alive_connection_fails_without_a_retry() {
    let server =
        common::start_raw_answering_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let cfg = common::config(&constant(&server.base(), "", 1, "400ms", "POST /orders"));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    let dropped = server.state.unanswered.load(Ordering::SeqCst);
    assert!(dropped >= 2, "{dropped}");
    // The server may have acted on a POST it read: it is not sent again.
    assert_eq!(s.error_counts, vec![("reset".to_string(), dropped)]);
    assert_eq!(s.status_counts, vec![(200, server.requests())]);
    assert_eq!(s.http_reqs, server.requests() + dropped);
}
