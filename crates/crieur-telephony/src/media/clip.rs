//! Recorded audio to play on calls: G.711 codes held once in memory and shared by
//! every call that plays them (a prompt rendered once per alert and language).

use crate::g711::{Codec, SAMPLE_RATE};
use crate::rtp::{FRAME_BYTES, Frame};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// 8 kHz G.711 audio, cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Clip {
    codec: Codec,
    codes: Arc<[u8]>,
}

impl fmt::Debug for Clip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clip")
            .field("codec", &self.codec)
            .field("duration", &self.duration())
            .finish()
    }
}

impl Clip {
    /// Audio already encoded in `codec` (for example a raw `.ulaw` file).
    pub fn new(codec: Codec, codes: impl Into<Arc<[u8]>>) -> Clip {
        Clip {
            codec,
            codes: codes.into(),
        }
    }

    /// 8 kHz linear PCM, encoded once in `codec`.
    pub fn from_pcm(codec: Codec, samples: &[i16]) -> Clip {
        let mut codes = Vec::with_capacity(samples.len());
        codec.encode_into(samples, &mut codes);
        Clip::new(codec, codes)
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.codes.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The clip as 20 ms frames in `codec` (converted if the call uses the other
    /// law); the last frame is completed with silence. Clone it, or `.cycle()` it,
    /// to play it again.
    pub fn frames(&self, codec: Codec) -> ClipFrames {
        ClipFrames {
            clip: self.clone(),
            target: codec,
            offset: 0,
        }
    }
}

/// The frames of a [`Clip`], from [`Clip::frames`].
#[derive(Debug, Clone)]
pub struct ClipFrames {
    clip: Clip,
    target: Codec,
    offset: usize,
}

impl Iterator for ClipFrames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        let rest = self
            .clip
            .codes
            .get(self.offset..)
            .filter(|r| !r.is_empty())?;
        let chunk = &rest[..rest.len().min(FRAME_BYTES)];
        self.offset += chunk.len();
        let mut frame = [self.target.silence(); FRAME_BYTES];
        for (out, code) in frame.iter_mut().zip(chunk) {
            *out = self.target.transcode_from(self.clip.codec, *code);
        }
        Some(frame)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self
            .clip
            .codes
            .len()
            .saturating_sub(self.offset)
            .div_ceil(FRAME_BYTES);
        (left, Some(left))
    }
}

impl ExactSizeIterator for ClipFrames {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_padded_and_converted() {
        let clip = Clip::from_pcm(Codec::Pcmu, &vec![1000; 400]);
        assert_eq!(clip.duration(), Duration::from_millis(50));
        let frames: Vec<Frame> = clip.frames(Codec::Pcmu).collect();
        assert_eq!(frames.len(), 3);
        assert!(frames[0].iter().all(|c| *c == 0xCE));
        assert!(frames[2][..80].iter().all(|c| *c == 0xCE));
        assert!(
            frames[2][80..].iter().all(|c| *c == 0xFF),
            "padded with silence"
        );
        let alaw: Vec<Frame> = clip.frames(Codec::Pcma).collect();
        assert!(alaw[0].iter().all(|c| *c == Codec::Pcma.encode(988)));
        assert!(alaw[2][80..].iter().all(|c| *c == 0xD5));
        assert_eq!(clip.frames(Codec::Pcmu).len(), 3);
        assert_eq!(
            Clip::new(Codec::Pcmu, Vec::new())
                .frames(Codec::Pcmu)
                .count(),
            0
        );
        assert_eq!(clip.frames(Codec::Pcmu).cycle().take(7).count(), 7);
    }
}
