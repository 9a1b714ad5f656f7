//! The running application: built from a configuration, served on a listener the
//! caller provides (port 0 in tests), stopped by a future.

use crate::config::Config;
use anyhow::Context;
use crieur_channels::operator::{OperatorConfig, OperatorProvider};
use crieur_channels::smpp::{SmppConfig, SmppProvider};
use crieur_channels::smtp::{Security, SmtpConfig, SmtpProvider};
use crieur_channels::{DeviceSimulator, Provider, ReceiptSink};
use crieur_dispatch::Dispatcher;
use crieur_dispatch::queue::Coordinator;
use crieur_domain::Territories;
use crieur_domain::territory::{Boundary, geometry_from_geojson};
use crieur_store::Store;
use crieur_telephony::calls::{Switchboard, SwitchboardConfig};
use crieur_telephony::media::MediaConfig;
use crieur_telephony::sip::{Credentials, SipConfig, SipEndpoint};
use crieur_telephony::tts::{Tts, TtsConfig};
use crieur_telephony::voice::{VoiceConfig, VoiceProvider};
use crieur_web::{AppState, AuthSettings, RegistrationLimits, WebSettings};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long open connections may finish after shutdown is requested.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct App {
    state: AppState,
    config: Config,
}

/// Extra switches that are not configuration (they come from the command chosen).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Running `crieur demo`: fictitious data, banner on every page.
    pub demo: bool,
}

impl App {
    /// Opens the store (migrating it), loads the territories with any imported
    /// official boundaries, and prepares the HTTP application.
    pub async fn build(config: Config, mode: Mode) -> anyhow::Result<App> {
        let store = Store::open(&config.database.url).await.with_context(|| {
            format!(
                "opening the database {}",
                crate::config::redact_url(&config.database.url)
            )
        })?;
        let territories = load_territories(&store).await?;
        let metrics = if config.metrics.enabled {
            crate::telemetry::metrics_handle()
        } else {
            None
        };
        let auth = &config.auth;
        let settings = WebSettings {
            default_language: config.web.default_language,
            demo: mode.demo,
            max_body_bytes: config.web.max_body_bytes,
            trust_forwarded_for: config.web.trust_forwarded_for,
            auth: AuthSettings {
                idle_timeout_secs: i64::from(auth.idle_timeout_minutes) * 60,
                absolute_timeout_secs: i64::from(auth.absolute_timeout_hours) * 3600,
                secure_cookies: auth.secure_cookies.unwrap_or(config.web.tls.is_some()),
                max_failures: auth.max_failures,
                lockout_secs: i64::from(auth.lockout_minutes) * 60,
                address_max_failures: auth.address_max_failures,
                ..AuthSettings::default()
            },
            alerts: crieur_web::alerts::AlertSettings {
                approval_levels: config
                    .alerts
                    .approval_levels
                    .iter()
                    .map(|l| l.parse::<crieur_domain::Level>())
                    .collect::<Result<_, _>>()
                    .context("alerts.approval_levels")?,
                releases_per_minute: config.alerts.releases_per_minute,
                repeat_window_minutes: config.alerts.repeat_window_minutes,
                unit_cents: [
                    (crieur_domain::alert::Channel::Sms, config.alerts.sms_cents),
                    (
                        crieur_domain::alert::Channel::Voice,
                        config.alerts.voice_cents,
                    ),
                    (
                        crieur_domain::alert::Channel::Email,
                        config.alerts.email_cents,
                    ),
                ]
                .into(),
                test_group: config.alerts.test_group.clone(),
                operators: config
                    .channels
                    .operators
                    .iter()
                    .map(|o| o.name.clone())
                    .collect(),
                sender: format!(
                    "crieur@{}",
                    config
                        .web
                        .public_url
                        .as_deref()
                        .and_then(|u| u.split("://").nth(1))
                        .and_then(|h| h.split(['/', ':']).next())
                        .filter(|h| !h.is_empty())
                        .unwrap_or("localhost")
                ),
            },
            hotline: crieur_web::HotlineSettings {
                numbers: config.hotline.numbers.clone(),
                on_call: config
                    .hotline
                    .on_call
                    .iter()
                    .map(|o| crieur_web::OnCallContact {
                        username: o.username.clone(),
                        phone: o.phone.clone(),
                        email: o.email.clone(),
                    })
                    .collect(),
            },
            limits: RegistrationLimits {
                registrations_per_address_hour: config.registration.per_address_per_hour,
                codes_per_number_hour: config.registration.codes_per_number_per_hour,
                codes_per_range_hour: config.registration.codes_per_range_per_hour,
            },
            public_url: config.web.public_url.clone().unwrap_or_else(|| {
                let scheme = if config.web.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", config.web.listen)
            }),
        };
        let simulator = (config.channels.simulator || mode.demo)
            .then(|| Arc::new(DeviceSimulator::new(10_000)));
        let state = AppState::new(Arc::new(territories), store, metrics, settings, simulator);
        let people = state
            .audience
            .load(&state.store)
            .await
            .context("loading registered citizens for targeting")?;
        tracing::info!(people, "targeting index ready");
        Ok(App { state, config })
    }

