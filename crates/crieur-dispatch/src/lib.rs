//! Durable fan-out of a released alert: plan, rate-limit, send, retry, receipts.
//!
//! The recipient plan is stored before anything is sent; nothing here may drop or
//! silently duplicate a message.
