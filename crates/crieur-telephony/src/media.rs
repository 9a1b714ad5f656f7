//! The media of one call: a UDP socket, a task that sends audio and key presses on a
//! steady 20 ms clock, and a task that receives RTP, puts audio back in order and
//! turns RFC 4733 events into keys.
//!
//! The SIP layer binds a [`MediaSocket`] before writing its SDP (it needs the port),
//! negotiates, then [`MediaSocket::start`]s the [`MediaSession`] with the outcome.
//! RTP from any address but the negotiated one is dropped, counted and logged (at
//! most once every 10 s): it never disturbs the call.
//!
//! Answering a call, playing a prompt and taking a key:
//!
//! ```no_run
//! use crieur_telephony::media::{Clip, MediaConfig, MediaSocket};
//! use crieur_telephony::sdp::{LocalMedia, SessionDescription};
//!
//! # async fn answer_call(invite_body: &[u8], prompt: Clip) -> Result<(), Box<dyn std::error::Error>> {
//! let socket = MediaSocket::bind(&MediaConfig::default()).await?;
//! let local = LocalMedia::new(socket.local_addr().ip(), socket.local_addr().port());
//! let offer = SessionDescription::parse_bytes(invite_body)?; // Err: 400 or 488
//! let (answer, agreed) = local.answer(&offer)?; // Err: 488 Not Acceptable Here
//! // ...200 OK with `answer.to_string()` as application/sdp, then once ACKed:
//! let mut media = socket.start(agreed);
//! let mut playing = media.play_clip(&prompt);
//! let key = tokio::select! {
//!     _ = playing.finished() => media.next_digit().await,
//!     key = media.next_digit() => key,
//! };
//! playing.stop();
//! let stats = media.close();
//! println!("key {key:?}; {} frames sent", stats.audio_frames_sent);
//! # Ok(()) }
//! ```

mod clip;
mod jitter;
mod receive;
mod send;

pub use clip::{Clip, ClipFrames};
pub use jitter::{JitterBuffer, JitterStats, ReceivedFrame};

use crate::dtmf::{self, Digit};
use crate::rtp::Frame;
use crate::sdp::Negotiated;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Digits received and not yet read are kept up to this many; more are dropped.
const DIGIT_QUEUE: usize = 32;

/// How calls' media sockets are bound and how tolerant reception is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// The address RTP sockets bind to (127.0.0.1 in tests, the media interface's
    /// address in production; SDP must carry an address peers can reach).
    pub bind_ip: IpAddr,
    /// Even ports to take RTP sockets from (firewalls open a range); `None` lets the
    /// system choose.
    pub ports: Option<RangeInclusive<u16>>,
    /// Packets that may wait behind a missing one before it is given up.
    pub reorder_window: usize,
    /// The longest a received packet waits for a missing earlier one.
    pub max_hold: Duration,
    /// How long a sent key is held.
    pub dtmf_tone: Duration,
}

impl Default for MediaConfig {
    fn default() -> MediaConfig {
        MediaConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: None,
            reorder_window: 4,
            max_hold: Duration::from_millis(60),
            dtmf_tone: dtmf::DEFAULT_TONE,
        }
    }
}

/// A bound RTP socket whose session is not negotiated yet.
#[derive(Debug)]
pub struct MediaSocket {
    socket: UdpSocket,
    local: SocketAddr,
    config: MediaConfig,
}

impl MediaSocket {
    /// Binds a socket on `config.bind_ip`, on a free even port of `config.ports` (tried
    /// from a random place in the range) or on one the system picks.
    pub async fn bind(config: &MediaConfig) -> io::Result<MediaSocket> {
        let socket = match &config.ports {
            None => UdpSocket::bind((config.bind_ip, 0)).await?,
            Some(range) => bind_in_range(config.bind_ip, range).await?,
        };
        let local = socket.local_addr()?;
        Ok(MediaSocket {
            socket,
            local,
            config: config.clone(),
        })
    }

    /// The address and port to write in our SDP (c= and m=).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Starts sending and receiving for what was negotiated. Needs a tokio runtime.
    pub fn start(self, negotiated: Negotiated) -> MediaSession {
        let socket = Arc::new(self.socket);
        let shared = Arc::new(Shared::default());
        let (params, params_rx) = watch::channel(negotiated);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (digits_tx, digits) = mpsc::channel(DIGIT_QUEUE);
        let send_task = tokio::spawn(
            send::SendLoop::new(
                socket.clone(),
                params_rx.clone(),
                shared.clone(),
                self.config.dtmf_tone,
                negotiated.payload_type,
            )
            .run(commands_rx),
        );
        let receive_task = tokio::spawn(
            receive::ReceiveLoop::new(socket, params_rx, shared.clone(), digits_tx, &self.config)
                .run(),
        );
        MediaSession {
            local: self.local,
            params,
            commands,
            digits,
            shared,
            next_play: AtomicU64::new(0),
            send_task,
            receive_task,
        }
    }
}

