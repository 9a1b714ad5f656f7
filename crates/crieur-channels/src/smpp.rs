//! SMPP 3.4 towards an SMSC: several transceiver binds, each with its own window of
//! outstanding `submit_sm`, reconnecting by themselves; delivery receipts are handed
//! to the dispatch engine and acknowledged to the SMSC only once it has stored them.
//!
//! It never retries a message and never guesses an outcome: a lost bind or a missing
//! `submit_sm_resp` is reported as unknown (the message may have left).
//!
//! smpp34 logs every PDU at `info!` through the `log` crate. The application's default
//! log filter must say `smpp34=warn`, or the log bridge spends the sending budget on
//! PDU lines.

mod address;
mod bind;
pub mod loopback;
mod receipt;
mod status;

pub use address::{SmppAddress, destination_address, sender_address};
pub use status::classify;

use crate::{Accepted, ChannelError, Envelope, Outbound, Provider, ReceiptSink};
use crieur_domain::sms::{Segment, encode_segments};
use smpp34::SmppError;
use smpp34::client::SMSC;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

/// esm_class with UDHI set: `short_message` starts with a user data header.
const ESM_CLASS_UDHI: u8 = 0x40;

/// How Crieur reaches one SMSC. Plain data: the application fills it from its
/// configuration file.
#[derive(Clone)]
pub struct SmppConfig {
    /// The provider's name, unique among providers, stored with each delivery.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    /// The sender shown on handsets: an alphanumeric name (at most 11 characters
    /// for handsets to show it whole), a short code or an international number.
    pub sender: String,
    pub sender_ton: u8,
    pub sender_npi: u8,
    /// Transceiver binds kept open at once.
    pub binds: usize,
    /// `submit_sm` outstanding at once on each bind.
    pub window: usize,
    /// Messages per second the SMSC allows, if the contract says.
    pub rate: Option<f64>,
    /// How long to wait for a `submit_sm_resp` before calling the outcome unknown.
    pub submit_timeout: Duration,
    pub enquire_link_interval: Duration,
    /// How long a bind may take to be confirmed; a refused bind is only seen this way.
    pub bind_timeout: Duration,
    /// Reconnection delays: the first retry waits about `reconnect_min`, doubling
    /// (jittered) up to `reconnect_max` while attempts keep failing.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Ask the SMSC for a receipt on each message's final state.
    pub delivery_receipts: bool,
}

impl SmppConfig {
    /// A configuration with the usual defaults: 4 binds of 64, 15 s submit timeout,
    /// enquire_link every 30 s, receipts requested, and the sender's TON/NPI
    /// derived by [`sender_address`].
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        port: u16,
        system_id: impl Into<String>,
        password: impl Into<String>,
        sender: &str,
    ) -> SmppConfig {
        let sender = sender_address(sender);
        SmppConfig {
            name: name.into(),
            host: host.into(),
            port,
            system_id: system_id.into(),
            password: password.into(),
            system_type: String::new(),
            sender: sender.address,
            sender_ton: sender.ton,
            sender_npi: sender.npi,
            binds: 4,
            window: 64,
            rate: None,
            submit_timeout: Duration::from_secs(15),
            enquire_link_interval: Duration::from_secs(30),
            bind_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(30),
            delivery_receipts: true,
        }
    }
}

impl fmt::Debug for SmppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmppConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .field("system_type", &self.system_type)
            .field("sender", &self.sender)
            .field("sender_ton", &self.sender_ton)
            .field("sender_npi", &self.sender_npi)
            .field("binds", &self.binds)
            .field("window", &self.window)
            .field("rate", &self.rate)
            .field("submit_timeout", &self.submit_timeout)
            .field("enquire_link_interval", &self.enquire_link_interval)
            .field("bind_timeout", &self.bind_timeout)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .field("delivery_receipts", &self.delivery_receipts)
            .finish()
    }
}

/// One bind's place in the provider: the session while bound, and its window.
/// The window outlives sessions: a permit held by a submit of a lost session is
/// returned when that submit fails.
struct BindSlot {
    session: RwLock<Option<Arc<SMSC>>>,
    window: Arc<Semaphore>,
}

