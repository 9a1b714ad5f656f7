//! Layered configuration: built-in defaults, then a TOML file, then `CRIEUR_*`
//! environment variables (`__` separates levels: `CRIEUR_WEB__LISTEN`), then flags.
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

use crieur_domain::Language;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub web: WebConfig,
    pub auth: AuthConfig,
    pub channels: ChannelsConfig,
    pub telephony: TelephonyConfig,
    pub hotline: HotlineConfig,
    pub registration: RegistrationConfig,
    pub alerts: AlertsConfig,
    pub metrics: MetricsConfig,
    pub relatives: RelativesConfig,
    pub queue: QueueConfig,
}

/// How dispatch work is shared out: sent by the server itself ("embedded",
/// the default), or handed over NATS JetStream to `crieur worker` processes
/// ("nats"). Chosen once at start-up; every process must agree.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// "embedded" or "nats".
    pub kind: String,
    /// `nats://host:4222` (several servers separated by commas). May carry a
    /// user and password: never logged.
    pub url: String,
    /// The work-queue stream and its subject prefix (`<subject>.<channel>`).
    pub stream: String,
    pub subject: String,
    /// A batch neither acknowledged nor reported in progress within this
    /// time is delivered again, to any worker.
    pub ack_wait_seconds: u64,
    /// Deliveries of one batch before it is dead-lettered.
    pub max_deliver: u32,
    /// Deliveries per batch (one queue message).
    pub batch: u32,
    /// Batches per channel waiting in the queue or in workers' hands.
    pub outstanding: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            kind: "embedded".into(),
            url: "nats://127.0.0.1:4222".into(),
            stream: "CRIEUR_WORK".into(),
            subject: "crieur.work".into(),
            ack_wait_seconds: 30,
            max_deliver: 5,
            batch: 512,
            outstanding: 16,
        }
    }
}

impl std::fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueConfig")
            .field("kind", &self.kind)
            .field("url", &redact_url(&self.url))
            .field("stream", &self.stream)
            .field("subject", &self.subject)
            .field("ack_wait_seconds", &self.ack_wait_seconds)
            .field("max_deliver", &self.max_deliver)
            .field("batch", &self.batch)
            .field("outstanding", &self.outstanding)
            .finish()
    }
}

impl QueueConfig {
    /// The queue's settings when dispatch goes through NATS; `None` when the
    /// server sends itself. Refuses unknown kinds and unusable numbers.
    pub fn nats(&self) -> Result<Option<crieur_dispatch::queue::QueueSettings>, String> {
        match self.kind.as_str() {
            "embedded" => Ok(None),
            "nats" => {
                if self.batch == 0 || self.outstanding == 0 || self.max_deliver == 0 {
                    return Err(
                        "queue.batch, queue.outstanding and queue.max_deliver must be at least 1"
                            .into(),
                    );
                }
                if self.ack_wait_seconds == 0 {
                    return Err("queue.ack_wait_seconds must be at least 1".into());
                }
                crieur_dispatch::queue::check_url(&self.url)?;
                Ok(Some(crieur_dispatch::queue::QueueSettings {
                    url: self.url.clone(),
                    stream: self.stream.clone(),
                    subject: self.subject.clone(),
                    ack_wait: std::time::Duration::from_secs(self.ack_wait_seconds),
                    max_deliver: self.max_deliver,
                    batch: self.batch,
                    outstanding: self.outstanding,
                    ..Default::default()
                }))
            }
            other => Err(format!(
                "queue.kind {other:?} is not one of \"embedded\", \"nats\""
            )),
        }
    }
}

/// Who must approve an alert, how fast one may release, and what sending costs.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Territory levels (country, region, province, municipality) whose alerts
    /// a second person must approve.
    pub approval_levels: Vec<String>,
    /// Releases one account may make per minute.
    pub releases_per_minute: u32,
    /// Minutes during which sending the same texts to the same area again
    /// needs an explicit confirmation.
    pub repeat_window_minutes: u32,
    /// Unit prices in euro cents, for the cost estimate.
    pub sms_cents: f64,
    pub voice_cents: f64,
    pub email_cents: f64,
    /// Verified contacts (E.164 numbers, e-mail addresses) that receive an
    /// Exercise or Test restricted to the test group.
    pub test_group: Vec<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            approval_levels: vec!["country".into()],
            releases_per_minute: 3,
            repeat_window_minutes: 10,
            sms_cents: 4.0,
            voice_cents: 6.0,
            email_cents: 0.01,
            test_group: Vec::new(),
        }
    }
}

