//! Hold: music on a loop for a waiting caller, broken every so often by an
//! announcement the queue engine keeps up to date ("you are number 3").
//!
//! The whole hold is one playback whose frames are chosen as the media task asks
//! for them, every 20 ms: no timer and no task of its own, and the announcement
//! rhythm follows the audio clock exactly.

use super::{Busy, CallEventKind, Context};
use crate::g711::Codec;
use crate::media::{Clip, ClipFrames, Playback};
use crate::rtp::{FRAME_BYTES, FRAME_DURATION, Frame};
use crate::sip::Session;
use crate::tts::Prompt;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Audio to play: already encoded, or 8 kHz linear PCM from text-to-speech.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sound {
    Clip(Clip),
    Prompt(Prompt),
}

impl Sound {
    /// The sound as a clip (encoded once here when it is a prompt).
    pub fn clip(&self, codec: Codec) -> Clip {
        match self {
            Sound::Clip(clip) => clip.clone(),
            Sound::Prompt(prompt) => Clip::from_pcm(codec, prompt.samples()),
        }
    }
}

impl From<Clip> for Sound {
    fn from(clip: Clip) -> Self {
        Sound::Clip(clip)
    }
}

impl From<&Clip> for Sound {
    fn from(clip: &Clip) -> Self {
        Sound::Clip(clip.clone())
    }
}

impl From<Prompt> for Sound {
    fn from(prompt: Prompt) -> Self {
        Sound::Prompt(prompt)
    }
}

impl From<&Prompt> for Sound {
    fn from(prompt: &Prompt) -> Self {
        Sound::Prompt(prompt.clone())
    }
}

/// Announcements during hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcements {
    /// What to say; `None` until the engine sets it ([`Hold::set_announcement`]).
    pub prompt: Option<Prompt>,
    /// Music before the first announcement (zero: announce at once).
    pub first_after: Duration,
    /// Music between the end of one announcement and the start of the next.
    pub every: Duration,
}

impl Announcements {
    /// `prompt` at once, then after every `every` of music.
    pub fn every(every: Duration, prompt: Prompt) -> Self {
        Self {
            prompt: Some(prompt),
            first_after: Duration::ZERO,
            every,
        }
    }
}

/// What the hold's frames and its handle share.
pub(super) struct HoldState {
    ctx: Arc<Context>,
    call_id: String,
    session: Arc<Session>,
    codec: Codec,
    announcement: Mutex<Option<Clip>>,
    announce_now: AtomicBool,
    announcements: AtomicU64,
    stop: AtomicBool,
    stopped: AtomicBool,
    /// Keeps the call's `Ended` behind `HoldStopped`.
    busy: Mutex<Option<Busy>>,
}

impl HoldState {
    /// Asks the frames to end at the next tick.
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.finish();
    }

    /// Publishes `HoldStopped`, once.
    fn finish(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.ctx.emit(&self.call_id, CallEventKind::HoldStopped);
            self.busy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
    }

    fn announcement(&self) -> Option<Clip> {
        self.announcement
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A caller on hold. Dropping it stops the hold, as does [`Hold::stop`], any
/// other playback on the call (a prompt, a bridge), or the call's end.
pub struct Hold {
    state: Arc<HoldState>,
    playback: Playback,
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold")
            .field("call_id", &self.state.call_id)
            .field("announcements", &self.announcements())
            .field("active", &self.is_active())
            .finish()
    }
}

