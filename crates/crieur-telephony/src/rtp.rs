//! RTP (RFC 3550): reading and writing packet headers, numbering an outgoing stream,
//! and sending 20 ms frames on a steady clock.
//!
//! Parsing is total: any bytes from the network give a packet or an error, never a
//! panic. Timing follows an absolute schedule (start + n × 20 ms), so a stream never
//! drifts however long it plays.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// Samples in one 20 ms frame at 8 kHz; with G.711 also the bytes of its payload.
pub const FRAME_SAMPLES: u32 = 160;
/// One G.711 frame's payload: 160 codes.
pub const FRAME_BYTES: usize = FRAME_SAMPLES as usize;
/// The packet interval of every stream Crieur sends.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// The fixed RTP header, without CSRCs or extension.
pub const HEADER_LEN: usize = 12;

/// One 20 ms G.711 frame.
pub type Frame = [u8; FRAME_BYTES];

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet too short: {0} bytes")]
    TooShort(usize),
    #[error("RTP version {0}, not 2")]
    BadVersion(u8),
    #[error("RTP CSRC list or header extension runs past the packet")]
    Truncated,
    #[error("RTP padding of {0} bytes does not fit the packet")]
    BadPadding(usize),
    #[error("RTCP packet (type {0}) on the RTP port")]
    Rtcp(u8),
}

/// The fields of an RTP header that Crieur reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    /// 0..=127.
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed packet borrowing its payload from the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    /// How many contributing sources the mixer listed (their ids are skipped).
    pub csrc_count: u8,
    /// The profile id of a header extension, which is skipped.
    pub extension_profile: Option<u16>,
    /// The payload without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Reads one packet. Version must be 2; the CSRC list, the extension and the
    /// padding must fit inside `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let fixed: &[u8; HEADER_LEN] =
            bytes.first_chunk().ok_or(RtpError::TooShort(bytes.len()))?;
        let version = fixed[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padding = fixed[0] & 0x20 != 0;
        let extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0F;
        let marker = fixed[1] & 0x80 != 0;
        let payload_type = fixed[1] & 0x7F;
        // RTCP SR/RR/SDES/BYE/APP (200..=204) read as marker + 72..=76: RFC 5761 §4.
        if (72..=76).contains(&payload_type) && marker {
            return Err(RtpError::Rtcp(fixed[1]));
        }
        let header = RtpHeader {
            marker,
            payload_type,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        };

        let mut rest = bytes
            .get(HEADER_LEN + 4 * usize::from(csrc_count)..)
            .ok_or(RtpError::Truncated)?;
        let mut extension_profile = None;
        if extension {
            let ext: &[u8; 4] = rest.first_chunk().ok_or(RtpError::Truncated)?;
            extension_profile = Some(u16::from_be_bytes([ext[0], ext[1]]));
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            rest = rest.get(4 + 4 * words..).ok_or(RtpError::Truncated)?;
        }
        if padding {
            // The last byte counts the padding, itself included.
            let count = usize::from(rest.last().copied().unwrap_or(0));
            if count == 0 || count > rest.len() {
                return Err(RtpError::BadPadding(count));
            }
            rest = &rest[..rest.len() - count];
        }
        Ok(RtpPacket {
            header,
            csrc_count,
            extension_profile,
            payload: rest,
        })
    }
}

impl RtpHeader {
    /// Appends this header (no CSRC, no extension, no padding) and `payload` to `out`.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.reserve(HEADER_LEN + payload.len());
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// This header and `payload` as a new packet.
    pub fn to_packet(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(payload, &mut out);
        out
    }
}

/// Numbers one outgoing stream: one SSRC, consecutive sequence numbers, and an 8 kHz
/// media clock that advances with the audio sent or skipped. Audio and RFC 4733
/// events of a call share one `RtpSender` (same SSRC and sequence space).
#[derive(Debug, Clone)]
pub struct RtpSender {
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    /// The media-clock time of the next audio sample to send.
    timestamp: u32,
    /// The next audio packet starts a talkspurt.
    marker: bool,
}

impl RtpSender {
    /// A stream of `payload_type` audio with a random SSRC, initial sequence number
    /// and timestamp, as RFC 3550 asks.
    pub fn new(payload_type: u8) -> RtpSender {
        RtpSender::with_initial(
            payload_type,
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u32(..),
        )
    }

