//! Per-frame measurements the detectors decide on: level, level of the upper band, voicing, and
//! how much of the frame is one steady tone (and at what frequency).
//!
//! The tone measure is the share of the frame's energy at its strongest frequency in the beep
//! band, found with Goertzel filters on a 50 Hz grid and refined on a 5 Hz grid around the peak:
//! 1.0 for a pure tone, about 2/160 for white noise, well under one half for speech, whose
//! energy is spread over several harmonics.

use std::f32::consts::TAU;

use super::{FRAME_SAMPLES, SAMPLE_RATE};

/// Level of digital silence, and the floor of every level we report.
pub(crate) const SILENCE_DBFS: f32 = -100.0;

const COARSE_STEP_HZ: u32 = 50;
const FINE_STEP_HZ: f32 = 5.0;
const FINE_STEPS: i32 = 5;

/// What one 20 ms frame looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FrameFeatures {
    /// Mean power relative to a full-scale square wave, in dB (at least [`SILENCE_DBFS`]).
    pub(crate) level_dbfs: f32,
    /// Mean power of the first difference (a gentle high-pass: +6 dB per octave), in dB: where
    /// fricatives ("s", "f") show above low-pitched line noise.
    pub(crate) high_dbfs: f32,
}

/// The strongest frequency of a frame and its share of the frame's energy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ToneEstimate {
    /// Frequency, Hz.
    pub(crate) freq_hz: f32,
    /// Share of the energy at that frequency, 0.0–1.0.
    pub(crate) purity: f32,
}

/// Turns frames into [`FrameFeatures`], and measures the last frame's voicing and tone on demand
/// (they cost most of the time, and most frames do not need them). Keeps a DC blocker's state
/// across frames.
#[derive(Debug, Clone)]
pub(crate) struct FrameAnalyzer {
    /// The DC blocker's last input (`None` before the first sample, which primes it, so a
    /// constant offset never shows as a step).
    last_in: Option<f32>,
    last_out: f32,
    /// Goertzel coefficients (2·cos ω) of the coarse grid, with their frequencies.
    coarse: Vec<(f32, f32)>,
    min_hz: f32,
    max_hz: f32,
    /// The previous frame then this one, DC-blocked: pitch lags reach back into the previous.
    buf: [f32; 2 * FRAME_SAMPLES],
    /// Sum of squares of this frame.
    energy: f32,
}

impl FrameAnalyzer {
    /// An analyzer looking for tones between `min_hz` and `max_hz` (bounds are checked by the
    /// config; anything outside 1–3999 Hz is clamped into it).
    pub(crate) fn new(min_hz: u32, max_hz: u32) -> FrameAnalyzer {
        let min_hz = min_hz.clamp(1, SAMPLE_RATE / 2 - 1);
        let max_hz = max_hz.clamp(min_hz, SAMPLE_RATE / 2 - 1);
        let coarse = (min_hz..=max_hz)
            .step_by(COARSE_STEP_HZ as usize)
            .chain(std::iter::once(max_hz))
            .map(|f| (coefficient(f as f32), f as f32))
            .collect();
        FrameAnalyzer {
            last_in: None,
            last_out: 0.0,
            coarse,
            min_hz: min_hz as f32,
            max_hz: max_hz as f32,
            buf: [0.0; 2 * FRAME_SAMPLES],
            energy: 0.0,
        }
    }

    /// Measures one frame.
    pub(crate) fn analyze(&mut self, frame: &[i16; FRAME_SAMPLES]) -> FrameFeatures {
        // A one-pole DC blocker (corner near 25 Hz): offsets from a bad line or codec would
        // otherwise read as level.
        let mut energy = 0.0f32;
        let mut high_energy = 0.0f32;
        let mut previous = self.last_out;
        let mut last_in = self.last_in.unwrap_or(f32::from(frame[0]));
        self.buf.copy_within(FRAME_SAMPLES.., 0);
        for (out, &s) in self.buf[FRAME_SAMPLES..].iter_mut().zip(frame) {
            let x = f32::from(s);
            let y = x - last_in + 0.98 * self.last_out;
            last_in = x;
            self.last_out = y;
            *out = y;
            energy += y * y;
            high_energy += (y - previous) * (y - previous);
            previous = y;
        }
        self.last_in = Some(last_in);
        self.energy = energy;
        FrameFeatures {
            level_dbfs: dbfs(energy),
            high_dbfs: dbfs(high_energy),
        }
    }