impl BindSlot {
    fn current(&self) -> Option<Arc<SMSC>> {
        self.session
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn is_bound(&self) -> bool {
        self.session
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn set(&self, session: Option<Arc<SMSC>>) -> Option<Arc<SMSC>> {
        let mut guard = self.session.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *guard, session)
    }
}

/// What the provider and its bind supervisors share.
struct Shared {
    config: SmppConfig,
    binds: Vec<BindSlot>,
    next: AtomicUsize,
    receipts: ReceiptSink,
}

impl Shared {
    /// The least loaded bound bind, starting the search at a rotating offset so
    /// ties spread over all binds.
    fn pick(&self) -> Option<&BindSlot> {
        let n = self.binds.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.binds[(start + i) % n])
            .filter(|slot| slot.is_bound())
            .max_by_key(|slot| slot.window.available_permits())
    }

    /// A bound session and a place in its window. A bind lost while we waited for
    /// its window is passed over for another.
    async fn reserve(&self) -> Result<(Arc<SMSC>, OwnedSemaphorePermit), ChannelError> {
        let unavailable =
            || ChannelError::Unavailable(format!("{}: no SMPP bind is bound", self.config.name));
        for _ in 0..=self.binds.len() {
            let slot = self.pick().ok_or_else(unavailable)?;
            let permit = tokio::time::timeout(
                self.config.submit_timeout,
                slot.window.clone().acquire_owned(),
            )
            .await
            .map_err(|_| {
                ChannelError::Unavailable(format!(
                    "{}: every SMPP window stayed full for {:?}",
                    self.config.name, self.config.submit_timeout
                ))
            })?
            .map_err(|_| unavailable())?;
            if let Some(session) = slot.current() {
                return Ok((session, permit));
            }
        }
        Err(unavailable())
    }

    /// Submits one segment and returns the SMSC's message id.
    async fn submit(
        &self,
        smsc: &SMSC,
        destination: &SmppAddress,
        data_coding: u8,
        segment: &Segment,
    ) -> Result<String, ChannelError> {
        let config = &self.config;
        let request = smsc
            .submit_sm()
            .source_addr_ton(config.sender_ton)
            .source_addr_npi(config.sender_npi)
            .source_addr(config.sender.clone())
            .dest_addr_ton(destination.ton)
            .dest_addr_npi(destination.npi)
            .destination_addr(destination.address.clone())
            .esm_class(if segment.udh.is_some() {
                ESM_CLASS_UDHI
            } else {
                0
            })
            .data_coding(data_coding)
            .registered_delivery(u8::from(config.delivery_receipts))
            .short_message(segment.short_message())
            .send();
        match tokio::time::timeout(config.submit_timeout, request).await {
            Ok(Ok(response)) if response.is_success() => {
                Ok(response.message_id.unwrap_or_default())
            }
            Ok(Ok(response)) => Err(classify(response.command_status())),
            // smpp34 reports every local failure as a system error: the writer
            // closed (bind lost) or its own response timer expired.
            Ok(Err(SmppError::ESME_RSYSERR)) => Err(ChannelError::Unknown(
                "the bind was lost or timed out with the submit_sm outstanding".into(),
            )),
            // Any other error is a generic_nack: the SMSC refused the PDU.
            Ok(Err(nack)) => Err(classify(nack as u32)),
            Err(_) => Err(ChannelError::Unknown(format!(
                "no submit_sm_resp within {:?}",
                config.submit_timeout
            ))),
        }
    }
}

/// An SMSC reached over SMPP 3.4, for the channel "sms".
pub struct SmppProvider {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    supervisors: Mutex<Vec<JoinHandle<()>>>,
}

