//! Any sequence of telephone-event packets: the payload parser and the key
//! detector never panic, and a key is never reported more often than its packets.
#![no_main]

use crieur_telephony::dtmf::{DtmfDetector, TelephoneEvent};
use crieur_telephony::rtp::RtpPacket;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = TelephoneEvent::parse(data) {
        assert_eq!(TelephoneEvent::parse(&event.to_bytes()), Ok(event));
    }
    // The input as a stream of packets: 1 byte of delay, 1 byte of length, the bytes.
    let start = Instant::now();
    let mut detector = DtmfDetector::new();
    let mut now = start;
    let mut rest = data;
    let (mut packets, mut keys) = (0u32, 0u32);
    while let [delay, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;
        now += Duration::from_millis(u64::from(*delay));
        if let Ok(packet) = RtpPacket::parse(packet) {
            packets += 1;
            if let Ok(Some(_)) = detector.push_packet(&packet, now) {
                keys += 1;
            }
        }
    }
    assert!(keys <= packets);
});
