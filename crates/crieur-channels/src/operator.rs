//! The mobile operators' location-based SMS / cell-broadcast interface: each
//! configured operator (Proximus, Orange, Telenet/BASE…) receives the alert as a
//! CAP 1.2 document over HTTPS and reaches every handset in the areas it names.
//!
//! This module sends one document per [`Provider::send`] and reports honestly
//! what the operator answered. It never retries by itself, never follows a
//! redirect (the bearer token must not travel elsewhere), never reads more than
//! [`MAX_RESPONSE_BYTES`] of an answer, and never writes the token anywhere.
//!
//! # Crieur's operator interface (the wire contract)
//!
//! An operator implements one endpoint. For each alert, Crieur sends:
//!
//! ```text
//! POST {url} HTTP/1.1
//! Content-Type: application/cap+xml; charset=utf-8
//! Accept: application/json
//! Authorization: Bearer <token>           (when a token is configured)
//! Idempotency-Key: crieur-<delivery id>
//!
//! <?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">…
//! ```
//!
//! The body is the CAP 1.2 alert, byte for byte as Crieur built it: areas as
//! polygons and circles, one `info` per language with cell-broadcast-length
//! text. The `Idempotency-Key` is the same on every retry of the same delivery
//! (see [`idempotency_key`]): an operator that has already taken a key must
//! answer as it did the first time and not broadcast again.
//!
//! The operator answers:
//!
//! | answer | meaning for Crieur |
//! |---|---|
//! | any 2xx (200, 201, 202…) | accepted. An optional JSON body `{"reference": "…", "reach": 123456}` gives the operator's identifier of the broadcast and how many handsets or people it targets; both are optional, and a body that is not such JSON is tolerated (logged) |
//! | 429 | throttled: retried later at a lower pace (`Retry-After` is not read) |
//! | 408, 425, 5xx | temporary failure: retried later |
//! | 401, 403 | permanent failure: the credentials are refused (logged as an error) |
//! | 3xx, any other 4xx | permanent failure: the document or the set-up is wrong |
//!
//! A failure's reason carries the status and up to [`EXCERPT_CHARS`] characters
//! of the answer's body, without control characters. When the endpoint cannot be
//! reached at all (DNS, connection refused, TLS handshake, connect timeout), the
//! document was certainly not sent ([`ChannelError::Unavailable`]). When the
//! connection is lost or the answer does not come within the timeout once the
//! request is on its way, the operator may have taken it
//! ([`ChannelError::Unknown`]); the retry carries the same `Idempotency-Key`.
//! After three sends in a row found the endpoint unreachable, the provider
//! reports not ready (and refuses sends at once) for 30 seconds.
//!
//! Each operator is its own provider: an [`Outbound::Operator`] whose `to` is
//! not this provider's name is refused as a permanent failure, unsent.
//!
//! HTTPS is required (the system's roots plus any configured ones are
//! trusted); plain HTTP only with [`OperatorConfig::allow_plain_http`], for
//! tests and development. The usual `HTTPS_PROXY` / `NO_PROXY` environment
//! variables are honoured.

use crate::{Accepted, ChannelError, Envelope, Outbound, Provider};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{StatusCode, Url};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The content type of the request body.
pub const CAP_CONTENT_TYPE: &str = "application/cap+xml; charset=utf-8";

/// The header that makes a resend recognisable.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// At most this much of an answer's body is read; the rest is dropped with the
/// connection, so a hostile or broken endpoint cannot exhaust memory.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// At most this many characters of an answer's body go into a failure reason.
pub const EXCERPT_CHARS: usize = 200;

/// An operator's reference longer than this is not kept (it would be stored
/// with the delivery).
const MAX_REFERENCE_CHARS: usize = 200;

/// Sends in a row that found the endpoint unreachable before the provider
/// reports not ready, and for how long after the last of them.
const UNAVAILABLE_IN_A_ROW: u32 = 3;
const NOT_READY_FOR: Duration = Duration::from_secs(30);

