//! The TLS client configuration every connector shares: the system's roots
//! plus the configured ones, with the ring provider (no process-wide default).

use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// Trusts the system's roots and `extra`; an unusable extra root is an error.
pub(crate) fn client_config(
    extra: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, String> {
    let mut store = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::warn!(%error, "cannot read a system root certificate");
    }
    store.add_parsable_certificates(system.certs);
    for der in extra {
        store.add(der).map_err(|e| e.to_string())?;
    }
    if store.is_empty() {
        tracing::warn!("no trusted root certificate: TLS connections will fail");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth())
}
