//! The knobs of [`super::AmdDetector`], each with its unit, default and bounds.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::error::MediaError;

/// Configuration of [`super::AmdDetector`]. Times are in milliseconds from the answer or lengths
/// in milliseconds, levels in dB; [`AmdConfig::validate`] checks every bound (the detector's
/// constructor calls it).
#[derive(Debug, Clone, PartialEq)]
pub struct AmdConfig {
    /// Time budget for a verdict, ms from the answer: without one by then the verdict is
    /// NotSure. Default 5000, bounds 1000–30000.
    pub max_analysis_ms: u32,
    /// Longest first phrase a person says before waiting for an answer, ms: talking for longer
    /// (counting pauses shorter than the waits below) is a machine's greeting, once it has
    /// `long_greeting_syllables`. Default 1700, bounds 500–5000.
    pub max_human_greeting_ms: u32,
    /// Syllables a first phrase longer than `max_human_greeting_ms` needs to be a machine's: a
    /// slow talker's "hello, who's calling?" is long but has five. Default 6, bounds
    /// 1–`max_human_syllables`.
    pub long_greeting_syllables: u32,
    /// A first phrase this long is a machine's whatever its syllables, ms. Default 2400, bounds
    /// `max_human_greeting_ms`–10000.
    pub max_greeting_ms: u32,
    /// Most syllables a person says before waiting: a first phrase with more syllable nuclei
    /// (peaks of loudness) is a machine's greeting, however fast it is spoken. Default 7,
    /// bounds 2–30.
    pub max_human_syllables: u32,
    /// A first phrase up to this long is a single word ("hello?"), ms. Default 600, bounds
    /// 100–`max_human_greeting_ms`.
    pub short_greeting_ms: u32,
    /// Silence after a single-word first phrase that means a person is waiting, ms. Default 300,
    /// bounds 100–3000.
    pub short_greeting_silence_ms: u32,
    /// Silence after a longer first phrase that means a person is waiting, ms: longer than the
    /// pauses between a greeting's sentences. Default 500, bounds 100–3000.
    pub greeting_silence_ms: u32,
    /// Speech shorter than this neither starts a phrase nor breaks a silence (clicks, bursts),
    /// ms. Default 40, bounds 20–500.
    pub min_speech_ms: u32,
    /// How far above the tracked noise floor (the quietest frame of the last 1.6 s) an unvoiced
    /// frame must be to count as speech, dB. Default 5.5, bounds 3–30.
    pub speech_margin_db: f32,
    /// Frames quieter than this are never speech (nor a beep), dBFS. Default -55, bounds -90 to
    /// -10.
    pub min_speech_dbfs: f32,
    /// Lowest beep frequency, Hz. Default 400, bounds 200–3500.
    pub beep_min_hz: u32,
    /// Highest beep frequency, Hz. Default 2000, bounds `beep_min_hz`–3500.
    pub beep_max_hz: u32,
    /// Shortest steady tone taken as a beep, ms. Default 120, bounds 60–2000.
    pub min_beep_ms: u32,
    /// After a Machine verdict, keep listening for the beep until this long after the answer,
    /// ms; then report that none came. Default 30000, bounds `max_analysis_ms`–300000.
    pub max_beep_wait_ms: u32,
}

impl Default for AmdConfig {
    fn default() -> AmdConfig {
        AmdConfig {
            max_analysis_ms: 5000,
            max_human_greeting_ms: 1700,
            long_greeting_syllables: 6,
            max_greeting_ms: 2400,
            max_human_syllables: 7,
            short_greeting_ms: 600,
            short_greeting_silence_ms: 300,
            greeting_silence_ms: 500,
            min_speech_ms: 40,
            speech_margin_db: 5.5,
            min_speech_dbfs: -55.0,
            beep_min_hz: 400,
            beep_max_hz: 2000,
            min_beep_ms: 120,
            max_beep_wait_ms: 30_000,
        }
    }
}

fn check<T: PartialOrd>(
    name: &'static str,
    value: T,
    bounds: RangeInclusive<T>,
    reason: &'static str,
) -> Result<(), MediaError> {
    if bounds.contains(&value) {
        Ok(())
    } else {
        Err(MediaError::InvalidArgument { name, reason })
    }
}