/// Limits on citizens' registrations, against scripted sign-ups and SMS pumping.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// Registrations per client address per hour.
    pub per_address_per_hour: u32,
    /// Verification codes sent to one number per hour.
    pub codes_per_number_per_hour: u32,
    /// Codes sent to one number range (the first 7 digits) per hour.
    pub codes_per_range_per_hour: u32,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            per_address_per_hour: 20,
            codes_per_number_per_hour: 3,
            codes_per_range_per_hour: 10,
        }
    }
}

/// Where messages go. Providers of one channel are tried in the order given:
/// the next takes over while the one before cannot send.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    /// Hand every message to the device simulator (shown at /simulator) instead of
    /// real providers. For demonstrations and tests only; `crieur demo` sets it.
    pub simulator: bool,
    /// SMSCs reached over SMPP 3.4 (`[[channels.sms]]`).
    pub sms: Vec<SmsProvider>,
    /// SMTP relays (`[[channels.email]]`).
    pub email: Vec<EmailProvider>,
    /// Mobile operators' location-based SMS / cell-broadcast endpoints
    /// (`[[channels.operators]]`): every Actual alert goes to each of them.
    pub operators: Vec<OperatorEndpoint>,
    /// SIP trunks for voice alerts (`[[channels.voice]]`).
    pub voice: Vec<VoiceTrunk>,
}

/// A SIP trunk that voice alerts are called through.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VoiceTrunk {
    pub name: String,
    /// `host:port` of the trunk (add `;transport=tcp` for TCP).
    pub trunk: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The number shown to the people called.
    #[serde(default = "default_from_user")]
    pub from_user: String,
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_seconds: u64,
    /// Calls in progress at once.
    #[serde(default = "default_calls")]
    pub concurrency: usize,
    #[serde(default = "default_calls_per_second")]
    pub calls_per_second: f64,
}

/// Crieur's own SIP endpoint and RTP media, for voice alerts and the hotline.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelephonyConfig {
    /// Where SIP listens (UDP and TCP).
    pub sip_listen: SocketAddr,
    /// The address put in Contact and SDP when behind NAT.
    pub external: Option<SocketAddr>,
    /// The address RTP media binds to.
    pub rtp_ip: std::net::IpAddr,
    /// RTP ports, e.g. [10000, 20000]; any free port when absent.
    pub rtp_ports: Option<(u16, u16)>,
    /// New calls accepted per second from one address (INVITE floods).
    pub invites_per_second_per_source: u32,
}

impl Default for TelephonyConfig {
    fn default() -> Self {
        TelephonyConfig {
            sip_listen: "127.0.0.1:5060".parse().expect("a valid address"),
            external: None,
            rtp_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            rtp_ports: None,
            invites_per_second_per_source: 20,
        }
    }
}

fn default_from_user() -> String {
    "crieur".into()
}
fn default_ring_timeout() -> u64 {
    30
}
fn default_calls() -> usize {
    100
}
fn default_calls_per_second() -> f64 {
    20.0
}

/// A mobile operator's endpoint for alerts in CAP over HTTPS.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OperatorEndpoint {
    pub name: String,
    /// https:// address receiving `application/cap+xml`.
    pub url: String,
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub rate: Option<f64>,
    /// PEM files of certificate authorities to trust beside the system's.
    #[serde(default)]
    pub extra_roots: Vec<PathBuf>,
}

/// The crisis hotline: the public numbers an activation can take, the
/// operators' phones the SIP registrar accepts, and who is on call.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HotlineConfig {
    /// Numbers an activation can take, e.g. ["1771", "+3278151771"]. Calls to
    /// them reach the hotline through the SIP endpoint of `[telephony]`.
    pub numbers: Vec<String>,
    /// Operators' phones (SIP user and password) that may register.
    pub phones: Vec<OperatorPhone>,
    /// Operators called out by SMS and e-mail when a hotline is activated.
    pub on_call: Vec<OnCall>,
}

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OperatorPhone {
    pub user: String,
    pub password: Secret,
}

