//! What the switchboard tells the rest of Crieur about each call: the queue log,
//! the supervisor's live view and call records are built from these.

use super::bridge::{BridgeEnd, Operator, OperatorUnavailable};
use crate::sip::{EndReason, Party};

/// Something that happened to one call, and when (wall clock).
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    /// The caller's SIP Call-ID: the same for every event of one call.
    pub call_id: String,
    pub at: jiff::Timestamp,
    pub kind: CallEventKind,
}

/// Why digit collection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEnd {
    /// The terminator key was pressed (it is not part of the digits).
    Terminator,
    /// The maximum number of digits was reached.
    Max,
    /// No (further) key came in time.
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEventKind {
    /// A call reached the switchboard, not answered yet.
    Offered {
        caller: Party,
        dialed: String,
    },
    Answered,
    /// The engine (or the switchboard, for unusable media) refused the call.
    Rejected {
        code: u16,
    },
    DigitsCollected {
        digits: String,
        ended_by: CollectEnd,
    },
    HoldStarted,
    /// An announcement started playing during hold (1 for the first).
    Announcement {
        number: u64,
    },
    HoldStopped,
    /// The operator's phone is being called.
    Dialing {
        operator: Operator,
    },
    /// The operator's phone was not reached; the caller is still up.
    BridgeFailed {
        operator: Operator,
        why: OperatorUnavailable,
    },
    /// The operator answered: audio now flows between caller and operator.
    Bridged {
        operator: Operator,
    },
    /// The bridge with this operator is over, and why.
    Unbridged {
        operator: Operator,
        end: BridgeEnd,
    },
    /// A blind transfer: `from`'s leg has ended, `to` is being called.
    Transferred {
        from: Operator,
        to: Operator,
    },
    /// The call is over (published exactly once per call).
    Ended {
        reason: EndReason,
    },
}
