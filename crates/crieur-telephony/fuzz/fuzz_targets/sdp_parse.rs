//! Any SIP body: parsing never panics, and what parses writes back to an SDP that
//! reads the same (when the CRLF line ends we write still fit the size limit).
#![no_main]

use crieur_telephony::sdp::{LocalMedia, MAX_LEN, SessionDescription};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let written = sdp.to_string();
    if written.len() <= MAX_LEN {
        let again = SessionDescription::parse(&written).expect("an SDP we wrote parses");
        assert_eq!(again, sdp);
    }
    // Negotiating against a hostile offer or answer never panics either.
    let ours = LocalMedia::new([127, 0, 0, 1].into(), 7000);
    let _ = ours.answer(&sdp);
    let _ = ours.accept_answer(&sdp);
});
