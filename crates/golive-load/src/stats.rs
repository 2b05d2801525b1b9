//! HDR-histogram recording: per-worker interval recorders merged by the aggregator.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Why a request failed without an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Refused,
    Timeout,
    Reset,
    Tls,
    Dns,
    Connect,
    Protocol,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Refused,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Tls,
        ErrorKind::Dns,
        ErrorKind::Connect,
        ErrorKind::Protocol,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Tls => "tls",
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Protocol => "protocol",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Values are recorded in microseconds; one hour is the ceiling.
const MAX_MICROS: u64 = 3_600_000_000;

pub(crate) fn new_histogram() -> Histogram<u64> {
    // Auto-resizing: the counts array grows only as far as the slowest value seen.
    Histogram::new(3)
        .unwrap_or_else(|_| unreachable!("3 significant figures is a valid HDR precision"))
}

fn record(h: &mut Histogram<u64>, micros: u64) {
    // An error here means the value could not be stored even after resizing; clamping avoids it.
    let _ = h.record(micros.min(MAX_MICROS));
}

/// Everything recorded for the requests matching one (sub)metric selector.
#[derive(Clone, Debug)]
pub(crate) struct Stats {
    pub reqs: u64,
    pub failed: u64,
    /// Corrected (from intended start) for arrival-rate executors.
    pub duration: Histogram<u64>,
    pub duration_uncorrected: Histogram<u64>,
    pub waiting: Histogram<u64>,
    pub connecting: Histogram<u64>,
    pub tls: Histogram<u64>,
    pub statuses: Vec<(u16, u64)>,
    pub errors: [u64; 7],
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            reqs: 0,
            failed: 0,
            duration: new_histogram(),
            duration_uncorrected: new_histogram(),
            waiting: new_histogram(),
            connecting: new_histogram(),
            tls: new_histogram(),
            statuses: Vec::new(),
            errors: [0; 7],
        }
    }

    pub fn reset(&mut self) {
        self.reqs = 0;
        self.failed = 0;
        self.duration.reset();
        self.duration_uncorrected.reset();
        self.waiting.reset();
        self.connecting.reset();
        self.tls.reset();
        self.statuses.clear();
        self.errors = [0; 7];
    }

    pub fn add(&mut self, other: &Stats) {
        self.reqs += other.reqs;
        self.failed += other.failed;
        let _ = self.duration.add(&other.duration);
        let _ = self.duration_uncorrected.add(&other.duration_uncorrected);
        let _ = self.waiting.add(&other.waiting);
        let _ = self.connecting.add(&other.connecting);
        let _ = self.tls.add(&other.tls);
        for &(code, n) in &other.statuses {
            self.add_status(code, n);
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
    }

    fn add_status(&mut self, code: u16, n: u64) {
        match self.statuses.iter_mut().find(|(c, _)| *c == code) {
            Some(entry) => entry.1 += n,
            None => self.statuses.push((code, n)),
        }
    }

    fn record(&mut self, s: &Sample) {
        self.reqs += 1;
        if s.failed() {
            self.failed += 1;
        }
        match s.outcome {
            Outcome::Status(code) => {
                self.add_status(code, 1);
                record(&mut self.waiting, s.waiting_us);
            }
            Outcome::Error(kind) => self.errors[kind.index()] += 1,
        }
        if s.timed {
            record(&mut self.duration, s.duration_us);
            record(&mut self.duration_uncorrected, s.uncorrected_us);
        }
        if let Some(c) = s.connecting_us {
            record(&mut self.connecting, c);
        }
        if let Some(t) = s.tls_us {
            record(&mut self.tls, t);
        }
    }

    pub fn error_count(&self, kind: ErrorKind) -> u64 {
        self.errors[kind.index()]
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    Status(u16),
    Error(ErrorKind),
}

/// One finished request as the VU hands it to its worker's recorder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub outcome: Outcome,
    /// Whether the durations below were measured: always for a response; for a failure
    /// once the request was being sent, or when it timed out at any stage (as k6 records
    /// errored requests, and so that a stall longer than the timeout shows in the latency).
    pub timed: bool,
    pub duration_us: u64,
    pub uncorrected_us: u64,
    pub waiting_us: u64,
    /// `Some(0)` on a reused connection (k6 records 0), `None` when no connection was made.
    pub connecting_us: Option<u64>,
    pub tls_us: Option<u64>,
    pub sent: u64,
    pub received: u64,
}

