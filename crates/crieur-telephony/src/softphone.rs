//! A phone for the demo's device simulator: it calls a number over SIP with its
//! own RTP session, sends keys as RFC 4733 events, hands over what it hears, and
//! hangs up. With it, a browser button drives the real hotline (IVR, queues,
//! operators) through the same SIP endpoint a real caller reaches. It is a
//! simulation and must only be offered where the simulator is.

use crate::dtmf::Digit;
use crate::g711::Codec;
use crate::media::{MediaConfig, MediaSession, MediaSocket};
use crate::sdp::{LocalMedia, SessionDescription};
use crate::sip::{Call, CallError, CallRequest, EndReason, OutgoingCall, SipEndpoint};
use std::time::Duration;
use tokio::sync::mpsc;

/// Why the call did not get through.
#[derive(Debug, thiserror::Error)]
pub enum SoftphoneError {
    #[error("no RTP port: {0}")]
    Media(#[from] std::io::Error),
    #[error("SIP: {0}")]
    Sip(#[from] CallError),
    #[error("the call was not answered: {0}")]
    NotAnswered(String),
    #[error("unusable SDP answer: {0}")]
    Sdp(String),
    #[error("{0:?} is not a phone key")]
    NotAKey(char),
}

/// A call in progress from the simulated phone.
pub struct Softphone {
    call: Call,
    media: MediaSession,
    codec: Codec,
}

impl std::fmt::Debug for Softphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Softphone")
            .field("call_id", &self.call.call_id())
            .finish_non_exhaustive()
    }
}

impl Softphone {
    /// Calls `to` (`sip:1771@127.0.0.1:5060`) from `from_user` and waits for the
    /// answer.
    pub async fn dial(
        endpoint: &SipEndpoint,
        to: &str,
        from_user: &str,
        media: &MediaConfig,
        ring_timeout: Duration,
    ) -> Result<Softphone, SoftphoneError> {
        let socket = MediaSocket::bind(media).await?;
        let local = LocalMedia::new(socket.local_addr().ip(), socket.local_addr().port());
        let mut request = CallRequest::new(to, local.offer().to_string());
        request.from_user = from_user.to_owned();
        request.from_display = Some("Simulated phone".to_owned());
        request.ring_timeout = ring_timeout;
        let (sdp_answer, call) = match endpoint.call(request).await? {
            OutgoingCall::Answered { sdp_answer, call } => (sdp_answer, call),
            other => return Err(SoftphoneError::NotAnswered(format!("{other:?}"))),
        };
        let negotiated = match SessionDescription::parse(&sdp_answer)
            .map_err(|e| e.to_string())
            .and_then(|a| local.accept_answer(&a).map_err(|e| e.to_string()))
        {
            Ok(n) => n,
            Err(e) => {
                let _ = call.hangup().await;
                return Err(SoftphoneError::Sdp(e));
            }
        };
        let codec = negotiated.codec;
        Ok(Softphone {
            call,
            media: socket.start(negotiated),
            codec,
        })
    }

    /// The SIP Call-ID: the one the called side sees too.
    pub fn call_id(&self) -> &str {
        self.call.call_id()
    }

    /// Presses a key (0-9, *, #, A-D).
    pub fn press(&self, key: char) -> Result<(), SoftphoneError> {
        let digit = Digit::from_char(key).ok_or(SoftphoneError::NotAKey(key))?;
        self.media.send_digit(digit);
        Ok(())
    }

    /// What the phone hears, as 8 kHz linear PCM, 20 ms a message, from now on.
    pub fn listen(&self, capacity: usize) -> mpsc::Receiver<Vec<i16>> {
        let mut frames = self.media.audio_frames(capacity);
        let codec = self.codec;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                let mut pcm = Vec::with_capacity(frame.payload.len());
                codec.decode_into(&frame.payload, &mut pcm);
                if tx.send(pcm).await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    pub fn end_reason(&self) -> Option<EndReason> {
        self.call.end_reason()
    }

    /// Waits until the call ends, whoever ends it.
    pub async fn ended(&self) -> EndReason {
        self.call.ended().await
    }

    pub async fn hang_up(&self) -> Result<(), SoftphoneError> {
        Ok(self.call.hangup().await?)
    }
}