/// An on-call operator: their staff account, and where to reach them.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OnCall {
    pub username: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A secret setting: read from the file or environment, never shown.
#[derive(Clone, Deserialize, PartialEq, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// An SMSC account.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsProvider {
    /// Unique among providers; stored with each delivery.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub system_id: String,
    pub password: Secret,
    #[serde(default)]
    pub system_type: String,
    /// Alphanumeric sender (at most 11 characters), short code or number.
    pub sender: String,
    /// Transceiver sessions opened at once.
    #[serde(default = "default_binds")]
    pub binds: usize,
    /// Messages awaiting the SMSC's answer per session.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Messages per second the contract allows.
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default = "default_true")]
    pub delivery_receipts: bool,
}

/// An SMTP relay.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailProvider {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// "starttls" (default), "implicit" (TLS from the first byte, port 465) or
    /// "none" (only on a trusted local network).
    #[serde(default = "default_security")]
    pub security: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The From mailbox, e.g. "BE-Alert <alert@example.be>".
    pub from: String,
    /// The domain of Message-IDs.
    pub mail_domain: String,
    #[serde(default = "default_connections")]
    pub connections: usize,
    #[serde(default)]
    pub rate: Option<f64>,
    /// PEM files of certificate authorities to trust beside the system's.
    #[serde(default)]
    pub extra_roots: Vec<PathBuf>,
}

fn default_binds() -> usize {
    4
}
fn default_window() -> usize {
    64
}
fn default_true() -> bool {
    true
}
fn default_security() -> String {
    "starttls".into()
}
fn default_connections() -> usize {
    8
}

/// Staff sessions and sign-in throttling.
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused for this many minutes ends.
    pub idle_timeout_minutes: u32,
    /// A session ends this many hours after sign-in, however active.
    pub absolute_timeout_hours: u32,
    /// Failed sign-ins (password or code) before an account is locked.
    pub max_failures: u32,
    pub lockout_minutes: u32,
    /// Failed sign-ins from one address within 15 minutes before it is refused.
    pub address_max_failures: u32,
    /// Mark session cookies Secure. Defaults to on when `web.tls` is set; set it
    /// behind a TLS-terminating proxy.
    pub secure_cookies: Option<bool>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
            max_failures: 5,
            lockout_minutes: 15,
            address_max_failures: 30,
            secure_cookies: None,
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://FILE` (embedded). The URL may carry a password: never log it.
    pub url: String,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

/// Hides the password of a `scheme://user:password@host` URL (or its
/// `password=` parameter).
pub fn redact_url(url: &str) -> String {
    crieur_store::redact_url(url)
}

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// Language of pages when the visitor's browser expresses no supported choice.
    pub default_language: Language,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Serve HTTPS directly; leave unset behind a TLS-terminating reverse proxy.
    pub tls: Option<TlsConfig>,
    /// Take the client's address from X-Forwarded-For: only behind a proxy you run.
    pub trust_forwarded_for: bool,
    /// The public address of this site, used in links sent to citizens
    /// (default: http://<listen>).
    pub public_url: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The relatives line's records (inquiries, lists of people, decisions).
#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RelativesConfig {
    /// Days after an incident closes before its inquiries, lists and
    /// relatives-line callbacks are deleted.
    pub retention_days: u32,
}

impl Default for RelativesConfig {
    fn default() -> Self {
        RelativesConfig { retention_days: 30 }
    }
}

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://crieur.db".into(),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            default_language: Language::Fr,
            max_body_bytes: 2 * 1024 * 1024,
            tls: None,
            trust_forwarded_for: false,
            public_url: None,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true }
    }
}

/// Top-level sections; other `CRIEUR_*` variables (e.g. for tests) are not config.
const SECTIONS: &[&str] = &[
    "database",
    "queue",
    "web",
    "auth",
    "channels",
    "telephony",
    "registration",
    "alerts",
    "metrics",
    "relatives",
];

/// Values given on the command line, which win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseOverride>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<WebOverride>,
}

#[derive(Debug, Serialize)]
pub struct DatabaseOverride {
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct WebOverride {
    pub listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} not found")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
}

