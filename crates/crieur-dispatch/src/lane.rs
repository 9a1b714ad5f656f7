//! One channel's lane: claims what is due, picks a provider for each message
//! (the first ready one with room, in the configured order), paces and sends
//! it, and passes the outcome to the flusher. A claim never takes more than
//! the providers have room for, so what a crash leaves uncertain stays small.

use crate::message::message;
use crate::pace::Pace;
use crate::stopping::Stopping;
use crate::{Settings, unix_now};
use crieur_channels::{Accepted, ChannelError, Envelope, Provider};
use crieur_store::{ClaimedDelivery, DeliveryOutcome, OutcomeKind, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

pub(crate) struct Lane {
    pub(crate) channel: &'static str,
    pub(crate) store: Store,
    pub(crate) providers: Vec<Arc<dyn Provider>>,
    pub(crate) records: mpsc::UnboundedSender<DeliveryOutcome>,
    pub(crate) settings: Settings,
    pub(crate) wake: Arc<Notify>,
    pub(crate) stopping: Arc<Stopping>,
}

struct Slot {
    provider: Arc<dyn Provider>,
    permits: Arc<Semaphore>,
    size: u32,
    pace: Arc<Pace>,
}

/// How long in-flight messages may take to finish once stopping.
const DRAIN: Duration = Duration::from_secs(20);

pub(crate) async fn run(lane: Lane) {
    let slots: Vec<Slot> = lane
        .providers
        .iter()
        .map(|p| {
            let size = p.concurrency().clamp(1, 1 << 16) as u32;
            Slot {
                provider: p.clone(),
                permits: Arc::new(Semaphore::new(size as usize)),
                size,
                pace: Arc::new(Pace::new(p.rate())),
            }
        })
        .collect();
    while !lane.stopping.is_stopped() {
        let pause = if slots.is_empty() {
            no_provider(&lane).await
        } else {
            round(&lane, &slots).await
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = lane.stopping.stopped() => {}
                () = lane.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
    // Let what is in flight finish and be recorded; what does not finish in
    // time stays claimed and is recovered as possibly duplicated.
    for s in &slots {
        if tokio::time::timeout(DRAIN, s.permits.acquire_many(s.size))
            .await
            .is_err()
        {
            tracing::warn!(
                provider = s.provider.name(),
                "messages still in flight at stop"
            );
        }
    }
}

/// One claim and its sends. Returns how long to pause before the next, if
/// there was nothing to do.
async fn round(lane: &Lane, slots: &[Slot]) -> Option<Duration> {
    let ready: Vec<&Slot> = slots.iter().filter(|s| s.provider.ready()).collect();
    let Some(first) = ready.first() else {
        return Some(Duration::from_millis(250));
    };
    let room: usize = ready.iter().map(|s| s.permits.available_permits()).sum();
    if room == 0 {
        // Wait for the primary to have room again (or a short while, in case
        // another provider frees some first).
        tokio::select! {
            p = first.permits.clone().acquire_owned() => drop(p),
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        return None;
    }
    let limit = (room as u32).min(lane.settings.claim_max);
    let claimed = match lane
        .store
        .deliveries()
        .claim_deliveries(lane.channel, limit, unix_now())
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // A storage hiccup must not end sending: wait and try again.
            tracing::error!(channel = lane.channel, error = %e, "claiming deliveries failed; retrying");
            return Some(Duration::from_secs(1));
        }
    };
    if claimed.is_empty() {
        return Some(lane.settings.idle);
    }
    for d in claimed {
        let Some(msg) = message(&d) else {
            let _ = lane
                .records
                .send(failed(&d, "", format!("unknown channel {}", d.channel)));
            continue;
        };
        let (slot, permit) = if lane.channel == "operator" {
            // Each operator is its own provider: the delivery names it.
            match named(lane, slots, &d).await {
                Some(picked) => picked,
                None => continue,
            }
        } else {
            pick(&ready).await
        };
        let records = lane.records.clone();
        let settings = lane.settings.clone();
        let provider = slot.provider.clone();
        let pace = slot.pace.clone();
        tokio::spawn(send(d, msg, provider, pace, permit, records, settings));
    }
    None
}

/// The provider a delivery names (a mobile operator), waiting for its room;
/// `None` when it is unknown (failed) or cannot send now (back in the queue).
async fn named<'a>(
    lane: &Lane,
    slots: &'a [Slot],
    d: &ClaimedDelivery,
) -> Option<(&'a Slot, OwnedSemaphorePermit)> {
    let Some(slot) = slots.iter().find(|s| s.provider.name() == d.address) else {
        let reason = format!("no operator named {} is configured", d.address);
        let _ = lane.records.send(failed(d, "", reason));
        return None;
    };
    if !slot.provider.ready() {
        let _ = lane.records.send(DeliveryOutcome {
            id: d.id,
            provider: d.address.clone(),
            result: OutcomeKind::Requeue { at: unix_now() + 5 },
        });
        return None;
    }
    let permit = slot
        .permits
        .clone()
        .acquire_owned()
        .await
        .expect("a lane's semaphores are never closed");
    Some((slot, permit))
}

/// The first ready provider with room, in order; else wait for the first.
async fn pick<'a>(ready: &[&'a Slot]) -> (&'a Slot, OwnedSemaphorePermit) {
    for s in ready {
        if let Ok(p) = s.permits.clone().try_acquire_owned() {
            return (s, p);
        }
    }
    let s = ready[0];
    let p = s
        .permits
        .clone()
        .acquire_owned()
        .await
        .expect("a lane's semaphores are never closed");
    (s, p)
}

