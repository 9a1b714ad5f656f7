//! Reads the RIFF/WAVE stream espeak-ng writes on stdout. When writing to a pipe it
//! cannot seek back to fix the sizes, so a size field may be 0, 0xFFFFFFFF or a
//! placeholder larger than the stream: the data chunk then runs to the end.

use thiserror::Error;

/// Linear PCM read from a WAV stream, mixed down to mono.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pcm {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum WavError {
    #[error("not a RIFF/WAVE stream")]
    NotWave,
    #[error("truncated WAV stream: {0}")]
    Truncated(&'static str),
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
}

struct Format {
    channels: u16,
    sample_rate: u32,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Parses a 16-bit PCM WAV stream. Chunks other than `fmt ` and `data` (LIST, fact…)
/// are skipped; a trailing partial sample frame is dropped.
pub(crate) fn parse(bytes: &[u8]) -> Result<Pcm, WavError> {
    if bytes.len() < 12 {
        return Err(WavError::Truncated("RIFF header"));
    }
    if &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut pos = 12;
    let mut format: Option<Format> = None;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(WavError::Truncated("no data chunk"));
        };
        let id = &header[0..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body_start = pos + 8;
        match id {
            b"fmt " => {
                let end = body_start
                    .checked_add(size as usize)
                    .filter(|&end| end <= bytes.len() && size >= 16)
                    .ok_or(WavError::Truncated("fmt chunk"))?;
                format = Some(read_format(&bytes[body_start..end])?);
                pos = end + (size as usize & 1);
            }
            b"data" => {
                let format = format.ok_or_else(|| {
                    WavError::Unsupported("data chunk before fmt chunk".to_owned())
                })?;
                let rest = &bytes[body_start.min(bytes.len())..];
                // A size that does not fit is a streaming placeholder: take the rest.
                let data = match size as usize {
                    0 => rest,
                    n if n <= rest.len() => &rest[..n],
                    _ => rest,
                };
                return Ok(Pcm {
                    sample_rate: format.sample_rate,
                    samples: mix_down(data, format.channels),
                });
            }
            _ => {
                pos = body_start
                    .checked_add(size as usize + (size as usize & 1))
                    .filter(|&end| end <= bytes.len())
                    .ok_or(WavError::Truncated("chunk before data"))?;
            }
        }
    }
}

fn read_format(fmt: &[u8]) -> Result<Format, WavError> {
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let bits = u16_at(14);
    let pcm = match tag {
        WAVE_FORMAT_PCM => true,
        // The sub-format GUID starts with the format tag.
        WAVE_FORMAT_EXTENSIBLE => fmt.len() >= 26 && u16_at(24) == WAVE_FORMAT_PCM,
        _ => false,
    };
    if !pcm {
        return Err(WavError::Unsupported(format!("format tag {tag:#06x}")));
    }
    if bits != 16 {
        return Err(WavError::Unsupported(format!("{bits} bits per sample")));
    }
    if channels == 0 || sample_rate == 0 {
        return Err(WavError::Unsupported(format!(
            "{channels} channels at {sample_rate} Hz"
        )));
    }
    Ok(Format {
        channels,
        sample_rate,
    })
}

