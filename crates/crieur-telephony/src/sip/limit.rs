//! Counting what arrives from each source, and keeping log lines about attacks
//! from becoming an attack on the log themselves.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Sources remembered at most; past this, windows older than one second are
/// forgotten (an attacker spoofing many addresses only costs this much memory).
const MAX_SOURCES: usize = 65_536;

/// At most `per_second` events per source IP in each one-second window.
#[derive(Debug)]
pub(crate) struct PerSourceRate {
    per_second: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl PerSourceRate {
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event from `ip`; false when that source is over its rate.
    pub(crate) fn admit(&self, ip: IpAddr, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_SOURCES && !windows.contains_key(&ip) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(1));
        }
        let (start, count) = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(1) {
            *start = now;
            *count = 0;
        }
        *count = count.saturating_add(1);
        *count <= self.per_second
    }
}

/// Lets one log line through per period and counts the ones it held back.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    period: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl LogLimiter {
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were held
    /// back since the last one.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(t) if now.duration_since(t) < self.period => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_over_its_rate_is_refused_until_the_next_second() {
        let rate = PerSourceRate::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| rate.admit(a, t0)));
        assert!(!rate.admit(a, t0));
        assert!(rate.admit(b, t0), "another source has its own count");
        assert!(rate.admit(a, t0 + Duration::from_millis(1001)));
    }

    #[test]
    fn the_log_limiter_counts_what_it_held_back() {
        let limiter = LogLimiter::new(Duration::from_secs(3600));
        assert_eq!(limiter.allow(), Some(0));
        assert_eq!(limiter.allow(), None);
        assert_eq!(limiter.allow(), None);
        *limiter.last.lock().unwrap() = None;
        assert_eq!(limiter.allow(), Some(2));
    }
}
