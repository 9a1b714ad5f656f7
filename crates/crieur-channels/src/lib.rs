//! Delivery channels: SMPP 3.4 towards an SMSC, SMTP, the mobile operators'
//! location-based SMS / cell-broadcast interface, and the demo's device simulator.
//!
//! Each connector speaks the real wire protocol of its peer; none of them decides
//! who receives what (that is crieur-dispatch's job).
