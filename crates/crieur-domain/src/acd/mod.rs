//! Automatic call distribution for the crisis hotline: which waiting caller goes to
//! which operator, and when. Pure: the clock is a number the caller passes in
//! ([`Millis`]), so every policy can be tested by moving it by hand.
//!
//! The runtime (crieur-hotline) feeds it what happens on the phones (a caller
//! enters a queue, hangs up, an operator's phone answered or not) and carries out
//! the [`Action`]s it returns. It must never offer a call to an operator who is
//! not free, nor lose track of a caller: every waiting, offered or connected call
//! leaves through exactly one logged exit.

mod model;
mod policy;
mod routing;
mod stats;
#[cfg(test)]
mod tests;

pub use model::*;
pub use policy::{AcdConfig, LinePolicy, Strategy};
pub use stats::{QueueStats, StatsWindow};

use crate::Language;

use std::collections::{BTreeMap, HashMap};

/// A reading of the runtime's clock, in milliseconds since an arbitrary start.
pub type Millis = u64;

/// An operator, by staff account id.
pub type OperatorId = i64;

#[derive(Debug, Clone)]
enum CallState {
    Waiting,
    /// Offered to these operators since `at`.
    Offered {
        operators: Vec<OperatorId>,
        at: Millis,
    },
}

#[derive(Debug, Clone)]
struct Waiting {
    call: String,
    caller: String,
    queue: QueueKey,
    priority: i32,
    /// When the caller first entered (kept across a kept place and a transfer).
    entered_at: Millis,
    /// When the caller entered this queue: the overflow and maximum wait count from here.
    queued_at: Millis,
    seq: u64,
    position_at_entry: usize,
    state: CallState,
    max_wait_signalled: bool,
    /// A warm transfer: the operator who keeps the call, until when, and the
    /// queue the call came from.
    warm_from: Option<(OperatorId, Millis, QueueKey)>,
}

#[derive(Debug, Clone)]
struct Connected {
    operator: OperatorId,
    caller: String,
    queue: QueueKey,
    hold_ms: Millis,
    connected_at: Millis,
    position_at_entry: usize,
    entered_at: Millis,
    priority: i32,
}

#[derive(Debug, Clone)]
struct Released {
    call: String,
    waiting: Waiting,
    until: Millis,
    position: usize,
}

#[derive(Debug, Clone)]
struct Agent {
    skills: Skills,
    presence: Presence,
    /// Available since (for longest-idle).
    idle_since: Millis,
    /// Offers missed in a row.
    missed: u32,
    /// The call offered, connected or in wrap-up.
    call: Option<String>,
    wrap_until: Option<Millis>,
    /// A warm transfer the operator still holds.
    holding_transfer: Option<String>,
    answered: u64,
}

/// The distributor of one hotline.
#[derive(Debug)]
pub struct Acd {
    config: AcdConfig,
    waiting: Vec<Waiting>,
    connected: HashMap<String, Connected>,
    released: Vec<Released>,
    agents: BTreeMap<OperatorId, Agent>,
    round_robin: HashMap<QueueKey, OperatorId>,
    seq: u64,
    /// Mean handling time (talk plus wrap-up), moving average, in ms.
    handle_ms: f64,
    log: Vec<QueueEvent>,
}

impl Acd {
    pub fn new(config: AcdConfig) -> Self {
        let handle_ms = config.expected_handle_ms as f64;
        Self {
            config,
            waiting: Vec::new(),
            connected: HashMap::new(),
            released: Vec::new(),
            agents: BTreeMap::new(),
            round_robin: HashMap::new(),
            seq: 0,
            handle_ms,
            log: Vec::new(),
        }
    }

    pub fn config(&self) -> &AcdConfig {
        &self.config
    }

    /// Replaces the policies; calls already waiting keep their place.
    pub fn set_config(&mut self, config: AcdConfig) {
        self.config = config;
    }

    fn record(
        &mut self,
        at: Millis,
        call: &str,
        queue: Option<QueueKey>,
        agent: Option<OperatorId>,
        event: QueueEventKind,
        data: [String; 3],
    ) {
        self.log.push(QueueEvent {
            at,
            call: call.to_owned(),
            queue: queue.map(|q| q.to_string()).unwrap_or_default(),
            agent: agent.map(|a| a.to_string()).unwrap_or_default(),
            event,
            data,
        });
    }

