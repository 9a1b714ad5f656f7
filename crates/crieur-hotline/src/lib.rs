//! The crisis hotline at run time: activations started and stopped, each call to
//! the public number led through the IVR into a queue and to an operator's phone,
//! and the operators' desks kept in step.
//!
//! Who gets which call is decided by the pure distributor in
//! [`crieur_domain::acd`]; this crate carries out its decisions on real calls
//! ([`crieur_telephony::calls`]) and records what happens. It must never leave a
//! call or an operator stuck: every call task, however it ends, tells the
//! distributor (see `call::Leave`).

mod call;
mod music;
mod records;
mod service;

pub use service::{
    ActivationError, CallInfo, Desk, DeskError, DeskView, HotlineEvent, Hotlines, LiveView,
    RuntimeOptions,
};