    /// The configured providers for the server: all of them when it sends
    /// itself; in queue mode only the SIP endpoint the hotline answers on.
    async fn providers(&self, receipts: ReceiptSink, sending: bool) -> anyhow::Result<Providers> {
        providers(&self.config, Some(&self.state), receipts, sending).await
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn router(&self) -> axum::Router {
        crieur_web::router(self.state.clone())
    }

    /// Serves until `shutdown` completes, then lets open requests finish.
    /// Speaks HTTPS when the configuration names a certificate, plain HTTP otherwise.
    pub async fn run_until(
        self,
        listener: std::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        listener.set_nonblocking(true)?;
        let router = self.router();
        // The dispatcher sends released alerts' deliveries while the server runs.
        let state = self.state.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        let (sink, receipts) = crieur_dispatch::receipts();
        let queue = self.config.queue.nats().map_err(|e| anyhow::anyhow!(e))?;
        if queue.is_some() && self.state.simulator.is_some() {
            tracing::warn!(
                "queue.kind = \"nats\": workers send, so nothing reaches this server's device simulator"
            );
        }
        let providers = self.providers(sink, queue.is_none()).await?;
        let resumed = state
            .hotlines
            .resume()
            .await
            .context("resuming the active hotlines")?;
        if resumed > 0 {
            tracing::info!(resumed, "active hotlines resumed");
        }
        let housekeeping = tokio::spawn(crate::housekeeping::run(
            state.store.clone(),
            self.config.relatives.retention_days,
        ));
        let dispatcher = match queue {
            None => tokio::spawn(
                Dispatcher {
                    store: state.store.clone(),
                    providers: providers.list.clone(),
                    receipts,
                    settings: crieur_dispatch::Settings::default(),
                    wake: state.dispatch.clone(),
                }
                .run(stop.clone()),
            ),
            Some(settings) => {
                // Workers send; this server claims and publishes batches.
                tracing::info!(
                    url = %crate::config::redact_url(&settings.url),
                    stream = %settings.stream,
                    "dispatch through the work queue"
                );
                tokio::spawn(
                    Coordinator {
                        store: state.store.clone(),
                        settings,
                        wake: state.dispatch.clone(),
                        idle: std::time::Duration::from_millis(250),
                    }
                    .run(stop.clone()),
                )
            }
        };
        match &self.config.web.tls {
            None => {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
                .context("serving HTTP")?;
            }
            Some(tls) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
                    &tls.cert_file,
                    &tls.key_file,
                )
                .await
                .with_context(|| {
                    format!(
                        "loading the TLS certificate {} and key {} (web.tls)",
                        tls.cert_file.display(),
                        tls.key_file.display()
                    )
                })?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    stopper.graceful_shutdown(Some(GRACE));
                });
                axum_server::from_tcp_rustls(listener, rustls)?
                    .handle(handle)
                    .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                    .context("serving HTTPS")?;
            }
        }
        stop.notify_one();
        housekeeping.abort();
        match dispatcher.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the dispatcher stopped on a storage error"),
            Err(e) => tracing::error!(error = %e, "the dispatcher task failed"),
        }
        providers.shutdown().await;
        Ok(())
    }
}