impl Sample {
    pub fn failed(&self) -> bool {
        match self.outcome {
            Outcome::Status(code) => !(200..=399).contains(&code),
            Outcome::Error(_) => true,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Status(code) => Some(code),
            Outcome::Error(_) => None,
        }
    }
}

/// Which submetrics a request slot feeds; the status part is checked per sample.
#[derive(Clone, Debug, Default)]
pub(crate) struct SubRoute {
    pub sub: usize,
    pub status: Option<u16>,
}

/// A worker's (or the aggregator's) record of everything measured.
#[derive(Clone, Debug)]
pub(crate) struct Recorder {
    pub global: Stats,
    pub subs: Vec<Stats>,
    pub iterations: Vec<u64>,
    pub dropped: Vec<u64>,
    pub data_sent: u64,
    pub data_received: u64,
}

impl Recorder {
    pub fn new(subs: usize, scenarios: usize) -> Recorder {
        Recorder {
            global: Stats::new(),
            subs: (0..subs).map(|_| Stats::new()).collect(),
            iterations: vec![0; scenarios],
            dropped: vec![0; scenarios],
            data_sent: 0,
            data_received: 0,
        }
    }

    pub fn reset(&mut self) {
        self.global.reset();
        self.subs.iter_mut().for_each(Stats::reset);
        self.iterations.iter_mut().for_each(|v| *v = 0);
        self.dropped.iter_mut().for_each(|v| *v = 0);
        self.data_sent = 0;
        self.data_received = 0;
    }

    pub fn add(&mut self, other: &Recorder) {
        self.global.add(&other.global);
        for (a, b) in self.subs.iter_mut().zip(&other.subs) {
            a.add(b);
        }
        for (a, b) in self.iterations.iter_mut().zip(&other.iterations) {
            *a += b;
        }
        for (a, b) in self.dropped.iter_mut().zip(&other.dropped) {
            *a += b;
        }
        self.data_sent += other.data_sent;
        self.data_received += other.data_received;
    }

    pub fn record(&mut self, routes: &[SubRoute], sample: &Sample) {
        self.global.record(sample);
        self.data_sent += sample.sent;
        self.data_received += sample.received;
        for route in routes {
            if (route.status.is_none() || route.status == sample.status())
                && let Some(stats) = self.subs.get_mut(route.sub)
            {
                stats.record(sample);
            }
        }
    }

