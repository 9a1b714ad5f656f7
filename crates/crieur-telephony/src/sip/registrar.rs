//! The registrar for operators' SIP phones: digest authentication against the
//! configured accounts, and where each registered phone can be reached.
//!
//! A phone's reachable address is where its REGISTER came from (the top Via's
//! `received`/`rport`, which rsipstack fills in), not the address its Contact
//! claims: behind NAT the Contact is a private address.

use super::config::{Credentials, ExpiresBounds};
use super::digest::{DigestAnswer, NonceStore, NonceUse};
use super::stats::{Counters, bump};
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// Contacts kept per account; a new one replaces the oldest beyond this.
const MAX_BINDINGS_PER_USER: usize = 10;

/// How a registered phone is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
}

/// One registered contact of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The Contact URI the phone registered.
    pub contact: String,
    /// Where its REGISTER came from: where requests for it are sent.
    pub source: SocketAddr,
    pub transport: SipTransport,
    pub expires_at: Instant,
}

#[derive(Debug)]
pub(crate) struct Registrar {
    realm: String,
    users: HashMap<String, String>,
    bounds: ExpiresBounds,
    nonces: NonceStore,
    bindings: Mutex<HashMap<String, Vec<Registration>>>,
    counters: Arc<Counters>,
}

/// The registrar's decision on one REGISTER.
enum Outcome {
    Challenge { stale: bool },
    Refuse(&'static str),
    Reply(StatusCode, Vec<Header>),
}

impl Registrar {
    pub(crate) fn new(
        realm: String,
        users: &[Credentials],
        bounds: ExpiresBounds,
        nonce_ttl: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            realm,
            users: users
                .iter()
                .map(|c| (c.user.clone(), c.password.clone()))
                .collect(),
            bounds,
            nonces: NonceStore::new(nonce_ttl),
            bindings: Mutex::new(HashMap::new()),
            counters,
        }
    }

    /// The most recently refreshed live registration of `user`.
    pub(crate) fn lookup(&self, user: &str) -> Option<Registration> {
        let now = Instant::now();
        let mut bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        let list = bindings.get_mut(user)?;
        list.retain(|b| b.expires_at > now);
        list.last().cloned()
    }

    /// Answers one REGISTER transaction.
    pub(crate) async fn handle(&self, tx: &mut Transaction, source: SocketAddr) {
        let outcome = self.decide(&tx.original, source);
        let (status, headers) = match outcome {
            Outcome::Challenge { stale } => {
                let nonce = self.nonces.issue();
                let stale = if stale { ", stale=true" } else { "" };
                let value = format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}",
                    self.realm
                );
                let challenge =
                    Header::WwwAuthenticate(rsipstack::sip::WwwAuthenticate::new(value));
                (StatusCode::Unauthorized, vec![challenge])
            }
            Outcome::Refuse(why) => {
                bump(&self.counters.registrations_refused);
                warn!(%source, why, "REGISTER refused");
                (StatusCode::Forbidden, Vec::new())
            }
            Outcome::Reply(status, headers) => (status, headers),
        };
        if let Err(e) = tx.reply_with(status, headers, None).await {
            debug!(%source, error = %e, "REGISTER reply not sent");
        }
    }

    fn decide(&self, req: &Request, source: SocketAddr) -> Outcome {
        let Some(aor) = req
            .to_header()
            .and_then(|t| t.typed())
            .ok()
            .and_then(|to| to.uri.auth.map(|a| a.user))
        else {
            return Outcome::Reply(StatusCode::NotFound, Vec::new());
        };
        let Some(authorization) = req.authorization_header() else {
            return Outcome::Challenge { stale: false };
        };
        let Some(answer) = DigestAnswer::parse(authorization.value()) else {
            return Outcome::Reply(StatusCode::BadRequest, Vec::new());
        };
        let Some(nc) = answer.nonce_count().filter(|_| answer.realm == self.realm) else {
            return Outcome::Challenge { stale: false };
        };
        let Some(password) = self.users.get(&answer.username) else {
            return Outcome::Refuse("unknown user");
        };
        if answer.username != aor {
            return Outcome::Refuse("authenticated as another user");
        }
        if !answer.matches(password, "REGISTER") {
            return Outcome::Refuse("wrong password");
        }
        if self.nonces.use_nonce(&answer.nonce, nc) == NonceUse::Stale {
            return Outcome::Challenge { stale: true };
        }
        self.update_bindings(req, &aor, source)
    }

    fn update_bindings(&self, req: &Request, aor: &str, source: SocketAddr) -> Outcome {
        let header_expires = req
            .expires_header()
            .and_then(|e| e.value().trim().parse::<u32>().ok());
        let wildcard = req
            .contact_headers()
            .iter()
            .any(|c| c.value().trim() == "*");
        let now = Instant::now();
        let mut bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        let list = bindings.entry(aor.to_owned()).or_default();
        list.retain(|b| b.expires_at > now);

        if wildcard {
            if header_expires != Some(0) {
                return Outcome::Reply(StatusCode::BadRequest, Vec::new());
            }
            list.clear();
            bump(&self.counters.registrations);
            info!(user = aor, %source, "all registrations removed");
            return Outcome::Reply(StatusCode::OK, Vec::new());
        }

        let Ok(contacts) = req.typed_contact_headers() else {
            return Outcome::Reply(StatusCode::BadRequest, Vec::new());
        };
        let mut changes = Vec::with_capacity(contacts.len());
        for contact in &contacts {
            let asked = contact
                .expires()
                .or(header_expires)
                .unwrap_or(self.bounds.default);
            if asked != 0 && asked < self.bounds.min {
                let min = Header::MinExpires(self.bounds.min.to_string().into());
                return Outcome::Reply(StatusCode::IntervalTooBrief, vec![min]);
            }
            changes.push((contact.uri.to_string(), asked.min(self.bounds.max)));
        }

        let transport = match req.via_header().and_then(|v| v.typed()) {
            Ok(via) if via.transport != rsipstack::sip::Transport::Udp => SipTransport::Tcp,
            _ => SipTransport::Udp,
        };
        for (contact, expires) in changes {
            list.retain(|b| b.contact != contact);
            if expires == 0 {
                info!(user = aor, %contact, %source, "unregistered");
                continue;
            }
            if list.len() >= MAX_BINDINGS_PER_USER {
                list.remove(0);
            }
            info!(user = aor, %contact, %source, expires, "registered");
            list.push(Registration {
                contact,
                source,
                transport,
                expires_at: now + Duration::from_secs(u64::from(expires)),
            });
        }
        bump(&self.counters.registrations);
        let headers = list
            .iter()
            .map(|b| {
                let left = b.expires_at.saturating_duration_since(now).as_secs();
                Header::Contact(format!("<{}>;expires={left}", b.contact).into())
            })
            .collect();
        Outcome::Reply(StatusCode::OK, headers)
    }
}

/// Where a request really came from: the top Via's `received` and `rport`,
/// which rsipstack sets from the packet's source, else `fallback`.
pub(crate) fn via_source(req: &Request, fallback: SocketAddr) -> SocketAddr {
    let Ok(via) = req.via_header().and_then(|v| v.typed()) else {
        return fallback;
    };
    let ip = via.received().and_then(Result::ok).unwrap_or(fallback.ip());
    let port = via.rport().flatten().unwrap_or(fallback.port());
    SocketAddr::new(ip, port)
}