async fn send(
    d: ClaimedDelivery,
    message: crieur_channels::Outbound,
    provider: Arc<dyn Provider>,
    pace: Arc<Pace>,
    permit: OwnedSemaphorePermit,
    records: mpsc::UnboundedSender<DeliveryOutcome>,
    settings: Settings,
) {
    pace.wait().await;
    let envelope = Envelope {
        delivery: d.id,
        message,
    };
    let result = provider.send(&envelope).await;
    match &result {
        Err(ChannelError::Throttled(_)) => pace.slow_down().await,
        Err(e @ ChannelError::Permanent(_)) => {
            tracing::info!(delivery = d.id, provider = provider.name(), error = %e, "a delivery failed");
        }
        Err(e) => {
            tracing::debug!(delivery = d.id, provider = provider.name(), error = %e, "a delivery will be retried");
        }
        Ok(_) => {}
    }
    let result = classify(
        result,
        d.attempts,
        provider.receipts(),
        &settings,
        unix_now(),
    );
    // Recorded before the permit is returned: a stop that has every permit
    // back has every outcome queued for the flusher.
    let _ = records.send(DeliveryOutcome {
        id: d.id,
        provider: provider.name().to_owned(),
        result,
    });
    drop(permit);
}

/// What a provider's answer means for the delivery.
pub(crate) fn classify(
    result: Result<Accepted, ChannelError>,
    attempts: u32,
    receipts: bool,
    settings: &Settings,
    now: i64,
) -> OutcomeKind {
    match result {
        Ok(a) => OutcomeKind::Sent {
            await_receipts: receipts && !a.references.is_empty(),
            references: a.references,
            reach: a.reach,
        },
        Err(ChannelError::Permanent(reason)) => OutcomeKind::Failed {
            reason: format!("permanent failure: {reason}"),
            possibly_sent: false,
        },
        Err(ChannelError::Unavailable(_)) => OutcomeKind::Requeue { at: now + 1 },
        Err(e) => {
            let possibly_sent = matches!(e, ChannelError::Unknown(_));
            if attempts >= settings.max_attempts {
                OutcomeKind::Failed {
                    reason: format!("{e} (after {attempts} attempts)"),
                    possibly_sent,
                }
            } else {
                OutcomeKind::Retry {
                    at: now + backoff(attempts, settings).as_secs().max(1) as i64,
                    reason: e.to_string(),
                    possibly_sent,
                }
            }
        }
    }
}

/// Exponential back-off with jitter: about `backoff × 2^(attempts-1)`, capped,
/// between half and all of it so retries of a burst spread out.
pub(crate) fn backoff(attempts: u32, settings: &Settings) -> Duration {
    let exp = settings
        .backoff
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let full = exp.min(settings.max_backoff);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

fn failed(d: &ClaimedDelivery, provider: &str, reason: String) -> DeliveryOutcome {
    DeliveryOutcome {
        id: d.id,
        provider: provider.to_owned(),
        result: OutcomeKind::Failed {
            reason,
            possibly_sent: false,
        },
    }
}

/// A channel nobody provides: its deliveries fail, saying so.
async fn no_provider(lane: &Lane) -> Option<Duration> {
    match lane
        .store
        .deliveries()
        .claim_deliveries(lane.channel, lane.settings.claim_max, unix_now())
        .await
    {
        Ok(claimed) if claimed.is_empty() => Some(lane.settings.idle),
        Ok(claimed) => {
            tracing::warn!(
                channel = lane.channel,
                count = claimed.len(),
                "no provider is configured for this channel; its deliveries fail"
            );
            for d in &claimed {
                let reason = format!("no {} provider is configured", lane.channel);
                let _ = lane.records.send(failed(d, "", reason));
            }
            None
        }
        Err(e) => {
            tracing::error!(channel = lane.channel, error = %e, "claiming deliveries failed; retrying");
            Some(Duration::from_secs(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let s = Settings::default();
        for attempts in 1..=12u32 {
            let full = s
                .backoff
                .saturating_mul(1 << (attempts - 1))
                .min(s.max_backoff);
            for _ in 0..50 {
                let b = backoff(attempts, &s);
                assert!(
                    b >= full / 2 && b <= full,
                    "attempt {attempts}: {b:?} vs {full:?}"
                );
            }
        }
        assert!(backoff(30, &s) <= s.max_backoff);
    }

    #[test]
    fn temporary_failures_retry_until_the_last_attempt() {
        let s = Settings::default();
        let t = |e: ChannelError, n| classify(Err(e), n, true, &s, 1_000);
        assert!(matches!(
            t(ChannelError::Temporary("451".into()), 1),
            OutcomeKind::Retry { at, possibly_sent: false, .. } if at > 1_000
        ));
        assert!(matches!(
            t(ChannelError::Unknown("timeout".into()), 2),
            OutcomeKind::Retry {
                possibly_sent: true,
                ..
            }
        ));
        assert!(matches!(
            t(ChannelError::Throttled("0x58".into()), s.max_attempts),
            OutcomeKind::Failed {
                possibly_sent: false,
                ..
            }
        ));
        assert!(matches!(
            t(ChannelError::Permanent("550".into()), 1),
            OutcomeKind::Failed { ref reason, .. } if reason.contains("550")
        ));
        assert_eq!(
            t(ChannelError::Unavailable("down".into()), 3),
            OutcomeKind::Requeue { at: 1_001 }
        );
        let sent = classify(
            Ok(Accepted {
                references: vec!["a".into()],
                reach: None,
            }),
            1,
            false,
            &s,
            0,
        );
        assert!(matches!(
            sent,
            OutcomeKind::Sent {
                await_receipts: false,
                ..
            }
        ));
    }
}