impl SmppProvider {
    /// Starts the binds (each connects and reconnects on its own) and returns at
    /// once: [`Provider::ready`] says when the first bind is up. Must run inside a
    /// tokio runtime. Receipts go to `receipts`.
    pub fn start(config: SmppConfig, receipts: ReceiptSink) -> Arc<SmppProvider> {
        let binds = (0..config.binds.max(1))
            .map(|_| BindSlot {
                session: RwLock::new(None),
                window: Arc::new(Semaphore::new(config.window.max(1))),
            })
            .collect();
        let shared = Arc::new(Shared {
            config,
            binds,
            next: AtomicUsize::new(0),
            receipts,
        });
        let (shutdown, signal) = watch::channel(false);
        let supervisors = (0..shared.binds.len())
            .map(|index| tokio::spawn(bind::supervise(shared.clone(), index, signal.clone())))
            .collect();
        Arc::new(SmppProvider {
            shared,
            shutdown,
            supervisors: Mutex::new(supervisors),
        })
    }

    /// How many binds are bound now.
    pub fn bound(&self) -> usize {
        self.shared.binds.iter().filter(|b| b.is_bound()).count()
    }

    /// Unbinds politely and stops reconnecting. Sends in flight end as they may;
    /// later sends are `Unavailable`.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let supervisors = std::mem::take(
            &mut *self
                .supervisors
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for supervisor in supervisors {
            let _ = supervisor.await;
        }
    }
}

impl Drop for SmppProvider {
    fn drop(&mut self) {
        // Dropping a supervisor drops its SmppClient, which ends the session.
        for supervisor in self
            .supervisors
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            supervisor.abort();
        }
    }
}

impl fmt::Debug for SmppProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmppProvider")
            .field("config", &self.shared.config)
            .field("bound", &self.bound())
            .finish()
    }
}

/// The concatenation reference of a message: stable across attempts of one
/// delivery, spread over the byte for consecutive deliveries.
fn concatenation_reference(delivery: i64) -> u8 {
    let mixed = u64::from_ne_bytes(delivery.to_ne_bytes()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    mixed.to_be_bytes()[0]
}

#[async_trait::async_trait]
impl Provider for SmppProvider {
    fn name(&self) -> &str {
        &self.shared.config.name
    }

    fn channels(&self) -> &'static [&'static str] {
        &["sms"]
    }

    fn concurrency(&self) -> usize {
        self.shared.binds.len() * self.shared.config.window.max(1)
    }

    fn rate(&self) -> Option<f64> {
        self.shared.config.rate
    }

    fn ready(&self) -> bool {
        self.shared.binds.iter().any(BindSlot::is_bound)
    }

    fn receipts(&self) -> bool {
        self.shared.config.delivery_receipts
    }

    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError> {
        let Outbound::Sms { to, text } = &envelope.message else {
            return Err(ChannelError::Permanent(format!(
                "an SMPP provider carries SMS, not {}",
                envelope.message.channel()
            )));
        };
        let destination = destination_address(to)?;
        let sms = encode_segments(text, concatenation_reference(envelope.delivery))
            .map_err(|e| ChannelError::Permanent(e.to_string()))?;
        let data_coding = sms.encoding.data_coding();
        // All segments go on one bind, one after the other, under one permit.
        let (smsc, _permit) = self.shared.reserve().await?;
        let total = sms.segments.len();
        let mut references = Vec::with_capacity(total);
        for (i, segment) in sms.segments.iter().enumerate() {
            match self
                .shared
                .submit(&smsc, &destination, data_coding, segment)
                .await
            {
                Ok(id) => references.push(id),
                Err(e) if references.is_empty() => return Err(e),
                // Part of the message has left: a resend would duplicate it.
                Err(e) => {
                    return Err(ChannelError::Unknown(format!(
                        "segment {} of {total} failed after {} accepted: {e}",
                        i + 1,
                        references.len()
                    )));
                }
            }
        }
        Ok(Accepted {
            references,
            reach: None,
            confirmed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_stays_out_of_debug() {
        let config = SmppConfig::new("smsc", "localhost", 2775, "crieur", "s3cr3t", "BE-Alert");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!((config.sender_ton, config.sender_npi), (5, 0));
    }

    #[test]
    fn references_vary_between_deliveries_and_stay_for_one() {
        let refs: std::collections::HashSet<u8> = (1..=64).map(concatenation_reference).collect();
        assert!(refs.len() > 40, "only {} distinct references", refs.len());
        assert_eq!(concatenation_reference(77), concatenation_reference(77));
    }
}