/// The `Idempotency-Key` of a delivery: the same on every attempt.
pub fn idempotency_key(delivery: i64) -> String {
    format!("crieur-{delivery}")
}

/// One mobile operator's endpoint.
#[derive(Clone)]
pub struct OperatorConfig {
    /// The operator's name, unique among providers; an operator delivery's
    /// address ([`Outbound::Operator::to`]) names it.
    pub name: String,
    /// The endpoint, `https://…`.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Root certificates (PEM) trusted besides the system's: the operator's
    /// private CA, or the tests' own.
    pub extra_roots: Vec<String>,
    /// Limit for the whole exchange: connecting, sending, and the answer.
    pub timeout: Duration,
    /// Limit for connecting (TCP and TLS); shorter than `timeout`, so that an
    /// endpoint that cannot be reached is told apart from one that does not answer.
    pub connect_timeout: Duration,
    /// How many documents may be in flight at once.
    pub concurrency: usize,
    /// Documents per second the operator allows, if it has a limit.
    pub rate: Option<f64>,
    /// Accept an `http://` URL. For tests and development only: the alert and
    /// the token would cross the network in clear.
    pub allow_plain_http: bool,
}

impl OperatorConfig {
    /// An endpoint with the default settings: no token, 10 s timeout (5 s to
    /// connect), 4 in flight, no rate limit, HTTPS only.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> OperatorConfig {
        OperatorConfig {
            name: name.into(),
            url: url.into(),
            token: None,
            extra_roots: Vec::new(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            concurrency: 4,
            rate: None,
            allow_plain_http: false,
        }
    }
}

impl fmt::Debug for OperatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("extra_roots", &self.extra_roots.len())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .field("allow_plain_http", &self.allow_plain_http)
            .finish()
    }
}

/// Why an [`OperatorConfig`] cannot make a provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorSetupError {
    #[error("invalid operator URL {0:?}: {1}")]
    Url(String, String),
    #[error("invalid root certificate: {0}")]
    Certificate(String),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("invalid operator setting: {0}")]
    Setting(String),
}

/// A mobile operator's endpoint as a [`Provider`] of the `operator` channel.
pub struct OperatorProvider {
    name: String,
    url: Url,
    /// `Bearer <token>`, marked sensitive.
    authorization: Option<HeaderValue>,
    client: reqwest::Client,
    timeout: Duration,
    concurrency: usize,
    rate: Option<f64>,
    health: Mutex<Health>,
}

