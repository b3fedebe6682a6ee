//! Speech or silence, frame by frame, against a noise floor tracked by minimum statistics: the
//! floor is the quietest frame of the last 1.6 s, so it follows line noise at any level without
//! a calibration period, and a person talking does not lift it (speech dips between syllables).
//!
//! A frame is speech when it is well above the floor, in its whole band or in its upper part
//! (fricatives, "s" and "f", rise there above low-pitched line noise while barely lifting the
//! total), or when it is voiced (periodic at a pitch lag) and a little above the floor: in loud
//! line noise the weaker syllables sink to within a few dB of the noise, but keep their pitch,
//! which the noise does not have.

use super::features::{FrameFeatures, SILENCE_DBFS};

/// Periodicity above which a frame is voiced. Band-passed white, pink and brown noise stay
/// under about 0.55; voiced speech reaches 0.6 even a few dB above the noise.
const VOICED: f32 = 0.6;
/// How far above the floor a voiced frame must be, dB: steady hum is periodic too, but sits on
/// the floor.
const VOICED_MARGIN_DB: f32 = 3.0;

/// Frames per block of the minimum tracker (200 ms).
const BLOCK_FRAMES: u32 = 10;
/// Blocks in the tracker's window (1.6 s).
const BLOCKS: usize = 8;

/// The quietest frame level of the last [`BLOCKS`] blocks plus the current one.
#[derive(Debug, Clone)]
pub(crate) struct NoiseFloor {
    block_minima: [f32; BLOCKS],
    /// Completed blocks held (at most [`BLOCKS`]).
    held: usize,
    /// Where the next completed block goes.
    next: usize,
    current_min: f32,
    in_block: u32,
}

impl NoiseFloor {
    pub(crate) fn new() -> NoiseFloor {
        NoiseFloor {
            block_minima: [f32::INFINITY; BLOCKS],
            held: 0,
            next: 0,
            current_min: f32::INFINITY,
            in_block: 0,
        }
    }

    /// Adds one frame's level.
    pub(crate) fn update(&mut self, level_dbfs: f32) {
        self.current_min = self.current_min.min(level_dbfs);
        self.in_block += 1;
        if self.in_block == BLOCK_FRAMES {
            self.block_minima[self.next] = self.current_min;
            self.next = (self.next + 1) % BLOCKS;
            self.held = (self.held + 1).min(BLOCKS);
            self.current_min = f32::INFINITY;
            self.in_block = 0;
        }
    }

    /// The floor, dBFS; [`SILENCE_DBFS`] before any frame.
    pub(crate) fn level(&self) -> f32 {
        let floor = self.block_minima[..self.held]
            .iter()
            .fold(self.current_min, |m, &b| m.min(b));
        if floor.is_finite() {
            floor
        } else {
            SILENCE_DBFS
        }
    }
}

/// Decides speech or silence for each frame.
#[derive(Debug, Clone)]
pub(crate) struct Vad {
    floor: NoiseFloor,
    high_floor: NoiseFloor,
    margin_db: f32,
    min_dbfs: f32,
}

impl Vad {
    pub(crate) fn new(margin_db: f32, min_dbfs: f32) -> Vad {
        Vad {
            floor: NoiseFloor::new(),
            high_floor: NoiseFloor::new(),
            margin_db,
            min_dbfs,
        }
    }

    /// Learns from a frame, then says whether it is speech (or any sound worth a look). The
    /// frame joins the floor first, so the very first frame is never speech. `periodicity` is
    /// asked for only when the level alone cannot decide.
    pub(crate) fn is_speech(
        &mut self,
        frame: &FrameFeatures,
        periodicity: impl FnOnce() -> f32,
    ) -> bool {
        let level = frame.level_dbfs;
        self.floor.update(level);
        self.high_floor.update(frame.high_dbfs);
        let floor = self.floor.level();
        if level < self.min_dbfs {
            return false;
        }
        level >= floor + self.margin_db
            || frame.high_dbfs >= self.high_floor.level() + self.margin_db
            || level >= floor + VOICED_MARGIN_DB && periodicity() >= VOICED
    }
}

/// Rise and fall, dB, that make a peak of the speech level a syllable nucleus.
const NUCLEUS_SWING_DB: f32 = 4.0;
/// The level given to silent frames when counting nuclei.
const QUIET: f32 = SILENCE_DBFS;

/// Counts syllable nuclei: peaks of the level of speech frames that rise and fall by at least
/// [`NUCLEUS_SWING_DB`]. A count that does not depend on how fast someone talks: a person's first
/// phrase has a handful, a machine's greeting keeps adding them.
#[derive(Debug, Clone)]
pub(crate) struct SyllableCounter {
    completed: u32,
    rising: bool,
    peak: f32,
    valley: f32,
}

