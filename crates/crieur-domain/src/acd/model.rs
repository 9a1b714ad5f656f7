//! The distributor's vocabulary: lines, queues, skills, presence, what it asks
//! the runtime to do, and its log lines.

use crate::Language;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Millis, OperatorId};

/// The three lines behind the one public number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Line {
    Information,
    /// People looking for a relative: only operators trained for it.
    Relatives,
    /// Psychological support.
    Psychosocial,
}

impl Line {
    pub const ALL: [Line; 3] = [Line::Information, Line::Relatives, Line::Psychosocial];

    pub fn parse(s: &str) -> Option<Line> {
        Line::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Line::Information => "information",
            Line::Relatives => "relatives",
            Line::Psychosocial => "psychosocial",
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Line {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Line::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown line {s:?}"))
    }
}

/// One queue per line and language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    pub line: Line,
    pub language: Language,
}

impl QueueKey {
    pub fn new(line: Line, language: Language) -> Self {
        Self { line, language }
    }
}

impl fmt::Display for QueueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.line, self.language.code())
    }
}

/// What an operator can answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skills {
    /// Languages spoken natively: offered that language's calls at once.
    pub native: Vec<Language>,
    /// Languages spoken well enough: offered that language's calls once they have
    /// waited longer than the line's overflow time.
    #[serde(default)]
    pub spoken: Vec<Language>,
    /// Trained for the line for victims' relatives.
    #[serde(default)]
    pub relatives: bool,
    /// Trained for psychological support.
    #[serde(default)]
    pub psychosocial: bool,
}

impl Skills {
    /// Whether this operator may be offered a call of `queue` that has waited
    /// long enough (`overflowed`) to reach the wider group.
    pub fn serves(&self, queue: QueueKey, overflowed: bool) -> bool {
        let language = self.native.contains(&queue.language)
            || (overflowed && self.spoken.contains(&queue.language));
        let line = match queue.line {
            Line::Information => true,
            // Never relaxed: only trained staff take these calls.
            Line::Relatives => self.relatives,
            Line::Psychosocial => self.psychosocial || (overflowed && self.relatives),
        };
        language && line
    }
}

/// An operator's presence, as the desk shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Available,
    /// A call is being offered (their phone rings, or their desk shows it).
    Ringing,
    OnCall,
    WrapUp,
    Break,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Ringing => "ringing",
            Presence::OnCall => "on_call",
            Presence::WrapUp => "wrap_up",
            Presence::Break => "break",
        }
    }
}

/// How a call leaves one operator for another line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    /// The operator is free at once; the caller waits in the other queue.
    Blind,
    /// The operator stays with the call until someone on the other line takes it,
    /// and gets it back if nobody does in time.
    Warm,
}

/// Who ended a connected call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Caller,
    Operator,
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Offer the call: ring these operators' phones (one, or several for
    /// ring-all; the first to answer takes it).
    Offer {
        call: String,
        operators: Vec<OperatorId>,
    },
    /// Stop offering the call to this operator (another took it, or the caller
    /// left).
    Withdraw { call: String, operator: OperatorId },
    /// The caller has waited the line's maximum: propose a callback.
    MaxWait { call: String },
    /// A warm transfer found nobody in time: connect the caller back to the
    /// operator who started it.
    TransferReturned { call: String, operator: OperatorId },
    /// The operator missed too many offers and is now on break.
    SetOnBreak { operator: OperatorId, missed: u32 },
    /// The operator's wrap-up time is over: available again.
    WrapUpEnded { operator: OperatorId },
    /// A caller who hung up did not call back in time: their place is given up.
    PlaceReleased { call: String, caller: String },
}

/// A request that does not fit the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("operator {0} is not signed in")]
    NotSignedIn(OperatorId),
    #[error("operator {0} is already signed in")]
    AlreadySignedIn(OperatorId),
    #[error("operator {operator} is {presence}, and cannot {action}")]
    Busy {
        operator: OperatorId,
        presence: &'static str,
        action: &'static str,
    },
    #[error("call {0} is not known")]
    UnknownCall(String),
    #[error("call {0} is already queued or connected")]
    DuplicateCall(String),
    #[error("call {call} is not offered to operator {operator}")]
    NotOffered { call: String, operator: OperatorId },
    #[error("call {call} is not connected to operator {operator}")]
    NotConnected { call: String, operator: OperatorId },
    #[error("call {call} already is in queue {queue}")]
    SameQueue { call: String, queue: QueueKey },
}

/// One line of the queue log, in the style of Asterisk's `queue_log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEvent {
    pub at: Millis,
    pub call: String,
    pub queue: String,
    /// The operator's account id, or empty.
    pub agent: String,
    pub event: QueueEventKind,
    pub data: [String; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueEventKind {
    /// data: caller, priority, "kept place" when a caller came back in time.
    Enterqueue,
    /// data: hold time (s), ring time (s), position at entry.
    Connect,
    /// data: position, position at entry, wait time (s).
    Abandon,
    /// data: hold time (s), call time (s), position at entry.
    Completecaller,
    Completeagent,
    /// data: target queue, hold time (s), call time (s); kind in the agent field's event.
    Transfer,
    /// data: ring time (ms).
    Ringnoanswer,
    /// The caller chose a callback at the maximum wait. data: key, position, wait (s).
    Exitwithkey,
    /// The caller was still waiting when the hotline closed. data: position, wait (s).
    Exitwithtimeout,
    Addmember,
    Removemember,
    /// data: reason.
    Pause,
    Unpause,
}

impl QueueEventKind {
    pub fn as_str(self) -> &'static str {
        use QueueEventKind::*;
        match self {
            Enterqueue => "ENTERQUEUE",
            Connect => "CONNECT",
            Abandon => "ABANDON",
            Completecaller => "COMPLETECALLER",
            Completeagent => "COMPLETEAGENT",
            Transfer => "TRANSFER",
            Ringnoanswer => "RINGNOANSWER",
            Exitwithkey => "EXITWITHKEY",
            Exitwithtimeout => "EXITWITHTIMEOUT",
            Addmember => "ADDMEMBER",
            Removemember => "REMOVEMEMBER",
            Pause => "PAUSE",
            Unpause => "UNPAUSE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use QueueEventKind::*;
        [
            Enterqueue,
            Connect,
            Abandon,
            Completecaller,
            Completeagent,
            Transfer,
            Ringnoanswer,
            Exitwithkey,
            Exitwithtimeout,
            Addmember,
            Removemember,
            Pause,
            Unpause,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A waiting caller's place, for the announcements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// 1 for the next caller to be answered in this queue.
    pub position: usize,
    /// Estimated wait in seconds, when at least one operator can take the call.
    pub estimated_wait_s: Option<u64>,
}

/// The live state, for the supervisor and the desks.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub queues: Vec<QueueSnapshot>,
    pub operators: Vec<OperatorSnapshot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueSnapshot {
    pub queue: QueueKey,
    pub waiting: usize,
    pub longest_wait_s: u64,
    /// Operators signed in who can take this queue's calls.
    pub staffed: usize,
    pub available: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperatorSnapshot {
    pub operator: OperatorId,
    pub presence: Presence,
    pub since_s: u64,
    pub call: Option<String>,
    pub answered: u64,
    pub missed: u32,
    pub skills: Skills,
}
