//! The receiving task of a media session: checks where each datagram comes from,
//! reads it as RTP, sends telephone events to the key detector and audio through
//! the reorder window to whoever listens. Nothing a peer sends can stop it.

use super::{LogLimit, MediaConfig, ReceivedFrame, Shared, bump};
use crate::dtmf::{Digit, DtmfDetector};
use crate::media::jitter::JitterBuffer;
use crate::rtp::RtpPacket;
use crate::sdp::Negotiated;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Larger datagrams are cut here and then fail to parse; RTP over UDP stays under
/// the path MTU.
const MAX_DATAGRAM: usize = 2048;
const LOG_PERIOD: Duration = Duration::from_secs(10);

pub(super) struct ReceiveLoop {
    socket: Arc<UdpSocket>,
    params: watch::Receiver<Negotiated>,
    shared: Arc<Shared>,
    digits: mpsc::Sender<Digit>,
    jitter: JitterBuffer,
    detector: DtmfDetector,
    wrong_source_log: LogLimit,
    malformed_log: LogLimit,
    errors_log: LogLimit,
}

impl ReceiveLoop {
    pub(super) fn new(
        socket: Arc<UdpSocket>,
        params: watch::Receiver<Negotiated>,
        shared: Arc<Shared>,
        digits: mpsc::Sender<Digit>,
        config: &MediaConfig,
    ) -> ReceiveLoop {
        ReceiveLoop {
            socket,
            params,
            shared,
            digits,
            jitter: JitterBuffer::new(config.reorder_window, config.max_hold),
            detector: DtmfDetector::new(),
            wrong_source_log: LogLimit::new(LOG_PERIOD),
            malformed_log: LogLimit::new(LOG_PERIOD),
            errors_log: LogLimit::new(LOG_PERIOD),
        }
    }

    pub(super) async fn run(mut self) {
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            let deadline = self.jitter.next_deadline();
            tokio::select! {
                received = self.socket.recv_from(&mut buffer) => match received {
                    Ok((len, from)) => self.on_datagram(&buffer[..len], from),
                    Err(error) => {
                        bump(&self.shared.counters.receive_errors);
                        if let Some(held_back) = self.errors_log.allow() {
                            tracing::warn!(%error, held_back, "RTP receive failed");
                        }
                        // An error that repeats must not spin the task.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.jitter.tick(Instant::now().into_std());
                    self.deliver_audio();
                }
            }
        }
    }

    fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let counters = &self.shared.counters;
        let params = *self.params.borrow();
        if !same_address(from, params.remote) {
            bump(&counters.wrong_source);
            if let Some(held_back) = self.wrong_source_log.allow() {
                tracing::warn!(%from, expected = %params.remote, held_back, "RTP from a wrong address dropped");
            }
            return;
        }
        let packet = match RtpPacket::parse(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                bump(&counters.malformed);
                if let Some(held_back) = self.malformed_log.allow() {
                    tracing::warn!(%from, %error, held_back, "datagram on the RTP port dropped");
                }
                return;
            }
        };
        bump(&counters.packets_received);
        let now = Instant::now().into_std();
        let payload_type = packet.header.payload_type;
        if Some(payload_type) == params.telephone_event {
            bump(&counters.dtmf_packets_received);
            self.on_event(&packet, now);
        } else if payload_type == params.payload_type {
            self.jitter.push(
                ReceivedFrame {
                    ssrc: packet.header.ssrc,
                    sequence: packet.header.sequence,
                    timestamp: packet.header.timestamp,
                    marker: packet.header.marker,
                    payload: packet.payload.to_vec(),
                },
                now,
            );
            self.deliver_audio();
        } else {
            bump(&counters.unknown_payload);
        }
    }

    fn on_event(&mut self, packet: &RtpPacket<'_>, now: std::time::Instant) {
        let counters = &self.shared.counters;
        let digit = match self.detector.push_packet(packet, now) {
            Ok(Some(digit)) => digit,
            Ok(None) => return,
            Err(_) => {
                bump(&counters.malformed);
                return;
            }
        };
        bump(&counters.digits_received);
        tracing::debug!(%digit, "key received");
        if self.digits.try_send(digit).is_err() {
            bump(&counters.digits_dropped);
        }
    }

    fn deliver_audio(&mut self) {
        self.shared.publish_jitter(self.jitter.stats());
        let mut tap = self
            .shared
            .audio_tap
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while let Some(frame) = self.jitter.pop() {
            let Some(sender) = tap.as_ref() else {
                continue;
            };
            match sender.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    bump(&self.shared.counters.audio_dropped)
                }
                Err(mpsc::error::TrySendError::Closed(_)) => *tap = None,
            }
        }
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(Instant::from_std(deadline)).await;
    }
}

/// The same endpoint, an IPv4 address possibly seen as IPv4-mapped IPv6.
fn same_address(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}