    /// The queue log lines produced since the last call.
    pub fn drain_log(&mut self) -> Vec<QueueEvent> {
        std::mem::take(&mut self.log)
    }

    // ---- operators ----

    /// An operator signs in, available at once.
    pub fn sign_in(&mut self, id: OperatorId, skills: Skills, now: Millis) -> Result<(), AcdError> {
        if self.agents.contains_key(&id) {
            return Err(AcdError::AlreadySignedIn(id));
        }
        self.agents.insert(
            id,
            Agent {
                skills,
                presence: Presence::Available,
                idle_since: now,
                missed: 0,
                call: None,
                wrap_until: None,
                holding_transfer: None,
                answered: 0,
            },
        );
        self.record(
            now,
            "NONE",
            None,
            Some(id),
            QueueEventKind::Addmember,
            Default::default(),
        );
        Ok(())
    }

    /// An operator signs out; only possible while not handling a call.
    pub fn sign_out(&mut self, id: OperatorId, now: Millis) -> Result<(), AcdError> {
        let agent = self.agent(id)?;
        if matches!(agent.presence, Presence::Ringing | Presence::OnCall)
            || agent.holding_transfer.is_some()
        {
            return Err(AcdError::Busy {
                operator: id,
                presence: agent.presence.as_str(),
                action: "sign out",
            });
        }
        self.agents.remove(&id);
        self.record(
            now,
            "NONE",
            None,
            Some(id),
            QueueEventKind::Removemember,
            Default::default(),
        );
        Ok(())
    }

    pub fn is_signed_in(&self, id: OperatorId) -> bool {
        self.agents.contains_key(&id)
    }

    pub fn presence(&self, id: OperatorId) -> Option<Presence> {
        self.agents.get(&id).map(|a| a.presence)
    }

    /// The call the operator is being offered, is on, or is wrapping up.
    pub fn operator_call(&self, id: OperatorId) -> Option<&str> {
        self.agents.get(&id).and_then(|a| a.call.as_deref())
    }

    fn agent(&self, id: OperatorId) -> Result<&Agent, AcdError> {
        self.agents.get(&id).ok_or(AcdError::NotSignedIn(id))
    }

    fn agent_mut(&mut self, id: OperatorId) -> Result<&mut Agent, AcdError> {
        self.agents.get_mut(&id).ok_or(AcdError::NotSignedIn(id))
    }

    /// An operator takes a break (only when not ringing or on a call).
    pub fn pause(&mut self, id: OperatorId, reason: &str, now: Millis) -> Result<(), AcdError> {
        let agent = self.agent_mut(id)?;
        match agent.presence {
            Presence::Available | Presence::WrapUp => {
                agent.presence = Presence::Break;
                agent.wrap_until = None;
                agent.call = None;
                self.record(
                    now,
                    "NONE",
                    None,
                    Some(id),
                    QueueEventKind::Pause,
                    [reason.to_owned(), String::new(), String::new()],
                );
                Ok(())
            }
            Presence::Break => Ok(()),
            other => Err(AcdError::Busy {
                operator: id,
                presence: other.as_str(),
                action: "take a break",
            }),
        }
    }

    /// An operator is ready for calls again (from a break, or ending wrap-up early).
    pub fn ready(&mut self, id: OperatorId, now: Millis) -> Result<(), AcdError> {
        let agent = self.agent_mut(id)?;
        match agent.presence {
            Presence::Break | Presence::WrapUp => {
                let was_break = agent.presence == Presence::Break;
                agent.presence = Presence::Available;
                agent.idle_since = now;
                agent.missed = 0;
                agent.call = None;
                agent.wrap_until = None;
                if was_break {
                    self.record(
                        now,
                        "NONE",
                        None,
                        Some(id),
                        QueueEventKind::Unpause,
                        Default::default(),
                    );
                }
                Ok(())
            }
            Presence::Available => Ok(()),
            other => Err(AcdError::Busy {
                operator: id,
                presence: other.as_str(),
                action: "become available",
            }),
        }
    }

    // ---- callers ----

