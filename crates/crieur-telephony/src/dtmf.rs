//! RFC 4733 telephone events: the 4-byte payload, a sender that turns a key press
//! into its packets, and a detector that turns received packets into key presses.
//!
//! The detector reports each press exactly once whatever the network did to its
//! packets (lost start, repeated or lost end packets, reordering): a press is one
//! (RTP timestamp, event) pair. It never reports flash or tones (events above 15).

use crate::rtp::{FRAME_SAMPLES, RtpPacket, RtpSender};
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// The payload type Crieur offers for `telephone-event/8000`.
pub const DEFAULT_PAYLOAD_TYPE: u8 = 101;
/// The volume Crieur sends (-10 dBm0, as SIPp and most phones).
pub const DEFAULT_VOLUME: u8 = 10;
/// How long Crieur holds a key: 100 ms, twice the 40 ms telephone networks need.
pub const DEFAULT_TONE: Duration = Duration::from_millis(100);
/// The final packet of an event is sent this many times (RFC 4733 §2.5.1.4).
pub const END_REPEATS: usize = 3;

/// Why a payload is not a telephone event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload too short: {0} bytes")]
    TooShort(usize),
}

/// A DTMF key: 0-9, * (10), # (11), A-D (12-15), as numbered by RFC 4733.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digit(u8);

impl Digit {
    /// The key of event code 0..=15.
    pub const fn from_code(code: u8) -> Option<Digit> {
        if code <= 15 { Some(Digit(code)) } else { None }
    }

    /// The key written as '0'-'9', '*', '#', 'A'-'D' (or 'a'-'d').
    pub fn from_char(c: char) -> Option<Digit> {
        let code = match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            'a'..='d' => c as u8 - b'a' + 12,
            _ => return None,
        };
        Some(Digit(code))
    }

    /// Every key of a string such as "12#"; `None` if one character is not a key.
    pub fn parse_all(keys: &str) -> Option<Vec<Digit>> {
        keys.chars().map(Digit::from_char).collect()
    }

    /// The RFC 4733 event code.
    pub const fn code(self) -> u8 {
        self.0
    }

    pub const fn as_char(self) -> char {
        match self.0 {
            0..=9 => (b'0' + self.0) as char,
            10 => '*',
            11 => '#',
            _ => (b'A' + self.0 - 12) as char,
        }
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

impl fmt::Debug for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digit('{}')", self.as_char())
    }
}

/// The payload of one telephone-event packet (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    /// The event is over: `duration` is final.
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// In RTP timestamp units (8 kHz) since the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    pub const LEN: usize = 4;

    /// Reads the first event of a payload (the rest, if any, is redundancy).
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        let bytes: &[u8; 4] = payload
            .first_chunk()
            .ok_or(DtmfError::TooShort(payload.len()))?;
        Ok(TelephoneEvent {
            event: bytes[0],
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & 0x3F,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let duration = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            duration[0],
            duration[1],
        ]
    }
}

/// Builds the packets of key presses on a call's RTP stream.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    payload_type: u8,
    volume: u8,
    tone: Duration,
}

impl DtmfSender {
    /// Events with the negotiated `telephone-event` payload type, held 100 ms.
    pub fn new(payload_type: u8) -> DtmfSender {
        DtmfSender {
            payload_type: payload_type & 0x7F,
            volume: DEFAULT_VOLUME,
            tone: DEFAULT_TONE,
        }
    }

    /// Holds each key for `tone` (rounded up to whole 20 ms packets, at least one).
    pub fn with_tone(mut self, tone: Duration) -> DtmfSender {
        self.tone = tone;
        self
    }

    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// The event payloads of one press, in sending order: one update per 20 ms with
    /// a growing duration, the last one with the end bit, then the end twice more.
    pub fn events(&self, digit: Digit) -> Vec<TelephoneEvent> {
        let updates = self.tone.as_millis().div_ceil(20).clamp(1, 400) as u16;
        let per_packet = FRAME_SAMPLES as u16;
        let mut events: Vec<_> = (1..=updates)
            .map(|n| TelephoneEvent {
                event: digit.code(),
                end: n == updates,
                volume: self.volume,
                duration: n * per_packet,
            })
            .collect();
        let end = events[events.len() - 1];
        events.extend(std::iter::repeat_n(end, END_REPEATS - 1));
        events
    }

