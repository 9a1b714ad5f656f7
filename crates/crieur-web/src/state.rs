use crate::i18n::Catalog;
use crieur_channels::{DeviceSimulator, Outbound};
use crieur_domain::{Language, Territories};
use crieur_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What the web layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Language of pages when neither the visitor nor the browser chose one.
    pub default_language: Language,
    /// The demo shows a banner on every page and its accounts on the sign-in
    /// page; never true in production.
    pub demo: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub auth: AuthSettings,
    /// The address citizens' e-mail links point to, e.g. `https://alert.example.be`.
    pub public_url: String,
    pub limits: RegistrationLimits,
    pub alerts: crate::alerts::AlertSettings,
    pub hotline: HotlineSettings,
}

/// Limits on registrations and verification codes, against SMS-pumping fraud.
#[derive(Debug, Clone)]
pub struct RegistrationLimits {
    /// Registrations per client address per hour.
    pub registrations_per_address_hour: u32,
    /// Codes sent to one number per hour.
    pub codes_per_number_hour: u32,
    /// Codes sent to one number range (`+3247012…`) per hour.
    pub codes_per_range_hour: u32,
}

impl Default for RegistrationLimits {
    fn default() -> Self {
        RegistrationLimits {
            registrations_per_address_hour: 20,
            codes_per_number_hour: 3,
            codes_per_range_hour: 10,
        }
    }
}

/// Sessions and sign-in throttling.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// A session unused this long ends.
    pub idle_timeout_secs: i64,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout_secs: i64,
    /// Mark cookies `Secure` (HTTPS only).
    pub secure_cookies: bool,
    /// Failed sign-ins before an account is locked.
    pub max_failures: u32,
    pub lockout_secs: i64,
    /// Failed sign-ins from one address within `address_window_secs` before that
    /// address is refused.
    pub address_max_failures: u32,
    pub address_window_secs: i64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 3600,
            secure_cookies: false,
            max_failures: 5,
            lockout_secs: 15 * 60,
            address_max_failures: 30,
            address_window_secs: 15 * 60,
        }
    }
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            default_language: Language::Fr,
            demo: false,
            max_body_bytes: 2 * 1024 * 1024,
            trust_forwarded_for: false,
            auth: AuthSettings::default(),
            public_url: "http://127.0.0.1:8080".into(),
            limits: RegistrationLimits::default(),
            alerts: crate::alerts::AlertSettings::default(),
            hotline: HotlineSettings::default(),
        }
    }
}

/// What an activation may choose from.
#[derive(Debug, Clone, Default)]
pub struct HotlineSettings {
    /// The pool of public numbers.
    pub numbers: Vec<String>,
    /// Operators to call out, by staff username.
    pub on_call: Vec<OnCallContact>,
}

#[derive(Debug, Clone)]
pub struct OnCallContact {
    pub username: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub territories: Arc<Territories>,
    pub store: Store,
    pub metrics: Option<PrometheusHandle>,
    pub settings: Arc<WebSettings>,
    pub catalog: &'static Catalog,
    /// The device simulator, when it stands in for real channels (demo, tests).
    pub simulator: Option<Arc<DeviceSimulator>>,
    /// Wakes the dispatcher when deliveries were stored (a release's plan, a
    /// verification code).
    pub dispatch: Arc<tokio::sync::Notify>,
    /// Registered people and addresses, in memory, for targeting.
    pub audience: Arc<crate::audience::Audience>,
    /// The hotlines switched on, their queues and operators.
    pub hotlines: crieur_hotline::Hotlines,
    /// The device simulator's phone calls to the hotline (demo only).
    pub(crate) sim_phones: Arc<crate::routes::sim_phone::SimPhones>,
    /// The matching index of each incident's lists (relatives line).
    pub(crate) relatives_index: Arc<crate::relatives_index::IndexCache>,
    /// When idle sessions were last swept (Unix seconds).
    pub(crate) last_sweep: Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        territories: Arc<Territories>,
        store: Store,
        metrics: Option<PrometheusHandle>,
        settings: WebSettings,
        simulator: Option<Arc<DeviceSimulator>>,
    ) -> AppState {
        AppState {
            territories,
            hotlines: crieur_hotline::Hotlines::new(store.clone(), Default::default()),
            store,
            metrics,
            settings: Arc::new(settings),
            catalog: Catalog::get(),
            simulator,
            audience: Arc::default(),
            dispatch: Arc::default(),
            sim_phones: Arc::default(),
            relatives_index: Arc::default(),
            last_sweep: Arc::default(),
        }
    }
}

impl AppState {
    /// Hands a single message (a verification code or link) to the dispatch
    /// engine, ahead of alerts: stored first, so a restart does not lose it.
    pub async fn send_message(
        &self,
        message: Outbound,
        language: &str,
    ) -> Result<(), crieur_store::StoreError> {
        let channel = message.channel().to_owned();
        let (address, subject, body) = match message {
            Outbound::Sms { to, text } => (to, String::new(), text),
            Outbound::Voice { to, script, .. } => (to, String::new(), script),
            Outbound::Email {
                to, subject, body, ..
            } => (to, subject, body),
            Outbound::Operator { to, cap } => (to, String::new(), cap),
        };
        self.store
            .deliveries()
            .enqueue_messages(vec![crieur_store::SingleMessage {
                channel,
                language: language.to_owned(),
                address,
                subject,
                body,
            }])
            .await?;
        self.dispatch.notify_waiters();
        Ok(())
    }
}
