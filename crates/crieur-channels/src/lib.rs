//! Delivery channels: SMPP 3.4 towards an SMSC, SMTP, the mobile operators'
//! location-based SMS / cell-broadcast interface, and the demo's device simulator.
//!
//! Each connector speaks the real wire protocol of its peer; none of them decides
//! who receives what (that is crieur-dispatch's job).

mod simulator;

pub use simulator::{DeviceSimulator, SimulatedMessage};

use std::fmt;

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
    },
}

impl fmt::Debug for Outbound {
    // Message bodies may carry verification codes: never in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outbound::Sms { to, .. } => write!(f, "Sms(to {to})"),
            Outbound::Voice { to, .. } => write!(f, "Voice(to {to})"),
            Outbound::Email { to, .. } => write!(f, "Email(to {to})"),
        }
    }
}

impl Outbound {
    pub fn channel(&self) -> &'static str {
        match self {
            Outbound::Sms { .. } => "sms",
            Outbound::Voice { .. } => "voice",
            Outbound::Email { .. } => "email",
        }
    }

    pub fn recipient(&self) -> &str {
        match self {
            Outbound::Sms { to, .. } | Outbound::Voice { to, .. } | Outbound::Email { to, .. } => {
                to
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Worth retrying later (provider busy, connection lost).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will never succeed (invalid address, refused).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// No channel of this kind is configured.
    #[error("no {0} channel is configured")]
    Unavailable(&'static str),
}

/// Where individual messages (verification codes, confirmations) are handed over
/// to be sent.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync + fmt::Debug {
    async fn send(&self, message: Outbound) -> Result<(), ChannelError>;
}

/// The outbox used when no channel is configured: every send fails clearly.
#[derive(Debug, Default)]
pub struct NoChannel;

#[async_trait::async_trait]
impl Outbox for NoChannel {
    async fn send(&self, message: Outbound) -> Result<(), ChannelError> {
        Err(ChannelError::Unavailable(message.channel()))
    }
}
