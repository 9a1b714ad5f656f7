//! Voice alerts as a dispatch channel: call each recipient through the SIP
//! trunk, play the message in their language twice, ask them to press 1, and
//! say whether they confirmed. The prompts are rendered once per text and
//! language (the TTS cache); each call has its own RTP session.
//!
//! Busy and no answer are temporary (the engine retries them later); numbers
//! the network refuses for good are permanent; a trunk that does not answer at
//! all is unavailable, so the next voice provider takes over.

use crate::dtmf::Digit;
use crate::media::{Clip, MediaConfig, MediaSocket, PlayOutcome};
use crate::sdp::{LocalMedia, SessionDescription};
use crate::sip::{CallError, CallRequest, Credentials, OutgoingCall, SipEndpoint};
use crate::tts::{self, Tts};
use crieur_channels::{Accepted, ChannelError, Envelope, Outbound, Provider};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How Crieur calls through one SIP trunk.
#[derive(Clone)]
pub struct VoiceConfig {
    /// Unique among providers; stored with each delivery.
    pub name: String,
    /// The trunk's address, `host:port` (add `;transport=tcp` for TCP): a
    /// number `+32…` is called as `sip:+32…@trunk`.
    pub trunk: String,
    /// The account on the trunk, for its digest challenge.
    pub credentials: Option<Credentials>,
    /// The number or name shown to the callee.
    pub from_user: String,
    pub from_display: Option<String>,
    pub ring_timeout: Duration,
    /// Calls in progress at once.
    pub concurrency: usize,
    /// New calls per second.
    pub calls_per_second: Option<f64>,
    /// How long to wait for the 1 after the last prompt.
    pub confirm_wait: Duration,
    pub media: MediaConfig,
}

impl fmt::Debug for VoiceConfig {
    // The trunk password stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoiceConfig")
            .field("name", &self.name)
            .field("trunk", &self.trunk)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| (&c.user, "<redacted>")),
            )
            .field("from_user", &self.from_user)
            .field("concurrency", &self.concurrency)
            .field("calls_per_second", &self.calls_per_second)
            .finish_non_exhaustive()
    }
}

impl VoiceConfig {
    pub fn new(name: impl Into<String>, trunk: impl Into<String>) -> VoiceConfig {
        VoiceConfig {
            name: name.into(),
            trunk: trunk.into(),
            credentials: None,
            from_user: "crieur".into(),
            from_display: None,
            ring_timeout: Duration::from_secs(30),
            concurrency: 100,
            calls_per_second: Some(20.0),
            confirm_wait: Duration::from_secs(8),
            media: MediaConfig::default(),
        }
    }
}

/// Places voice alerts through a SIP endpoint.
pub struct VoiceProvider {
    config: VoiceConfig,
    sip: Arc<SipEndpoint>,
    tts: Tts,
    /// Answered calls whose media session is running.
    in_media: Arc<AtomicUsize>,
}

impl fmt::Debug for VoiceProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VoiceProvider({})", self.config.name)
    }
}

/// What became of one answered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallReport {
    pub confirmed: bool,
    /// RTP packets we sent: the audio really left.
    pub packets_sent: u64,
    /// RTP packets the far end sent us (a phone echoing, or talking).
    pub packets_received: u64,
    /// From sending the INVITE to its 200 OK (ringing included).
    pub answered_after: Duration,
}

/// Counts a call among those with media running, until dropped.
struct InMedia(Arc<AtomicUsize>);

impl InMedia {
    fn enter(gauge: &Arc<AtomicUsize>) -> InMedia {
        gauge.fetch_add(1, Ordering::Relaxed);
        InMedia(gauge.clone())
    }
}

