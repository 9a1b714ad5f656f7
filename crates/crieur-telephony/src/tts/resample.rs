//! A rational-ratio resampler with a Kaiser-windowed sinc low-pass, so that speech
//! rendered at 22,050 Hz reaches the 8 kHz telephone rate without aliasing: what lies
//! above the new Nyquist frequency is removed before it can fold back into the band.

/// Zero crossings of the sinc kept on each side of the kernel's centre.
const ZERO_CROSSINGS: f64 = 17.0;
/// Cut-off as a fraction of the lower rate: 3,900 Hz when going to 8 kHz.
const CUTOFF: f64 = 0.4875;
/// Kaiser window β for a stop band near −70 dB.
const KAISER_BETA: f64 = 6.8;

/// Resamples mono PCM from `from` Hz to `to` Hz. The output has
/// ⌈len × to / from⌉ samples, aligned on the input's first sample.
pub(crate) fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    assert!(from > 0 && to > 0, "sample rates must be positive");
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let g = gcd(from, to);
    let (phases, step) = (u64::from(to / g), u64::from(from / g));
    let kernel = Kernel::new(from, to, phases as usize);
    let len = input.len() as u64;
    let out_len = (len * phases).div_ceil(step);
    let width = kernel.taps;
    let half = width / 2;
    let mut out = Vec::with_capacity(out_len as usize);
    for n in 0..out_len {
        let pos = n * step;
        let (centre, phase) = ((pos / phases) as usize, (pos % phases) as usize);
        let taps = kernel.phase(phase);
        // Input index of the first tap; it may fall before the start or past the end.
        let first = centre as isize + 1 - half as isize;
        let acc: f32 = if first >= 0 && first as usize + width <= input.len() {
            let window = &input[first as usize..first as usize + width];
            taps.iter()
                .zip(window)
                .map(|(h, &x)| h * f32::from(x))
                .sum()
        } else {
            taps.iter()
                .enumerate()
                .filter_map(|(j, h)| {
                    let i = usize::try_from(first + j as isize).ok()?;
                    input.get(i).map(|&x| h * f32::from(x))
                })
                .sum()
        };
        out.push(acc.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16);
    }
    out
}

/// One windowed-sinc filter per fractional position between input samples.
struct Kernel {
    taps: usize,
    table: Vec<f32>,
}

impl Kernel {
    fn new(from: u32, to: u32, phases: usize) -> Self {
        // Cut-off in cycles per input sample, below both Nyquist frequencies.
        let fc = CUTOFF * f64::from(from.min(to)) / f64::from(from);
        let half = (ZERO_CROSSINGS / (2.0 * fc)).ceil() as usize;
        let taps = 2 * half;
        let norm = bessel_i0(KAISER_BETA);
        let mut table = Vec::with_capacity(phases * taps);
        for p in 0..phases {
            let frac = p as f64 / phases as f64;
            let start = table.len();
            for j in 0..taps {
                // Distance from the output instant back to tap j's input sample.
                let d = frac + (half as f64 - 1.0 - j as f64);
                let r = d / half as f64;
                let window = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / norm
                };
                table.push((2.0 * fc * sinc(2.0 * fc * d) * window) as f32);
            }
            // Unity gain at DC for every phase, so silence and steady levels stay exact.
            let sum: f32 = table[start..].iter().sum();
            table[start..].iter_mut().for_each(|h| *h /= sum);
        }
        Kernel { taps, table }
    }

    fn phase(&self, p: usize) -> &[f32] {
        &self.table[p * self.taps..(p + 1) * self.taps]
    }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// The modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-15 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16
            })
            .collect()
    }

    /// RMS over the middle, away from the edges where the filter sees zero padding.
    fn rms(x: &[i16]) -> f64 {
        let mid = &x[x.len() / 10..x.len() * 9 / 10];
        (mid.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / mid.len() as f64).sqrt()
    }

    fn gain_db(hz: f64) -> f64 {
        let input = tone(hz, 22050, 1.0, 10_000.0);
        let output = resample(&input, 22050, 8000);
        20.0 * (rms(&output) / rms(&input)).log10()
    }

    #[test]
    fn output_length_follows_the_ratio() {
        for len in [1, 2, 440, 441, 442, 22050, 100_003] {
            let out = resample(&vec![0; len], 22050, 8000);
            let expected = len as f64 * 8000.0 / 22050.0;
            assert!(
                (out.len() as f64 - expected).abs() <= 1.0,
                "{len} → {} (expected {expected})",
                out.len()
            );
        }
    }

    #[test]
    fn passes_the_telephone_band() {
        for hz in [300.0, 1000.0, 3000.0] {
            let g = gain_db(hz);
            assert!(g.abs() < 1.0, "{hz} Hz changed by {g:.2} dB");
        }
    }

    #[test]
    fn removes_what_would_alias() {
        for hz in [5000.0, 6000.0, 8000.0, 10_000.0] {
            let g = gain_db(hz);
            assert!(g < -30.0, "{hz} Hz only attenuated by {g:.1} dB");
        }
    }

    #[test]
    fn silence_stays_silent_and_dc_stays_level() {
        assert!(resample(&[0; 5000], 22050, 8000).iter().all(|&s| s == 0));
        let level = resample(&[1234; 5000], 22050, 8000);
        assert!(level[100..level.len() - 100].iter().all(|&s| s == 1234));
    }

    #[test]
    fn full_scale_is_clipped_not_wrapped() {
        let high = |i: usize| (i / 200).is_multiple_of(2);
        let square: Vec<i16> = (0..22050)
            .map(|i| if high(i) { i16::MAX } else { i16::MIN })
            .collect();
        let out = resample(&square, 22050, 8000);
        // The filter overshoots a full-scale edge (Gibbs): that must saturate.
        assert!(out.contains(&i16::MAX) && out.contains(&i16::MIN));
        for (n, &s) in out.iter().enumerate() {
            let t = n * 22050 / 8000;
            let around = t.saturating_sub(3)..(t + 4).min(square.len());
            if around.clone().all(high) {
                assert!(s > 0, "sample {n} wrapped to {s}");
            } else if !around.clone().any(high) {
                assert!(s < 0, "sample {n} wrapped to {s}");
            }
        }
    }

    #[test]
    fn other_rates_and_identity() {
        let x = tone(1000.0, 16000, 0.5, 8000.0);
        let down = resample(&x, 16000, 8000);
        assert_eq!(down.len(), 4000);
        assert!((20.0 * (rms(&down) / rms(&x)).log10()).abs() < 1.0);
        let up = resample(&tone(1000.0, 8000, 0.5, 8000.0), 8000, 22050);
        assert!((up.len() as i64 - 11025).abs() <= 1);
        assert_eq!(resample(&x, 16000, 16000), x);
    }
}