    /// Voicing of the last frame: its highest normalised autocorrelation with the signal `lag`
    /// samples earlier, over lags of 2.5–20 ms (pitch 50–400 Hz), 0.0–1.0.
    pub(crate) fn periodicity(&self) -> f32 {
        let energy = self.energy;
        const MIN_LAG: usize = 20;
        const MAX_LAG: usize = FRAME_SAMPLES;
        let current = &self.buf[FRAME_SAMPLES..];
        // Energy of the window `lag` samples back, slid one sample per lag.
        let mut back_energy: f32 = self.buf[FRAME_SAMPLES - MIN_LAG..2 * FRAME_SAMPLES - MIN_LAG]
            .iter()
            .map(|v| v * v)
            .sum();
        let mut best = 0.0f32;
        for lag in MIN_LAG..=MAX_LAG {
            let back = &self.buf[FRAME_SAMPLES - lag..2 * FRAME_SAMPLES - lag];
            let dot: f32 = current.iter().zip(back).map(|(a, b)| a * b).sum();
            let denominator = (energy * back_energy).sqrt();
            if denominator > 0.0 {
                best = best.max(dot / denominator);
            }
            if lag < MAX_LAG {
                let leaving = self.buf[2 * FRAME_SAMPLES - lag - 1];
                let entering = self.buf[FRAME_SAMPLES - lag - 1];
                back_energy = (back_energy - leaving * leaving + entering * entering).max(0.0);
            }
        }
        best.clamp(0.0, 1.0)
    }