/// The configured providers, in order of preference per channel, then the
/// device simulator when it stands in for phones and mailboxes. Without
/// `sending` (the server in queue mode, where workers send), only the SIP
/// endpoint for the hotline's numbers; without `state` (a worker), no hotline
/// and no simulator.
pub(crate) async fn providers(
    config: &Config,
    state: Option<&AppState>,
    receipts: ReceiptSink,
    sending: bool,
) -> anyhow::Result<Providers> {
    let mut all = Providers::default();
    let empty = crate::config::ChannelsConfig::default();
    let channels = if sending { &config.channels } else { &empty };
    for p in &channels.sms {
        let mut c = SmppConfig::new(
            &p.name,
            &p.host,
            p.port,
            &p.system_id,
            &p.password.0,
            &p.sender,
        );
        c.system_type.clone_from(&p.system_type);
        c.binds = p.binds.max(1);
        c.window = p.window.max(1);
        c.rate = p.rate;
        c.delivery_receipts = p.delivery_receipts;
        let smsc = SmppProvider::start(c, receipts.clone());
        all.smpp.push(smsc.clone());
        all.list.push(smsc);
    }
    for p in &channels.email {
        let mut c = SmtpConfig::new(&p.name, &p.host, p.port, &p.from, &p.mail_domain);
        c.security = match p.security.as_str() {
            "starttls" => Security::StartTls,
            "implicit" => Security::Implicit,
            "none" => Security::None,
            other => anyhow::bail!(
                "channels.email {}: security {other:?} is not one of starttls, implicit, none",
                p.name
            ),
        };
        c.username.clone_from(&p.username);
        c.password = p.password.as_ref().map(|s| s.0.clone());
        c.connections = p.connections.max(1);
        c.rate = p.rate;
        for f in &p.extra_roots {
            c.extra_roots.push(
                std::fs::read_to_string(f).with_context(|| {
                    format!("channels.email {}: reading {}", p.name, f.display())
                })?,
            );
        }
        let relay =
            Arc::new(SmtpProvider::new(c).with_context(|| format!("channels.email {}", p.name))?);
        all.smtp.push(relay.clone());
        all.list.push(relay);
    }
    for p in &channels.operators {
        let mut c = OperatorConfig::new(&p.name, &p.url);
        c.token = p.token.as_ref().map(|t| t.0.clone());
        c.rate = p.rate;
        for f in &p.extra_roots {
            c.extra_roots
                .push(std::fs::read_to_string(f).with_context(|| {
                    format!("channels.operators {}: reading {}", p.name, f.display())
                })?);
        }
        let operator =
            OperatorProvider::new(c).with_context(|| format!("channels.operators {}", p.name))?;
        all.list.push(Arc::new(operator));
    }
    let hotline = &config.hotline;
    let numbers = state.is_some_and(|_| !hotline.numbers.is_empty());
    if !channels.voice.is_empty() || numbers {
        let t = &config.telephony;
        let (sip, incoming) = SipEndpoint::start(SipConfig {
            bind: t.sip_listen,
            external: t.external,
            invite_rate_per_source: t.invites_per_second_per_source,
            users: hotline
                .phones
                .iter()
                .map(|p| Credentials::new(&p.user, &p.password.0))
                .collect(),
            ..SipConfig::default()
        })
        .await
        .with_context(|| format!("starting SIP on {} (telephony.sip_listen)", t.sip_listen))?;
        let tts = Tts::new(TtsConfig::default()).context("text-to-speech")?;
        let media = MediaConfig {
            bind_ip: t.rtp_ip,
            ports: t.rtp_ports.map(|(a, b)| a..=b),
            ..MediaConfig::default()
        };
        if let Some(state) = state.filter(|_| numbers) {
            // Calls to the public numbers go to the hotline.
            let switchboard = Switchboard::new(
                sip.clone(),
                incoming,
                tts.clone(),
                SwitchboardConfig {
                    media: media.clone(),
                    ..SwitchboardConfig::default()
                },
            );
            all.hotline = Some(state.hotlines.serve(switchboard));
            tracing::info!(numbers = ?hotline.numbers, sip = ?sip.udp_addr(), "hotline numbers answered");
        }
        let sip = Arc::new(sip);
        for v in &channels.voice {
            let mut c = VoiceConfig::new(&v.name, &v.trunk);
            c.credentials = v.username.as_ref().map(|u| {
                Credentials::new(u, v.password.as_ref().map(|p| p.0.as_str()).unwrap_or(""))
            });
            c.from_user.clone_from(&v.from_user);
            c.ring_timeout = std::time::Duration::from_secs(v.ring_timeout_seconds.max(1));
            c.concurrency = v.concurrency.max(1);
            c.calls_per_second = Some(v.calls_per_second).filter(|r| *r > 0.0);
            c.media = media.clone();
            all.list
                .push(Arc::new(VoiceProvider::new(c, sip.clone(), tts.clone())));
        }
        all.sip = Some(sip);
    }
    // The simulator comes last: real providers first, and it stands in
    // for phones and mailboxes only where none is configured.
    if let Some(sim) = state.and_then(|s| s.simulator.as_ref()) {
        all.list.push(sim.clone());
    }
    Ok(all)
}

/// The providers the dispatcher sends through, and the handles to close them.
#[derive(Default)]
pub(crate) struct Providers {
    pub(crate) list: Vec<Arc<dyn Provider>>,
    smpp: Vec<Arc<SmppProvider>>,
    smtp: Vec<Arc<SmtpProvider>>,
    sip: Option<Arc<SipEndpoint>>,
    /// The task handing the switchboard's calls to the hotline.
    hotline: Option<tokio::task::JoinHandle<()>>,
}

impl Providers {
    /// Closes the connections: SMPP unbinds, SMTP quits, SIP stops.
    pub(crate) async fn shutdown(&self) {
        for smsc in &self.smpp {
            smsc.shutdown().await;
        }
        for relay in &self.smtp {
            relay.shutdown().await;
        }
        if let Some(sip) = &self.sip {
            sip.shutdown();
        }
        if let Some(hotline) = &self.hotline {
            hotline.abort();
        }
    }
}

/// The embedded territories with the official boundaries stored by
/// `crieur territories import` applied over them.
pub async fn load_territories(store: &Store) -> anyhow::Result<Territories> {
    let mut territories = Territories::embedded().context("loading the embedded territories")?;
    let stored = store.boundaries().boundaries().await?;
    let mut boundaries = Vec::with_capacity(stored.len());
    for b in stored {
        let geometry = geometry_from_geojson(&b.geometry_geojson)
            .map_err(|e| anyhow::anyhow!("stored boundary {} is unreadable: {e}", b.nis))?;
        boundaries.push(Boundary {
            nis: b.nis,
            geometry,
        });
    }
    if !boundaries.is_empty() {
        tracing::info!(count = boundaries.len(), "official boundaries applied");
    }
    territories.apply_boundaries(boundaries);
    Ok(territories)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
