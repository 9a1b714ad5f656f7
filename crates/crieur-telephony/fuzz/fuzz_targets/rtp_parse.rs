//! Any datagram: parsing never panics, and what parses writes back the same.
#![no_main]

use crieur_telephony::rtp::{HEADER_LEN, RtpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = RtpPacket::parse(data) else {
        return;
    };
    assert!(HEADER_LEN + packet.payload.len() <= data.len());
    let rebuilt = packet.header.to_packet(packet.payload);
    let again = RtpPacket::parse(&rebuilt).expect("a packet we wrote parses");
    assert_eq!(again.header, packet.header);
    assert_eq!(again.payload, packet.payload);
});