    /// A caller enters a queue. A caller who hung up less than the keep-your-place
    /// time ago (same number, same queue) gets their old place back.
    pub fn enqueue(
        &mut self,
        call: &str,
        caller: &str,
        queue: QueueKey,
        priority: i32,
        now: Millis,
    ) -> Result<Place, AcdError> {
        if self.waiting.iter().any(|w| w.call == call) || self.connected.contains_key(call) {
            return Err(AcdError::DuplicateCall(call.to_owned()));
        }
        let kept = (!caller.is_empty())
            .then(|| {
                self.released.iter().position(|r| {
                    r.waiting.caller == caller && r.waiting.queue == queue && r.until >= now
                })
            })
            .flatten();
        let w = if let Some(i) = kept {
            let r = self.released.remove(i);
            Waiting {
                call: call.to_owned(),
                state: CallState::Waiting,
                ..r.waiting
            }
        } else {
            self.seq += 1;
            Waiting {
                call: call.to_owned(),
                caller: caller.to_owned(),
                queue,
                priority,
                entered_at: now,
                queued_at: now,
                seq: self.seq,
                position_at_entry: 0,
                state: CallState::Waiting,
                max_wait_signalled: false,
                warm_from: None,
            }
        };
        let kept_note = if kept.is_some() { "kept place" } else { "" };
        self.insert_waiting(w);
        let place = self
            .place(call, now)
            .ok_or_else(|| AcdError::UnknownCall(call.to_owned()))?;
        if kept.is_none()
            && let Some(w) = self.waiting.iter_mut().find(|w| w.call == call)
        {
            w.position_at_entry = place.position;
        }
        self.record(
            now,
            call,
            Some(queue),
            None,
            QueueEventKind::Enterqueue,
            [
                caller.to_owned(),
                priority.to_string(),
                kept_note.to_owned(),
            ],
        );
        Ok(place)
    }

    fn insert_waiting(&mut self, w: Waiting) {
        let at = self
            .waiting
            .iter()
            .position(|o| Self::ahead(&w, o))
            .unwrap_or(self.waiting.len());
        self.waiting.insert(at, w);
    }

    /// Whether `a` goes before `b`: priority first, then who came first.
    fn ahead(a: &Waiting, b: &Waiting) -> bool {
        (-a.priority, a.entered_at, a.seq) < (-b.priority, b.entered_at, b.seq)
    }

    /// The caller's place in their queue and the estimated wait.
    pub fn place(&self, call: &str, _now: Millis) -> Option<Place> {
        let w = self.waiting.iter().find(|w| w.call == call)?;
        let position = self
            .waiting
            .iter()
            .filter(|o| o.queue == w.queue)
            .take_while(|o| o.call != call)
            .count()
            + 1;
        let staffed = self
            .agents
            .values()
            .filter(|a| a.presence != Presence::Break && a.skills.serves(w.queue, true))
            .count();
        let estimated_wait_s = (staffed > 0).then(|| {
            let ms = position as f64 * self.handle_ms / staffed as f64;
            (ms / 1000.0).ceil() as u64
        });
        Some(Place {
            position,
            estimated_wait_s,
        })
    }

    /// The caller hung up (or the call ended otherwise), wherever it was.
    /// A waiting caller's place is kept for the keep-your-place time.
    pub fn hang_up(&mut self, call: &str, now: Millis) -> Result<Vec<Action>, AcdError> {
        let mut actions = Vec::new();
        if let Some(i) = self.waiting.iter().position(|w| w.call == call) {
            let position = self.place(call, now).map(|p| p.position).unwrap_or(0);
            let w = self.waiting.remove(i);
            actions.extend(self.let_go(&w, now));
            if self.config.keep_place_ms > 0 && !w.caller.is_empty() {
                let until = now + self.config.keep_place_ms;
                self.released.push(Released {
                    call: call.to_owned(),
                    waiting: Waiting {
                        warm_from: None,
                        ..w
                    },
                    until,
                    position,
                });
            } else {
                self.log_abandon(&w, position, now);
            }
            return Ok(actions);
        }
        if let Some(c) = self.connected.get(call).cloned() {
            self.complete(call, c.operator, EndedBy::Caller, now)?;
            return Ok(actions);
        }
        Err(AcdError::UnknownCall(call.to_owned()))
    }

    fn log_abandon(&mut self, w: &Waiting, position: usize, now: Millis) {
        let waited = (now.saturating_sub(w.entered_at)) / 1000;
        self.record(
            now,
            &w.call,
            Some(w.queue),
            None,
            QueueEventKind::Abandon,
            [
                position.to_string(),
                w.position_at_entry.to_string(),
                waited.to_string(),
            ],
        );
    }