fn mix_down(data: &[u8], channels: u16) -> Vec<i16> {
    let frame = 2 * channels as usize;
    data.chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f
                .chunks_exact(2)
                .map(|s| i32::from(i16::from_le_bytes([s[0], s[1]])))
                .sum();
            // The mean of i16 values is an i16.
            (sum / i32::from(channels)) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &[u8; 4], size: u32, body: &[u8]) -> Vec<u8> {
        let mut c = id.to_vec();
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(body);
        c
    }

    fn fmt_body(channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut b = Vec::new();
        b.extend_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        b.extend_from_slice(&align.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b
    }

    fn wav(riff_size: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&riff_size.to_le_bytes());
        w.extend_from_slice(b"WAVE");
        for c in chunks {
            w.extend_from_slice(c);
        }
        w
    }

    fn pcm_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    const SAMPLES: [i16; 5] = [0, 1000, -1000, i16::MAX, i16::MIN];

    #[test]
    fn reads_exact_sizes() {
        let data = pcm_bytes(&SAMPLES);
        let fmt = chunk(b"fmt ", 16, &fmt_body(1, 22050, 16));
        let w = wav(36 + data.len() as u32, &[fmt, chunk(b"data", 10, &data)]);
        let pcm = parse(&w).unwrap();
        assert_eq!(pcm.sample_rate, 22050);
        assert_eq!(pcm.samples, SAMPLES);
    }

    #[test]
    fn declared_data_size_limits_the_samples() {
        let mut data = pcm_bytes(&SAMPLES);
        data.extend_from_slice(b"junk");
        let fmt = chunk(b"fmt ", 16, &fmt_body(1, 22050, 16));
        let w = wav(0, &[fmt, chunk(b"data", 4, &data)]);
        assert_eq!(parse(&w).unwrap().samples, [0, 1000]);
    }

    #[test]
    fn streaming_sizes_take_the_rest() {
        for size in [0, u32::MAX, 0x7fff_f000] {
            let fmt = chunk(b"fmt ", 16, &fmt_body(1, 22050, 16));
            let w = wav(size, &[fmt, chunk(b"data", size, &pcm_bytes(&SAMPLES))]);
            assert_eq!(parse(&w).unwrap().samples, SAMPLES, "size {size:#x}");
        }
    }

    #[test]
    fn skips_list_and_odd_sized_chunks_before_data() {
        let fmt = chunk(b"fmt ", 16, &fmt_body(1, 16000, 16));
        // An odd-sized chunk is followed by one pad byte.
        let list = chunk(b"LIST", 7, b"INFOabc\0");
        let w = wav(0, &[list, fmt, chunk(b"data", 10, &pcm_bytes(&SAMPLES))]);
        let pcm = parse(&w).unwrap();
        assert_eq!((pcm.sample_rate, pcm.samples), (16000, SAMPLES.to_vec()));
    }

    #[test]
    fn stereo_is_mixed_down_and_partial_frames_dropped() {
        let fmt = chunk(b"fmt ", 16, &fmt_body(2, 8000, 16));
        let data = pcm_bytes(&[100, 300, i16::MAX, i16::MAX, -7]);
        let w = wav(0, &[fmt, chunk(b"data", u32::MAX, &data)]);
        assert_eq!(parse(&w).unwrap().samples, [200, i16::MAX]);
    }

    #[test]
    fn truncated_or_foreign_streams_are_errors() {
        let fmt = chunk(b"fmt ", 16, &fmt_body(1, 22050, 16));
        let whole = wav(0, &[fmt.clone(), chunk(b"data", 0, &pcm_bytes(&SAMPLES))]);
        assert_eq!(parse(&whole[..8]), Err(WavError::Truncated("RIFF header")));
        assert_eq!(parse(&whole[..20]), Err(WavError::Truncated("fmt chunk")));
        assert_eq!(
            parse(&whole[..36]),
            Err(WavError::Truncated("no data chunk"))
        );
        let list = chunk(b"LIST", 100, b"INFO");
        assert_eq!(
            parse(&wav(0, &[fmt, list])),
            Err(WavError::Truncated("chunk before data"))
        );
        assert_eq!(parse(b"RIFX\0\0\0\0WAVEfmt "), Err(WavError::NotWave));
        assert_eq!(parse(&[]), Err(WavError::Truncated("RIFF header")));
    }

    #[test]
    fn rejects_formats_it_cannot_read() {
        let data = chunk(b"data", 0, &[]);
        let eight_bit = chunk(b"fmt ", 16, &fmt_body(1, 22050, 8));
        assert!(matches!(
            parse(&wav(0, &[eight_bit, data.clone()])),
            Err(WavError::Unsupported(_))
        ));
        let mut float = fmt_body(1, 22050, 16);
        float[0] = 3;
        assert!(matches!(
            parse(&wav(0, &[chunk(b"fmt ", 16, &float), data.clone()])),
            Err(WavError::Unsupported(_))
        ));
        assert!(matches!(
            parse(&wav(0, &[data])),
            Err(WavError::Unsupported(_))
        ));
    }
}