impl fmt::Debug for OperatorProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorProvider")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("token", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl OperatorProvider {
    /// Checks the settings and prepares TLS; connects only when sending.
    pub fn new(config: OperatorConfig) -> Result<OperatorProvider, OperatorSetupError> {
        use OperatorSetupError::Setting;
        if config.name.trim().is_empty() {
            return Err(Setting("name is empty".into()));
        }
        let url = endpoint(&config.url, config.allow_plain_http)?;
        if config.concurrency == 0 || config.timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(Setting(
                "concurrency, timeout and connect_timeout must be positive".into(),
            ));
        }
        if config.connect_timeout >= config.timeout {
            return Err(Setting(format!(
                "connect_timeout ({:?}) must be shorter than timeout ({:?}), or an unreachable \
                 endpoint would look like one that may have taken the alert",
                config.connect_timeout, config.timeout
            )));
        }
        if config.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(Setting("rate must be a positive number".into()));
        }
        let authorization = match &config.token {
            None => None,
            Some(token) => Some(bearer(token).ok_or_else(|| {
                // Never the token itself in the message.
                Setting("token must be non-empty printable ASCII without spaces".into())
            })?),
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&config.extra_roots)?)
            .https_only(!config.allow_plain_http)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.concurrency)
            .user_agent(concat!("crieur/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OperatorSetupError::Tls(error_chain(&e)))?;
        Ok(OperatorProvider {
            name: config.name,
            url,
            authorization,
            client,
            timeout: config.timeout,
            concurrency: config.concurrency,
            rate: config.rate,
            health: Mutex::new(Health::default()),
        })
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The exchange itself; the caller keeps the health record.
    async fn post(&self, delivery: i64, cap: &str) -> Result<Accepted, ChannelError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, CAP_CONTENT_TYPE)
            .header(ACCEPT, "application/json")
            .header(IDEMPOTENCY_HEADER, idempotency_key(delivery))
            .body(cap.to_owned());
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Err(self.transport_failure(delivery, error)),
        };
        let status = response.status();
        let location = response.headers().get(LOCATION).cloned();
        let body = read_capped(&mut response).await;
        drop(response);
        let name = &self.name;
        let failure = |what: &str| {
            let excerpt = excerpt(&body);
            if excerpt.is_empty() {
                format!("operator {}{what}", status.as_u16())
            } else {
                format!("operator {}{what}: {excerpt}", status.as_u16())
            }
        };
        match status.as_u16() {
            200..=299 => Ok(self.acknowledgement(delivery, status, &body)),
            429 => {
                tracing::warn!(provider = %name, delivery, "operator asks to slow down (429)");
                Err(ChannelError::Throttled(failure("")))
            }
            408 | 425 | 500..=599 => {
                let reason = failure("");
                tracing::warn!(provider = %name, delivery, %reason, "operator failed for now");
                Err(ChannelError::Temporary(reason))
            }
            401 | 403 => {
                let reason = failure(" (credentials refused)");
                tracing::error!(provider = %name, delivery, %reason, "operator refuses our credentials: check the token");
                Err(ChannelError::Permanent(reason))
            }
            300..=399 => {
                let to = location.map_or_else(String::new, |l| excerpt(l.as_bytes()));
                let reason = format!(
                    "operator {}: redirects are not followed (to {to:?}); configure the final URL",
                    status.as_u16()
                );
                tracing::error!(provider = %name, delivery, %reason, "operator redirects");
                Err(ChannelError::Permanent(reason))
            }
            _ => {
                let reason = failure("");
                tracing::warn!(provider = %name, delivery, %reason, "operator refused the alert");
                Err(ChannelError::Permanent(reason))
            }
        }
    }

    fn acknowledgement(&self, delivery: i64, status: StatusCode, body: &[u8]) -> Accepted {
        let (accepted, problem) = parse_acknowledgement(body);
        if let Some(problem) = problem {
            tracing::warn!(provider = %self.name, delivery, status = status.as_u16(), %problem,
                "operator accepted the alert with an answer not in the expected form");
        }
        tracing::info!(provider = %self.name, delivery, status = status.as_u16(),
            reference = ?accepted.references.first(), reach = ?accepted.reach, "operator accepted the alert");
        accepted
    }

    fn transport_failure(&self, delivery: i64, error: reqwest::Error) -> ChannelError {
        let (connect, timeout) = (error.is_connect(), error.is_timeout());
        let cause = error_chain(&error.without_url());
        if connect {
            tracing::warn!(provider = %self.name, delivery, %cause, "operator unreachable");
            ChannelError::Unavailable(format!("cannot reach operator {}: {cause}", self.name))
        } else if timeout {
            tracing::warn!(provider = %self.name, delivery, "operator did not answer in time");
            ChannelError::Unknown(format!(
                "operator {} did not answer within {:?}",
                self.name, self.timeout
            ))
        } else {
            tracing::warn!(provider = %self.name, delivery, %cause, "exchange with operator lost");
            ChannelError::Unknown(format!(
                "exchange with operator {} lost with the alert in flight: {cause}",
                self.name
            ))
        }
    }
}

#[async_trait::async_trait]
impl Provider for OperatorProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn channels(&self) -> &'static [&'static str] {
        &["operator"]
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn rate(&self) -> Option<f64> {
        self.rate
    }

