//! SIP signalling on rsipstack: calls placed (voice alerts, call-outs) and received
//! (the hotline), OPTIONS keep-alives, and a registrar for operators' phones.
//!
//! SDP bodies pass through as text: the media layer builds and reads them. This
//! module never decides whom to call, and never logs a password. rsipstack
//! itself logs every datagram at `info` (digest answers included, never
//! passwords): run with `rsipstack=warn` in the tracing filter.
//!
//! Timers, with the default T1 of 500 ms: an INVITE nobody answers at all is
//! given up at Timer B (32 s) or at the call's ring timeout if shorter; an
//! answered call whose ACK never comes ends after 64 × T1 (32 s) with a BYE; an
//! incoming call nobody decides on is refused 480 after `max_ringing` (180 s).
//!
//! Inside an answered call, media is never renegotiated: a re-INVITE or UPDATE
//! without SDP or with the same SDP (a session refresh) gets 200 with our SDP,
//! any real change (hold, new codec or address) gets 488 and the call goes on;
//! INFO, OPTIONS, NOTIFY and MESSAGE get 200 and are dropped, REFER gets 603.
//!
//! Attacks: datagrams rsipstack would silently drop are checked first (400, or
//! 501 for an unknown method, when the request says where to answer); more than
//! `invite_rate_per_source` new INVITEs a second from one IP, more than
//! `max_dialogs` dialogs or a full incoming queue get 503 with Retry-After, with
//! at most one log line a second about it.

mod call;
mod config;
mod digest;
mod dispatch;
mod endpoint;
mod guard;
mod incoming;
mod limit;
mod outgoing;
mod registrar;
mod stats;

pub use call::{Call, EndReason};
pub use config::{Credentials, ExpiresBounds, SipConfig};
pub use endpoint::SipEndpoint;
pub use incoming::{IncomingCall, IncomingCalls, Party};
pub use outgoing::{CallRequest, OutgoingCall};
pub use registrar::{Registration, SipTransport};
pub use stats::SipStats;

pub(crate) use call::Session;
/// The check in front of the SIP stack, exported for the fuzz target only.
#[doc(hidden)]
pub use guard::{Verdict, inspect};

pub(crate) use endpoint::Shared;

/// Starting the endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("neither UDP nor TCP is enabled")]
    NoTransport,
    #[error("SIP stack: {0}")]
    Stack(String),
}

/// A call could not be placed or handled (its outcome is [`OutgoingCall`]).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid call target {0:?}")]
    InvalidTarget(String),
    #[error("{0} has no live registration")]
    NotRegistered(String),
    #[error("too many calls in progress")]
    Overloaded,
    #[error("the call is not in a state that allows this")]
    InvalidState,
    #[error("{0} is not a final status code (300-699)")]
    InvalidCode(u16),
    #[error("SIP stack: {0}")]
    Stack(String),
}
