//! Transfers, the passing of time (wrap-ups, kept places, maximum waits, offers
//! nobody answered) and the choice of operator for each waiting call.

use super::*;

impl Acd {
    /// Moves a connected call to another line's queue.
    pub fn transfer(
        &mut self,
        call: &str,
        operator: OperatorId,
        to: QueueKey,
        kind: TransferKind,
        now: Millis,
    ) -> Result<(), AcdError> {
        let c = match self.connected.get(call) {
            Some(c) if c.operator == operator => c.clone(),
            _ => {
                return Err(AcdError::NotConnected {
                    call: call.to_owned(),
                    operator,
                });
            }
        };
        if c.queue == to {
            return Err(AcdError::SameQueue {
                call: call.to_owned(),
                queue: to,
            });
        }
        self.connected.remove(call);
        let talk_ms = now.saturating_sub(c.connected_at);
        self.record(
            now,
            call,
            Some(c.queue),
            Some(operator),
            QueueEventKind::Transfer,
            [
                to.to_string(),
                (c.hold_ms / 1000).to_string(),
                (talk_ms / 1000).to_string(),
            ],
        );
        self.seq += 1;
        let warm_from = match kind {
            TransferKind::Warm => Some((
                operator,
                now + self.config.warm_transfer_timeout_ms,
                c.queue,
            )),
            TransferKind::Blind => None,
        };
        let w = Waiting {
            call: call.to_owned(),
            caller: c.caller.clone(),
            queue: to,
            priority: c.priority.max(0) + self.config.transfer_priority_boost,
            entered_at: c.entered_at,
            queued_at: now,
            seq: self.seq,
            position_at_entry: 1,
            state: CallState::Waiting,
            max_wait_signalled: false,
            warm_from,
        };
        self.insert_waiting(w);
        self.record(
            now,
            call,
            Some(to),
            None,
            QueueEventKind::Enterqueue,
            [
                c.caller,
                (c.priority + self.config.transfer_priority_boost).to_string(),
                format!("transfer from {}", c.queue),
            ],
        );
        match kind {
            TransferKind::Blind => self.start_wrap_up(operator, call, now),
            TransferKind::Warm => {
                let agent = self.agent_mut(operator)?;
                agent.holding_transfer = Some(call.to_owned());
                agent.presence = Presence::OnCall;
                agent.call = Some(call.to_owned());
            }
        }
        Ok(())
    }

    /// The warm transfer this operator held is over (taken, abandoned, or
    /// returned): they go into wrap-up.
    pub(super) fn finish_transfer_hold(&mut self, operator: OperatorId, call: &str, now: Millis) {
        if let Some(agent) = self.agents.get_mut(&operator)
            && agent.holding_transfer.as_deref() == Some(call)
        {
            agent.holding_transfer = None;
            self.start_wrap_up(operator, call, now);
        }
    }

    /// The caller of a returned warm transfer is connected back to `operator`.
    pub(super) fn return_transfer(&mut self, i: usize, now: Millis) -> Option<Action> {
        let w = self.waiting.remove(i);
        let (operator, _, queue) = w.warm_from?;
        if let Some(agent) = self.agents.get_mut(&operator) {
            agent.holding_transfer = None;
            agent.presence = Presence::OnCall;
            agent.call = Some(w.call.clone());
        }
        self.connected.insert(
            w.call.clone(),
            Connected {
                operator,
                caller: w.caller.clone(),
                queue,
                hold_ms: now.saturating_sub(w.queued_at),
                connected_at: now,
                position_at_entry: w.position_at_entry,
                entered_at: w.entered_at,
                priority: w.priority,
            },
        );
        self.record(
            now,
            &w.call,
            Some(queue),
            Some(operator),
            QueueEventKind::Connect,
            [
                (now.saturating_sub(w.queued_at) / 1000).to_string(),
                "0".to_owned(),
                "transfer returned".to_owned(),
            ],
        );
        Some(Action::TransferReturned {
            call: w.call,
            operator,
        })
    }

