//! Scale-out dispatch over NATS JetStream: a coordinator (in the server)
//! claims due deliveries from the store in batches and publishes each batch's
//! id on a work-queue stream; `crieur worker` processes take batches, send,
//! record outcomes in the store, then acknowledge.
//!
//! The store stays the source of truth: a message names a batch of rows
//! already claimed there, never carries texts (codes are secrets), and is
//! acknowledged only once every outcome is durable. Nothing here may forget a
//! claimed row or send one again without flagging it.

mod coordinator;
mod intake;

pub use coordinator::Coordinator;
pub(crate) use intake::{Intake, track};

use async_nats::jetstream::{self, consumer::PullConsumer, stream::Stream};
use std::time::Duration;

/// How batches travel through JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// `nats://host:port`; may name several servers separated by commas.
    pub url: String,
    /// The work-queue stream; its subjects are `<subject>.<channel>`.
    pub stream: String,
    pub subject: String,
    /// A batch not acknowledged (nor marked in progress) within this time is
    /// delivered again, to any worker.
    pub ack_wait: Duration,
    /// Deliveries of one batch before it is given up (dead-lettered).
    pub max_deliver: u32,
    /// Deliveries per batch.
    pub batch: u32,
    /// Batches per channel waiting in the queue or in workers' hands: more
    /// would hold claims that a cancellation or a verification code cannot
    /// overtake.
    pub outstanding: u32,
    /// Re-publishing a batch id within this window is dropped by the server.
    pub duplicate_window: Duration,
}

impl Default for QueueSettings {
    fn default() -> QueueSettings {
        QueueSettings {
            url: "nats://127.0.0.1:4222".into(),
            stream: "CRIEUR_WORK".into(),
            subject: "crieur.work".into(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            batch: 512,
            outstanding: 16,
            duplicate_window: Duration::from_secs(600),
        }
    }
}

impl QueueSettings {
    fn subject_of(&self, channel: &str) -> String {
        format!("{}.{channel}", self.subject)
    }

    fn consumer_of(&self, channel: &str) -> String {
        format!("{}-{channel}", self.stream.to_ascii_lowercase())
    }
}

/// The message id the server de-duplicates re-publications by.
fn message_id(batch: i64) -> String {
    format!("crieur-batch-{batch}")
}

/// A client that keeps reconnecting (from the first attempt on) quickly, so
/// dispatch resumes within a second or so of the server's return.
pub(crate) async fn connect(url: &str, name: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .reconnect_delay_callback(|attempts| Duration::from_millis(100 * attempts.min(10) as u64))
        .connect(url)
        .await
        .map_err(|e| format!("connecting to NATS at {}: {e}", redact(url)))
}

/// Checks every server address of a `[queue] url`, so a typo stops start-up
/// instead of leaving dispatch silently idle.
pub fn check_url(url: &str) -> Result<(), String> {
    for part in url.split(',') {
        part.trim()
            .parse::<async_nats::ServerAddr>()
            .map_err(|e| format!("queue.url {}: {e}", redact(part)))?;
    }
    Ok(())
}

/// `nats://user:***@host`: a URL's password never reaches a log.
pub fn redact(url: &str) -> String {
    url.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let user = u[s + 3..at].split(':').next().unwrap_or("");
                format!("{}://{user}:***@{}", &u[..s], &u[at + 1..])
            }
            _ => u.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The work-queue stream, created when missing. Settings are only applied on
/// creation: changing them later is an operator's `nats stream edit`.
pub(crate) async fn stream(
    js: &jetstream::Context,
    s: &QueueSettings,
) -> Result<Stream, async_nats::Error> {
    Ok(js
        .get_or_create_stream(jetstream::stream::Config {
            name: s.stream.clone(),
            subjects: vec![format!("{}.>", s.subject)],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            storage: jetstream::stream::StorageType::File,
            duplicate_window: s.duplicate_window,
            ..Default::default()
        })
        .await?)
}

/// The durable pull consumer of one channel, shared by every worker.
pub(crate) async fn consumer(
    stream: &Stream,
    s: &QueueSettings,
    channel: &str,
) -> Result<PullConsumer, async_nats::Error> {
    let name = s.consumer_of(channel);
    Ok(stream
        .get_or_create_consumer(
            &name,
            jetstream::consumer::pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: s.subject_of(channel),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: s.ack_wait,
                max_deliver: i64::from(s.max_deliver),
                ..Default::default()
            },
        )
        .await?)
}

fn unix_now() -> i64 {
    crate::unix_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_names_stable() {
        assert_eq!(
            redact("nats://crieur:s3cret@a:4222,nats://b:4222"),
            "nats://crieur:***@a:4222,nats://b:4222"
        );
        let s = QueueSettings::default();
        assert_eq!(s.subject_of("sms"), "crieur.work.sms");
        assert_eq!(s.consumer_of("sms"), "crieur_work-sms");
        assert_eq!(message_id(42), "crieur-batch-42");
        assert!(check_url("nats://127.0.0.1:4222,nats://b:4222").is_ok());
        let bad = check_url("nats://u:s3cret@[::1:4222").expect_err("refused");
        assert!(!bad.contains("s3cret"), "{bad}");
    }
}
