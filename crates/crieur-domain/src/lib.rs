//! Crieur's domain: pure types and rules, shared by every other crate.
//!
//! Nothing here performs I/O, reads the clock or the environment: values are parsed
//! at the boundary into the types below and trusted everywhere else.

pub mod access;
pub mod acd;
pub mod address;
pub mod alert;
pub mod audit;
pub mod cap;
pub mod citizen;
pub mod contact;
pub mod credentials;
pub mod hotline;
pub mod language;
pub mod matching;
pub mod nis;
pub mod population;
pub mod relatives;
pub mod sms;
pub mod staffing;
pub mod targeting;
pub mod templates;
pub mod territory;
pub mod text;

pub use language::Language;
pub use nis::{Level, NisCode};
pub use territory::{Territories, Territory};
