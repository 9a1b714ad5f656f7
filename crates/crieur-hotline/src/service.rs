//! The hotlines that are switched on, their distributors, and the operators'
//! desks. One [`Hotlines`] per process; cheap to clone.

use crate::records::Records;
use crate::{call, records};
use crieur_domain::Language;
use crieur_domain::acd::{
    Acd, AcdError, Action, Line, Millis, OperatorId, Presence, QueueEvent, QueueKey, Skills,
    Snapshot, TransferKind,
};
use crieur_domain::hotline::{ConfigError, HotlineConfig};
use crieur_store::{Store, StoreError};
use crieur_telephony::calls::Switchboard;
use crieur_telephony::tts::Tts;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::time::Instant;

/// Timings of the phone side, beside the distributor's policies.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// How long an operator's phone rings before the offer counts as missed.
    pub ring_timeout: Duration,
    /// Waiting for a menu key.
    pub menu_timeout: Duration,
    /// Menu attempts before the caller is sent to the information line.
    pub menu_attempts: u32,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(20),
            menu_timeout: Duration::from_secs(6),
            menu_attempts: 2,
        }
    }
}

/// A caller as the desks and the supervisor see them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallInfo {
    pub call_id: String,
    pub caller: String,
    pub line: Line,
    pub language: Language,
    /// The keys the caller pressed, e.g. `lang:1 > menu:2`.
    pub ivr_path: String,
    /// Unix milliseconds.
    pub entered_at: i64,
    /// The line the call was transferred from, if any.
    pub transferred_from: Option<Line>,
}

/// Something the desks and the supervisor's view follow.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HotlineEvent {
    /// Queues or presences changed: redraw.
    Changed {
        hotline: i64,
    },
    /// A call is offered to this operator (their phone rings; with ring-all,
    /// they take it from the desk).
    Offer {
        hotline: i64,
        operator: OperatorId,
        call: CallInfo,
        ring_all: bool,
    },
    Withdrawn {
        hotline: i64,
        operator: OperatorId,
        call_id: String,
    },
    Connected {
        hotline: i64,
        operator: OperatorId,
        call: CallInfo,
    },
    /// The operator's part in the call is over (ended or transferred).
    Released {
        hotline: i64,
        operator: OperatorId,
        call_id: String,
    },
    Closed {
        hotline: i64,
    },
    /// The crisis cell published or withdrew an approved answer of this incident.
    AnswersChanged {
        incident: i64,
    },
}

/// A signed-in operator's phone and skills.
#[derive(Debug, Clone, Serialize)]
pub struct Desk {
    pub name: String,
    /// The SIP user their phone registers as.
    pub extension: String,
    pub skills: Skills,
}

/// What an operator's desk shows.
#[derive(Debug, Clone, Serialize)]
pub struct DeskView {
    pub presence: Presence,
    pub call: Option<CallInfo>,
    pub desk: Desk,
}

/// The supervisor's live view.
#[derive(Debug, Clone, Serialize)]
pub struct LiveView {
    pub snapshot: Snapshot,
    pub calls: Vec<CallInfo>,
    pub desks: HashMap<OperatorId, Desk>,
    pub handle_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's request that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    #[error("hotline {0} is not active")]
    NotActive(i64),
    #[error("operator {operator} is signed in to hotline {hotline}")]
    OtherHotline { operator: OperatorId, hotline: i64 },
    #[error("the phone extension is missing or invalid")]
    BadExtension,
    #[error(transparent)]
    Acd(#[from] AcdError),
}

pub(crate) enum Command {
    /// Call this operator's phone.
    Ring(OperatorId),
    Withdraw(OperatorId),
    MaxWait,
    /// A warm transfer came back: connect the caller to this operator again.
    Reconnect(OperatorId),
    Transfer {
        to: Line,
        kind: TransferKind,
    },
    Close,
}

pub(crate) struct CallSlot {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) info: CallInfo,
}

