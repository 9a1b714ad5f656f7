//! G.711 (ITU-T): µ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8)
//! between 16-bit linear PCM and 8-bit codes, bit-exact with the ITU reference
//! tables. One code is one sample at 8 kHz, so a 20 ms frame is 160 bytes.
//!
//! Pure integer arithmetic and 256-entry tables built at compile time: no state, no
//! allocation, never panics.

/// Samples per second of every G.711 stream (and of the RTP clock that carries it).
pub const SAMPLE_RATE: u32 = 8000;

/// µ-law encodes with this bias added to the magnitude (ITU-T G.711, table 2).
const ULAW_BIAS: i32 = 0x84;
/// Magnitudes above this clip: 32635 + bias still fits the top segment.
const ULAW_CLIP: i32 = 32635;

/// The two G.711 laws, as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, "PCMU/8000", static RTP payload type 0.
    Pcmu,
    /// A-law, "PCMA/8000", static RTP payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec of a static payload type, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The encoding name used in `a=rtpmap` ("PCMU" or "PCMA").
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec named by an `a=rtpmap` encoding name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }

    /// The code of silence (linear 0): 0xFF in µ-law, 0xD5 in A-law.
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    pub fn decode(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_decode(code),
            Codec::Pcma => alaw_decode(code),
        }
    }

    /// Converts one code of `from` into this codec (through linear PCM).
    pub fn transcode_from(self, from: Codec, code: u8) -> u8 {
        match (from, self) {
            (Codec::Pcmu, Codec::Pcma) => ULAW_TO_ALAW[code as usize],
            (Codec::Pcma, Codec::Pcmu) => ALAW_TO_ULAW[code as usize],
            _ => code,
        }
    }

    /// Appends the codes of `samples` to `out`.
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode(s)));
    }

    /// Appends the linear samples of `codes` to `out`.
    pub fn decode_into(self, codes: &[u8], out: &mut Vec<i16>) {
        out.extend(codes.iter().map(|&c| self.decode(c)));
    }
}

/// Linear PCM to µ-law. -1 and 0 give the two µ-law zeros 0x7F and 0xFF.
pub const fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = sample as i32;
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    if magnitude > ULAW_CLIP {
        magnitude = ULAW_CLIP;
    }
    magnitude += ULAW_BIAS;
    // The biased magnitude lies in 0x84..=0x7FFF: its top bit is bit 7..=14.
    let exponent = (31 - (magnitude as u32).leading_zeros()) as i32 - 7;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// µ-law to linear PCM (range ±32124).
pub const fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Linear PCM to A-law (13 significant bits; even bits inverted as G.711 says).
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut value = (sample as i32) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    // Segment ends of the 13-bit magnitude.
    let mut segment = 0;
    while segment < 8 && value > (0x20 << segment) - 1 {
        segment += 1;
    }
    if segment >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mantissa = if segment < 2 {
        (value >> 1) & 0x0F
    } else {
        (value >> segment) & 0x0F
    };
    (((segment << 4) | mantissa) ^ mask) as u8
}

/// A-law to linear PCM (range ±32256; A-law has no exact zero, 0xD5 is +8).
pub const fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

const fn ulaw_decode_arith(code: u8) -> i16 {
    let code = !code as i32;
    let exponent = (code >> 4) & 0x07;
    let mantissa = code & 0x0F;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_decode_arith(code: u8) -> i16 {
    let code = (code ^ 0x55) as i32;
    let segment = (code & 0x70) >> 4;
    let mut value = (code & 0x0F) << 4;
    value += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        value <<= segment - 1;
    }
    if code & 0x80 != 0 {
        value as i16
    } else {
        -value as i16
    }
}

/// Builds the 256-entry tables at compile time (const fns cannot take fn pointers).
macro_rules! table {
    ($ty:ty, |$code:ident| $value:expr) => {{
        let mut out = [0 as $ty; 256];
        let mut i = 0;
        while i < 256 {
            let $code = i as u8;
            out[i] = $value;
            i += 1;
        }
        out
    }};
}

static ULAW_DECODE: [i16; 256] = table!(i16, |code| ulaw_decode_arith(code));
static ALAW_DECODE: [i16; 256] = table!(i16, |code| alaw_decode_arith(code));
static ULAW_TO_ALAW: [u8; 256] = table!(u8, |code| alaw_encode(ulaw_decode_arith(code)));
static ALAW_TO_ULAW: [u8; 256] = table!(u8, |code| ulaw_encode(alaw_decode_arith(code)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F, "negative zero");
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(ulaw_encode(-1000), 0x4E);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xCE), 988);
        assert_eq!(ulaw_decode(0x4E), -988);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(alaw_encode(-1000), 0x7A);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xFA), 1008);
        assert_eq!(alaw_decode(0x7A), -1008);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            // 0x7F is µ-law's negative zero: it decodes to 0, which encodes as 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                ulaw_encode(ulaw_decode(code)),
                expected,
                "µ-law {code:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn sign_is_symmetric_and_encoding_is_monotonic() {
        let mut previous_u = ulaw_decode(ulaw_encode(i16::MIN));
        let mut previous_a = alaw_decode(alaw_encode(i16::MIN));
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_decode(ulaw_encode(sample));
            let a = alaw_decode(alaw_encode(sample));
            assert!(
                u >= previous_u && a >= previous_a,
                "not monotonic at {sample}"
            );
            previous_u = u;
            previous_a = a;
            if sample > 0 {
                assert_eq!(ulaw_encode(sample) ^ 0x80, ulaw_encode(-sample), "{sample}");
            }
        }
    }

    #[test]
    fn quantisation_error_is_bounded() {
        // G.711 keeps about 12 bits near zero and 7 near full scale.
        for sample in (i16::MIN..=i16::MAX).step_by(3) {
            let s = i32::from(sample);
            let bound = (s.abs() / 16).max(8) + 8;
            for codec in [Codec::Pcmu, Codec::Pcma] {
                let back = i32::from(codec.decode(codec.encode(sample)));
                assert!((back - s).abs() <= bound, "{codec:?} {sample} -> {back}");
            }
        }
    }

    #[test]
    fn codec_helpers() {
        assert_eq!(Codec::from_payload_type(0), Some(Codec::Pcmu));
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(18), None);
        assert_eq!(Codec::from_name("pcma"), Some(Codec::Pcma));
        assert_eq!(Codec::Pcmu.decode(Codec::Pcmu.silence()), 0);
        assert_eq!(Codec::Pcma.encode(0), Codec::Pcma.silence());
        for code in 0..=255u8 {
            let linear = ulaw_decode(code);
            assert_eq!(
                Codec::Pcma.transcode_from(Codec::Pcmu, code),
                alaw_encode(linear)
            );
            assert_eq!(Codec::Pcmu.transcode_from(Codec::Pcmu, code), code);
        }
        let mut codes = Vec::new();
        Codec::Pcmu.encode_into(&[0, 1000, -1000], &mut codes);
        assert_eq!(codes, [0xFF, 0xCE, 0x4E]);
        let mut back = Vec::new();
        Codec::Pcmu.decode_into(&codes, &mut back);
        assert_eq!(back, [0, 988, -988]);
    }
}
