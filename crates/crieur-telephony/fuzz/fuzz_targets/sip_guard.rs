//! Any UDP datagram on the SIP port: the guard in front of rsipstack and
//! rsipstack's own parser never panic, and what the guard answers by itself is
//! one of its two status lines, well formed, and hardly longer than the request
//! (the socket must not amplify a spoofed flood).
#![no_main]

use crieur_telephony::sip::{Verdict, inspect};
use libfuzzer_sys::fuzz_target;
use rsipstack::sip::SipMessage;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};

const SERVER: &str = "Crieur";

fuzz_target!(|data: &[u8]| {
    if let Verdict::Reply { bytes, .. } = inspect(data, SERVER) {
        let text = std::str::from_utf8(&bytes).expect("replies are UTF-8");
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request\r\n")
                || text.starts_with("SIP/2.0 501 Not Implemented\r\n"),
            "{text:?}"
        );
        let head = text
            .strip_suffix("\r\n\r\n")
            .expect("ends the header section");
        assert!(
            head.split("\r\n").all(|l| !l.contains(['\r', '\n'])),
            "{text:?}"
        );
        assert!(bytes.len() <= data.len() + 256 + SERVER.len());
    }
    // What the dialog layer reads of a message that got through.
    if let Ok(message) = SipMessage::try_from(data) {
        let _ = message.to_string();
        let _ = message.via_header().and_then(|v| v.typed());
        let _ = message
            .cseq_header()
            .and_then(|c| Ok((c.seq()?, c.method()?)));
        let _ = message.from_header().and_then(|f| f.typed());
        let _ = message.to_header().and_then(|t| t.typed());
        let _ = message.contact_header().and_then(|c| c.typed());
    }
});