    /// The strongest frequency of the last frame in the beep band, and its share of the energy.
    pub(crate) fn tone(&self) -> ToneEstimate {
        let energy = self.energy;
        let current = &self.buf[FRAME_SAMPLES..];
        let mut best = (0.0f32, self.min_hz);
        for &(coeff, freq) in &self.coarse {
            let p = goertzel(current, coeff);
            if p > best.0 {
                best = (p, freq);
            }
        }
        let centre = best.1;
        for k in -FINE_STEPS..=FINE_STEPS {
            let freq = (centre + k as f32 * FINE_STEP_HZ).clamp(self.min_hz, self.max_hz);
            let p = goertzel(current, coefficient(freq));
            if p > best.0 {
                best = (p, freq);
            }
        }
        // A sinusoid of amplitude A on the filter's frequency gives (A·N/2)² against an energy
        // of N·A²/2, so this ratio is 1.0 for a pure tone.
        let purity = if energy > 0.0 {
            (2.0 * best.0 / (FRAME_SAMPLES as f32 * energy)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        ToneEstimate {
            freq_hz: best.1,
            purity,
        }
    }
}

/// The mean power of a frame whose samples' squares sum to `energy`, in dBFS.
fn dbfs(energy: f32) -> f32 {
    let mean = energy / FRAME_SAMPLES as f32;
    if mean > 0.0 {
        (10.0 * (mean / (32768.0 * 32768.0)).log10()).max(SILENCE_DBFS)
    } else {
        SILENCE_DBFS
    }
}

fn coefficient(freq_hz: f32) -> f32 {
    2.0 * (TAU * freq_hz / SAMPLE_RATE as f32).cos()
}

/// Squared magnitude of the frame's DFT at the frequency whose coefficient is `coeff`.
fn goertzel(x: &[f32], coeff: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A frame of a sine at `freq_hz` and `amplitude`, starting at sample `offset` of the wave.
    pub(crate) fn sine(freq_hz: f32, amplitude: f32, offset: usize) -> [i16; FRAME_SAMPLES] {
        std::array::from_fn(|n| {
            let t = (n + offset) as f32 / SAMPLE_RATE as f32;
            (amplitude * (TAU * freq_hz * t).sin()).round() as i16
        })
    }

    /// A frame of pseudo-random noise of about `amplitude` peak, from a seeded LCG.
    pub(crate) fn noise(amplitude: f32, seed: &mut u32) -> [i16; FRAME_SAMPLES] {
        std::array::from_fn(|_| {
            *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let u = (*seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
            (amplitude * u).round() as i16
        })
    }

    fn settled(
        analyzer: &mut FrameAnalyzer,
        frames: impl Fn(usize) -> [i16; 160],
    ) -> FrameFeatures {
        let mut last = None;
        for k in 0..5 {
            last = Some(analyzer.analyze(&frames(k)));
        }
        last.unwrap()
    }

    #[test]
    fn a_pure_tone_is_found_with_its_frequency() {
        for freq in [400.0, 440.0, 850.0, 1000.0, 1400.0, 1777.0, 2000.0] {
            let mut a = FrameAnalyzer::new(400, 2000);
            settled(&mut a, |k| sine(freq, 8000.0, k * 160));
            let tone = a.tone();
            assert!(tone.purity > 0.9, "{freq} Hz: purity {}", tone.purity);
            assert!(
                (tone.freq_hz - freq).abs() <= 5.0,
                "{freq} Hz read as {}",
                tone.freq_hz
            );
        }
    }

    #[test]
    fn a_voice_is_periodic() {
        // Harmonics 3–10 of 125 Hz: the fundamental is below the telephone band.
        let voice = |k: usize| -> [i16; 160] {
            std::array::from_fn(|n| {
                let t = (k * 160 + n) as f32 / SAMPLE_RATE as f32;
                (3..=10)
                    .map(|h| 1500.0 * (TAU * 125.0 * h as f32 * t).sin())
                    .sum::<f32>() as i16
            })
        };
        let mut a = FrameAnalyzer::new(400, 2000);
        settled(&mut a, voice);
        assert!(a.periodicity() > 0.9, "{}", a.periodicity());
        assert!(a.tone().purity < 0.3, "{:?}", a.tone());
    }

    #[test]
    fn noise_is_not_a_tone() {
        let mut a = FrameAnalyzer::new(400, 2000);
        let mut seed = 7;
        for _ in 0..20 {
            let f = a.analyze(&noise(8000.0, &mut seed));
            assert!(a.tone().purity < 0.2, "{:?}", a.tone());
            assert!(a.periodicity() < 0.5, "{}", a.periodicity());
            // White noise has as much power above 2 kHz as below: the difference doubles it.
            assert!((f.high_dbfs - f.level_dbfs - 3.0).abs() < 1.5, "{f:?}");
        }
    }

    #[test]
    fn level_follows_amplitude_and_ignores_dc() {
        let mut a = FrameAnalyzer::new(400, 2000);
        let loud = settled(&mut a, |k| sine(1000.0, 32767.0 / 2.0, k * 160));
        assert!((loud.level_dbfs - -9.0).abs() < 0.5, "{loud:?}");
        let mut a = FrameAnalyzer::new(400, 2000);
        let dc = a.analyze(&[12_000; 160]);
        assert_eq!(dc.level_dbfs, SILENCE_DBFS, "{dc:?}");
        let step = a.analyze(&[-12_000; 160]);
        let after = a.analyze(&[-12_000; 160]);
        let settled_step = a.analyze(&[-12_000; 160]);
        assert!(step.level_dbfs > -20.0, "{step:?}");
        assert!(
            after.level_dbfs < -30.0 && settled_step.level_dbfs < -60.0,
            "{after:?} {settled_step:?}"
        );
        let mut quiet = FrameAnalyzer::new(400, 2000);
        quiet.analyze(&[0; 160]);
        assert_eq!((quiet.tone().purity, quiet.periodicity()), (0.0, 0.0));
    }

    #[test]
    fn silence_and_full_scale_garbage_stay_finite() {
        let mut a = FrameAnalyzer::new(400, 2000);
        assert_eq!(a.analyze(&[0; 160]).level_dbfs, SILENCE_DBFS);
        let square: [i16; 160] =
            std::array::from_fn(|n| if n % 2 == 0 { i16::MAX } else { i16::MIN });
        for _ in 0..10 {
            let f = a.analyze(&square);
            assert!(f.level_dbfs.is_finite() && f.level_dbfs <= 7.0, "{f:?}");
            let t = a.tone();
            assert!(t.purity.is_finite() && (0.0..=1.0).contains(&t.purity));
            assert!((0.0..=1.0).contains(&a.periodicity()));
        }
    }
}