impl AmdConfig {
    /// Checks every field against its documented bounds; the error names the first field out of
    /// bounds.
    pub fn validate(&self) -> Result<(), MediaError> {
        check(
            "max_analysis_ms",
            self.max_analysis_ms,
            1000..=30_000,
            "must be 1000–30000 ms",
        )?;
        check(
            "max_human_greeting_ms",
            self.max_human_greeting_ms,
            500..=5000,
            "must be 500–5000 ms",
        )?;
        check(
            "max_human_syllables",
            self.max_human_syllables,
            2..=30,
            "must be 2–30",
        )?;
        check(
            "long_greeting_syllables",
            self.long_greeting_syllables,
            1..=self.max_human_syllables,
            "must be 1 to max_human_syllables",
        )?;
        check(
            "max_greeting_ms",
            self.max_greeting_ms,
            self.max_human_greeting_ms..=10_000,
            "must be max_human_greeting_ms to 10000 ms",
        )?;
        check(
            "short_greeting_ms",
            self.short_greeting_ms,
            100..=self.max_human_greeting_ms,
            "must be 100 ms to max_human_greeting_ms",
        )?;
        check(
            "short_greeting_silence_ms",
            self.short_greeting_silence_ms,
            100..=3000,
            "must be 100–3000 ms",
        )?;
        check(
            "greeting_silence_ms",
            self.greeting_silence_ms,
            100..=3000,
            "must be 100–3000 ms",
        )?;
        check(
            "min_speech_ms",
            self.min_speech_ms,
            20..=500,
            "must be 20–500 ms",
        )?;
        check(
            "speech_margin_db",
            self.speech_margin_db,
            3.0..=30.0,
            "must be 3–30 dB",
        )?;
        check(
            "min_speech_dbfs",
            self.min_speech_dbfs,
            -90.0..=-10.0,
            "must be -90 to -10 dBFS",
        )?;
        check(
            "beep_min_hz",
            self.beep_min_hz,
            200..=3500,
            "must be 200–3500 Hz",
        )?;
        check(
            "beep_max_hz",
            self.beep_max_hz,
            self.beep_min_hz..=3500,
            "must be beep_min_hz to 3500 Hz",
        )?;
        check(
            "min_beep_ms",
            self.min_beep_ms,
            60..=2000,
            "must be 60–2000 ms",
        )?;
        check(
            "max_beep_wait_ms",
            self.max_beep_wait_ms,
            self.max_analysis_ms..=300_000,
            "must be max_analysis_ms to 300000 ms",
        )
    }

    pub(crate) fn duration(ms: u32) -> Duration {
        Duration::from_millis(u64::from(ms))
    }

    /// A length in whole 20 ms frames, at least one.
    pub(crate) fn frames(ms: u32) -> u32 {
        ms.div_ceil(20).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AmdConfig::default().validate().unwrap();
    }

    #[test]
    fn each_bound_is_checked_and_named() {
        type Breaker = Box<dyn Fn(&mut AmdConfig)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("max_analysis_ms", Box::new(|c| c.max_analysis_ms = 999)),
            (
                "max_human_greeting_ms",
                Box::new(|c| c.max_human_greeting_ms = 6000),
            ),
            (
                "max_human_syllables",
                Box::new(|c| c.max_human_syllables = 1),
            ),
            (
                "long_greeting_syllables",
                Box::new(|c| c.long_greeting_syllables = 8),
            ),
            ("max_greeting_ms", Box::new(|c| c.max_greeting_ms = 1000)),
            (
                "short_greeting_ms",
                Box::new(|c| c.short_greeting_ms = 1800),
            ),
            (
                "short_greeting_silence_ms",
                Box::new(|c| c.short_greeting_silence_ms = 50),
            ),
            (
                "greeting_silence_ms",
                Box::new(|c| c.greeting_silence_ms = 4000),
            ),
            ("min_speech_ms", Box::new(|c| c.min_speech_ms = 0)),
            (
                "speech_margin_db",
                Box::new(|c| c.speech_margin_db = f32::NAN),
            ),
            ("min_speech_dbfs", Box::new(|c| c.min_speech_dbfs = 0.0)),
            ("beep_min_hz", Box::new(|c| c.beep_min_hz = 100)),
            ("beep_max_hz", Box::new(|c| c.beep_max_hz = 300)),
            ("min_beep_ms", Box::new(|c| c.min_beep_ms = 10)),
            ("max_beep_wait_ms", Box::new(|c| c.max_beep_wait_ms = 1000)),
        ];
        for (field, break_it) in cases {
            let mut c = AmdConfig::default();
            break_it(&mut c);
            match c.validate() {
                Err(MediaError::InvalidArgument { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: expected an error, got {other:?}"),
            }
        }
    }
}
