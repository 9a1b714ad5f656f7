//! Test helpers shared by the workspace's integration tests: the rule for peers
//! that may be missing, and a headless-Chromium driver.
//!
//! A test that needs a third-party peer (Chromium, SIPp, PostgreSQL…) calls
//! [`peer`]: when the peer is absent the test is skipped with a message, unless
//! `CRIEUR_REQUIRE_PEERS=1`, under which a missing peer fails the test.

mod browser;
mod cap;

pub use browser::{Browser, axe_script, wcag_violations};
pub use cap::CapSchema;

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
