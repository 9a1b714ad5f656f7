//! The e-mail channel: an SMTP relay (an organisation's mail gateway, a bulk
//! mail service) reached with lettre's low-level client over a small pool of
//! connections we open ourselves.
//!
//! It sends one message per [`Provider::send`] and reports exactly what the
//! relay said. It never retries a message that may already have left (a lost
//! connection after the body is `Unknown`, for the engine to decide), and never
//! writes the password anywhere.

mod message;
mod session;

pub use message::message_id;

use crate::{Accepted, ChannelError, Envelope, Outbound, Provider};
use lettre::message::Mailbox;
use session::{Dialer, Outcome, Session};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text (a relay on the same host or a trusted network only).
    None,
    /// Plain connection upgraded with STARTTLS (submission, port 587); the
    /// upgrade is required, never skipped.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// An SMTP relay's settings.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The provider's name, unique among providers.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Login for AUTH PLAIN or LOGIN; both or neither.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender mailbox, e.g. `BE-Alert <alert@crieur.example>`.
    pub from: String,
    /// The domain of Message-IDs, also our EHLO name.
    pub mail_domain: String,
    /// Connections kept open at most, which is also how many messages are in
    /// flight at once.
    pub connections: usize,
    /// Messages per second the relay allows, if it has a limit.
    pub rate: Option<f64>,
    /// A connection is closed and replaced after this many transactions.
    pub recycle_after: u64,
    /// Limit for opening a session and for each reply.
    pub timeout: Duration,
    /// A connection idle longer than this is checked with NOOP before use.
    pub idle_check: Duration,
    /// After repeated failures to connect, no new connection is tried for this
    /// long (the provider reports not ready).
    pub backoff: Duration,
    /// Root certificates (PEM) trusted for TLS besides the system's: a private
    /// relay's CA, or the tests' own.
    pub extra_roots: Vec<String>,
}

impl SmtpConfig {
    /// A relay with the default settings: STARTTLS, no login, 8 connections,
    /// no rate limit, recycling after 1,000 messages, 30 s timeout.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        port: u16,
        from: impl Into<String>,
        mail_domain: impl Into<String>,
    ) -> SmtpConfig {
        SmtpConfig {
            name: name.into(),
            host: host.into(),
            port,
            security: Security::StartTls,
            username: None,
            password: None,
            from: from.into(),
            mail_domain: mail_domain.into(),
            connections: 8,
            rate: None,
            recycle_after: 1_000,
            timeout: Duration::from_secs(30),
            idle_check: Duration::from_secs(30),
            backoff: Duration::from_secs(5),
            extra_roots: Vec::new(),
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("mail_domain", &self.mail_domain)
            .field("connections", &self.connections)
            .field("rate", &self.rate)
            .field("recycle_after", &self.recycle_after)
            .field("timeout", &self.timeout)
            .field("idle_check", &self.idle_check)
            .field("backoff", &self.backoff)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// Why an [`SmtpConfig`] cannot make a provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("invalid sender mailbox {0:?}: {1}")]
    From(String, String),
    #[error("invalid root certificate: {0}")]
    Certificate(String),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("invalid SMTP setting: {0}")]
    Setting(String),
}

/// Consecutive failed connections after which the provider backs off.
const FAILURES_BEFORE_BACKOFF: u32 = 3;

/// An SMTP relay as a [`Provider`] of the `email` channel.
pub struct SmtpProvider {
    name: String,
    from: Mailbox,
    mail_domain: String,
    connections: usize,
    rate: Option<f64>,
    recycle_after: u64,
    timeout: Duration,
    idle_check: Duration,
    backoff: Duration,
    dialer: Dialer,
    /// One permit per connection: a sender holds one for its whole transaction.
    permits: Semaphore,
    idle: Mutex<Vec<Session>>,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    failures: u32,
    last_failure: Option<(Instant, String)>,
}

