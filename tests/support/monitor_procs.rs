//! Real Prometheus and Alertmanager processes for tests: each on a free loopback port with
//! its own temporary directory, killed when its guard drops (also on panic), plus traffic,
//! scrapes and silences over plain HTTP.
#![allow(dead_code)]

use bytes::Bytes;
use golive::metrics::client::{self, Endpoint};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const INSTALL: &str = "apt-get update && apt-get install -y --no-install-recommends prometheus prometheus-alertmanager";

/// The binary's path; panics (the test fails, it does not skip) when it is missing.
pub fn require(binary: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{binary}` is not on PATH; these tests need the real thing. Install it with: {INSTALL}")
        })
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running server process. Dropping it kills it and waits, so no test leaves one
/// behind.
pub struct Proc {
    pub url: String,
    pub name: &'static str,
    child: std::process::Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proc {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    name: &'static str,
    binary: &str,
    dir: tempfile::TempDir,
    port: u16,
    args: Vec<String>,
) -> Proc {
    let binary = require(binary);
    let log = dir.path().join("log.txt");
    let out = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    // If the test process dies without unwinding, the kernel kills the server too.
    unsafe {
        use std::os::unix::process::CommandExt as _;
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    Proc {
        url: format!("http://127.0.0.1:{port}"),
        name,
        child,
        log,
        _dir: dir,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Alertmanager without clustering (its status says `disabled`), one receiver that
/// sends nowhere, groups flushed within a second.
pub fn start_alertmanager() -> Proc {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "alertmanager.yml",
        "route:\n  receiver: nowhere\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: nowhere\n",
    );
    let port = free_port();
    let storage = dir.path().join("data").display().to_string();
    spawn(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        dir,
        port,
        vec![
            format!("--config.file={config}"),
            format!("--storage.path={storage}"),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
        ],
    )
}

/// Prometheus scraping `target` (a `http://host:port` URL) every second as job
/// `gravl-backend`, evaluating `rules` every second and sending alerts to `alertmanager`
/// (resent every second).
pub fn start_prometheus(target: &str, alertmanager: Option<&str>, rules: &str) -> Proc {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.yml", rules);
    let target = target.trim_start_matches("http://");
    let alerting = alertmanager
        .map(|am| {
            format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
                am.trim_start_matches("http://")
            )
        })
        .unwrap_or_default();
    let config = write(
        dir.path(),
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{rules}']\n{alerting}\
             scrape_configs:\n  - job_name: gravl-backend\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    );
    let port = free_port();
    let storage = dir.path().join("data").display().to_string();
    spawn(
        "prometheus",
        "prometheus",
        dir,
        port,
        vec![
            format!("--config.file={config}"),
            format!("--storage.tsdb.path={storage}"),
            format!("--web.listen-address=127.0.0.1:{port}"),
            // An alert first sent before Alertmanager listened is sent again a second
            // later, not a minute later.
            "--rules.alert.resend-delay=1s".into(),
        ],
    )
}

/// Waits for Prometheus's `/-/ready` and, when given, Alertmanager's `/api/v2/status`
/// (its `/-/ready` is always 200).
pub async fn wait_ready(prom_ep: &Endpoint, am_ep: Option<&Endpoint>, procs: &[&Proc]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let prom_ready = client::ready(prom_ep, Duration::from_secs(1)).await.is_ok();
        let am_ready = match am_ep {
            Some(am) => client::am_status(am, Duration::from_secs(1)).await.is_ok(),
            None => true,
        };
        if prom_ready && am_ready {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = procs
                .iter()
                .map(|p| format!("--- {} log:\n{}", p.name, p.log()))
                .collect();
            panic!("not ready within 20 s\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `ready` every 200 ms for up to 20 s.
pub async fn wait_for<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn http<B>() -> Client<HttpConnector, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// `GET url`'s body as text.
pub async fn scrape(url: &str) -> String {
    let response = http::<Empty<Bytes>>()
        .get(url.parse().unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// Calls `GET /health` about a hundred times a second until stopped.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Traffic {
    pub fn start(base: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let url: hyper::Uri = format!("{base}/health").parse().unwrap();
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let client = http::<Empty<Bytes>>();
            while !flag.load(Ordering::Relaxed) {
                if let Ok(r) = client.get(url.clone()).await {
                    let _ = r.into_body().collect().await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Self { stop, task }
    }

    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
    }
}

/// Silences `alertname` for an hour through Alertmanager's API; returns the silence id.
pub async fn create_silence(am: &str, alertname: &str) -> String {
    let now = jiff::Timestamp::now();
    let body = serde_json::json!({
        "matchers": [{"name": "alertname", "value": alertname, "isRegex": false, "isEqual": true}],
        "startsAt": now.to_string(),
        "endsAt": (now + jiff::SignedDuration::from_hours(1)).to_string(),
        "createdBy": "golive tests",
        "comment": "silenced by tests/monitor_real.rs",
    });
    let request = hyper::Request::post(format!("{am}/api/v2/silences"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = http::<Full<Bytes>>().request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "POST /api/v2/silences: {status} {body:?}"
    );
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    answer["silenceID"].as_str().unwrap().to_string()
}
