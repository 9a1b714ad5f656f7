use crate::i18n::Catalog;
use crieur_domain::{Language, Territories};
use crieur_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What the web layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Language of pages when neither the visitor nor the browser chose one.
    pub default_language: Language,
    /// The demo shows a banner on every page; never true in production.
    pub demo: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            default_language: Language::Fr,
            demo: false,
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub territories: Arc<Territories>,
    pub store: Store,
    pub metrics: Option<PrometheusHandle>,
    pub settings: Arc<WebSettings>,
    pub catalog: &'static Catalog,
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
    ) -> AppState {
        AppState {
            territories,
            store,
            metrics,
            settings: Arc::new(settings),
            catalog: Catalog::get(),
        }
    }
}