impl Drop for InMedia {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl VoiceProvider {
    pub fn new(config: VoiceConfig, sip: Arc<SipEndpoint>, tts: Tts) -> VoiceProvider {
        VoiceProvider {
            config,
            sip,
            tts,
            in_media: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Calls answered and still playing or listening (their RTP session runs).
    pub fn calls_in_media(&self) -> usize {
        self.in_media.load(Ordering::Relaxed)
    }

    fn target(&self, number: &str) -> Result<String, ChannelError> {
        let valid = number.len() > 3
            && number.starts_with('+')
            && number[1..].chars().all(|c| c.is_ascii_digit());
        if !valid {
            return Err(ChannelError::Permanent(format!(
                "not an E.164 number: {number:?}"
            )));
        }
        Ok(format!("sip:{number}@{}", self.config.trunk))
    }

    async fn prompts(&self, language: &str, script: &str) -> Result<tts::Prompt, ChannelError> {
        let fail = |e: tts::TtsError| match e {
            tts::TtsError::UnsupportedLanguage(_)
            | tts::TtsError::TooLong { .. }
            | tts::TtsError::Empty => ChannelError::Permanent(format!("text-to-speech: {e}")),
            e => ChannelError::Temporary(format!("text-to-speech: {e}")),
        };
        let message = self.tts.render(language, script).await.map_err(fail)?;
        let question = tts::confirm_prompt(language).unwrap_or(tts::CONFIRM_EN);
        let confirm = self.tts.render(language, question).await.map_err(fail)?;
        Ok(tts::concat(&[
            tts::silence(300),
            message.clone(),
            tts::silence(1_000),
            message,
            tts::silence(500),
            confirm,
        ]))
    }

    /// Calls `number`, plays `script` twice in `language` and asks for a 1.
    pub async fn call(
        &self,
        delivery: i64,
        number: &str,
        language: &str,
        script: &str,
    ) -> Result<(String, CallReport), ChannelError> {
        let uri = self.target(number)?;
        let audio = self.prompts(language, script).await?;
        let socket = MediaSocket::bind(&self.config.media)
            .await
            .map_err(|e| ChannelError::Unavailable(format!("no RTP port: {e}")))?;
        let local = LocalMedia::new(socket.local_addr().ip(), socket.local_addr().port());
        let mut request = CallRequest::new(uri, local.offer().to_string());
        request.from_user.clone_from(&self.config.from_user);
        request.from_display.clone_from(&self.config.from_display);
        request.ring_timeout = self.config.ring_timeout;
        request.credentials.clone_from(&self.config.credentials);
        let invited = Instant::now();
        let placed = self.sip.call(request).await.map_err(|e| match e {
            CallError::InvalidTarget(t) => ChannelError::Permanent(format!("invalid target {t}")),
            CallError::Overloaded => ChannelError::Throttled("too many calls in progress".into()),
            e => ChannelError::Temporary(e.to_string()),
        })?;
        let (sdp_answer, call) = match placed {
            OutgoingCall::Answered { sdp_answer, call } => (sdp_answer, call),
            OutgoingCall::Busy => return Err(ChannelError::Temporary("busy".into())),
            OutgoingCall::NoAnswer => return Err(ChannelError::Temporary("no answer".into())),
            OutgoingCall::Rejected { code, reason } => {
                let why = format!("sip {code} {reason}");
                // Numbers that do not exist or refuse for good.
                return Err(if matches!(code, 403 | 404 | 410 | 484 | 485 | 604 | 606) {
                    ChannelError::Permanent(why)
                } else {
                    ChannelError::Temporary(why)
                });
            }
            OutgoingCall::Unreachable { reason } => {
                return Err(ChannelError::Unavailable(format!(
                    "trunk unreachable: {reason}"
                )));
            }
        };
        let answered_after = invited.elapsed();
        let call_id = call.call_id().to_owned();
        let negotiated = match SessionDescription::parse(&sdp_answer)
            .map_err(|e| e.to_string())
            .and_then(|a| local.accept_answer(&a).map_err(|e| e.to_string()))
        {
            Ok(n) => n,
            Err(e) => {
                let _ = call.hangup().await;
                return Err(ChannelError::Permanent(format!("unusable SDP answer: {e}")));
            }
        };
        let mut session = socket.start(negotiated);
        let in_media = InMedia::enter(&self.in_media);
        let clip = Clip::from_pcm(negotiated.codec, audio.samples());
        let mut playback = session.play_clip(&clip);
        let one = Digit::from_char('1');
        let mut confirmed = false;
        let mut hung_up = false;
        let mut played = false;
        let deadline = tokio::time::sleep(clip.duration() + self.config.confirm_wait);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                digit = session.next_digit() => match digit {
                    Some(d) if Some(d) == one => { confirmed = true; break; }
                    Some(_) => {}
                    None => break,
                },
                outcome = playback.finished(), if !played => {
                    played = true;
                    if matches!(outcome, PlayOutcome::Stopped { .. }) { break; }
                }
                _ = call.ended() => { hung_up = true; break; }
                () = &mut deadline => break,
            }
        }
        if confirmed && !hung_up {
            let thanks = tts::confirmed_prompt(language).unwrap_or(tts::CONFIRMED_EN);
            if let Ok(t) = self.tts.render(language, thanks).await {
                let mut p = session.play_clip(&Clip::from_pcm(negotiated.codec, t.samples()));
                tokio::select! {
                    _ = p.finished() => {}
                    _ = call.ended() => { hung_up = true; }
                }
            }
        }
        if !hung_up {
            let _ = call.hangup().await;
        }
        let stats = session.close();
        drop(in_media);
        tracing::info!(
            provider = %self.config.name,
            delivery,
            call_id = %call_id,
            confirmed,
            packets_sent = stats.packets_sent,
            "voice alert call ended"
        );
        Ok((
            call_id,
            CallReport {
                confirmed,
                packets_sent: stats.packets_sent,
                packets_received: stats.packets_received,
                answered_after,
            },
        ))
    }
}

#[async_trait::async_trait]
impl Provider for VoiceProvider {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn channels(&self) -> &'static [&'static str] {
        &["voice"]
    }

    fn concurrency(&self) -> usize {
        self.config.concurrency.max(1)
    }

    fn rate(&self) -> Option<f64> {
        self.config.calls_per_second
    }

    fn ready(&self) -> bool {
        true
    }

    async fn send(&self, envelope: &Envelope) -> Result<Accepted, ChannelError> {
        let Outbound::Voice {
            to,
            language,
            script,
        } = &envelope.message
        else {
            return Err(ChannelError::Permanent(format!(
                "a voice provider cannot send {}",
                envelope.message.channel()
            )));
        };
        let (call_id, report) = self.call(envelope.delivery, to, language, script).await?;
        Ok(Accepted {
            references: vec![call_id],
            reach: None,
            confirmed: report.confirmed,
        })
    }
}
