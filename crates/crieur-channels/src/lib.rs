//! Delivery channels: SMPP 3.4 towards an SMSC, SMTP, the mobile operators'
//! location-based SMS / cell-broadcast interface, and the demo's device simulator.
//!
//! Each connector speaks the real wire protocol of its peer; none of them decides
//! who receives what, when to retry or what to store (that is crieur-dispatch's
//! job). A connector only sends one message and says, honestly, what happened.

pub mod operator;
mod simulator;
pub mod smpp;
pub mod smtp;
mod tls;

pub use simulator::{DeviceSimulator, SimulatedMessage};

use std::fmt;
use tokio::sync::{mpsc, oneshot};

/// One message to one address on one channel.
#[derive(Clone, PartialEq, Eq)]
pub enum Outbound {
    Sms {
        to: String,
        text: String,
    },
    Voice {
        to: String,
        language: String,
        script: String,
    },
    Email {
        to: String,
        subject: String,
        body: String,
        /// An HTML alternative of `body`, when there is one.
        html: Option<String>,
        /// The one-click unsubscribe address of a general-interest message
        /// (List-Unsubscribe); alerts and verification messages have none.
        unsubscribe: Option<String>,
    },
    /// An alert for a mobile operator's location-based SMS / cell broadcast:
    /// `to` names the configured operator, `cap` is the CAP 1.2 document.
    Operator {
        to: String,
        cap: String,
    },
}

impl fmt::Debug for Outbound {
    // Message bodies may carry verification codes: never in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(to {})", self.channel(), self.recipient())
    }
}

impl Outbound {
    pub fn channel(&self) -> &'static str {
        match self {
            Outbound::Sms { .. } => "sms",
            Outbound::Voice { .. } => "voice",
            Outbound::Email { .. } => "email",
            Outbound::Operator { .. } => "operator",
        }
    }

    pub fn recipient(&self) -> &str {
        match self {
            Outbound::Sms { to, .. }
            | Outbound::Voice { to, .. }
            | Outbound::Email { to, .. }
            | Outbound::Operator { to, .. } => to,
        }
    }
}

/// A message with the identity the dispatch engine gave it. `delivery` is the
/// same on every attempt, so a provider can make a resend recognisable (the
/// e-mail Message-ID is derived from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub delivery: i64,
    pub message: Outbound,
}

/// What a provider says when it has taken a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's references, to match later receipts: an SMSC's message
    /// id per SMS segment, an operator's acknowledgement identifier.
    pub references: Vec<String>,
    /// How many people the provider reports reaching (mobile operators).
    pub reach: Option<u64>,
    /// The recipient confirmed they got it (pressed 1 during a voice call).
    pub confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Worth retrying later (SMTP 4xx, an SMSC's system error).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The provider asks us to slow down (SMPP throttled or queue full):
    /// retried later, and the provider's pace is lowered.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Will never succeed (invalid address, refused content).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The outcome is not known (a timeout or a connection lost with the
    /// message in flight): it may have left. Retried, and counted as possibly
    /// duplicated.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The provider cannot take messages now (not bound, not reachable): the
    /// message was certainly not sent and should go to another provider.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// A final state a provider reports after accepting a message (an SMSC's
/// delivery receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's name, as [`Provider::name`].
    pub provider: String,
    /// One of the references it gave in [`Accepted::references`].
    pub reference: String,
    /// `None` when delivered; the reason when it failed for good.
    pub failure: Option<String>,
}

/// Where a provider hands its receipts. The engine answers `true` once the
/// receipt is durably stored; a provider acknowledges it to its peer only then
/// (and asks for a redelivery on `false` or no answer).
pub type ReceiptSink = mpsc::Sender<(Receipt, oneshot::Sender<bool>)>;

/// A provider of one channel: an SMSC, an SMTP relay, a mobile operator's
/// endpoint, the device simulator. The engine calls `send` from up to
/// [`Provider::concurrency`] tasks at once and paces them at [`Provider::rate`].
#[async_trait::async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// The configured name, unique among providers, stored with each delivery.
    fn name(&self) -> &str;
    /// The channels it serves: sms, voice, email, operator.
    fn channels(&self) -> &'static [&'static str];
    /// How many messages may be in flight at once.
    fn concurrency(&self) -> usize;
    /// Messages per second the provider allows, if it has a limit.
    fn rate(&self) -> Option<f64>;
    /// Whether it can take messages now (bound, connected); the engine sends to
    /// the next provider of the channel while it cannot.
    fn ready(&self) -> bool;
    /// Whether it reports delivery receipts for the references it returns.
    fn receipts(&self) -> bool {
        false
    }
    /// Sends one message.
    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError>;
}
