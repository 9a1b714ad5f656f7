//! Telephony: SIP signalling, RTP media (G.711, RFC 4733 events) and text-to-speech
//! prompts, for voice alerts and for the hotline's calls.
//!
//! It places and answers calls for others; it never decides whom to call.

pub mod calls;
pub mod dtmf;
pub mod g711;
pub mod media;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod softphone;
pub mod tts;
pub mod voice;
