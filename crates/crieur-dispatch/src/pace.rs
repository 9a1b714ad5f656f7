//! A provider's pace: a token bucket at the configured rate, halved when the
//! provider says it is overloaded and climbing back by a tenth of the
//! configured rate each second. Nobody has to lower a rate by hand.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Pace {
    max: Option<f64>,
    inner: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

/// At most this many messages leave in one burst.
const BURST_SECONDS: f64 = 0.05;

impl Pace {
    pub(crate) fn new(rate: Option<f64>) -> Pace {
        let max = rate.filter(|r| r.is_finite() && *r > 0.0);
        Pace {
            max,
            inner: Mutex::new(Bucket {
                rate: max.unwrap_or(0.0),
                tokens: 1.0,
                last: Instant::now(),
            }),
        }
    }

    /// Waits until one more message may leave.
    pub(crate) async fn wait(&self) {
        let Some(max) = self.max else { return };
        let pause = {
            let mut b = self.inner.lock().await;
            let now = Instant::now();
            let elapsed = now.duration_since(b.last).as_secs_f64();
            b.last = now;
            b.rate = (b.rate + max * 0.1 * elapsed).min(max);
            let burst = (b.rate * BURST_SECONDS).max(1.0);
            b.tokens = (b.tokens + b.rate * elapsed).min(burst);
            b.tokens -= 1.0;
            if b.tokens >= 0.0 {
                return;
            }
            // Negative tokens are a debt: each waiter sleeps its share.
            Duration::from_secs_f64(-b.tokens / b.rate)
        };
        tokio::time::sleep(pause).await;
    }

    /// The provider asked us to slow down.
    pub(crate) async fn slow_down(&self) {
        if let Some(max) = self.max {
            let mut b = self.inner.lock().await;
            b.rate = (b.rate * 0.5).max(max / 64.0).max(1.0);
        }
    }

    #[cfg(test)]
    async fn rate(&self) -> f64 {
        self.inner.lock().await.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keeps_to_the_rate_and_halves_on_throttling() {
        let pace = Pace::new(Some(100.0));
        let start = tokio::time::Instant::now();
        for _ in 0..201 {
            pace.wait().await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!(
            (1.9..2.2).contains(&took),
            "200 messages at 100/s took {took} s"
        );
        pace.slow_down().await;
        assert!(pace.rate().await <= 50.0);
        pace.slow_down().await;
        assert!(pace.rate().await <= 25.0);
    }

    #[tokio::test]
    async fn no_rate_means_no_wait() {
        let pace = Pace::new(None);
        let start = std::time::Instant::now();
        for _ in 0..10_000 {
            pace.wait().await;
        }
        assert!(start.elapsed() < Duration::from_millis(500));
    }
}