impl SyllableCounter {
    pub(crate) fn new() -> SyllableCounter {
        SyllableCounter {
            completed: 0,
            rising: true,
            peak: QUIET,
            valley: QUIET,
        }
    }

    /// Adds a frame: its level counts only if it is speech.
    pub(crate) fn push(&mut self, level_dbfs: f32, speech: bool) {
        let level = if speech { level_dbfs } else { QUIET };
        if self.rising {
            self.peak = self.peak.max(level);
            if self.peak > QUIET && level < self.peak - NUCLEUS_SWING_DB {
                self.completed += 1;
                self.rising = false;
                self.valley = level;
            }
        } else {
            self.valley = self.valley.min(level);
            if level > self.valley + NUCLEUS_SWING_DB {
                self.rising = true;
                self.peak = level;
            }
        }
    }

    /// Nuclei so far, counting one still rising.
    pub(crate) fn count(&self) -> u32 {
        self.completed + u32::from(self.rising && self.peak > QUIET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(level_dbfs: f32) -> FrameFeatures {
        FrameFeatures {
            level_dbfs,
            high_dbfs: level_dbfs,
        }
    }

    #[test]
    fn the_floor_follows_noise_down_at_once_and_up_after_the_window() {
        let mut f = NoiseFloor::new();
        assert_eq!(f.level(), SILENCE_DBFS);
        for _ in 0..100 {
            f.update(-40.0);
        }
        assert_eq!(f.level(), -40.0);
        f.update(-60.0);
        assert_eq!(f.level(), -60.0);
        // Louder noise lifts the floor once the quiet frame has left the window (1.6–1.8 s).
        for _ in 0..(BLOCKS as u32 * BLOCK_FRAMES) {
            f.update(-30.0);
        }
        assert_eq!(f.level(), -60.0);
        for _ in 0..BLOCK_FRAMES {
            f.update(-30.0);
        }
        assert_eq!(f.level(), -30.0);
    }

    #[test]
    fn speech_must_clear_the_floor_by_the_margin_and_the_absolute_minimum() {
        let mut v = Vad::new(9.0, -55.0);
        for _ in 0..20 {
            assert!(!v.is_speech(&frame(-45.0), || 0.0));
        }
        assert!(!v.is_speech(&frame(-37.0), || 0.0));
        assert!(v.is_speech(&frame(-35.0), || 0.0));
        let mut quiet = Vad::new(9.0, -55.0);
        for _ in 0..20 {
            assert!(!quiet.is_speech(&frame(SILENCE_DBFS), || 0.0));
        }
        assert!(!quiet.is_speech(&frame(-56.0), || 0.0));
        assert!(quiet.is_speech(&frame(-54.0), || 0.0));
    }

    #[test]
    fn voiced_frames_need_less_margin_but_some() {
        let mut v = Vad::new(9.0, -55.0);
        for _ in 0..20 {
            assert!(!v.is_speech(&frame(-40.0), || 0.5));
        }
        assert!(!v.is_speech(&frame(-36.0), || 0.5));
        assert!(v.is_speech(&frame(-36.0), || 0.7));
        assert!(!v.is_speech(&frame(-38.0), || 0.9));
    }

    #[test]
    fn syllables_are_peaks_with_a_swing() {
        let mut c = SyllableCounter::new();
        assert_eq!(c.count(), 0);
        // "hel-lo": two peaks with a 6 dB dip, then silence.
        for (level, speech) in [
            (-30.0, true),
            (-20.0, true),
            (-26.0, true),
            (-18.0, true),
            (-19.0, true),
        ] {
            c.push(level, speech);
        }
        assert_eq!(c.count(), 2);
        c.push(-60.0, false);
        assert_eq!(c.count(), 2);
        // A 2 dB wobble is not a new syllable; a new rise after silence is.
        for level in [-22.0, -20.0, -22.0, -20.0] {
            c.push(level, true);
        }
        assert_eq!(c.count(), 3);
    }

    #[test]
    fn a_fricative_shows_in_the_upper_band() {
        let mut v = Vad::new(7.0, -55.0);
        let noise = FrameFeatures {
            high_dbfs: -60.0,
            ..frame(-40.0)
        };
        for _ in 0..20 {
            assert!(!v.is_speech(&noise, || 0.2));
        }
        let fricative = FrameFeatures {
            high_dbfs: -50.0,
            ..frame(-38.0)
        };
        assert!(v.is_speech(&fricative, || 0.2));
    }

    #[test]
    fn talking_does_not_lift_the_floor() {
        let mut v = Vad::new(9.0, -55.0);
        for _ in 0..25 {
            v.is_speech(&frame(-50.0), || 0.0);
        }
        // Three seconds of speech with a dip every 300 ms.
        for k in 0..150 {
            let level = if k % 15 == 0 { -48.0 } else { -20.0 };
            let speech = v.is_speech(&frame(level), || 0.0);
            assert_eq!(speech, level > -30.0, "frame {k}");
        }
    }
}