    /// The caller left the queue on purpose to be called back (at the maximum
    /// wait, or by pressing a key).
    pub fn leave_for_callback(
        &mut self,
        call: &str,
        key: &str,
        now: Millis,
    ) -> Result<Vec<Action>, AcdError> {
        let i = self
            .waiting
            .iter()
            .position(|w| w.call == call)
            .ok_or_else(|| AcdError::UnknownCall(call.to_owned()))?;
        let position = self.place(call, now).map(|p| p.position).unwrap_or(0);
        let w = self.waiting.remove(i);
        let mut actions = Vec::new();
        actions.extend(self.let_go(&w, now));
        self.record(
            now,
            call,
            Some(w.queue),
            None,
            QueueEventKind::Exitwithkey,
            [
                key.to_owned(),
                position.to_string(),
                (now.saturating_sub(w.entered_at) / 1000).to_string(),
            ],
        );
        Ok(actions)
    }

    /// The hotline closes: every waiting caller leaves (the runtime plays the
    /// closing message); returns the calls that were waiting.
    pub fn close(&mut self, now: Millis) -> Vec<String> {
        let waiting = std::mem::take(&mut self.waiting);
        let mut calls = Vec::new();
        for (i, w) in waiting.into_iter().enumerate() {
            // Nobody is left to tell of a withdrawn offer: the hotline closes.
            let _ = self.let_go(&w, now);
            self.record(
                now,
                &w.call,
                Some(w.queue),
                None,
                QueueEventKind::Exitwithtimeout,
                [
                    (i + 1).to_string(),
                    (now.saturating_sub(w.entered_at) / 1000).to_string(),
                    String::new(),
                ],
            );
            calls.push(w.call);
        }
        for r in std::mem::take(&mut self.released) {
            self.log_abandon(&r.waiting, r.position, r.until);
        }
        calls
    }

    // ---- offers ----

    /// A waiting call leaves: the operators it was offered to are free again
    /// (their offers withdrawn), and an operator holding it for a warm
    /// transfer goes into wrap-up.
    fn let_go(&mut self, w: &Waiting, now: Millis) -> Vec<Action> {
        let mut actions = Vec::new();
        if let CallState::Offered { operators, .. } = &w.state {
            for &op in operators {
                self.release_offer(op, now);
                actions.push(Action::Withdraw {
                    call: w.call.clone(),
                    operator: op,
                });
            }
        }
        if let Some((from, _, _)) = w.warm_from {
            self.finish_transfer_hold(from, &w.call, now);
        }
        actions
    }

    fn release_offer(&mut self, op: OperatorId, now: Millis) {
        if let Some(a) = self.agents.get_mut(&op)
            && a.presence == Presence::Ringing
        {
            a.presence = Presence::Available;
            a.call = None;
            // Keeps its place among the idle: a withdrawn offer is not its fault.
            let _ = now;
        }
    }

    /// The operator's phone answered the offered call: they are connected.
    /// Other operators it was offered to (ring-all) are released.
    pub fn answered(
        &mut self,
        call: &str,
        operator: OperatorId,
        now: Millis,
    ) -> Result<Vec<Action>, AcdError> {
        let i = self
            .waiting
            .iter()
            .position(|w| w.call == call)
            .ok_or_else(|| AcdError::UnknownCall(call.to_owned()))?;
        let offered_to = match &self.waiting[i].state {
            CallState::Offered { operators, at } if operators.contains(&operator) => {
                (operators.clone(), *at)
            }
            _ => {
                return Err(AcdError::NotOffered {
                    call: call.to_owned(),
                    operator,
                });
            }
        };
        let w = self.waiting.remove(i);
        let mut actions = Vec::new();
        for other in offered_to.0.iter().copied().filter(|o| *o != operator) {
            self.release_offer(other, now);
            actions.push(Action::Withdraw {
                call: call.to_owned(),
                operator: other,
            });
        }
        if let Some((from, _, _)) = w.warm_from {
            self.finish_transfer_hold(from, call, now);
        }
        let agent = self.agent_mut(operator)?;
        agent.presence = Presence::OnCall;
        agent.call = Some(call.to_owned());
        agent.missed = 0;
        agent.answered += 1;
        let hold_ms = now.saturating_sub(w.queued_at);
        let ring_s = now.saturating_sub(offered_to.1) / 1000;
        self.connected.insert(
            call.to_owned(),
            Connected {
                operator,
                caller: w.caller.clone(),
                queue: w.queue,
                hold_ms,
                connected_at: now,
                position_at_entry: w.position_at_entry,
                entered_at: w.entered_at,
                priority: w.priority,
            },
        );
        self.record(
            now,
            call,
            Some(w.queue),
            Some(operator),
            QueueEventKind::Connect,
            [
                (hold_ms / 1000).to_string(),
                ring_s.to_string(),
                w.position_at_entry.to_string(),
            ],
        );
        Ok(actions)
    }