    fn ready(&self) -> bool {
        self.health().not_ready(Instant::now()).is_none()
    }

    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError> {
        let Outbound::Operator { to, cap } = &envelope.message else {
            return Err(ChannelError::Permanent(format!(
                "{} is a mobile operator, not a provider of {}",
                self.name,
                envelope.message.channel()
            )));
        };
        if *to != self.name {
            return Err(ChannelError::Permanent(format!(
                "an alert for operator {to:?} sent to the provider of operator {:?}",
                self.name
            )));
        }
        if cap.trim().is_empty() {
            return Err(ChannelError::Permanent("the CAP document is empty".into()));
        }
        if let Some(reason) = self.health().not_ready(Instant::now()) {
            return Err(ChannelError::Unavailable(reason));
        }
        let result = self.post(envelope.delivery, cap).await;
        self.health().record(Instant::now(), &result);
        result
    }
}

/// `Bearer <token>`, marked sensitive (hidden from reqwest's and hyper's
/// debug output); `None` when the token cannot go in a header.
fn bearer(token: &str) -> Option<HeaderValue> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The endpoint URL, checked.
fn endpoint(url: &str, allow_plain_http: bool) -> Result<Url, OperatorSetupError> {
    let bad = |why: &str| OperatorSetupError::Url(url.to_owned(), why.to_owned());
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_plain_http => {}
        "http" => {
            return Err(bad(
                "must be https:// (plain http only with allow_plain_http, for tests and development)",
            ));
        }
        _ => return Err(bad("must be https://")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("carries credentials: use the token setting"));
    }
    Ok(parsed)
}

/// The client's TLS: the system's roots plus the configured ones, with the
/// ring provider (no process-wide default needed).
fn tls_config(extra_roots: &[String]) -> Result<rustls::ClientConfig, OperatorSetupError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = Vec::new();
    for pem in extra_roots {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| OperatorSetupError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(OperatorSetupError::Certificate(
                "no certificate in PEM".into(),
            ));
        }
        roots.extend(certs);
    }
    crate::tls::client_config(roots).map_err(OperatorSetupError::Certificate)
}

/// Up to [`MAX_RESPONSE_BYTES`] of the body. A body cut short by an error or a
/// timeout is what was read of it: the status already said what happened.
async fn read_capped(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_RESPONSE_BYTES {
                    return body;
                }
            }
            Ok(None) => return body,
            Err(error) => {
                tracing::debug!(error = %error_chain(&error), "operator's answer cut short");
                return body;
            }
        }
    }
}

/// What a 2xx body says, and what was wrong with it if it was not the
/// expected JSON. Each field is taken on its own, so a bad `reach` does not
/// lose the `reference`.
fn parse_acknowledgement(body: &[u8]) -> (Accepted, Option<String>) {
    let mut accepted = Accepted::default();
    if body.iter().all(u8::is_ascii_whitespace) {
        return (accepted, None);
    }
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return (accepted, Some(format!("not JSON ({e}): {}", excerpt(body)))),
    };
    let Some(object) = value.as_object() else {
        return (
            accepted,
            Some(format!("not a JSON object: {}", excerpt(body))),
        );
    };
    let mut problems = Vec::new();
    match object.get("reference") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) if s.is_empty() => {}
        Some(serde_json::Value::String(s))
            if s.chars().count() <= MAX_REFERENCE_CHARS && !s.chars().any(char::is_control) =>
        {
            accepted.references.push(s.clone());
        }
        Some(serde_json::Value::Number(n)) => accepted.references.push(n.to_string()),
        Some(_) => problems.push("reference is not a short string"),
    }
    match object.get("reach") {
        None | Some(serde_json::Value::Null) => {}
        Some(reach) => match reach.as_u64() {
            Some(n) => accepted.reach = Some(n),
            None => problems.push("reach is not a whole number"),
        },
    }
    let problem = (!problems.is_empty()).then(|| problems.join("; "));
    (accepted, problem)
}