    /// A stream with chosen starting values (for tests and replays).
    pub fn with_initial(payload_type: u8, ssrc: u32, sequence: u16, timestamp: u32) -> RtpSender {
        RtpSender {
            payload_type: payload_type & 0x7F,
            ssrc,
            sequence,
            timestamp,
            marker: true,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Changes the audio payload type (a re-INVITE changed the codec); the stream goes on.
    pub fn set_payload_type(&mut self, payload_type: u8) {
        self.payload_type = payload_type & 0x7F;
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// The media-clock time of the next audio sample.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Sets the marker on the next audio packet (the first after a silence).
    pub fn start_talkspurt(&mut self) {
        self.marker = true;
    }

    /// Appends the next audio packet to `out` and advances the media clock by the
    /// payload's length (G.711: one byte per sample).
    pub fn audio(&mut self, payload: &[u8], out: &mut Vec<u8>) -> RtpHeader {
        let marker = std::mem::take(&mut self.marker);
        let header = self.packet(self.payload_type, marker, self.timestamp, payload, out);
        self.timestamp = self
            .timestamp
            .wrapping_add(u32::try_from(payload.len()).unwrap_or(u32::MAX));
        header
    }

    /// Lets `samples` of media time pass without sending audio (silence, or an
    /// RFC 4733 event); the next audio packet starts a talkspurt.
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.marker = true;
    }

    /// Appends a packet of another payload type on this stream (an RFC 4733 event)
    /// with the given marker and timestamp. It takes the next sequence number but
    /// leaves the media clock alone.
    pub fn packet(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> RtpHeader {
        let header = RtpHeader {
            marker,
            payload_type: payload_type & 0x7F,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.sequence = self.sequence.wrapping_add(1);
        header.write(payload, out);
        header
    }
}

/// An absolute 20 ms schedule: tick n is due at start + n × 20 ms. A tick that is
/// late runs at once, so short stalls are caught up; after a stall longer than
/// `MAX_CATCH_UP` frames the schedule restarts from now rather than bursting.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    ticks: u64,
    period: Duration,
    restarts: u64,
}

impl Pacer {
    /// How many late frames may leave back to back before the schedule restarts.
    pub const MAX_CATCH_UP: u32 = 5;

    /// A schedule whose first tick is due at `start`.
    pub fn new(start: Instant, period: Duration) -> Pacer {
        Pacer {
            start,
            ticks: 0,
            period,
            restarts: 0,
        }
    }

    /// When the next tick is due.
    pub fn next_deadline(&self) -> Instant {
        let offset = self
            .period
            .saturating_mul(u32::try_from(self.ticks).unwrap_or(u32::MAX));
        self.start + offset
    }

    /// Waits for the next tick. Returns how many ticks were skipped by a restart
    /// (0 normally): the caller advances its media clock by them.
    pub async fn tick(&mut self) -> u32 {
        let deadline = self.next_deadline();
        tokio::time::sleep_until(deadline).await;
        let now = Instant::now();
        let mut skipped = 0;
        if now > deadline + self.period * Self::MAX_CATCH_UP {
            let late = now.duration_since(deadline).as_nanos() / self.period.as_nanos().max(1);
            skipped = u32::try_from(late).unwrap_or(u32::MAX);
            self.start = now;
            self.ticks = 0;
            self.restarts += 1;
        }
        self.ticks += 1;
        skipped
    }

    /// How often the schedule restarted after a long stall.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }
}

/// Sends `frames` from `socket` to `peer`, one RTP packet every 20 ms on an
/// absolute schedule starting now; the first packet carries the marker. Returns the
/// number of packets sent; stops at the first socket error.
pub async fn send_paced<I>(
    socket: &UdpSocket,
    peer: SocketAddr,
    sender: &mut RtpSender,
    frames: I,
) -> io::Result<u64>
where
    I: IntoIterator<Item = Frame>,
{
    let mut pacer = Pacer::new(Instant::now(), FRAME_DURATION);
    let mut packet = Vec::with_capacity(HEADER_LEN + FRAME_BYTES);
    let mut sent = 0;
    sender.start_talkspurt();
    for frame in frames {
        let skipped = pacer.tick().await;
        if skipped > 0 {
            sender.skip(skipped * FRAME_SAMPLES);
        }
        packet.clear();
        sender.audio(&frame, &mut packet);
        socket.send_to(&packet, peer).await?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 0xFFFF,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x0E05_384E,
        }
    }

    #[test]
    fn build_then_parse() {
        let bytes = header().to_packet(&[1, 2, 3]);
        assert_eq!(
            bytes[..HEADER_LEN],
            [
                0x80, 0x80, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x0E, 0x05, 0x38, 0x4E
            ]
        );
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(packet.header, header());
        assert_eq!(packet.payload, [1, 2, 3]);
        assert_eq!(packet.csrc_count, 0);
        assert_eq!(packet.extension_profile, None);
    }

    #[test]
    fn parses_a_sipp_dtmf_packet() {
        // The first packet of /usr/share/sip-tester/dtmf_2833_1.pcap.
        let bytes = [
            0x80, 0xE5, 0x1F, 0x30, 0x00, 0x00, 0x33, 0xE0, 0x0E, 0x05, 0x38, 0x4E, 0x01, 0x0A,
            0x00, 0x00,
        ];
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(packet.header.marker);
        assert_eq!(packet.header.payload_type, 101);
        assert_eq!(packet.header.sequence, 7984);
        assert_eq!(packet.header.timestamp, 13280);
        assert_eq!(packet.payload, [0x01, 0x0A, 0x00, 0x00]);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        let mut bytes = header().to_packet(&[]);
        bytes[0] = 0x80 | 0x20 | 0x10 | 2; // padding, extension, 2 CSRCs
        bytes.extend_from_slice(&[0; 8]); // CSRCs
        bytes.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 9, 9, 9, 9]); // one-word extension
        bytes.extend_from_slice(&[7, 7]); // payload
        bytes.extend_from_slice(&[0, 0, 3]); // padding of 3
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(packet.csrc_count, 2);
        assert_eq!(packet.extension_profile, Some(0xBEDE));
        assert_eq!(packet.payload, [7, 7]);
    }