impl Config {
    /// Loads the layers in order. `env` is the process environment in production;
    /// tests pass their own.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Missing(path.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("CRIEUR_")?.to_ascii_lowercase();
                let section = key.split("__").next().unwrap_or_default();
                SECTIONS
                    .contains(&section)
                    .then_some((key.replace("__", "."), v))
            })
            .collect();
        for (key, value) in env {
            figment = figment.merge(Serialized::default(&key, parse_env_value(&value)));
        }
        figment = figment.merge(Serialized::defaults(overrides));
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// Loads from the real process environment.
    pub fn from_process(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::load(file, std::env::vars(), overrides)
    }
}

/// Environment values are text; numbers and booleans are recognised as TOML would.
fn parse_env_value(value: &str) -> figment::value::Value {
    value
        .parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("crieur.toml");
        std::fs::write(
            &file,
            "[database]\nurl = \"sqlite://from-file.db\"\n[web]\nlisten = \"127.0.0.1:9000\"\ndefault_language = \"nl\"\n",
        )
        .expect("write config");
        let c = Config::load(
            Some(&file),
            env(&[
                ("CRIEUR_WEB__LISTEN", "127.0.0.1:9100"),
                ("CRIEUR_REQUIRE_PEERS", "1"),
            ]),
            &Overrides::default(),
        )
        .expect("valid config");
        assert_eq!(c.database.url, "sqlite://from-file.db");
        assert_eq!(c.web.listen.port(), 9100, "environment beats file");
        assert_eq!(c.web.default_language, Language::Nl);

        let flags = Overrides {
            web: Some(WebOverride {
                listen: "127.0.0.1:9200".parse().expect("addr"),
            }),
            ..Default::default()
        };
        let c = Config::load(
            Some(&file),
            env(&[("CRIEUR_WEB__LISTEN", "127.0.0.1:9100")]),
            &flags,
        )
        .expect("valid config");
        assert_eq!(c.web.listen.port(), 9200, "flags beat environment");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let err = Config::load(
            None,
            env(&[("CRIEUR_WEB__LISTEN", "not-an-address")]),
            &Overrides::default(),
        )
        .expect_err("must refuse");
        assert!(err.to_string().contains("web.listen"), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[web]\nlisten_port = 8080\n").expect("write");
        let err =
            Config::load(Some(&file), env(&[]), &Overrides::default()).expect_err("unknown key");
        assert!(err.to_string().contains("listen_port"), "{err}");

        std::fs::write(&file, "[web]\ndefault_language = \"es\"\n").expect("write");
        let err =
            Config::load(Some(&file), env(&[]), &Overrides::default()).expect_err("bad language");
        assert!(err.to_string().contains("default_language"), "{err}");

        let err = Config::load(
            Some(&dir.path().join("absent.toml")),
            env(&[]),
            &Overrides::default(),
        )
        .expect_err("missing file");
        assert!(err.to_string().contains("absent.toml"), "{err}");
    }

    #[test]
    fn the_queue_is_embedded_unless_nats_is_chosen() {
        let c = Config::load(None, env(&[]), &Overrides::default()).expect("defaults");
        assert_eq!(c.queue.nats(), Ok(None));
        let c = Config::load(
            None,
            env(&[
                ("CRIEUR_QUEUE__KIND", "nats"),
                ("CRIEUR_QUEUE__ACK_WAIT_SECONDS", "5"),
            ]),
            &Overrides::default(),
        )
        .expect("valid");
        let q = c.queue.nats().expect("valid").expect("nats");
        assert_eq!(q.ack_wait, std::time::Duration::from_secs(5));
        assert_eq!(q.max_deliver, 5);
        let c = Config::load(
            None,
            env(&[("CRIEUR_QUEUE__KIND", "kafka")]),
            &Overrides::default(),
        )
        .expect("parses");
        assert!(c.queue.nats().expect_err("refused").contains("kafka"));
    }

    #[test]
    fn passwords_never_appear_in_debug_output() {
        let c = Config {
            database: DatabaseConfig {
                url: "postgres://crieur:s3cret@db.example:5432/crieur".into(),
            },
            ..Default::default()
        };
        let c = Config {
            queue: QueueConfig {
                kind: "nats".into(),
                url: "nats://worker:n4ts@127.0.0.1:4222".into(),
                ..Default::default()
            },
            ..c
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("n4ts"), "{shown}");
        assert!(shown.contains("crieur:***@db.example"), "{shown}");
    }
}
