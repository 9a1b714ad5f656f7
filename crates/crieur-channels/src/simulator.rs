//! The development device simulator: it stands in for citizens' phones and
//! mailboxes in the demo and in tests, keeping every message that would have been
//! sent so a page can show it. It is labelled as a simulation wherever it appears
//! and is never used when real providers are configured.

use crate::{Accepted, ChannelError, Envelope, Outbound, Provider};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

/// A message the simulator received, numbered in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedMessage {
    pub seq: u64,
    pub received: SystemTime,
    pub message: Outbound,
}

/// Keeps the latest `capacity` messages in memory.
#[derive(Debug)]
pub struct DeviceSimulator {
    capacity: usize,
    inner: Mutex<(u64, VecDeque<SimulatedMessage>)>,
}

impl DeviceSimulator {
    pub fn new(capacity: usize) -> DeviceSimulator {
        DeviceSimulator {
            capacity: capacity.max(1),
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    /// The messages held, newest first, optionally only those to `recipient`.
    pub fn messages(&self, recipient: Option<&str>) -> Vec<SimulatedMessage> {
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .1
            .iter()
            .rev()
            .filter(|m| recipient.is_none_or(|r| m.message.recipient() == r))
            .cloned()
            .collect()
    }

    /// The newest message held for `recipient`.
    pub fn latest(&self, recipient: &str) -> Option<SimulatedMessage> {
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .1
            .iter()
            .rev()
            .find(|m| m.message.recipient() == recipient)
            .cloned()
    }
}

impl DeviceSimulator {
    /// Keeps a message as if a phone or mailbox had received it.
    pub fn receive(&self, message: Outbound) {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0 += 1;
        let seq = guard.0;
        guard.1.push_back(SimulatedMessage {
            seq,
            received: SystemTime::now(),
            message,
        });
        while guard.1.len() > self.capacity {
            guard.1.pop_front();
        }
    }
}

#[async_trait::async_trait]
impl Provider for DeviceSimulator {
    fn name(&self) -> &str {
        "simulator"
    }

    fn channels(&self) -> &'static [&'static str] {
        &["sms", "voice", "email", "operator"]
    }

    fn concurrency(&self) -> usize {
        64
    }

    fn rate(&self) -> Option<f64> {
        None
    }

    fn ready(&self) -> bool {
        true
    }

    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError> {
        self.receive(envelope.message.clone());
        Ok(Accepted {
            references: vec![format!("sim-{}", envelope.delivery)],
            reach: None,
            confirmed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_latest_messages_newest_first() {
        let sim = DeviceSimulator::new(2);
        for i in 0..3 {
            sim.send(&Envelope {
                delivery: i,
                message: Outbound::Sms {
                    to: format!("+3247012345{i}"),
                    text: format!("code {i}"),
                },
            })
            .await
            .expect("accepted");
        }
        let all = sim.messages(None);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].seq, 3);
        assert_eq!(sim.messages(Some("+32470123451")).len(), 1);
        assert!(
            sim.messages(Some("+32470123450")).is_empty(),
            "the oldest was dropped"
        );
        assert!(
            !format!("{:?}", all[0].message).contains("code"),
            "bodies stay out of logs"
        );
    }
}
