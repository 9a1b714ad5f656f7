//! Deleting what must not be kept: the relatives line's records (inquiries,
//! lists of people, decisions and their callbacks) go a set number of days
//! after their incident closes. Each purge that removed anything is audited.

use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_store::{Purged, Store, StoreError};
use std::time::Duration;

/// How often the purge runs while the server is up.
const EVERY: Duration = Duration::from_secs(3600);

/// Purges once: the records of incidents closed more than `retention_days` ago.
pub async fn purge_relatives(store: &Store, retention_days: u32) -> Result<Purged, StoreError> {
    let cutoff = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(
            24 * i64::from(retention_days),
        ))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // Incidents store their closing time as RFC 3339 with milliseconds, UTC.
    let cutoff = cutoff.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let purged = store.relatives().purge_relatives(&cutoff).await?;
    if purged != Purged::default() {
        tracing::info!(
            incidents = purged.incidents,
            inquiries = purged.inquiries,
            lists = purged.lists,
            entries = purged.entries,
            callbacks = purged.callbacks,
            "relatives-line records purged"
        );
        store
            .audit()
            .append_audit(
                AuditRecord::new("system", "relatives.purge", Outcome::Success).detail(format!(
                    "closed before {cutoff}: {} incidents, {} inquiries, {} lists ({} people), {} callbacks",
                    purged.incidents,
                    purged.inquiries,
                    purged.lists,
                    purged.entries,
                    purged.callbacks
                )),
                jiff::Timestamp::now().to_string(),
            )
            .await?;
    }
    Ok(purged)
}

/// Runs the purge at start and then every hour, until the task is aborted.
pub async fn run(store: Store, retention_days: u32) {
    loop {
        if let Err(e) = purge_relatives(&store, retention_days).await {
            tracing::error!(error = %e, "the relatives-line purge failed; it runs again in an hour");
        }
        tokio::time::sleep(EVERY).await;
    }
}
