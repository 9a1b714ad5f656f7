//! Test helpers shared by the workspace's integration tests: the rule for peers
//! that may be missing, and a headless-Chromium driver.
//!
//! A test that needs a third-party peer (Chromium, SIPp, PostgreSQL…) calls
//! [`peer`]: when the peer is absent the test is skipped with a message, unless
//! `CRIEUR_REQUIRE_PEERS=1`, under which a missing peer fails the test.

mod browser;
mod cap;
mod database;

pub use browser::{Browser, axe_script, wcag_violations};
pub use cap::CapSchema;
pub use database::{
    Backend, DEFAULT_POSTGRES_URL, TestDb, database, drop_postgres_schema,
    drop_postgres_schema_later, fresh_postgres_url, postgres_url,
};

use std::path::{Path, PathBuf};

/// True when CI demands every peer.
pub fn peers_required() -> bool {
    std::env::var("CRIEUR_REQUIRE_PEERS").is_ok_and(|v| v == "1" || v == "true")
}

/// Finds a peer's executable among `candidates` (absolute paths or names looked up
/// in `PATH`). Returns `None`, after printing why, when the test should be skipped.
///
/// # Panics
/// When the peer is missing and [`peers_required`] is true.
pub fn peer(name: &str, candidates: &[&str], install_hint: &str) -> Option<PathBuf> {
    let found = candidates.iter().find_map(|c| which(c));
    if found.is_none() {
        let msg = format!(
            "peer {name} not found (tried {candidates:?}); install it with: {install_hint}"
        );
        assert!(!peers_required(), "CRIEUR_REQUIRE_PEERS=1 and {msg}");
        eprintln!("SKIPPED: {msg}");
    }
    found
}

fn which(candidate: &str) -> Option<PathBuf> {
    let p = Path::new(candidate);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(candidate))
            .find(|full| full.is_file())
    })
}

/// Runs one test story against each backend, as `NAME::sqlite` and
/// `NAME::postgres`. The test crate provides `fixture(Backend) -> Option<F>`
/// (`None`: the backend is unreachable, and the PostgreSQL half is skipped).
// `crate::fixture` is the calling test crate's, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! story {
    ($(#[$m:meta])* async fn $name:ident($f:ident) $body:block) => {
        $(#[$m])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($f) = crate::fixture($crate::Backend::Sqlite).await else {
                    unreachable!("SQLite is always there");
                };
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($f) = crate::fixture($crate::Backend::Postgres).await else {
                    return;
                };
                $body
            }
        }
    };
}
