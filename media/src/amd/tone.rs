//! The voicemail beep: a steady tone in the beep band, frame after frame at one frequency and
//! level, for at least the configured time. Reports when one is confirmed and when it ends.

use std::time::Duration;

use super::features::ToneEstimate;
use super::FRAME;

/// Share of a frame's energy at one frequency for the frame to be part of a tone. A beep 4 dB
/// above white line noise still holds about 70 %; voiced speech after the telephone band-pass
/// can hold as much in one harmonic, but not for long at one frequency and level.
pub(crate) const MIN_PURITY: f32 = 0.7;
/// Frequency drift allowed within one beep, as a share of its frequency (and at least 8 Hz):
/// a beep's frequency is fixed, a voice's harmonics glide with its pitch.
const MAX_DRIFT: f32 = 0.015;
/// Level drift allowed within one beep, dB: a beep is steady, syllables are not.
const MAX_LEVEL_DRIFT_DB: f32 = 3.0;
/// Frames in a row that may miss the tone (a burst of noise) without ending it.
const MAX_MISSES: u32 = 1;

/// What the tracker noticed in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BeepEvent {
    /// A tone has lasted long enough to be a beep.
    Confirmed {
        /// Its frequency.
        freq_hz: u32,
    },
    /// A confirmed beep has stopped; `at` is the end of its last frame.
    Ended {
        /// When it stopped.
        at: Duration,
        /// Its frequency.
        freq_hz: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Run {
    freq_hz: f32,
    level_dbfs: f32,
    frames: u32,
    misses: u32,
    end: Duration,
}

impl Run {
    fn matches(&self, freq_hz: f32, level_dbfs: f32) -> bool {
        (freq_hz - self.freq_hz).abs() <= (self.freq_hz * MAX_DRIFT).max(8.0)
            && (level_dbfs - self.level_dbfs).abs() <= MAX_LEVEL_DRIFT_DB
    }
}

/// Follows runs of tone frames.
#[derive(Debug, Clone)]
pub(crate) struct BeepTracker {
    min_frames: u32,
    run: Option<Run>,
}

impl BeepTracker {
    /// A tracker confirming tones of at least `min_frames` frames.
    pub(crate) fn new(min_frames: u32) -> BeepTracker {
        BeepTracker {
            min_frames: min_frames.max(1),
            run: None,
        }
    }

    /// Whether a confirmed beep is sounding: its frames are not speech.
    pub(crate) fn in_beep(&self) -> bool {
        self.run
            .is_some_and(|r| r.misses == 0 && r.frames >= self.min_frames)
    }

    /// Feeds the frame starting at `at`, at `level_dbfs`, with its strongest frequency (`None`
    /// if it is too quiet to be a beep).
    pub(crate) fn push(
        &mut self,
        at: Duration,
        level_dbfs: f32,
        tone: Option<ToneEstimate>,
    ) -> Option<BeepEvent> {
        let end = at.saturating_add(FRAME);
        let tone = tone.filter(|t| t.purity >= MIN_PURITY);
        match (self.run.as_mut(), tone) {
            (Some(run), Some(t)) if run.matches(t.freq_hz, level_dbfs) => {
                let n = run.frames as f32;
                run.freq_hz = (run.freq_hz * n + t.freq_hz) / (n + 1.0);
                run.level_dbfs = (run.level_dbfs * n + level_dbfs) / (n + 1.0);
                run.frames += 1;
                run.misses = 0;
                run.end = end;
                (run.frames == self.min_frames).then(|| BeepEvent::Confirmed {
                    freq_hz: run.freq_hz.round() as u32,
                })
            }
            (Some(run), None) if run.misses < MAX_MISSES => {
                run.misses += 1;
                None
            }
            (_, tone) => {
                let ended = self.run.take().and_then(|r| self.ended(r));
                self.run = tone.map(|t| Run {
                    freq_hz: t.freq_hz,
                    level_dbfs,
                    frames: 1,
                    misses: 0,
                    end,
                });
                if ended.is_none() && self.min_frames == 1 {
                    return tone.map(|t| BeepEvent::Confirmed {
                        freq_hz: t.freq_hz.round() as u32,
                    });
                }
                ended
            }
        }
    }

    fn ended(&self, run: Run) -> Option<BeepEvent> {
        (run.frames >= self.min_frames).then(|| BeepEvent::Ended {
            at: run.end,
            freq_hz: run.freq_hz.round() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::tests::{noise, sine};
    use super::super::features::FrameAnalyzer;
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Plays frames through an analyzer and a tracker; returns (frame index, event) pairs.
    fn track(frames: &[[i16; 160]], min_frames: u32) -> Vec<(usize, BeepEvent)> {
        let mut analyzer = FrameAnalyzer::new(400, 2000);
        let mut tracker = BeepTracker::new(min_frames);
        let mut events = Vec::new();
        for (k, frame) in frames.iter().enumerate() {
            let level = analyzer.analyze(frame).level_dbfs;
            let tone = (level > -55.0).then(|| analyzer.tone());
            if let Some(e) = tracker.push(ms(20 * k as u64), level, tone) {
                events.push((k, e));
            }
        }
        events
    }

    #[test]
    fn a_beep_is_confirmed_after_the_minimum_and_ends_with_its_last_frame() {
        let mut seed = 3;
        let mut frames: Vec<[i16; 160]> = (0..10).map(|_| noise(100.0, &mut seed)).collect();
        frames.extend((0..25).map(|k| sine(1000.0, 6000.0, k * 160)));
        frames.extend((0..10).map(|_| noise(100.0, &mut seed)));
        let events = track(&frames, 6);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].0, 15);
        assert!(
            matches!(events[0].1, BeepEvent::Confirmed { freq_hz } if freq_hz.abs_diff(1000) <= 5)
        );
        // Reported one frame after the tone stops (one miss is allowed), dated at its end.
        assert_eq!(events[1].0, 36);
        assert!(matches!(events[1].1, BeepEvent::Ended { at, .. } if at == ms(700)));
    }

    #[test]
    fn a_short_tone_is_not_a_beep() {
        let frames: Vec<[i16; 160]> = (0..4)
            .map(|k| sine(850.0, 6000.0, k * 160))
            .chain(std::iter::repeat_n([0; 160], 5))
            .collect();
        assert!(track(&frames, 6).is_empty());
    }

    #[test]
    fn a_gliding_tone_is_not_a_beep() {
        // A chirp rising 40 Hz per frame: each frame is tone-like, but never one frequency.
        let frames: Vec<[i16; 160]> = (0..30)
            .map(|k| sine(600.0 + 40.0 * k as f32, 6000.0, 0))
            .collect();
        assert!(track(&frames, 6).is_empty());
    }

    #[test]
    fn a_noise_burst_inside_a_beep_does_not_split_it() {
        let mut seed = 9;
        let mut frames: Vec<[i16; 160]> = (0..10).map(|k| sine(440.0, 6000.0, k * 160)).collect();
        frames.push(noise(20000.0, &mut seed));
        frames.extend((11..20).map(|k| sine(440.0, 6000.0, k * 160)));
        frames.extend(std::iter::repeat_n([0; 160], 3));
        let events = track(&frames, 6);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(events[1].1, BeepEvent::Ended { at, .. } if at == ms(400)));
    }

    #[test]
    fn noise_and_silence_never_beep() {
        let mut seed = 1;
        let frames: Vec<[i16; 160]> = (0..500)
            .map(|k| {
                if k % 100 < 50 {
                    noise(3000.0, &mut seed)
                } else {
                    [0; 160]
                }
            })
            .collect();
        assert!(track(&frames, 6).is_empty());
    }
}
