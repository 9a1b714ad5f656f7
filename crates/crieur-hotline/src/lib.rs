//! The crisis hotline: activation, IVR flows, call queues (ACD), operators, statistics.
//!
//! It drives calls through crieur-telephony and never speaks SIP itself.
