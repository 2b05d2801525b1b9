//! The demo service's own request metrics and their Prometheus text exposition
//! (`GET /metrics`): `http_requests_total{method,path,code}` and the histogram
//! `http_request_duration_seconds{path}`, counted with atomics on the hot path.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Routes the service answers; anything else is counted as `other`, so a scanner cannot
/// create unbounded series.
pub const ROUTES: &[&str] = &[
    "/health",
    "/api/exercises",
    "/api/v1/volundr/events/health",
    "/api/v1/volundr/sessions/stream",
    "other",
];
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];
/// Every status code the service answers with.
const CODES: &[u16] = &[200, 404, 500, 503];
/// Upper bounds in seconds; `+Inf` is the count.
pub const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// One histogram: per-bucket (not cumulative) counts, the count and the sum in µs.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Counters for every (route, method, code) and a latency histogram per route.
pub struct HttpMetrics {
    requests: Vec<AtomicU64>,
    durations: Vec<Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self {
            requests: (0..ROUTES.len() * METHODS.len() * CODES.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            durations: (0..ROUTES.len()).map(|_| Histogram::default()).collect(),
        }
    }
}

/// The index of a request path in [`ROUTES`].
pub fn route_index(path: &str) -> usize {
    ROUTES
        .iter()
        .position(|r| *r == path)
        .unwrap_or(ROUTES.len() - 1)
}

fn method_index(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

fn code_index(code: u16) -> usize {
    // The service answers only the codes listed; an unlisted one is counted as 500.
    CODES
        .iter()
        .position(|c| *c == code)
        .or_else(|| CODES.iter().position(|c| *c == 500))
        .unwrap_or(0)
}

impl HttpMetrics {
    fn slot(route: usize, method: usize, code: usize) -> usize {
        (route * METHODS.len() + method) * CODES.len() + code
    }

    /// Counts one answered request. Lock-free: three or four relaxed atomic adds.
    pub fn observe(&self, route: usize, method: &str, code: u16, elapsed: Duration) {
        let slot = Self::slot(route, method_index(method), code_index(code));
        if let Some(counter) = self.requests.get(slot) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let Some(h) = self.durations.get(route) else {
            return;
        };
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            h.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        h.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The text exposition format (version 0.0.4). A (route, method) appears once it has
    /// been asked; its `code="500"` series is then written even at 0, so an error ratio
    /// over healthy traffic is 0 and over no traffic is no data.
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP http_requests_total Requests answered, by method, route and status code.\n\
             # TYPE http_requests_total counter\n",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for (m, method) in METHODS.iter().enumerate() {
                let counts: Vec<u64> = (0..CODES.len())
                    .map(|c| self.requests[Self::slot(r, m, c)].load(Ordering::Relaxed))
                    .collect();
                if counts.iter().all(|n| *n == 0) {
                    continue;
                }
                for (code, n) in CODES.iter().zip(&counts) {
                    if *n > 0 || *code == 500 {
                        let _ = writeln!(
                            out,
                            "http_requests_total{{method=\"{method}\",path=\"{route}\",code=\"{code}\"}} {n}"
                        );
                    }
                }
            }
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time to answer a request, by route.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        for (route, h) in ROUTES.iter().zip(&self.durations) {
            let count = h.count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (le, bucket) in BUCKETS.iter().zip(&h.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{path=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            // Read after the buckets: a request counted meanwhile keeps +Inf ≥ every bucket.
            let count = h.count.load(Ordering::Relaxed).max(cumulative);
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{path=\"{route}\",le=\"+Inf\"}} {count}\n\
                 http_request_duration_seconds_sum{{path=\"{route}\"}} {sum}\n\
                 http_request_duration_seconds_count{{path=\"{route}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn nothing_asked_exposes_no_series() {
        let text = HttpMetrics::default().exposition();
        assert!(!text.lines().any(|l| !l.starts_with('#')), "{text}");
    }

    #[test]
    fn counters_and_cumulative_buckets() {
        let m = HttpMetrics::default();
        let r = route_index("/api/exercises");
        m.observe(r, "GET", 200, Duration::from_millis(3));
        m.observe(r, "GET", 200, Duration::from_millis(30));
        m.observe(r, "GET", 503, Duration::from_millis(700));
        m.observe(
            route_index("/wp-admin"),
            "BREW",
            404,
            Duration::from_millis(1),
        );
        let text = m.exposition();
        for line in [
            r#"http_requests_total{method="GET",path="/api/exercises",code="200"} 2"#,
            r#"http_requests_total{method="GET",path="/api/exercises",code="500"} 0"#,
            r#"http_requests_total{method="GET",path="/api/exercises",code="503"} 1"#,
            r#"http_requests_total{method="OTHER",path="other",code="404"} 1"#,
            r#"http_request_duration_seconds_bucket{path="/api/exercises",le="0.005"} 1"#,
            r#"http_request_duration_seconds_bucket{path="/api/exercises",le="0.05"} 2"#,
            r#"http_request_duration_seconds_bucket{path="/api/exercises",le="1"} 3"#,
            r#"http_request_duration_seconds_bucket{path="/api/exercises",le="+Inf"} 3"#,
            r#"http_request_duration_seconds_sum{path="/api/exercises"} 0.733"#,
            r#"http_request_duration_seconds_count{path="/api/exercises"} 3"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(!text.contains(r#"path="/health""#));
    }
}