async fn bind_in_range(ip: IpAddr, range: &RangeInclusive<u16>) -> io::Result<UdpSocket> {
    let first = range.start() + range.start() % 2;
    let even: Vec<u16> = (first..=*range.end()).step_by(2).collect();
    if even.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no even port in the RTP range",
        ));
    }
    let offset = fastrand::usize(..even.len());
    for port in even.iter().cycle().skip(offset).take(even.len()) {
        match UdpSocket::bind((ip, *port)).await {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "every port of the RTP range is taken",
    ))
}

/// How a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayOutcome {
    /// Every frame was played.
    Finished { frames: u64 },
    /// Stopped, replaced by another playback, or the session closed.
    Stopped { frames: u64 },
}

/// One playback started by [`MediaSession::play`]. Dropping it does not stop it.
#[derive(Debug)]
pub struct Playback {
    id: u64,
    done: oneshot::Receiver<PlayOutcome>,
    outcome: Option<PlayOutcome>,
    commands: mpsc::UnboundedSender<send::Command>,
}

impl Playback {
    /// Stops the playback at the next frame (if it is still the one playing).
    pub fn stop(&self) {
        let _ = self.commands.send(send::Command::Stop { id: self.id });
    }

    /// Waits until the playback ends (at once if it has). Cancel-safe: usable in
    /// `tokio::select!` beside [`MediaSession::next_digit`].
    pub async fn finished(&mut self) -> PlayOutcome {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        let outcome = (&mut self.done)
            .await
            .unwrap_or(PlayOutcome::Stopped { frames: 0 });
        self.outcome = Some(outcome);
        outcome
    }
}

/// What a session has sent and received so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// RTP packets sent, audio and events.
    pub packets_sent: u64,
    pub audio_frames_sent: u64,
    pub dtmf_packets_sent: u64,
    pub digits_sent: u64,
    /// Keys asked for while no telephone-event type was negotiated.
    pub digits_not_sent: u64,
    pub send_errors: u64,
    /// Valid RTP packets from the negotiated address.
    pub packets_received: u64,
    /// Audio through the reorder window: received, lost, duplicated, reordered...
    pub audio: JitterStats,
    pub dtmf_packets_received: u64,
    pub digits_received: u64,
    /// Digits dropped because nobody read the earlier ones.
    pub digits_dropped: u64,
    /// Audio frames dropped because the reader of [`MediaSession::audio_frames`] lagged.
    pub audio_dropped: u64,
    /// Datagrams from another address than the negotiated one, dropped.
    pub wrong_source: u64,
    /// Datagrams from the right address that were not RTP, dropped.
    pub malformed: u64,
    /// RTP with a payload type that was not negotiated (comfort noise...), dropped.
    pub unknown_payload: u64,
    pub receive_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    packets_sent: AtomicU64,
    audio_frames_sent: AtomicU64,
    dtmf_packets_sent: AtomicU64,
    digits_sent: AtomicU64,
    digits_not_sent: AtomicU64,
    send_errors: AtomicU64,
    packets_received: AtomicU64,
    audio_received: AtomicU64,
    audio_released: AtomicU64,
    audio_lost: AtomicU64,
    audio_duplicated: AtomicU64,
    audio_reordered: AtomicU64,
    audio_late: AtomicU64,
    audio_restarts: AtomicU64,
    dtmf_packets_received: AtomicU64,
    digits_received: AtomicU64,
    digits_dropped: AtomicU64,
    audio_dropped: AtomicU64,
    wrong_source: AtomicU64,
    malformed: AtomicU64,
    unknown_payload: AtomicU64,
    receive_errors: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What the session's tasks and handle share.
#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    /// Where received audio goes, if someone listens.
    audio_tap: Mutex<Option<mpsc::Sender<ReceivedFrame>>>,
}

impl Shared {
    fn stats(&self) -> MediaStats {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MediaStats {
            packets_sent: get(&c.packets_sent),
            audio_frames_sent: get(&c.audio_frames_sent),
            dtmf_packets_sent: get(&c.dtmf_packets_sent),
            digits_sent: get(&c.digits_sent),
            digits_not_sent: get(&c.digits_not_sent),
            send_errors: get(&c.send_errors),
            packets_received: get(&c.packets_received),
            audio: JitterStats {
                received: get(&c.audio_received),
                released: get(&c.audio_released),
                lost: get(&c.audio_lost),
                duplicated: get(&c.audio_duplicated),
                reordered: get(&c.audio_reordered),
                late: get(&c.audio_late),
                restarts: get(&c.audio_restarts),
            },
            dtmf_packets_received: get(&c.dtmf_packets_received),
            digits_received: get(&c.digits_received),
            digits_dropped: get(&c.digits_dropped),
            audio_dropped: get(&c.audio_dropped),
            wrong_source: get(&c.wrong_source),
            malformed: get(&c.malformed),
            unknown_payload: get(&c.unknown_payload),
            receive_errors: get(&c.receive_errors),
        }
    }