/// One switched-on hotline.
pub struct Active {
    pub id: i64,
    pub incident_id: i64,
    pub number: String,
    config: RwLock<HotlineConfig>,
    acd: Mutex<Acd>,
    epoch: Instant,
    wake: Notify,
    pub(crate) calls: Mutex<HashMap<String, CallSlot>>,
    desks: Mutex<HashMap<OperatorId, Desk>>,
    closed: watch::Sender<bool>,
    log: mpsc::UnboundedSender<Vec<QueueEvent>>,
    events: broadcast::Sender<HotlineEvent>,
    pub(crate) records: Records,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Active")
            .field("id", &self.id)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Active {
    pub(crate) fn now(&self) -> Millis {
        self.epoch.elapsed().as_millis() as Millis
    }

    pub fn config(&self) -> HotlineConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Runs `f` on the distributor, logs what it wrote, wakes the ticker and
    /// carries out the actions it returned.
    pub(crate) fn act<R>(&self, f: impl FnOnce(&mut Acd, Millis) -> R) -> R
    where
        R: ActionsOf,
    {
        let result = self.run(f);
        // Something changed: the ticker looks again (offers, deadlines).
        self.wake.notify_one();
        result
    }

    /// [`Active::act`] without waking the ticker: for the ticker itself, which
    /// would otherwise wake itself forever.
    fn run<R>(&self, f: impl FnOnce(&mut Acd, Millis) -> R) -> R
    where
        R: ActionsOf,
    {
        let now = self.now();
        let (result, log) = {
            let mut acd = lock(&self.acd);
            let result = f(&mut acd, now);
            (result, acd.drain_log())
        };
        if !log.is_empty() {
            let _ = self.log.send(log);
        }
        self.apply(result.actions());
        self.changed();
        result
    }

    pub(crate) fn changed(&self) {
        let _ = self.events.send(HotlineEvent::Changed { hotline: self.id });
    }

    pub(crate) fn publish(&self, event: HotlineEvent) {
        let _ = self.events.send(event);
    }

    fn send(&self, call: &str, command: Command) {
        if let Some(slot) = lock(&self.calls).get(call) {
            let _ = slot.commands.send(command);
        }
    }

    pub(crate) fn info(&self, call: &str) -> Option<CallInfo> {
        lock(&self.calls).get(call).map(|s| s.info.clone())
    }

    pub(crate) fn set_info(&self, call: &str, f: impl FnOnce(&mut CallInfo)) {
        if let Some(slot) = lock(&self.calls).get_mut(call) {
            f(&mut slot.info);
        }
    }

    pub(crate) fn desk(&self, operator: OperatorId) -> Option<Desk> {
        lock(&self.desks).get(&operator).cloned()
    }

    pub(crate) fn signed_in(&self) -> usize {
        lock(&self.desks).len()
    }

    fn apply(&self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Offer { call, operators } => {
                    let ring_all = operators.len() > 1;
                    if let Some(info) = self.info(&call) {
                        for &operator in &operators {
                            self.publish(HotlineEvent::Offer {
                                hotline: self.id,
                                operator,
                                call: info.clone(),
                                ring_all,
                            });
                        }
                    }
                    if let [operator] = operators[..] {
                        self.send(&call, Command::Ring(operator));
                    }
                }
                Action::Withdraw { call, operator } => {
                    self.publish(HotlineEvent::Withdrawn {
                        hotline: self.id,
                        operator,
                        call_id: call.clone(),
                    });
                    self.send(&call, Command::Withdraw(operator));
                }
                Action::MaxWait { call } => self.send(&call, Command::MaxWait),
                Action::TransferReturned { call, operator } => {
                    self.send(&call, Command::Reconnect(operator))
                }
                Action::SetOnBreak { operator, missed } => {
                    tracing::info!(
                        hotline = self.id,
                        operator,
                        missed,
                        "operator set on break after missed offers"
                    );
                }
                Action::WrapUpEnded { .. } => {}
                // The call record already says abandoned.
                Action::PlaceReleased { .. } => {}
            }
        }
    }

    /// Moves the distributor's clock: wrap-ups, kept places, maximum waits,
    /// offers, until the hotline closes.
    async fn tick_loop(self: Arc<Self>) {
        let mut closed = self.closed.subscribe();
        loop {
            let deadline = {
                let acd = lock(&self.acd);
                acd.next_deadline(self.now())
            };
            let sleep = match deadline {
                Some(at) => self.epoch + Duration::from_millis(at),
                None => Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep_until(sleep) => {}
                _ = closed.changed() => {}
            }
            if self.is_closed() {
                return;
            }
            self.run(|acd, now| acd.tick(now));
        }
    }

    pub(crate) fn connected_to(&self, call: &str) -> Option<OperatorId> {
        lock(&self.acd).connected_to(call)
    }

    /// The caller's place and expected wait.
    pub(crate) fn place(&self, call: &str) -> Option<crieur_domain::acd::Place> {
        lock(&self.acd).place(call, self.now())
    }
}