    #[test]
    fn refuses_what_is_not_rtp() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort(11)));
        let mut bytes = header().to_packet(&[1]);
        bytes[0] = 0x40;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::BadVersion(1)));
        bytes[0] = 0x8F; // 15 CSRCs in a 13-byte packet
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::Truncated));
        bytes[0] = 0x90; // extension header missing
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::Truncated));
        bytes[0] = 0xA0; // padding count 1 fits: empty payload
        assert_eq!(RtpPacket::parse(&bytes).unwrap().payload, [] as [u8; 0]);
        let mut padded = header().to_packet(&[0]);
        padded[0] = 0xA0; // padding count 0
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(0)));
        let mut padded = header().to_packet(&[5]);
        padded[0] = 0xA0; // padding count 5 > 1 byte
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(5)));
        let mut rtcp = header().to_packet(&[0; 8]);
        rtcp[1] = 200; // sender report
        assert_eq!(RtpPacket::parse(&rtcp), Err(RtpError::Rtcp(200)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_0001);
        let mut bytes = Vec::new();
        let mut parsed = 0;
        for _ in 0..10_000 {
            bytes.clear();
            let len = rng.usize(0..64);
            bytes.extend((0..len).map(|_| rng.u8(..)));
            if rng.bool() && !bytes.is_empty() {
                bytes[0] = 0x80 | (bytes[0] & 0x3F); // version 2 more often
            }
            if let Ok(packet) = RtpPacket::parse(&bytes) {
                assert!(packet.payload.len() <= bytes.len() - HEADER_LEN);
                parsed += 1;
            }
        }
        assert!(parsed > 100, "the generator should reach valid packets too");
    }

    #[test]
    fn sender_numbers_the_stream() {
        let mut sender = RtpSender::with_initial(0, 42, 0xFFFE, u32::MAX - 100);
        let mut out = Vec::new();
        let first = sender.audio(&[0xFF; FRAME_BYTES], &mut out);
        assert!(first.marker, "first packet starts a talkspurt");
        assert_eq!(
            (first.sequence, first.timestamp, first.ssrc),
            (0xFFFE, u32::MAX - 100, 42)
        );
        let second = sender.audio(&[0xFF; FRAME_BYTES], &mut out);
        assert!(!second.marker);
        assert_eq!(
            (second.sequence, second.timestamp),
            (0xFFFF, 59),
            "both wrap"
        );
        sender.skip(FRAME_SAMPLES);
        let third = sender.audio(&[0xFF; FRAME_BYTES], &mut out);
        assert!(third.marker, "after a silence");
        assert_eq!(
            (third.sequence, third.timestamp),
            (0, 59 + 2 * FRAME_SAMPLES)
        );
        let event = sender.packet(101, true, 7, &[1, 0, 0, 0], &mut out);
        assert_eq!(
            (event.sequence, event.timestamp, event.payload_type),
            (1, 7, 101)
        );
        assert_eq!(
            sender.timestamp(),
            59 + 3 * FRAME_SAMPLES,
            "events leave the clock alone"
        );
        assert_eq!(out.len(), 3 * (HEADER_LEN + FRAME_BYTES) + HEADER_LEN + 4);
    }

    #[test]
    fn random_start_differs_between_streams() {
        let a = RtpSender::new(0);
        let b = RtpSender::new(0);
        assert!(
            (a.ssrc(), a.next_sequence(), a.timestamp())
                != (b.ssrc(), b.next_sequence(), b.timestamp())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_keeps_an_absolute_schedule() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start, FRAME_DURATION);
        for n in 0..10u32 {
            assert_eq!(pacer.tick().await, 0);
            assert_eq!(Instant::now() - start, FRAME_DURATION * n);
            // Work inside a tick does not push the next one back.
            tokio::time::advance(Duration::from_millis(7)).await;
        }
        // A stall of 3 frames is caught up at once...
        tokio::time::advance(FRAME_DURATION * 3).await;
        let before = Instant::now();
        for _ in 0..3 {
            assert_eq!(pacer.tick().await, 0);
        }
        assert_eq!(Instant::now(), before);
        // ...a stall of a second restarts the schedule and reports the skipped frames.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(pacer.tick().await >= 40);
        assert_eq!(pacer.restarts(), 1);
        let restarted = Instant::now();
        pacer.tick().await;
        assert_eq!(Instant::now() - restarted, FRAME_DURATION);
    }
}
