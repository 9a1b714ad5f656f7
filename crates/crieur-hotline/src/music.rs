//! Music on hold, made here so that nothing needs a licence or a file: a soft
//! three-note chime, then quiet, on a loop.

use crieur_telephony::tts::{Prompt, SAMPLE_RATE};

/// About four seconds: three rising notes and a rest.
pub(crate) fn chime() -> Prompt {
    let rate = SAMPLE_RATE as f32;
    let mut samples = Vec::with_capacity(SAMPLE_RATE as usize * 4);
    for freq in [523.25_f32, 659.25, 783.99] {
        let n = (0.35 * rate) as usize;
        for i in 0..n {
            let t = i as f32 / rate;
            // Soft attack and a long decay, so that the notes do not click.
            let envelope = (t / 0.02).min(1.0) * (-t * 6.0).exp();
            let s = (2.0 * std::f32::consts::PI * freq * t).sin() * envelope * 4000.0;
            samples.push(s as i16);
        }
    }
    samples.resize(SAMPLE_RATE as usize * 4, 0);
    Prompt::from_samples(samples)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_chime_is_four_seconds_and_quiet_enough() {
        let p = super::chime();
        assert_eq!(p.duration().as_millis(), 4000);
        let peak = p.samples().iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((1000..=4000).contains(&peak), "peak {peak}");
    }
}