/// What an operation on the distributor asks the runtime to do next.
pub(crate) trait ActionsOf {
    fn actions(&self) -> Vec<Action>;
}

impl ActionsOf for Vec<Action> {
    fn actions(&self) -> Vec<Action> {
        self.clone()
    }
}

impl<T> ActionsOf for Result<T, AcdError>
where
    T: ActionsOf,
{
    fn actions(&self) -> Vec<Action> {
        self.as_ref().map(|t| t.actions()).unwrap_or_default()
    }
}

impl ActionsOf for () {
    fn actions(&self) -> Vec<Action> {
        Vec::new()
    }
}

impl ActionsOf for crieur_domain::acd::Place {
    fn actions(&self) -> Vec<Action> {
        Vec::new()
    }
}

impl ActionsOf for Vec<String> {
    fn actions(&self) -> Vec<Action> {
        Vec::new()
    }
}

struct Inner {
    store: Store,
    options: RuntimeOptions,
    active: RwLock<HashMap<i64, Arc<Active>>>,
    /// Which hotline each signed-in operator is on: one at a time.
    operators: Mutex<HashMap<OperatorId, i64>>,
    events: broadcast::Sender<HotlineEvent>,
    tts: Mutex<Option<Tts>>,
    /// Where the switchboard's SIP endpoint listens (UDP), once serving.
    sip: Mutex<Option<std::net::SocketAddr>>,
}

/// The process's hotlines.
#[derive(Clone)]
pub struct Hotlines {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hotlines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotlines")
            .field("active", &self.active_ids())
            .finish_non_exhaustive()
    }
}

