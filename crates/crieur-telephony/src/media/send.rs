//! The sending task of a media session: one packet per 20 ms tick while there is
//! something to send, nothing (and no timer) while idle. Key presses go before
//! audio; the media clock keeps running through pauses, as RFC 3550 wants.

use super::{LogLimit, PlayOutcome, Shared, bump};
use crate::dtmf::{Digit, DtmfSender};
use crate::rtp::{FRAME_DURATION, FRAME_SAMPLES, Frame, HEADER_LEN, Pacer, RtpSender};
use crate::sdp::Negotiated;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

pub(super) type Frames = Box<dyn Iterator<Item = Frame> + Send>;

pub(super) enum Command {
    Play {
        id: u64,
        frames: Frames,
        done: oneshot::Sender<PlayOutcome>,
    },
    Stop {
        id: u64,
    },
    Digit(Digit),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Play { id, .. } => write!(f, "Play({id})"),
            Command::Stop { id } => write!(f, "Stop({id})"),
            Command::Digit(digit) => write!(f, "Digit({digit})"),
        }
    }
}

struct Playing {
    id: u64,
    frames: Frames,
    done: oneshot::Sender<PlayOutcome>,
    sent: u64,
}

impl Playing {
    fn end(self, finished: bool) {
        let frames = self.sent;
        let outcome = if finished {
            PlayOutcome::Finished { frames }
        } else {
            PlayOutcome::Stopped { frames }
        };
        let _ = self.done.send(outcome);
    }
}

pub(super) struct SendLoop {
    socket: Arc<UdpSocket>,
    params: watch::Receiver<Negotiated>,
    shared: Arc<Shared>,
    rtp: RtpSender,
    tone: Duration,
    playing: Option<Playing>,
    digits: VecDeque<Digit>,
    /// The packets of the key press being sent.
    events: VecDeque<Vec<u8>>,
    packet: Vec<u8>,
    errors_log: LogLimit,
}

impl SendLoop {
    pub(super) fn new(
        socket: Arc<UdpSocket>,
        params: watch::Receiver<Negotiated>,
        shared: Arc<Shared>,
        tone: Duration,
        payload_type: u8,
    ) -> SendLoop {
        SendLoop {
            socket,
            params,
            shared,
            rtp: RtpSender::new(payload_type),
            tone,
            playing: None,
            digits: VecDeque::new(),
            events: VecDeque::new(),
            packet: Vec::with_capacity(HEADER_LEN + crate::rtp::FRAME_BYTES),
            errors_log: LogLimit::new(Duration::from_secs(10)),
        }
    }

    fn busy(&self) -> bool {
        self.playing.is_some() || !self.digits.is_empty() || !self.events.is_empty()
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut pacer: Option<Pacer> = None;
        // When the media clock (rtp.timestamp()) is due: it keeps running while idle.
        let mut clock_due: Option<Instant> = None;
        loop {
            if !self.busy() {
                pacer = None;
                match commands.recv().await {
                    Some(command) => self.handle(command),
                    None => break,
                }
                continue;
            }
            let pacer = pacer.get_or_insert_with(|| {
                let now = Instant::now();
                if let Some(due) = clock_due {
                    let idle = now.saturating_duration_since(due).as_millis() / 20;
                    self.rtp
                        .skip(u32::try_from(idle).unwrap_or(u32::MAX) * FRAME_SAMPLES);
                }
                self.rtp.start_talkspurt();
                Pacer::new(now, FRAME_DURATION)
            });
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                skipped = pacer.tick() => {
                    if skipped > 0 {
                        self.rtp.skip(skipped.saturating_mul(FRAME_SAMPLES));
                    }
                    self.on_tick().await;
                    clock_due = Some(Instant::now() + FRAME_DURATION);
                }
            }
        }
        if let Some(playing) = self.playing.take() {
            playing.end(false);
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Play { id, frames, done } => {
                if let Some(previous) = self.playing.take() {
                    previous.end(false);
                }
                self.playing = Some(Playing {
                    id,
                    frames,
                    done,
                    sent: 0,
                });
            }
            Command::Stop { id } => {
                if let Some(playing) = self.playing.take_if(|p| p.id == id) {
                    playing.end(false);
                }
            }
            Command::Digit(digit) => self.digits.push_back(digit),
        }
    }

    /// Sends what is due at one tick: a key press packet, else an audio frame.
    async fn on_tick(&mut self) {
        let params = *self.params.borrow();
        self.rtp.set_payload_type(params.payload_type);
        let counters = &self.shared.counters;
        if let Some(digit) = self
            .events
            .is_empty()
            .then(|| self.digits.pop_front())
            .flatten()
        {
            match params.telephone_event {
                Some(pt) => {
                    let sender = DtmfSender::new(pt).with_tone(self.tone);
                    self.events = sender.packets(&mut self.rtp, digit).into();
                    bump(&counters.digits_sent);
                }
                None => {
                    bump(&counters.digits_not_sent);
                    tracing::warn!(%digit, "key not sent: the peer accepted no telephone events");
                }
            }
        }
        if let Some(event) = self.events.pop_front() {
            if params.direction.sends() {
                self.send(&event, params.remote).await;
                bump(&self.shared.counters.dtmf_packets_sent);
            }
            return;
        }
        let Some(playing) = self.playing.as_mut() else {
            return;
        };
        let Some(frame) = playing.frames.next() else {
            if let Some(playing) = self.playing.take() {
                playing.end(true);
            }
            return;
        };
        playing.sent += 1;
        if params.direction.sends() {
            let mut packet = std::mem::take(&mut self.packet);
            packet.clear();
            self.rtp.audio(&frame, &mut packet);
            self.send(&packet, params.remote).await;
            self.packet = packet;
            bump(&self.shared.counters.audio_frames_sent);
        } else {
            self.rtp.skip(FRAME_SAMPLES);
        }
    }

    async fn send(&mut self, packet: &[u8], to: SocketAddr) {
        match self.socket.send_to(packet, to).await {
            Ok(_) => bump(&self.shared.counters.packets_sent),
            Err(error) => {
                bump(&self.shared.counters.send_errors);
                if let Some(held_back) = self.errors_log.allow() {
                    tracing::warn!(%to, %error, held_back, "RTP send failed");
                }
            }
        }
    }
}
