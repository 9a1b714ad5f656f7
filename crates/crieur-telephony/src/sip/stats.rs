//! Counters an operator (or a test) reads to see what the endpoint refused and why.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the endpoint's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SipStats {
    /// Datagrams dropped before the SIP stack: unparseable and unanswerable.
    pub malformed_dropped: u64,
    /// Malformed requests answered 400 (or 501 for an unknown method).
    pub malformed_answered: u64,
    /// INVITEs refused 503 because their source sent too many.
    pub flood_rejected: u64,
    /// INVITEs refused 503 because of the dialog cap or a full incoming queue.
    pub overload_rejected: u64,
    /// Incoming calls handed to the application.
    pub calls_in: u64,
    /// Outgoing calls attempted.
    pub calls_out: u64,
    /// REGISTER requests accepted (including refreshes and removals).
    pub registrations: u64,
    /// REGISTER requests refused 403 (wrong password or user).
    pub registrations_refused: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) malformed_dropped: AtomicU64,
    pub(crate) malformed_answered: AtomicU64,
    pub(crate) flood_rejected: AtomicU64,
    pub(crate) overload_rejected: AtomicU64,
    pub(crate) calls_in: AtomicU64,
    pub(crate) calls_out: AtomicU64,
    pub(crate) registrations: AtomicU64,
    pub(crate) registrations_refused: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SipStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SipStats {
            malformed_dropped: get(&self.malformed_dropped),
            malformed_answered: get(&self.malformed_answered),
            flood_rejected: get(&self.flood_rejected),
            overload_rejected: get(&self.overload_rejected),
            calls_in: get(&self.calls_in),
            calls_out: get(&self.calls_out),
            registrations: get(&self.registrations),
            registrations_refused: get(&self.registrations_refused),
        }
    }
}