/// At most [`EXCERPT_CHARS`] characters of a body, on one line, without
/// control characters (an answer is untrusted and ends up in logs and screens).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut count = 0;
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = !out.is_empty();
            continue;
        }
        if count + usize::from(gap) >= EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if gap {
            out.push(' ');
            count += 1;
            gap = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// An error with its causes, `a: b: c`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Sends that found the endpoint unreachable, in a row.
#[derive(Debug, Default)]
struct Health {
    unavailable: u32,
    last: Option<(Instant, String)>,
}

impl Health {
    fn record(&mut self, at: Instant, result: &Result<Accepted, ChannelError>) {
        match result {
            Err(ChannelError::Unavailable(reason)) => {
                self.unavailable = self.unavailable.saturating_add(1);
                self.last = Some((at, reason.clone()));
            }
            // Any answer, or a request that got through, shows the endpoint is there.
            _ => *self = Health::default(),
        }
    }

    /// Why the provider is not ready at `now`, if it is not.
    fn not_ready(&self, now: Instant) -> Option<String> {
        match &self.last {
            Some((at, reason))
                if self.unavailable >= UNAVAILABLE_IN_A_ROW
                    && now.saturating_duration_since(*at) < NOT_READY_FOR =>
            {
                Some(format!(
                    "{} sends in a row could not reach the operator; resting: {reason}",
                    self.unavailable
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_single_line_and_free_of_control_characters() {
        assert_eq!(excerpt(b"  bad\r\n\tpolygon \x1b[31m "), "bad polygon [31m");
        let long = "é".repeat(1000);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
        assert_eq!(excerpt(b""), "");
    }

    #[test]
    fn acknowledgements_are_read_field_by_field() {
        let ok = |body: &str| parse_acknowledgement(body.as_bytes());
        assert_eq!(
            ok(r#"{"reference":"PX-1","reach":1234567,"extra":true}"#),
            (
                Accepted {
                    references: vec!["PX-1".into()],
                    reach: Some(1_234_567),
                    confirmed: false,
                },
                None
            )
        );
        assert_eq!(ok("").0, Accepted::default());
        assert_eq!(ok("").1, None);
        assert_eq!(ok("{}"), (Accepted::default(), None));
        assert_eq!(ok(r#"{"reference":42}"#).0.references, vec!["42"]);
        let (accepted, problem) = ok(r#"{"reference":"R","reach":-3}"#);
        assert_eq!(accepted.references, vec!["R"]);
        assert_eq!(accepted.reach, None);
        assert!(problem.unwrap().contains("reach"));
        let (accepted, problem) = ok(&format!(r#"{{"reference":"{}"}}"#, "x".repeat(500)));
        assert!(accepted.references.is_empty());
        assert!(problem.is_some());
        let (accepted, problem) = ok("<html>accepted</html>");
        assert_eq!(accepted, Accepted::default());
        assert!(problem.unwrap().contains("not JSON"));
        assert!(ok("[1]").1.unwrap().contains("not a JSON object"));
    }

    #[test]
    fn three_unreachable_sends_in_a_row_rest_the_provider_for_thirty_seconds() {
        let start = Instant::now();
        let down = Err(ChannelError::Unavailable("refused".into()));
        let mut health = Health::default();
        health.record(start, &down);
        health.record(start, &down);
        assert_eq!(health.not_ready(start), None);
        // Any other outcome breaks the series.
        health.record(start, &Err(ChannelError::Temporary("503".into())));
        health.record(start, &down);
        health.record(start, &down);
        assert_eq!(health.not_ready(start), None);
        let third = start + Duration::from_secs(5);
        health.record(third, &down);
        assert!(health.not_ready(third).unwrap().contains("refused"));
        assert!(health.not_ready(third + Duration::from_secs(29)).is_some());
        assert_eq!(health.not_ready(third + NOT_READY_FOR), None);
        health.record(third, &Ok(Accepted::default()));
        assert_eq!(health.not_ready(third), None);
    }

    #[test]
    fn urls_must_be_https_with_a_host_and_no_credentials() {
        assert!(endpoint("https://cbc.proximus.example/v1/alerts", false).is_ok());
        assert!(endpoint("http://127.0.0.1:8080/", true).is_ok());
        for (url, plain) in [
            ("http://cbc.example/", false),
            ("ftp://cbc.example/", true),
            ("https://user:pw@cbc.example/", false),
            ("https://", false),
            ("unix:/run/cbc.sock", true),
            ("not a url", false),
        ] {
            assert!(endpoint(url, plain).is_err(), "{url}");
        }
    }
}