    /// The operator's phone did not answer (or refused): the caller goes back to
    /// waiting in their place; after too many misses in a row the operator is
    /// set on break.
    pub fn not_answered(
        &mut self,
        call: &str,
        operator: OperatorId,
        now: Millis,
    ) -> Result<Vec<Action>, AcdError> {
        let w = self
            .waiting
            .iter_mut()
            .find(|w| w.call == call)
            .ok_or_else(|| AcdError::UnknownCall(call.to_owned()))?;
        let (at, remaining) = match &mut w.state {
            CallState::Offered { operators, at } if operators.contains(&operator) => {
                operators.retain(|o| *o != operator);
                (*at, operators.len())
            }
            _ => {
                return Err(AcdError::NotOffered {
                    call: call.to_owned(),
                    operator,
                });
            }
        };
        if remaining == 0 {
            w.state = CallState::Waiting;
        }
        let queue = w.queue;
        self.record(
            now,
            call,
            Some(queue),
            Some(operator),
            QueueEventKind::Ringnoanswer,
            [
                now.saturating_sub(at).to_string(),
                String::new(),
                String::new(),
            ],
        );
        let max_missed = self.config.max_missed_offers;
        let agent = self.agent_mut(operator)?;
        agent.missed += 1;
        agent.call = None;
        let missed = agent.missed;
        let mut actions = Vec::new();
        if max_missed > 0 && missed >= max_missed {
            agent.presence = Presence::Break;
            self.record(
                now,
                "NONE",
                None,
                Some(operator),
                QueueEventKind::Pause,
                [
                    "missed offers".to_owned(),
                    missed.to_string(),
                    String::new(),
                ],
            );
            actions.push(Action::SetOnBreak { operator, missed });
        } else {
            agent.presence = Presence::Available;
            // Went to the back of the idle line: the next offer tries someone else.
            agent.idle_since = now;
        }
        Ok(actions)
    }

    /// A connected call ended. The operator goes into wrap-up.
    pub fn complete(
        &mut self,
        call: &str,
        operator: OperatorId,
        by: EndedBy,
        now: Millis,
    ) -> Result<(), AcdError> {
        let c = match self.connected.get(call) {
            Some(c) if c.operator == operator => self.connected.remove(call).expect("checked"),
            _ => {
                return Err(AcdError::NotConnected {
                    call: call.to_owned(),
                    operator,
                });
            }
        };
        let talk_ms = now.saturating_sub(c.connected_at);
        self.observe_handle(talk_ms + self.config.wrap_up_ms);
        let kind = match by {
            EndedBy::Caller => QueueEventKind::Completecaller,
            EndedBy::Operator => QueueEventKind::Completeagent,
        };
        self.record(
            now,
            call,
            Some(c.queue),
            Some(operator),
            kind,
            [
                (c.hold_ms / 1000).to_string(),
                (talk_ms / 1000).to_string(),
                c.position_at_entry.to_string(),
            ],
        );
        self.start_wrap_up(operator, call, now);
        Ok(())
    }

    fn start_wrap_up(&mut self, operator: OperatorId, call: &str, now: Millis) {
        let wrap = self.config.wrap_up_ms;
        if let Some(agent) = self.agents.get_mut(&operator) {
            if agent.holding_transfer.is_some() {
                // Still answering for a warm transfer: stays on call.
                return;
            }
            if wrap == 0 {
                agent.presence = Presence::Available;
                agent.call = None;
                agent.idle_since = now;
            } else {
                agent.presence = Presence::WrapUp;
                agent.call = Some(call.to_owned());
                agent.wrap_until = Some(now + wrap);
            }
        }
    }

    fn observe_handle(&mut self, ms: Millis) {
        // A moving average that follows the incident's changing calls within
        // a few dozen calls.
        self.handle_ms = 0.9 * self.handle_ms + 0.1 * ms as f64;
    }
}