    fn publish_jitter(&self, stats: JitterStats) {
        let c = &self.counters;
        let set = |counter: &AtomicU64, value| counter.store(value, Ordering::Relaxed);
        set(&c.audio_received, stats.received);
        set(&c.audio_released, stats.released);
        set(&c.audio_lost, stats.lost);
        set(&c.audio_duplicated, stats.duplicated);
        set(&c.audio_reordered, stats.reordered);
        set(&c.audio_late, stats.late);
        set(&c.audio_restarts, stats.restarts);
    }
}

/// The running media of one call. Dropping it stops both tasks.
#[derive(Debug)]
pub struct MediaSession {
    local: SocketAddr,
    params: watch::Sender<Negotiated>,
    commands: mpsc::UnboundedSender<send::Command>,
    digits: mpsc::Receiver<Digit>,
    shared: Arc<Shared>,
    next_play: AtomicU64,
    send_task: JoinHandle<()>,
    receive_task: JoinHandle<()>,
}

impl MediaSession {
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What the session currently sends and accepts.
    pub fn negotiated(&self) -> Negotiated {
        *self.params.borrow()
    }

    /// Applies a new negotiation (a re-INVITE: new remote address, codec, hold).
    pub fn update(&self, negotiated: Negotiated) {
        self.params.send_replace(negotiated);
    }

    /// Plays frames already in the negotiated codec, one every 20 ms, replacing what
    /// was playing. While the call is on hold (our direction does not send) the
    /// frames are paced but not sent.
    pub fn play<I>(&self, frames: I) -> Playback
    where
        I: IntoIterator<Item = Frame>,
        I::IntoIter: Send + 'static,
    {
        let id = self.next_play.fetch_add(1, Ordering::Relaxed) + 1;
        let (done_tx, done) = oneshot::channel();
        let _ = self.commands.send(send::Command::Play {
            id,
            frames: Box::new(frames.into_iter()),
            done: done_tx,
        });
        Playback {
            id,
            done,
            outcome: None,
            commands: self.commands.clone(),
        }
    }

    /// Plays a clip, converted to the negotiated codec if needed.
    pub fn play_clip(&self, clip: &Clip) -> Playback {
        let frames = clip.frames(self.negotiated().codec);
        self.play(frames)
    }

    /// Sends one key press as RFC 4733 events (queued behind earlier ones; audio
    /// pauses while it is sent). Counted in `digits_not_sent` if the peer accepted
    /// no telephone events.
    pub fn send_digit(&self, digit: Digit) {
        let _ = self.commands.send(send::Command::Digit(digit));
    }

    /// The next key pressed by the peer; `None` once the session has stopped.
    pub async fn next_digit(&mut self) -> Option<Digit> {
        self.digits.recv().await
    }

    /// Forgets keys pressed and not read yet (before asking a new question).
    pub fn clear_digits(&mut self) -> usize {
        std::iter::from_fn(|| self.digits.try_recv().ok()).count()
    }

    /// Received audio, in order, from now on (a bridge or a recorder reads it);
    /// replaces an earlier reader. Frames the reader does not take in time are
    /// dropped and counted in `audio_dropped`.
    pub fn audio_frames(&self, capacity: usize) -> mpsc::Receiver<ReceivedFrame> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        *self
            .shared
            .audio_tap
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tx);
        rx
    }

    pub fn stats(&self) -> MediaStats {
        self.shared.stats()
    }

    /// Stops both tasks and returns the final counters.
    pub fn close(self) -> MediaStats {
        self.stats()
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.send_task.abort();
        self.receive_task.abort();
    }
}

/// Lets a log line through at most once per period and says how many were held back.
#[derive(Debug)]
struct LogLimit {
    period: Duration,
    last: Option<tokio::time::Instant>,
    held_back: u64,
}

impl LogLimit {
    fn new(period: Duration) -> LogLimit {
        LogLimit {
            period,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(lines held back since the last one)` if this line may be logged.
    fn allow(&mut self) -> Option<u64> {
        let now = tokio::time::Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.period)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_an_even_port_in_a_range() {
        let config = MediaConfig {
            ports: Some(41001..=41100),
            ..MediaConfig::default()
        };
        let socket = MediaSocket::bind(&config).await.unwrap();
        let port = socket.local_addr().port();
        assert!(port % 2 == 0 && (41002..=41100).contains(&port), "{port}");
        let taken = MediaConfig {
            ports: Some(port..=port + 1),
            ..config
        };
        let error = MediaSocket::bind(&taken).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        let odd = MediaConfig {
            ports: Some(41001..=41001),
            ..MediaConfig::default()
        };
        assert_eq!(
            MediaSocket::bind(&odd).await.unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[tokio::test(start_paused = true)]
    async fn log_limit_lets_one_line_through_per_period() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(limit.allow(), Some(2));
    }
}