    /// The packets of one press on `rtp`'s stream, each to leave 20 ms after the
    /// previous one. They share the current media time as timestamp, the first has
    /// the marker, every packet takes a new sequence number, and the media clock
    /// moves on by the time they take (audio after them starts a new talkspurt).
    pub fn packets(&self, rtp: &mut RtpSender, digit: Digit) -> Vec<Vec<u8>> {
        let timestamp = rtp.timestamp();
        let events = self.events(digit);
        let packets = events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let mut out = Vec::with_capacity(crate::rtp::HEADER_LEN + TelephoneEvent::LEN);
                rtp.packet(
                    self.payload_type,
                    i == 0,
                    timestamp,
                    &event.to_bytes(),
                    &mut out,
                );
                out
            })
            .collect();
        rtp.skip(FRAME_SAMPLES * events.len() as u32);
        packets
    }
}

/// One press seen recently, to recognise its other packets.
#[derive(Debug, Clone)]
struct Press {
    timestamp: u32,
    event: u8,
    ended: bool,
    last_seen: Instant,
}

/// Turns received telephone-event packets into key presses, each exactly once.
///
/// A press is identified by its (RTP timestamp, event): the first packet seen of a
/// pair reports the key, the others (updates, the repeated end, late or reordered
/// ones) are absorbed. Presses are remembered for the last 16 pairs. One case reuses
/// a pair: a sender replaying the very same packets (SIPp playing one pcap twice).
/// A pair that had ended and starts again (a packet with the marker, which only the
/// first packet of a press carries) after `repeat_gap` of silence is a new press.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    recent: VecDeque<Press>,
    repeat_gap: Duration,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        DtmfDetector::new()
    }
}

impl DtmfDetector {
    const REMEMBERED: usize = 16;
    /// Packets of one press arrive within 20-50 ms of each other; a replay of the
    /// same press comes hundreds of milliseconds later.
    pub const DEFAULT_REPEAT_GAP: Duration = Duration::from_millis(200);

    pub fn new() -> DtmfDetector {
        DtmfDetector::with_repeat_gap(DtmfDetector::DEFAULT_REPEAT_GAP)
    }

    pub fn with_repeat_gap(repeat_gap: Duration) -> DtmfDetector {
        DtmfDetector {
            recent: VecDeque::with_capacity(Self::REMEMBERED),
            repeat_gap,
        }
    }

    /// Takes one telephone-event packet (its RTP timestamp and marker, its payload)
    /// received at `now`; returns the key if it is a new press. Events above 15
    /// (flash, tones) are ignored.
    pub fn push(
        &mut self,
        timestamp: u32,
        marker: bool,
        event: TelephoneEvent,
        now: Instant,
    ) -> Option<Digit> {
        let digit = Digit::from_code(event.event)?;
        if let Some(press) = self
            .recent
            .iter_mut()
            .find(|p| p.timestamp == timestamp && p.event == event.event)
        {
            let replayed = press.ended
                && marker
                && !event.end
                && now.saturating_duration_since(press.last_seen) >= self.repeat_gap;
            press.last_seen = now;
            if !replayed {
                press.ended |= event.end;
                return None;
            }
            press.ended = false;
            return Some(digit);
        }
        if self.recent.len() == Self::REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(Press {
            timestamp,
            event: event.event,
            ended: event.end,
            last_seen: now,
        });
        Some(digit)
    }

    /// Takes one RTP packet already known to carry telephone events.
    pub fn push_packet(
        &mut self,
        packet: &RtpPacket<'_>,
        now: Instant,
    ) -> Result<Option<Digit>, DtmfError> {
        let event = TelephoneEvent::parse(packet.payload)?;
        Ok(self.push(packet.header.timestamp, packet.header.marker, event, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: u8, end: bool, duration: u16) -> TelephoneEvent {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
    }

    #[test]
    fn digits_and_characters() {
        let keys = Digit::parse_all("0123456789*#ABCD").unwrap();
        let codes: Vec<u8> = keys.iter().map(|d| d.code()).collect();
        assert_eq!(codes, (0..=15).collect::<Vec<_>>());
        let back: String = keys.iter().map(|d| d.as_char()).collect();
        assert_eq!(back, "0123456789*#ABCD");
        assert_eq!(Digit::from_char('b'), Digit::from_code(13));
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::from_code(16), None, "flash is not a key");
        assert_eq!(Digit::parse_all("1x"), None);
        assert_eq!(format!("{} {:?}", keys[11], keys[11]), "# Digit('#')");
    }

    #[test]
    fn payload_round_trip() {
        // The end packet of SIPp's dtmf_2833_pound.pcap.
        let bytes = [0x0B, 0x8A, 0x08, 0xC0];
        let event = TelephoneEvent::parse(&bytes).unwrap();
        assert_eq!(event, ev(11, true, 2240));
        assert_eq!(event.to_bytes(), bytes);
        let with_reserved_bit = TelephoneEvent::parse(&[1, 0x4A, 0, 0]).unwrap();
        assert_eq!(with_reserved_bit, ev(1, false, 0), "R bit ignored");
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(DtmfError::TooShort(3))
        );
        assert_eq!(
            TelephoneEvent {
                volume: 0xFF,
                ..ev(1, false, 0)
            }
            .to_bytes()[1],
            0x3F,
            "volume is six bits"
        );
    }

