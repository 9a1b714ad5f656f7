//! `crieur worker`: takes dispatch batches from the work queue (NATS
//! JetStream), sends them through the configured providers and records the
//! outcomes in the shared store. No web server, no hotline, no start-up
//! recovery: the queue gives a stopped worker's batches to the others.

use crate::app::{providers, shutdown_signal};
use crate::config::{Config, redact_url};
use anyhow::Context;
use crieur_dispatch::{Dispatcher, Settings};
use crieur_store::Store;
use std::sync::Arc;

/// Runs until Ctrl-C or SIGTERM, then lets what is in flight finish and be
/// recorded (what does not finish is delivered again to another worker).
pub async fn run(mut config: Config) -> anyhow::Result<()> {
    let queue = config
        .queue
        .nats()
        .map_err(|e| anyhow::anyhow!(e))?
        .context("crieur worker takes its work from a queue: set [queue] kind = \"nats\"")?;
    let store = Store::open(&config.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact_url(&config.database.url)))?;
    // Voice alerts call out from this worker's own SIP endpoint: any free
    // port, as the server (or another worker) may hold the configured one.
    config.telephony.sip_listen.set_port(0);
    let (sink, receipts) = crieur_dispatch::receipts();
    let providers = providers(&config, None, sink, true).await?;
    let name = worker_name();
    tracing::info!(
        worker = %name,
        queue = %redact_url(&queue.url),
        stream = %queue.stream,
        database = store.kind(),
        "worker started"
    );
    let settings = Settings {
        // One batch is one claim: the unrecorded budget counts batches.
        claim_max: queue.batch,
        unrecorded_max: Settings::default().unrecorded_max.max(queue.batch * 2),
        idle: std::time::Duration::from_millis(10),
        ..Settings::default()
    };
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut engine = tokio::spawn(
        Dispatcher {
            store,
            providers: providers.list.clone(),
            receipts,
            settings,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
        .run_worker(queue, name, stop.clone()),
    );
    let result = tokio::select! {
        () = shutdown_signal() => {
            stop.notify_one();
            engine.await
        }
        // Ended by itself: an error, said below.
        r = &mut engine => r,
    };
    providers.shutdown().await;
    match result {
        Ok(r) => r.context("the worker stopped on an error"),
        Err(e) => Err(anyhow::anyhow!("the worker task failed: {e}")),
    }
}

/// host-pid: which worker took a batch, in the store, for operators.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}
