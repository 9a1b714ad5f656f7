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
    /// Claimed and not yet recorded, shared by every lane (see
    /// `Settings::unrecorded_max`); the flusher gives permits back.
    pub(crate) unrecorded: Arc<Semaphore>,
    pub(crate) settings: Settings,
    pub(crate) wake: Arc<Notify>,
    pub(crate) stopping: Arc<Stopping>,
    pub(crate) source: Source,
}

/// Where a lane's work comes from.
#[derive(Clone)]
pub(crate) enum Source {
    /// Claimed from the store (the embedded engine).
    Store,
    /// Batches taken from the work queue (a `crieur worker`).
    Queue(Arc<crate::queue::Intake>),
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
    let lane = Arc::new(lane);
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
    if slots.is_empty() {
        while !lane.stopping.is_stopped() {
            if let Some(pause) = no_provider(&lane).await {
                idle(&lane, pause).await;
            }
        }
        return;
    }
    // The claimer keeps a batch or two ready, so the providers' windows stay
    // full while the next claim is being written.
    let window: u32 = slots.iter().map(|s| s.size).sum();
    let batch = match lane.source {
        Source::Store => window.clamp(64, lane.settings.claim_max.max(64)),
        // A queued batch comes whole: the budget is a whole batch.
        Source::Queue(_) => lane.settings.claim_max.max(1),
    };
    let (ready_rows, mut rows) = mpsc::channel::<Vec<ClaimedDelivery>>(2);
    let claimer = tokio::spawn(claim(lane.clone(), batch, ready_rows));
    while let Some(claimed) = rows.recv().await {
        for d in claimed {
            dispatch(&lane, &slots, d).await;
        }
    }
    let _ = claimer.await;
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

async fn idle(lane: &Lane, pause: Duration) {
    tokio::select! {
        () = lane.stopping.stopped() => {}
        () = lane.wake.notified() => {}
        () = tokio::time::sleep(pause) => {}
    }
}

/// Claims batches while a provider of the lane is ready, until stopping.
async fn claim(lane: Arc<Lane>, batch: u32, out: mpsc::Sender<Vec<ClaimedDelivery>>) {
    while !lane.stopping.is_stopped() {
        if !lane.providers.iter().any(|p| p.ready()) {
            idle(&lane, Duration::from_millis(250)).await;
            continue;
        }
        let claiming = std::time::Instant::now();
        let Some(claimed) = claim_within_budget(&lane, batch).await else {
            break;
        };
        match claimed {
            Ok(c) if c.is_empty() => idle(&lane, lane.settings.idle).await,
            Ok(c) => {
                tracing::trace!(
                    count = c.len(),
                    took_us = claiming.elapsed().as_micros() as u64,
                    "claimed"
                );
                if out.send(c).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                // A storage hiccup must not end sending: wait and try again.
                tracing::error!(channel = lane.channel, error = %e, "claiming deliveries failed; retrying");
                idle(&lane, Duration::from_secs(1)).await;
            }
        }
    }
}

/// Hands one claimed delivery to a provider (waiting for room), or records
/// why it cannot go now.
async fn dispatch(lane: &Lane, slots: &[Slot], d: ClaimedDelivery) {
    let Some(msg) = message(&d) else {
        let reason = format!("unknown channel {}", d.channel);
        let _ = lane.records.send(failed(&d, "", reason));
        return;
    };
    let picked = if lane.channel == "operator" {
        // Each operator is its own provider: the delivery names it.
        named(lane, slots, &d).await
    } else {
        pick(slots).await
    };
    let Some((slot, permit)) = picked else {
        if lane.channel != "operator" {
            // Nobody can send now: back to the queue, the attempt not counted.
            let _ = lane.records.send(DeliveryOutcome {
                id: d.id,
                provider: String::new(),
                result: OutcomeKind::Requeue { at: unix_now() + 1 },
            });
        }
        return;
    };
    tokio::spawn(send(
        d,
        msg,
        slot.provider.clone(),
        slot.pace.clone(),
        permit,
        lane.records.clone(),
        lane.settings.clone(),
    ));
}

/// Claims up to `n` deliveries within the unrecorded budget: each claimed row
/// keeps one permit until its outcome is written; the rest go back at once.
/// `None` when stopping.
async fn claim_within_budget(
    lane: &Lane,
    n: u32,
) -> Option<Result<Vec<ClaimedDelivery>, crieur_store::StoreError>> {
    let budget = reserve(lane, n).await?;
    let claimed = match &lane.source {
        Source::Store => {
            lane.store
                .deliveries()
                .claim_deliveries(lane.channel, budget, unix_now())
                .await
        }
        Source::Queue(queue) => queue.take(lane.channel, &lane.stopping).await,
    };
    let kept = claimed.as_ref().map_or(0, Vec::len);
    if kept > budget as usize {
        // The recording will give back more permits than were taken: the
        // bound loosens, it does not deadlock. The worker's claim budget is
        // the queue's batch size, so only a coordinator configured otherwise
        // gets here.
        tracing::warn!(
            kept,
            budget,
            "a queued batch is larger than this worker's claim budget"
        );
    }
    lane.unrecorded
        .add_permits(budget as usize - kept.min(budget as usize));
    Some(claimed)
}

/// Takes `n` permits of the unrecorded budget, waiting while the recording is
/// behind; `None` when stopping.
async fn reserve(lane: &Lane, n: u32) -> Option<u32> {
    tokio::select! {
        p = lane.unrecorded.acquire_many(n) => {
            p.ok()?.forget();
            Some(n)
        }
        () = lane.stopping.stopped() => None,
    }
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

/// The first ready provider with room, in order; else wait for room at the
/// first ready one. `None` when none is ready.
async fn pick(slots: &[Slot]) -> Option<(&Slot, OwnedSemaphorePermit)> {
    let mut first = None;
    for s in slots.iter().filter(|s| s.provider.ready()) {
        if let Ok(p) = s.permits.clone().try_acquire_owned() {
            return Some((s, p));
        }
        first.get_or_insert(s);
    }
    let s = first?;
    let p = s
        .permits
        .clone()
        .acquire_owned()
        .await
        .expect("a lane's semaphores are never closed");
    Some((s, p))
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
            await_receipts: receipts && !a.references.is_empty() && !a.confirmed,
            references: a.references,
            reach: a.reach,
            confirmed: a.confirmed,
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
    match claim_within_budget(lane, lane.settings.claim_max).await? {
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
                confirmed: false,
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