    #[test]
    fn sender_builds_a_press() {
        let sender = DtmfSender::new(101);
        let events = sender.events(Digit::from_char('5').unwrap());
        let durations: Vec<u16> = events.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = events.iter().map(|e| e.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);

        let mut rtp = RtpSender::with_initial(0, 7, 100, 8000);
        let packets = sender.packets(&mut rtp, Digit::from_char('#').unwrap());
        assert_eq!(packets.len(), 7);
        for (i, bytes) in packets.iter().enumerate() {
            let packet = RtpPacket::parse(bytes).unwrap();
            assert_eq!(packet.header.payload_type, 101);
            assert_eq!(packet.header.timestamp, 8000);
            assert_eq!(packet.header.sequence, 100 + i as u16);
            assert_eq!(packet.header.marker, i == 0);
            assert_eq!(TelephoneEvent::parse(packet.payload).unwrap().event, 11);
        }
        assert_eq!(
            rtp.timestamp(),
            8000 + 7 * 160,
            "the clock ran during the press"
        );
        let short = DtmfSender::new(101).with_tone(Duration::ZERO);
        assert_eq!(short.events(Digit::from_code(1).unwrap()).len(), 3);
    }

    #[test]
    fn detector_reports_each_press_once() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut detector = DtmfDetector::new();
        let mut push = |ts, marker, event, at| detector.push(ts, marker, event, ms(at));
        // SIPp's "1": 7 updates then the end three times, all at timestamp 13280.
        let mut found = Vec::new();
        for n in 0..7u16 {
            found.extend(push(
                13280,
                n == 0,
                ev(1, false, n * 320),
                u64::from(n) * 20,
            ));
        }
        for _ in 0..3 {
            found.extend(push(13280, false, ev(1, true, 2240), 140));
        }
        // "2" with its first packets lost: only the end arrives.
        found.extend(push(23200, false, ev(2, true, 2240), 700));
        found.extend(push(23200, false, ev(2, true, 2240), 700));
        // "#" reordered: the end first, then its first update; then a straggler of
        // "1", a second late.
        found.extend(push(92640, false, ev(11, true, 2240), 1100));
        found.extend(push(92640, true, ev(11, false, 320), 1101));
        found.extend(push(13280, false, ev(1, false, 640), 1102));
        // "3" without any end, followed by a new timestamp: counted once each.
        found.extend(push(31040, true, ev(3, false, 0), 1500));
        found.extend(push(31040, false, ev(3, false, 320), 1520));
        found.extend(push(31200, true, ev(3, false, 0), 1900));
        // Flash is ignored.
        assert_eq!(push(40000, true, ev(16, true, 800), 2000), None);
        let keys: String = found.iter().map(|d| d.as_char()).collect();
        assert_eq!(keys, "12#33");
    }

    #[test]
    fn detector_counts_a_replayed_press_again() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut detector = DtmfDetector::new();
        let mut count = 0;
        for start in [0, 400] {
            for n in 0..7u16 {
                let at = ms(start + u64::from(n) * 20);
                count += detector
                    .push(13280, n == 0, ev(1, false, n * 320), at)
                    .is_some() as u32;
            }
            count += detector
                .push(13280, false, ev(1, true, 2240), ms(start + 140))
                .is_some() as u32;
        }
        assert_eq!(
            count, 2,
            "SIPp playing dtmf_2833_1.pcap twice is two presses"
        );
        // The first packet of a press arriving right after its end is not a replay.
        let mut detector = DtmfDetector::new();
        assert!(
            detector
                .push(8000, false, ev(5, true, 800), ms(0))
                .is_some()
        );
        assert!(
            detector
                .push(8000, true, ev(5, false, 160), ms(30))
                .is_none()
        );
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_0003);
        let mut detector = DtmfDetector::new();
        let now = Instant::now();
        for _ in 0..10_000 {
            let len = rng.usize(0..8);
            let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            if let Ok(event) = TelephoneEvent::parse(&bytes) {
                assert_eq!(
                    TelephoneEvent::parse(&event.to_bytes()).unwrap().event,
                    event.event
                );
                let _ = detector.push(rng.u32(..), rng.bool(), event, now);
            }
        }
    }
}
