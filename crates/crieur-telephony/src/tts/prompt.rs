//! Audio ready for a call: 16-bit linear PCM, mono, 8 kHz. The media layer encodes it
//! (G.711 µ-law or A-law) when it sends the RTP packets; a prompt is never encoded here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The telephone sample rate every prompt is kept at.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms RTP packet's worth of audio at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// A piece of audio to play on a call: 8 kHz mono linear PCM, cheap to clone (the
/// samples are shared).
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt {
    samples: Arc<[i16]>,
}

/// Seconds of audio would flood a log: show the length instead.
impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("samples", &self.samples.len())
            .field("duration", &self.duration())
            .finish()
    }
}

impl Prompt {
    /// Wraps 8 kHz mono samples.
    pub fn from_samples(samples: impl Into<Arc<[i16]>>) -> Self {
        Prompt {
            samples: samples.into(),
        }
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The shared samples, for a media task that outlives the borrow.
    pub fn shared_samples(&self) -> Arc<[i16]> {
        Arc::clone(&self.samples)
    }

    /// Always [`SAMPLE_RATE`].
    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The audio in 20 ms frames of [`FRAME_SAMPLES`] samples, the last one padded
    /// with silence.
    pub fn frames_20ms(&self) -> impl ExactSizeIterator<Item = [i16; FRAME_SAMPLES]> + '_ {
        self.samples.chunks(FRAME_SAMPLES).map(|chunk| {
            let mut frame = [0; FRAME_SAMPLES];
            frame[..chunk.len()].copy_from_slice(chunk);
            frame
        })
    }
}

/// `ms` milliseconds of silence, for the pauses between parts of a message.
pub fn silence(ms: u32) -> Prompt {
    let n = u64::from(ms) * u64::from(SAMPLE_RATE) / 1000;
    Prompt::from_samples(vec![0; n as usize])
}

/// The parts played one after the other, as one prompt.
pub fn concat(parts: &[Prompt]) -> Prompt {
    if let [only] = parts {
        return only.clone();
    }
    let mut samples = Vec::with_capacity(parts.iter().map(Prompt::len).sum());
    for part in parts {
        samples.extend_from_slice(part.samples());
    }
    Prompt::from_samples(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_padded_with_silence() {
        let p = Prompt::from_samples((1..=330).collect::<Vec<i16>>());
        let frames: Vec<_> = p.frames_20ms().collect();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0][0], 1);
        assert_eq!(frames[1][159], 320);
        assert_eq!(
            frames[2][..10],
            [321, 322, 323, 324, 325, 326, 327, 328, 329, 330]
        );
        assert!(frames[2][10..].iter().all(|&s| s == 0));
        assert_eq!(silence(0).frames_20ms().count(), 0);
        assert_eq!(silence(20).frames_20ms().count(), 1);
    }

    #[test]
    fn silence_and_concat_durations_add_up() {
        assert_eq!(silence(1500).len(), 12_000);
        assert_eq!(silence(1500).duration(), Duration::from_millis(1500));
        assert!(silence(250).samples().iter().all(|&s| s == 0));
        let message = Prompt::from_samples(vec![7; 800]);
        let whole = concat(&[message.clone(), silence(500), message]);
        assert_eq!(whole.duration(), Duration::from_millis(700));
        assert_eq!(whole.samples()[799..801], [7, 0]);
        assert_eq!(whole.sample_rate(), 8000);
        assert!(concat(&[]).is_empty());
        assert_eq!(
            format!("{:?}", silence(20)),
            "Prompt { samples: 160, duration: 20ms }"
        );
    }
}
