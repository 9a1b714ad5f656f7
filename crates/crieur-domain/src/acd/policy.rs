//! The distributor's settings, per hotline and per line.

use super::{Line, Millis};
use serde::{Deserialize, Serialize};

/// Which free operator gets a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The operator who has been free the longest: spreads the load fairly.
    #[default]
    LongestIdle,
    /// Each operator in turn, continuing after the last one offered.
    RoundRobin,
    /// Every free operator at once; the first to answer takes the call.
    RingAll,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest-idle",
            Strategy::RoundRobin => "round-robin",
            Strategy::RingAll => "ring-all",
        }
    }
}

/// How one line's queues behave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinePolicy {
    pub strategy: Strategy,
    /// After this long in the queue, operators who speak the language without
    /// it being native (and, for psychological support, those trained for
    /// relatives) may take the call too.
    pub overflow_after_ms: Millis,
    /// After this long the caller is offered a callback; 0 for never.
    pub max_wait_ms: Millis,
    /// Higher goes first, across all queues an operator serves.
    pub priority: i32,
}

impl Default for LinePolicy {
    fn default() -> Self {
        Self {
            strategy: Strategy::LongestIdle,
            overflow_after_ms: 60_000,
            max_wait_ms: 300_000,
            priority: 0,
        }
    }
}

/// The distributor's settings for one hotline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcdConfig {
    pub information: LinePolicy,
    pub relatives: LinePolicy,
    pub psychosocial: LinePolicy,
    /// Time after each call to finish the call form before the next offer.
    pub wrap_up_ms: Millis,
    /// A caller who hangs up while waiting keeps their place this long, if they
    /// call back from the same number; 0 to forget them at once.
    pub keep_place_ms: Millis,
    /// Offers missed in a row before an operator is set on break; 0 for never.
    pub max_missed_offers: u32,
    /// An offer not answered by then is withdrawn and counts as missed.
    pub offer_timeout_ms: Millis,
    /// How long a warm transfer waits for the other line before the caller
    /// returns to the operator who started it.
    pub warm_transfer_timeout_ms: Millis,
    /// Added to a transferred call's priority, so that it is not sent to the
    /// back of the other line's queue.
    pub transfer_priority_boost: i32,
    /// Handling time assumed before any call was measured (talk plus wrap-up).
    pub expected_handle_ms: Millis,
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            information: LinePolicy::default(),
            relatives: LinePolicy {
                priority: 10,
                ..LinePolicy::default()
            },
            psychosocial: LinePolicy {
                priority: 5,
                ..LinePolicy::default()
            },
            wrap_up_ms: 30_000,
            keep_place_ms: 120_000,
            max_missed_offers: 2,
            offer_timeout_ms: 30_000,
            warm_transfer_timeout_ms: 90_000,
            transfer_priority_boost: 100,
            expected_handle_ms: 210_000,
        }
    }
}

impl AcdConfig {
    pub fn policy(&self, line: Line) -> &LinePolicy {
        match line {
            Line::Information => &self.information,
            Line::Relatives => &self.relatives,
            Line::Psychosocial => &self.psychosocial,
        }
    }

    pub fn policy_mut(&mut self, line: Line) -> &mut LinePolicy {
        match line {
            Line::Information => &mut self.information,
            Line::Relatives => &mut self.relatives,
            Line::Psychosocial => &mut self.psychosocial,
        }
    }
}
