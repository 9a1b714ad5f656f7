//! What a [`SipEndpoint`](super::SipEndpoint) is told at start-up. Passwords live in
//! [`Credentials`], whose `Debug` never shows them.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A user name and its password: an operator's phone account in the registrar's
/// table, or the account Crieur uses towards an operator's SIP trunk.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The registration lifetimes the registrar grants, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiresBounds {
    /// Granted when the phone asks for none.
    pub default: u32,
    /// A shorter (non-zero) request is refused with 423 Interval Too Brief.
    pub min: u32,
    /// A longer request is cut down to this.
    pub max: u32,
}

impl Default for ExpiresBounds {
    fn default() -> Self {
        Self {
            default: 3600,
            min: 60,
            max: 7200,
        }
    }
}

/// Configuration of one SIP endpoint (UDP and TCP on the same address and port).
/// Its `Debug` shows user names, never passwords.
#[derive(Clone, Debug)]
pub struct SipConfig {
    /// Where to listen. Port 0 picks a free port, the same one for UDP and TCP.
    pub bind: SocketAddr,
    pub udp: bool,
    pub tcp: bool,
    /// User-Agent / Server header value.
    pub user_agent: String,
    /// Address advertised in Via and Contact when Crieur sits behind NAT.
    pub external: Option<SocketAddr>,
    /// Appended to generated Call-IDs as `uuid@suffix`; none gives a bare UUID.
    pub call_id_suffix: Option<String>,
    /// Digest realm of the registrar.
    pub realm: String,
    /// Operators' phone accounts the registrar accepts.
    pub users: Vec<Credentials>,
    pub register_expires: ExpiresBounds,
    /// How long a nonce the registrar issued stays valid.
    pub nonce_ttl: Duration,
    /// New INVITEs accepted per second from one source IP; more get 503.
    pub invite_rate_per_source: u32,
    /// Dialogs (calls being set up or established) at most; more INVITEs get 503.
    pub max_dialogs: usize,
    /// Retry-After (seconds) sent with every 503.
    pub retry_after: u32,
    /// RFC 3261 T1. Timer B (no answer at all to an INVITE) and the wait for the ACK
    /// of an answered call are both 64 × T1: 32 s with the default 500 ms.
    pub t1: Duration,
    /// An incoming call neither answered nor rejected by then is refused with 480,
    /// so that nothing rings forever.
    pub max_ringing: Duration,
    /// Incoming calls waiting for the application to take them; more get 503.
    pub incoming_queue: usize,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            udp: true,
            tcp: true,
            user_agent: "Crieur".to_owned(),
            external: None,
            call_id_suffix: None,
            realm: "crieur".to_owned(),
            users: Vec::new(),
            register_expires: ExpiresBounds::default(),
            nonce_ttl: Duration::from_secs(300),
            invite_rate_per_source: 50,
            max_dialogs: 2000,
            retry_after: 5,
            t1: Duration::from_millis(500),
            max_ringing: Duration::from_secs(180),
            incoming_queue: 256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_password() {
        let config = SipConfig {
            users: vec![Credentials::new("1001", "hunter2-secret")],
            ..SipConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("1001"));
        assert!(!shown.contains("hunter2-secret"));
    }
}