    // ---- time ----

    /// Advances the distributor to `now`: ends wrap-ups, releases expired places,
    /// signals maximum waits and returned transfers, withdraws unanswered offers,
    /// then offers waiting calls to free operators.
    pub fn tick(&mut self, now: Millis) -> Vec<Action> {
        let mut actions = Vec::new();
        let ids: Vec<OperatorId> = self.agents.keys().copied().collect();
        for id in ids {
            let agent = self.agents.get_mut(&id).expect("listed");
            if agent.presence == Presence::WrapUp && agent.wrap_until.is_some_and(|u| u <= now) {
                agent.presence = Presence::Available;
                agent.call = None;
                agent.wrap_until = None;
                agent.idle_since = now;
                actions.push(Action::WrapUpEnded { operator: id });
            }
        }
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.released)
            .into_iter()
            .partition(|r| r.until <= now);
        self.released = kept;
        for r in expired {
            self.log_abandon(&r.waiting, r.position, r.until);
            actions.push(Action::PlaceReleased {
                call: r.call,
                caller: r.waiting.caller,
            });
        }
        // Offers nobody answered in time (the phone leg has its own ring
        // timeout; this is the backstop, and the only one for desk offers).
        let ring = self.config.offer_timeout_ms;
        let stale: Vec<(String, Vec<OperatorId>)> = self
            .waiting
            .iter()
            .filter_map(|w| match &w.state {
                CallState::Offered { operators, at } if now >= at + ring => {
                    Some((w.call.clone(), operators.clone()))
                }
                _ => None,
            })
            .collect();
        for (call, operators) in stale {
            for op in operators {
                actions.push(Action::Withdraw {
                    call: call.clone(),
                    operator: op,
                });
                if let Ok(more) = self.not_answered(&call, op, now) {
                    actions.extend(more);
                }
            }
        }
        let mut i = 0;
        while i < self.waiting.len() {
            let w = &self.waiting[i];
            if let Some((_, until, _)) = w.warm_from
                && until <= now
                && matches!(w.state, CallState::Waiting)
            {
                actions.extend(self.return_transfer(i, now));
                continue;
            }
            let policy = self.config.policy(w.queue.line);
            if !w.max_wait_signalled
                && policy.max_wait_ms > 0
                && now.saturating_sub(w.queued_at) >= policy.max_wait_ms
                && w.warm_from.is_none()
            {
                let call = w.call.clone();
                self.waiting[i].max_wait_signalled = true;
                actions.push(Action::MaxWait { call });
            }
            i += 1;
        }
        actions.extend(self.assign(now));
        actions
    }

    pub(super) fn assign(&mut self, now: Millis) -> Vec<Action> {
        let mut actions = Vec::new();
        for i in 0..self.waiting.len() {
            if !matches!(self.waiting[i].state, CallState::Waiting) {
                continue;
            }
            let w = &self.waiting[i];
            let policy = self.config.policy(w.queue.line);
            let overflowed = now.saturating_sub(w.queued_at) >= policy.overflow_after_ms;
            let queue = w.queue;
            let warm_from = w.warm_from.map(|(op, _, _)| op);
            let free: Vec<(OperatorId, Millis)> = self
                .agents
                .iter()
                .filter(|(id, a)| {
                    a.presence == Presence::Available
                        && Some(**id) != warm_from
                        && a.skills.serves(queue, overflowed)
                })
                .map(|(id, a)| (*id, a.idle_since))
                .collect();
            if free.is_empty() {
                continue;
            }
            let chosen: Vec<OperatorId> = match policy.strategy {
                Strategy::LongestIdle => free
                    .iter()
                    .min_by_key(|(id, since)| (*since, *id))
                    .map(|(id, _)| vec![*id])
                    .unwrap_or_default(),
                Strategy::RoundRobin => {
                    let last = self.round_robin.get(&queue).copied();
                    let next = free
                        .iter()
                        .map(|(id, _)| *id)
                        .find(|id| last.is_none_or(|l| *id > l))
                        .or_else(|| free.first().map(|(id, _)| *id));
                    if let Some(n) = next {
                        self.round_robin.insert(queue, n);
                    }
                    next.into_iter().collect()
                }
                Strategy::RingAll => free.iter().map(|(id, _)| *id).collect(),
            };
            let call = self.waiting[i].call.clone();
            for op in &chosen {
                let agent = self.agents.get_mut(op).expect("free operator");
                agent.presence = Presence::Ringing;
                agent.call = Some(call.clone());
            }
            self.waiting[i].state = CallState::Offered {
                operators: chosen.clone(),
                at: now,
            };
            actions.push(Action::Offer {
                call,
                operators: chosen,
            });
        }
        actions
    }

    /// The earliest time after `now` at which [`Acd::tick`] has something to
    /// do, if any.
    pub fn next_deadline(&self, now: Millis) -> Option<Millis> {
        let wraps = self.agents.values().filter_map(|a| a.wrap_until);
        let released = self.released.iter().map(|r| r.until);
        let ring = self.config.offer_timeout_ms;
        let calls = self.waiting.iter().flat_map(|w| {
            let policy = self.config.policy(w.queue.line);
            let mut v = Vec::with_capacity(3);
            match &w.state {
                CallState::Offered { at, .. } => v.push(at + ring),
                CallState::Waiting if w.queued_at + policy.overflow_after_ms > now => {
                    v.push(w.queued_at + policy.overflow_after_ms)
                }
                CallState::Waiting => {}
            }
            if !w.max_wait_signalled && policy.max_wait_ms > 0 {
                v.push(w.queued_at + policy.max_wait_ms);
            }
            if let Some((_, until, _)) = w.warm_from {
                v.push(until);
            }
            v
        });
        wraps.chain(released).chain(calls).min()
    }

    // ---- views ----

    /// Queues with callers, or operators who can serve them.
    pub fn snapshot(&self, languages: &[Language], now: Millis) -> Snapshot {
        let mut queues = Vec::new();
        for line in Line::ALL {
            for &language in languages {
                let queue = QueueKey::new(line, language);
                let waiting: Vec<&Waiting> =
                    self.waiting.iter().filter(|w| w.queue == queue).collect();
                let staffed = self
                    .agents
                    .values()
                    .filter(|a| a.presence != Presence::Break && a.skills.serves(queue, true));
                queues.push(QueueSnapshot {
                    queue,
                    waiting: waiting.len(),
                    longest_wait_s: waiting
                        .iter()
                        .map(|w| now.saturating_sub(w.queued_at) / 1000)
                        .max()
                        .unwrap_or(0),
                    staffed: staffed.clone().count(),
                    available: staffed
                        .filter(|a| a.presence == Presence::Available)
                        .count(),
                });
            }
        }
        let operators = self
            .agents
            .iter()
            .map(|(id, a)| OperatorSnapshot {
                operator: *id,
                presence: a.presence,
                since_s: now.saturating_sub(a.idle_since) / 1000,
                call: a.call.clone(),
                answered: a.answered,
                missed: a.missed,
                skills: a.skills.clone(),
            })
            .collect();
        Snapshot { queues, operators }
    }

    /// Calls waiting (including offered), connected, and places kept.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.waiting.len(),
            self.connected.len(),
            self.released.len(),
        )
    }

    /// The queue a waiting or connected call is in.
    pub fn queue_of(&self, call: &str) -> Option<QueueKey> {
        self.waiting
            .iter()
            .find(|w| w.call == call)
            .map(|w| w.queue)
            .or_else(|| self.connected.get(call).map(|c| c.queue))
    }

    /// The operator a call is connected to.
    pub fn connected_to(&self, call: &str) -> Option<OperatorId> {
        self.connected.get(call).map(|c| c.operator)
    }

    /// Mean handling time the estimates use, in seconds.
    pub fn handle_seconds(&self) -> f64 {
        self.handle_ms / 1000.0
    }
}
