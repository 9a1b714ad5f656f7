//! Service figures computed from the queue log: what the supervisor watches.
//! The log is the single source, so the live view and an export agree.

use super::{Millis, QueueEvent, QueueEventKind};
use serde::Serialize;

/// The period and threshold the figures are computed for.
#[derive(Debug, Clone, Copy)]
pub struct StatsWindow {
    pub from: Millis,
    pub to: Millis,
    /// The service level counts calls answered within this many seconds.
    pub answer_within_s: u64,
}

/// Service figures over a window, for one queue or all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueStats {
    /// Callers who entered a queue (transfers and kept places not counted again).
    pub offered: u64,
    pub answered: u64,
    pub answered_in_time: u64,
    /// Hung up while waiting (after their kept place expired).
    pub abandoned: u64,
    /// Left the queue for a callback.
    pub callbacks: u64,
    /// answered within the threshold / (answered + abandoned); `None` without calls.
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds.
    pub asa_s: Option<f64>,
    pub abandon_rate: Option<f64>,
    /// Average talk time of completed calls, seconds.
    pub talk_s: Option<f64>,
    pub calls_per_hour: f64,
}

impl QueueStats {
    /// Figures over `window` from log lines (in any order), for the queues that
    /// `queue` accepts.
    pub fn from_log<'a>(
        events: impl IntoIterator<Item = &'a QueueEvent>,
        window: StatsWindow,
        queue: impl Fn(&str) -> bool,
    ) -> QueueStats {
        let mut s = QueueStats::default();
        let (mut hold_total, mut talk_total, mut talks) = (0u64, 0u64, 0u64);
        for e in events {
            if e.at < window.from || e.at >= window.to || !queue(&e.queue) {
                continue;
            }
            let num = |i: usize| e.data[i].parse::<u64>().unwrap_or(0);
            match e.event {
                QueueEventKind::Enterqueue if e.data[2].is_empty() => s.offered += 1,
                QueueEventKind::Connect if e.data[2] != "transfer returned" => {
                    s.answered += 1;
                    hold_total += num(0);
                    if num(0) <= window.answer_within_s {
                        s.answered_in_time += 1;
                    }
                }
                QueueEventKind::Abandon => s.abandoned += 1,
                QueueEventKind::Exitwithkey => s.callbacks += 1,
                QueueEventKind::Completecaller | QueueEventKind::Completeagent => {
                    talk_total += num(1);
                    talks += 1;
                }
                _ => {}
            }
        }
        let handled = s.answered + s.abandoned;
        if handled > 0 {
            s.service_level = Some(s.answered_in_time as f64 / handled as f64);
            s.abandon_rate = Some(s.abandoned as f64 / handled as f64);
        }
        if s.answered > 0 {
            s.asa_s = Some(hold_total as f64 / s.answered as f64);
        }
        if talks > 0 {
            s.talk_s = Some(talk_total as f64 / talks as f64);
        }
        let hours = (window.to.saturating_sub(window.from)) as f64 / 3_600_000.0;
        if hours > 0.0 {
            s.calls_per_hour = s.offered as f64 / hours;
        }
        s
    }
}