impl fmt::Debug for SmtpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpProvider")
            .field("name", &self.name)
            .field("host", &self.dialer.host)
            .field("port", &self.dialer.port)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl SmtpProvider {
    /// Checks the settings and prepares TLS; connects only when sending.
    pub fn new(config: SmtpConfig) -> Result<SmtpProvider, SmtpSetupError> {
        use SmtpSetupError::Setting;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SmtpSetupError::From(config.from.clone(), format!("{e}")))?;
        if config.host.is_empty() {
            return Err(Setting("host is empty".into()));
        }
        if config.mail_domain.is_empty()
            || !config
                .mail_domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(Setting(format!(
                "mail_domain {:?} is not a domain name",
                config.mail_domain
            )));
        }
        if config.connections == 0 || config.recycle_after == 0 || config.timeout.is_zero() {
            return Err(Setting(
                "connections, recycle_after and timeout must be positive".into(),
            ));
        }
        if config.username.is_some() != config.password.is_some() {
            return Err(Setting("username and password go together".into()));
        }
        if config.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(Setting("rate must be a positive number".into()));
        }
        let mut roots = Vec::new();
        for pem in &config.extra_roots {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SmtpSetupError::Certificate(e.to_string()))?;
            if certs.is_empty() {
                return Err(SmtpSetupError::Certificate("no certificate in PEM".into()));
            }
            roots.extend(certs);
        }
        let dialer = Dialer::new(&config, roots)?;
        Ok(SmtpProvider {
            name: config.name,
            from,
            mail_domain: config.mail_domain,
            connections: config.connections,
            rate: config.rate,
            recycle_after: config.recycle_after,
            timeout: config.timeout,
            idle_check: config.idle_check,
            backoff: config.backoff,
            dialer,
            permits: Semaphore::new(config.connections),
            idle: Mutex::new(Vec::new()),
            health: Mutex::new(Health::default()),
        })
    }

    /// Stops taking messages (`send` then answers `Unavailable`) and closes the
    /// connections politely (QUIT): idle ones now, busy ones when their
    /// transaction ends.
    pub async fn shutdown(&self) {
        self.permits.close();
        let sessions =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for session in sessions {
            session.quit(self.timeout).await;
        }
    }

    /// A reason to refuse new connections, while backing off.
    fn backing_off(&self) -> Option<String> {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match &health.last_failure {
            Some((at, error))
                if health.failures >= FAILURES_BEFORE_BACKOFF && at.elapsed() < self.backoff =>
            {
                Some(format!(
                    "{} failed connections, backing off: {error}",
                    health.failures
                ))
            }
            _ => None,
        }
    }

    async fn open(&self) -> Result<Session, ChannelError> {
        if let Some(reason) = self.backing_off() {
            return Err(ChannelError::Unavailable(reason));
        }
        let result = self.dialer.connect().await;
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(session) => {
                if health.failures > 0 {
                    tracing::info!(provider = %self.name, "SMTP relay reachable again");
                }
                *health = Health::default();
                Ok(session)
            }
            Err(error) => {
                tracing::warn!(provider = %self.name, %error, "SMTP connection failed");
                health.failures = health.failures.saturating_add(1);
                health.last_failure = Some((Instant::now(), error.clone()));
                Err(ChannelError::Unavailable(error))
            }
        }
    }

    /// An idle connection that still answers, if any.
    async fn take_idle(&self) -> Option<Session> {
        loop {
            let mut session = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()?;
            if session.last_used.elapsed() < self.idle_check || session.alive(self.timeout).await {
                return Some(session);
            }
            tracing::debug!(provider = %self.name, "dropping an idle SMTP connection that stopped answering");
        }
    }

    async fn put_back(&self, session: Session) {
        if session.transactions >= self.recycle_after || self.permits.is_closed() {
            session.quit(self.timeout).await;
        } else {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
        }
    }
}

#[async_trait::async_trait]
impl Provider for SmtpProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn channels(&self) -> &'static [&'static str] {
        &["email"]
    }

    fn concurrency(&self) -> usize {
        self.connections
    }

    fn rate(&self) -> Option<f64> {
        self.rate
    }

    fn ready(&self) -> bool {
        self.backing_off().is_none()
    }

    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError> {
        let Outbound::Email {
            to,
            subject,
            body,
            html,
            unsubscribe,
        } = &envelope.message
        else {
            return Err(ChannelError::Permanent(format!(
                "{} is an e-mail provider, not {}",
                self.name,
                envelope.message.channel()
            )));
        };
        let content = message::Content {
            to,
            subject,
            body,
            html: html.as_deref(),
            unsubscribe: unsubscribe.as_deref(),
        };
        let prepared = message::prepare(&self.from, &self.mail_domain, envelope.delivery, content)
            .map_err(ChannelError::Permanent)?;

        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ChannelError::Unavailable("the provider is shut down".into()))?;
        let (mut session, mut reused) = match self.take_idle().await {
            Some(session) => (session, true),
            None => (self.open().await?, false),
        };
        loop {
            match session
                .transact(&self.from.email, &prepared, self.timeout)
                .await
            {
                Outcome::Accepted => {
                    self.put_back(session).await;
                    return Ok(Accepted {
                        references: vec![prepared.message_id],
                        reach: None,
                        confirmed: false,
                    });
                }
                Outcome::Refused {
                    permanent,
                    closing,
                    reason,
                } => {
                    if !closing && session.reset(self.timeout).await {
                        self.put_back(session).await;
                    }
                    return Err(if permanent {
                        ChannelError::Permanent(reason)
                    } else {
                        ChannelError::Temporary(reason)
                    });
                }
                Outcome::LostBeforeBody(reason) if reused => {
                    // Likely a connection the server closed while idle: the
                    // message has not left, so one fresh connection may try.
                    tracing::debug!(provider = %self.name, %reason, "reused SMTP connection lost; reconnecting");
                    drop(session);
                    session = self.open().await?;
                    reused = false;
                }
                Outcome::LostBeforeBody(reason) => {
                    return Err(ChannelError::Temporary(format!(
                        "connection lost before the message was sent: {reason}"
                    )));
                }
                Outcome::LostAfterBody(reason) => {
                    return Err(ChannelError::Unknown(format!(
                        "connection lost while sending the message or awaiting the reply: {reason}"
                    )));
                }
            }
        }
    }
}