impl Hold {
    /// Starts the hold on a call whose media plays `codec`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start(
        ctx: Arc<Context>,
        call_id: String,
        session: Arc<Session>,
        busy: Busy,
        codec: Codec,
        play: impl FnOnce(HoldFrames) -> Playback,
        music: &Sound,
        announcements: Option<Announcements>,
    ) -> Hold {
        let frames_of = |d: Duration| {
            u64::try_from(d.as_millis() / FRAME_DURATION.as_millis()).unwrap_or(u64::MAX)
        };
        let (first, every, prompt) = match announcements {
            Some(a) => (frames_of(a.first_after), frames_of(a.every), a.prompt),
            None => (u64::MAX, u64::MAX, None),
        };
        let state = Arc::new(HoldState {
            ctx,
            call_id,
            session,
            codec,
            announcement: Mutex::new(prompt.map(|p| Clip::from_pcm(codec, p.samples()))),
            announce_now: AtomicBool::new(false),
            announcements: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            busy: Mutex::new(Some(busy)),
        });
        state.ctx.emit(&state.call_id, CallEventKind::HoldStarted);
        let music = music.clip(codec);
        let frames = HoldFrames {
            state: state.clone(),
            tune: music.frames(codec),
            music,
            codec,
            announcing: None,
            countdown: first,
            every,
        };
        let playback = play(frames);
        Hold { state, playback }
    }

    pub(super) fn state(&self) -> Arc<HoldState> {
        self.state.clone()
    }

    /// Replaces what the announcements say, from the next one on (`None`: music
    /// only). The engine calls this when the caller's place in the queue changes.
    pub fn set_announcement(&self, prompt: Option<Prompt>) {
        let clip = prompt.map(|p| Clip::from_pcm(self.state.codec, p.samples()));
        *self
            .state
            .announcement
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = clip;
    }

    /// Plays the announcement at the end of the current 20 ms frame (or after the
    /// announcement that is playing) instead of waiting for its turn.
    pub fn announce_now(&self) {
        self.state.announce_now.store(true, Ordering::SeqCst);
    }

    /// Announcements started so far.
    pub fn announcements(&self) -> u64 {
        self.state.announcements.load(Ordering::SeqCst)
    }

    /// Whether the caller still hears the hold.
    pub fn is_active(&self) -> bool {
        !self.state.stopped.load(Ordering::SeqCst)
    }

    /// Stops the music (the caller hears silence until the next playback).
    pub fn stop(self) {}
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.is_active() {
            self.playback.stop();
        }
        self.state.stop();
    }
}

/// The frames of a hold, chosen one at a time by the media task.
pub(super) struct HoldFrames {
    state: Arc<HoldState>,
    music: Clip,
    tune: ClipFrames,
    codec: Codec,
    announcing: Option<ClipFrames>,
    /// Music frames left before the next announcement.
    countdown: u64,
    every: u64,
}

impl Iterator for HoldFrames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        if self.state.stop.load(Ordering::SeqCst) || self.state.session.end_reason().is_some() {
            self.state.finish();
            return None;
        }
        if let Some(announcing) = self.announcing.as_mut() {
            if let Some(frame) = announcing.next() {
                return Some(frame);
            }
            self.announcing = None;
            self.countdown = self.every;
        }
        let now = self.state.announce_now.swap(false, Ordering::SeqCst);
        if self.countdown == 0 || now {
            self.countdown = self.every;
            if let Some(clip) = self.state.announcement() {
                let mut frames = clip.frames(self.codec);
                if let Some(first) = frames.next() {
                    let number = self.state.announcements.fetch_add(1, Ordering::SeqCst) + 1;
                    self.state
                        .ctx
                        .emit(&self.state.call_id, CallEventKind::Announcement { number });
                    self.announcing = Some(frames);
                    return Some(first);
                }
            }
        }
        self.countdown = self.countdown.saturating_sub(1);
        Some(self.music_frame())
    }
}

impl HoldFrames {
    /// The next frame of the music, from the top when it ends; silence when
    /// there is no music, so the caller still hears a live line.
    fn music_frame(&mut self) -> Frame {
        if let Some(frame) = self.tune.next() {
            return frame;
        }
        self.tune = self.music.frames(self.codec);
        self.tune
            .next()
            .unwrap_or([self.codec.silence(); FRAME_BYTES])
    }
}

/// A sound played on a loop until stopped or the call ends (ringback while an
/// operator's phone rings).
pub(super) struct Looped {
    clip: Clip,
    frames: ClipFrames,
    codec: Codec,
    session: Arc<Session>,
}

impl Looped {
    pub(super) fn new(sound: &Sound, codec: Codec, session: Arc<Session>) -> Self {
        let clip = sound.clip(codec);
        Self {
            frames: clip.frames(codec),
            clip,
            codec,
            session,
        }
    }
}

impl Iterator for Looped {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        if self.session.end_reason().is_some() {
            return None;
        }
        if let Some(frame) = self.frames.next() {
            return Some(frame);
        }
        self.frames = self.clip.frames(self.codec);
        Some(
            self.frames
                .next()
                .unwrap_or([self.codec.silence(); FRAME_BYTES]),
        )
    }
}