impl Hotlines {
    pub fn new(store: Store, options: RuntimeOptions) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            inner: Arc::new(Inner {
                store,
                options,
                active: RwLock::new(HashMap::new()),
                operators: Mutex::new(HashMap::new()),
                events,
                tts: Mutex::new(None),
                sip: Mutex::new(None),
            }),
        }
    }

    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.options
    }

    pub fn events(&self) -> broadcast::Receiver<HotlineEvent> {
        self.inner.events.subscribe()
    }

    /// Where callers reach the hotline numbers over SIP (UDP), once serving.
    pub fn sip_address(&self) -> Option<std::net::SocketAddr> {
        *lock(&self.inner.sip)
    }

    /// Where a call stands: its queue, its place while waiting, the operator
    /// once connected. `None` once it has left.
    pub fn call_state(
        &self,
        hotline: i64,
        call_id: &str,
    ) -> Option<(
        QueueKey,
        Option<crieur_domain::acd::Place>,
        Option<OperatorId>,
    )> {
        let active = self.active(hotline)?;
        let acd = lock(&active.acd);
        let queue = acd.queue_of(call_id)?;
        Some((
            queue,
            acd.place(call_id, active.now()),
            acd.connected_to(call_id),
        ))
    }

    /// Tells the desks that the incident's approved answers changed.
    pub fn answers_changed(&self, incident: i64) {
        let _ = self
            .inner
            .events
            .send(HotlineEvent::AnswersChanged { incident });
    }

    pub(crate) fn tts(&self) -> Option<Tts> {
        lock(&self.inner.tts).clone()
    }

    fn active_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .inner
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    pub fn active(&self, id: i64) -> Option<Arc<Active>> {
        self.inner
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The active hotline answering `number` (the dialled user part).
    pub(crate) fn for_number(&self, number: &str) -> Option<Arc<Active>> {
        let wanted = normalise(number);
        self.inner
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|a| normalise(&a.number) == wanted)
            .cloned()
    }

    /// Starts the distributors of the hotlines the store has active (at start-up).
    pub async fn resume(&self) -> Result<usize, StoreError> {
        let hotlines = self.inner.store.hotline().active_hotlines().await?;
        let n = hotlines.len();
        for h in hotlines {
            let config = serde_json::from_str::<HotlineConfig>(&h.config).unwrap_or_else(|e| {
                tracing::error!(hotline = h.id, error = %e, "stored hotline configuration unreadable; using the defaults");
                HotlineConfig::default()
            });
            self.start(h.id, h.incident_id, h.number, config);
        }
        Ok(n)
    }

    /// Switches a hotline on for an incident: the configuration is checked
    /// whole, stored, and its distributor started.
    pub async fn activate(
        &self,
        incident_id: i64,
        number: &str,
        config: HotlineConfig,
        by: i64,
    ) -> Result<crieur_store::Hotline, ActivationError> {
        config.validate()?;
        let json = serde_json::to_string(&config).expect("a configuration serialises");
        let stored = self
            .inner
            .store
            .hotline()
            .activate_hotline(&crieur_store::NewHotline {
                incident_id,
                number: number.to_owned(),
                languages: config.languages.clone(),
                config: json,
                staffing_target: config.staffing_target,
                activated_by: by,
                activated_at: jiff::Timestamp::now().as_second(),
            })
            .await?;
        self.start(stored.id, incident_id, stored.number.clone(), config);
        tracing::info!(
            hotline = stored.id,
            incident_id,
            number,
            "hotline activated"
        );
        Ok(stored)
    }

    /// Replaces a running hotline's configuration (checked whole first).
    pub async fn reconfigure(&self, id: i64, config: HotlineConfig) -> Result<(), ActivationError> {
        config.validate()?;
        let json = serde_json::to_string(&config).expect("a configuration serialises");
        self.inner
            .store
            .hotline()
            .update_hotline_config(id, &json, config.staffing_target)
            .await?;
        if let Some(active) = self.active(id) {
            lock(&active.acd).set_config(config.acd.clone());
            *active
                .config
                .write()
                .unwrap_or_else(PoisonError::into_inner) = config;
            active.changed();
        }
        Ok(())
    }

    fn start(
        &self,
        id: i64,
        incident_id: i64,
        number: String,
        config: HotlineConfig,
    ) -> Arc<Active> {
        let (log_tx, log_rx) = mpsc::unbounded_channel();
        let records = Records::new(self.inner.store.clone());
        let wall_epoch_ms = jiff::Timestamp::now().as_millisecond();
        tokio::spawn(records::write_queue_log(
            records.clone(),
            id,
            wall_epoch_ms,
            log_rx,
        ));
        let (closed, _) = watch::channel(false);
        let active = Arc::new(Active {
            id,
            incident_id,
            number,
            acd: Mutex::new(Acd::new(config.acd.clone())),
            config: RwLock::new(config),
            epoch: Instant::now(),
            wake: Notify::new(),
            calls: Mutex::new(HashMap::new()),
            desks: Mutex::new(HashMap::new()),
            closed,
            log: log_tx,
            events: self.inner.events.clone(),
            records,
        });
        self.inner
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, active.clone());
        tokio::spawn(active.clone().tick_loop());
        active
    }

    /// Switches a hotline off: waiting callers hear the closing message, calls
    /// with an operator go on to their end, operators are signed out.
    pub async fn deactivate(
        &self,
        id: i64,
        by: i64,
        closing_message: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .store
            .hotline()
            .close_hotline(id, by, closing_message, jiff::Timestamp::now().as_second())
            .await?;
        let Some(active) = self
            .inner
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
        else {
            return Ok(());
        };
        let waiting = active.act(|acd, now| acd.close(now));
        for call in waiting {
            active.send(&call, Command::Close);
        }
        lock(&self.inner.operators).retain(|_, h| *h != id);
        active.closed.send_replace(true);
        active.publish(HotlineEvent::Closed { hotline: id });
        tracing::info!(hotline = id, "hotline deactivated");
        Ok(())
    }

    /// Takes the switchboard's calls until it stops.
    pub fn serve(&self, mut switchboard: Switchboard) -> tokio::task::JoinHandle<()> {
        *lock(&self.inner.tts) = Some(switchboard.tts().clone());
        *lock(&self.inner.sip) = switchboard.endpoint().udp_addr();
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(incoming) = switchboard.next_call().await {
                tokio::spawn(call::run(this.clone(), incoming));
            }
        })
    }

    // ---- operators ----

    fn hotline_of(&self, operator: OperatorId) -> Option<i64> {
        lock(&self.inner.operators).get(&operator).copied()
    }

    /// The active hotline an operator may act on: the one they are signed in
    /// to, and only that one.
    fn for_operator(&self, hotline: i64, operator: OperatorId) -> Result<Arc<Active>, DeskError> {
        let active = self.active(hotline).ok_or(DeskError::NotActive(hotline))?;
        match self.hotline_of(operator) {
            Some(h) if h == hotline => Ok(active),
            Some(other) => Err(DeskError::OtherHotline {
                operator,
                hotline: other,
            }),
            None => Err(DeskError::Acd(AcdError::NotSignedIn(operator))),
        }
    }

    /// Where the operator is signed in, if anywhere.
    pub fn signed_in_to(&self, operator: OperatorId) -> Option<i64> {
        self.hotline_of(operator)
    }

    pub fn sign_in(&self, hotline: i64, operator: OperatorId, desk: Desk) -> Result<(), DeskError> {
        let active = self.active(hotline).ok_or(DeskError::NotActive(hotline))?;
        if !valid_extension(&desk.extension) {
            return Err(DeskError::BadExtension);
        }
        {
            let mut operators = lock(&self.inner.operators);
            if let Some(&other) = operators.get(&operator) {
                return Err(if other == hotline {
                    DeskError::Acd(AcdError::AlreadySignedIn(operator))
                } else {
                    DeskError::OtherHotline {
                        operator,
                        hotline: other,
                    }
                });
            }
            operators.insert(operator, hotline);
        }
        let skills = desk.skills.clone();
        lock(&active.desks).insert(operator, desk);
        if let Err(e) = active.act(|acd, now| acd.sign_in(operator, skills, now)) {
            lock(&self.inner.operators).remove(&operator);
            lock(&active.desks).remove(&operator);
            return Err(e.into());
        }
        Ok(())
    }

    pub fn sign_out(&self, hotline: i64, operator: OperatorId) -> Result<(), DeskError> {
        let active = self.for_operator(hotline, operator)?;
        active.act(|acd, now| acd.sign_out(operator, now))?;
        lock(&active.desks).remove(&operator);
        lock(&self.inner.operators).remove(&operator);
        Ok(())
    }

    /// Break (`available == false`) or ready for calls.
    pub fn set_available(
        &self,
        hotline: i64,
        operator: OperatorId,
        available: bool,
    ) -> Result<(), DeskError> {
        let active = self.for_operator(hotline, operator)?;
        if available {
            active.act(|acd, now| acd.ready(operator, now))?;
        } else {
            active.act(|acd, now| acd.pause(operator, "break", now))?;
        }
        Ok(())
    }

    /// Takes a call offered to everyone (ring-all): the operator's phone is
    /// called at once.
    pub fn take(&self, hotline: i64, operator: OperatorId, call_id: &str) -> Result<(), DeskError> {
        let active = self.for_operator(hotline, operator)?;
        let acd = lock(&active.acd);
        if acd.presence(operator) != Some(Presence::Ringing)
            || acd.operator_call(operator) != Some(call_id)
        {
            return Err(DeskError::Acd(AcdError::NotOffered {
                call: call_id.to_owned(),
                operator,
            }));
        }
        drop(acd);
        active.send(call_id, Command::Ring(operator));
        Ok(())
    }

    /// Moves the operator's caller to another line.
    pub fn transfer(
        &self,
        hotline: i64,
        operator: OperatorId,
        call_id: &str,
        to: Line,
        kind: TransferKind,
    ) -> Result<(), DeskError> {
        let active = self.for_operator(hotline, operator)?;
        let acd = lock(&active.acd);
        if acd.connected_to(call_id) != Some(operator) {
            return Err(DeskError::Acd(AcdError::NotConnected {
                call: call_id.to_owned(),
                operator,
            }));
        }
        let queue = acd.queue_of(call_id);
        drop(acd);
        if queue.is_some_and(|q| q.line == to) {
            return Err(DeskError::Acd(AcdError::SameQueue {
                call: call_id.to_owned(),
                queue: queue.expect("checked"),
            }));
        }
        active.send(call_id, Command::Transfer { to, kind });
        Ok(())
    }

    pub fn desk(&self, hotline: i64, operator: OperatorId) -> Result<DeskView, DeskError> {
        let active = self.for_operator(hotline, operator)?;
        let (presence, call) = {
            let acd = lock(&active.acd);
            (
                acd.presence(operator)
                    .ok_or(AcdError::NotSignedIn(operator))?,
                acd.operator_call(operator).map(str::to_owned),
            )
        };
        let desk = active
            .desk(operator)
            .ok_or(AcdError::NotSignedIn(operator))?;
        Ok(DeskView {
            presence,
            call: call.and_then(|c| active.info(&c)),
            desk,
        })
    }

    /// Queues, operators and callers, for the supervisor.
    pub fn live(&self, hotline: i64) -> Option<LiveView> {
        let active = self.active(hotline)?;
        let languages = active.config().languages;
        let now = active.now();
        let (snapshot, handle_seconds) = {
            let acd = lock(&active.acd);
            (acd.snapshot(&languages, now), acd.handle_seconds())
        };
        let mut calls: Vec<CallInfo> = lock(&active.calls)
            .values()
            .map(|s| s.info.clone())
            .collect();
        calls.sort_by_key(|c| c.entered_at);
        Some(LiveView {
            snapshot,
            calls,
            desks: lock(&active.desks).clone(),
            handle_seconds,
        })
    }

    /// The queue a call is in, for tests and the desk.
    pub fn queue_of(&self, hotline: i64, call_id: &str) -> Option<QueueKey> {
        let active = self.active(hotline)?;
        lock(&active.acd).queue_of(call_id)
    }

    /// Calls waiting, connected, and places kept.
    pub fn counts(&self, hotline: i64) -> Option<(usize, usize, usize)> {
        let active = self.active(hotline)?;
        Some(lock(&active.acd).counts())
    }
}

/// A registered phone's user name, or a `sip:` URI to call directly (a phone
/// that does not register, as in the benchmark).
fn valid_extension(e: &str) -> bool {
    let (rest, extra): (&str, &[u8]) = match e.strip_prefix("sip:") {
        Some(uri) => (uri, b"._-+@:;="),
        None => (e, b"._-+"),
    };
    !rest.is_empty()
        && e.len() <= 128
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Compares dialled numbers whatever the prefix style: `+3217771771`,
/// `003217771771` and `017771771`... are kept as dialled, only `+`/`00` and
/// separators are ignored.
fn normalise(number: &str) -> String {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    digits
        .strip_prefix("00")
        .map(str::to_owned)
        .unwrap_or(digits)
}