    pub fn iterations_total(&self) -> u64 {
        self.iterations.iter().sum()
    }
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

/// Percentiles of one trend metric, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    pub count: u64,
    pub min: f64,
    pub avg: f64,
    pub med: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl LatencyStats {
    pub(crate) fn from_histogram(h: &Histogram<u64>) -> LatencyStats {
        if h.is_empty() {
            return LatencyStats::default();
        }
        LatencyStats {
            count: h.len(),
            min: ms(h.min()),
            avg: h.mean() / 1000.0,
            med: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// One bar of the latency histogram the cockpit draws: requests with duration ≤ `le_ms`
/// and above the previous bar's bound.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistogramBar {
    pub le_ms: f64,
    pub count: u64,
}

const BAR_BOUNDS_MS: [f64; 16] = [
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    10000.0,
    f64::INFINITY,
];

pub(crate) fn bars(h: &Histogram<u64>) -> Vec<HistogramBar> {
    let mut out: Vec<HistogramBar> = BAR_BOUNDS_MS
        .iter()
        .map(|&le_ms| HistogramBar { le_ms, count: 0 })
        .collect();
    for v in h.iter_recorded() {
        let value_ms = ms(h.highest_equivalent(v.value_iterated_to()));
        let idx = BAR_BOUNDS_MS
            .iter()
            .position(|&b| value_ms <= b)
            .unwrap_or(BAR_BOUNDS_MS.len() - 1);
        out[idx].count += v.count_at_value();
    }
    // Trim empty bars at both ends so the UI spends its width on the data.
    let first = out.iter().position(|b| b.count > 0).unwrap_or(0);
    let last = out
        .iter()
        .rposition(|b| b.count > 0)
        .map(|i| i + 1)
        .unwrap_or(0);
    if first >= last {
        return Vec::new();
    }
    out[first..last].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_sample(micros: u64) -> Sample {
        Sample {
            outcome: Outcome::Status(200),
            timed: true,
            duration_us: micros,
            uncorrected_us: micros,
            waiting_us: micros,
            connecting_us: Some(0),
            tls_us: None,
            sent: 10,
            received: 20,
        }
    }

    #[test]
    fn merged_worker_histograms_give_exact_percentiles_of_a_known_mix() {
        // Two workers, 98% at 10 ms and 2% at 200 ms in total.
        let mut a = Recorder::new(0, 1);
        let mut b = Recorder::new(0, 1);
        for i in 0..1000 {
            let rec = if i % 2 == 0 { &mut a } else { &mut b };
            rec.record(&[], &ok_sample(if i % 50 == 49 { 200_000 } else { 10_000 }));
        }
        let mut total = Recorder::new(0, 1);
        total.add(&a);
        total.add(&b);
        let l = LatencyStats::from_histogram(&total.global.duration);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001;
        assert_eq!(l.count, 1000);
        assert!(close(l.med, 10.0) && close(l.p95, 10.0), "{l:?}");
        assert!(close(l.p99, 200.0) && close(l.max, 200.0), "{l:?}");
        assert!(close(l.avg, 0.98 * 10.0 + 0.02 * 200.0), "{l:?}");
        assert_eq!(total.data_sent, 10_000);
        assert_eq!(total.global.statuses, vec![(200, 1000)]);
    }

    /// Counts the heap this thread holds and its allocation calls, so a test can see what a
    /// `Recorder` keeps without trusting the recorder's own accounting.
    struct ThreadHeap;

    thread_local! {
        static LIVE_BYTES: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
        static ALLOC_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn account(grew: isize) {
        // `try_with`: the allocator also runs while thread-locals are being torn down.
        let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + grew));
        if grew > 0 {
            let _ = ALLOC_CALLS.try_with(|c| c.set(c.get() + 1));
        }
    }

    unsafe impl std::alloc::GlobalAlloc for ThreadHeap {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let p = unsafe { std::alloc::System.alloc(layout) };
            if !p.is_null() {
                account(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
            let p = unsafe { std::alloc::System.alloc_zeroed(layout) };
            if !p.is_null() {
                account(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            unsafe { std::alloc::System.dealloc(ptr, layout) };
            account(-(layout.size() as isize));
        }
        unsafe fn realloc(
            &self,
            ptr: *mut u8,
            layout: std::alloc::Layout,
            new_size: usize,
        ) -> *mut u8 {
            let p = unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                account(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    #[global_allocator]
    static HEAP: ThreadHeap = ThreadHeap;

    fn heap() -> (isize, u64) {
        (LIVE_BYTES.with(|b| b.get()), ALLOC_CALLS.with(|c| c.get()))
    }

    #[test]
    fn recorder_memory_is_the_same_after_ten_thousand_and_a_million_wide_samples() {
        let routes = [SubRoute {
            sub: 0,
            status: None,
        }];
        let mut rec = Recorder::new(1, 1);
        // xorshift64: a wide, deterministic spread of durations, log-uniform over 1 µs..1 h
        // so every HDR bucket is hit, and a few statuses and errors.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut sample = move |i: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            let mut s = ok_sample((MAX_MICROS as f64).powf(unit) as u64);
            s.outcome = match i % 7 {
                0 => Outcome::Status(500),
                1 => Outcome::Error(ErrorKind::Timeout),
                2 => Outcome::Status(404),
                _ => Outcome::Status(200),
            };
            s
        };
        // The extremes first: the histograms then cover the whole range, so any later
        // growth could only be storage per sample.
        for v in [1, MAX_MICROS] {
            rec.record(&routes, &ok_sample(v));
        }
        for i in 0..10_000 {
            rec.record(&routes, &sample(i));
        }
        let (bytes_10k, calls_10k) = heap();
        for i in 0..1_000_000 {
            rec.record(&routes, &sample(i));
        }
        let (bytes_1m, calls_1m) = heap();
        assert_eq!(rec.global.reqs, 1_010_002);
        assert_eq!(bytes_1m, bytes_10k, "heap held by the recorder grew");
        assert_eq!(calls_1m, calls_10k, "recording allocated");
    }

    #[test]
    fn submetric_routes_filter_on_status() {
        let mut rec = Recorder::new(2, 1);
        let routes = [
            SubRoute {
                sub: 0,
                status: Some(500),
            },
            SubRoute {
                sub: 1,
                status: None,
            },
        ];
        rec.record(&routes, &ok_sample(1000));
        let mut failed = ok_sample(1000);
        failed.outcome = Outcome::Status(500);
        rec.record(&routes, &failed);
        assert_eq!(rec.subs[0].reqs, 1);
        assert_eq!(rec.subs[0].failed, 1);
        assert_eq!(rec.subs[1].reqs, 2);
        assert_eq!(rec.global.failed, 1);
    }
}
