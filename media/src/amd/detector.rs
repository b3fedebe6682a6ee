//! Our detector: the cadence of the first phrase decides. A person answers with a word or a
//! short phrase and waits; a machine talks on, its pauses between sentences shorter than a
//! person's wait. After a Machine verdict it listens for the beep.

use std::collections::VecDeque;
use std::time::Duration;

use super::config::AmdConfig;
use super::features::{FrameAnalyzer, FrameFeatures};
use super::frames::Framer;
use super::tone::{BeepEvent, BeepTracker};
use super::vad::{SyllableCounter, Vad};
use super::{AmdEvent, Cause, Detector, Verdict, FRAME, FRAME_SAMPLES};

/// Where the detector is in the call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Nothing said yet.
    Listening,
    /// The first phrase: it started at `onset`; the last speech frame ended at `last_speech`.
    FirstPhrase {
        onset: Duration,
        last_speech: Duration,
    },
    /// Machine: waiting for the beep.
    AwaitingBeep,
    /// Nothing more to report.
    Done,
}

/// The cadence detector (see the module docs of [`crate::amd`] for the contract).
#[derive(Debug, Clone)]
pub struct AmdDetector {
    config: AmdConfig,
    framer: Framer,
    analyzer: FrameAnalyzer,
    vad: Vad,
    beeps: BeepTracker,
    phase: Phase,
    /// Speech frames in a row, and when the first of them started.
    speech_run: (u32, Duration),
    /// Syllables of the first phrase.
    syllables: SyllableCounter,
    min_speech_frames: u32,
    /// At most a verdict and a beep report are ever queued.
    events: VecDeque<AmdEvent>,
    /// When the first phrase started, once it has.
    onset: Option<Duration>,
}

impl Default for AmdDetector {
    fn default() -> AmdDetector {
        AmdDetector::from_valid(AmdConfig::default())
    }
}

impl AmdDetector {
    /// A detector with `config`, if every field is within its bounds.
    pub fn new(config: &AmdConfig) -> Result<AmdDetector, crate::MediaError> {
        config.validate()?;
        Ok(AmdDetector::from_valid(config.clone()))
    }

    fn from_valid(config: AmdConfig) -> AmdDetector {
        AmdDetector {
            framer: Framer::new(),
            analyzer: FrameAnalyzer::new(config.beep_min_hz, config.beep_max_hz),
            vad: Vad::new(config.speech_margin_db, config.min_speech_dbfs),
            beeps: BeepTracker::new(AmdConfig::frames(config.min_beep_ms)),
            phase: Phase::Listening,
            speech_run: (0, Duration::ZERO),
            syllables: SyllableCounter::new(),
            min_speech_frames: AmdConfig::frames(config.min_speech_ms),
            events: VecDeque::with_capacity(2),
            onset: None,
            config,
        }
    }

    /// When the answer's first phrase started (from the answer), once speech has been heard:
    /// the moment regulators start the clock for reaching a person.
    pub fn speech_onset(&self) -> Option<Duration> {
        self.onset
    }

    fn budget(&self) -> Duration {
        AmdConfig::duration(self.config.max_analysis_ms)
    }

    fn beep_wait(&self) -> Duration {
        AmdConfig::duration(self.config.max_beep_wait_ms)
    }

    /// The silence after a first phrase of `span` that means a person is waiting.
    fn wait_after(&self, span: Duration) -> Duration {
        if span <= AmdConfig::duration(self.config.short_greeting_ms) {
            AmdConfig::duration(self.config.short_greeting_silence_ms)
        } else {
            AmdConfig::duration(self.config.greeting_silence_ms)
        }
    }

    /// Whether a first phrase of `span` with the syllables counted so far is a machine's: too
    /// many syllables for a person, or too long (for its syllables, or for anyone).
    fn greeting_too_long(&self, span: Duration) -> bool {
        let c = &self.config;
        let syllables = self.syllables.count();
        syllables > c.max_human_syllables
            || span >= AmdConfig::duration(c.max_human_greeting_ms)
                && syllables >= c.long_greeting_syllables
            || span >= AmdConfig::duration(c.max_greeting_ms)
    }

    fn decide(&mut self, verdict: Verdict, cause: Cause, at: Duration) {
        self.events
            .push_back(AmdEvent::Verdict { verdict, cause, at });
        self.phase = if verdict == Verdict::Machine {
            Phase::AwaitingBeep
        } else {
            Phase::Done
        };
    }

    /// Fires the deadlines that have passed by `now`, each dated at its deadline.
    fn expire(&mut self, now: Duration) {
        match self.phase {
            Phase::Listening if now >= self.budget() => {
                self.decide(Verdict::NotSure, Cause::TooLong, self.budget());
            }
            Phase::FirstPhrase { onset, last_speech } => {
                let waited =
                    last_speech.saturating_add(self.wait_after(last_speech.saturating_sub(onset)));
                if waited <= now && waited <= self.budget() {
                    self.decide(Verdict::Human, Cause::ShortGreeting, waited);
                } else if now >= self.budget() {
                    self.decide(Verdict::NotSure, Cause::TooLong, self.budget());
                }
            }
            Phase::AwaitingBeep if now >= self.beep_wait() => {
                self.events.push_back(AmdEvent::NoBeep {
                    at: self.beep_wait(),
                });
                self.phase = Phase::Done;
            }
            _ => {}
        }
    }

    /// One frame starting at `at`: the beep tracker hears every frame; the cadence only the
    /// frames before the verdict.
    fn process(&mut self, at: Duration, frame: &[i16; FRAME_SAMPLES]) {
        self.expire(at);
        if self.phase == Phase::Done {
            return;
        }
        let end = at.saturating_add(FRAME);
        let features = self.analyzer.analyze(frame);
        let audible = features.level_dbfs >= self.config.min_speech_dbfs;
        let tone = audible.then(|| self.analyzer.tone());
        match (self.phase, self.beeps.push(at, features.level_dbfs, tone)) {
            (Phase::AwaitingBeep, Some(BeepEvent::Ended { at, freq_hz })) => {
                self.events.push_back(AmdEvent::BeepEnd { at, freq_hz });
                self.phase = Phase::Done;
            }
            (Phase::AwaitingBeep, _) => {}
            (_, Some(BeepEvent::Confirmed { .. })) => {
                self.decide(Verdict::Machine, Cause::Beep, end);
            }
            _ => self.follow_cadence(at, &features),
        }
        self.expire(end);
    }

    /// Tracks the first phrase: its onset, its last speech and its syllables; decides Machine
    /// when it runs too long. (Human comes from [`AmdDetector::expire`], once the wait passes.)
    fn follow_cadence(&mut self, at: Duration, features: &FrameFeatures) {
        let end = at.saturating_add(FRAME);
        let analyzer = &self.analyzer;
        let loud = self.vad.is_speech(features, || analyzer.periodicity());
        // A beep is not speech: it must not read as a long greeting.
        let speech = loud && !self.beeps.in_beep();
        let (run, run_start) = self.speech_run;
        self.speech_run = if speech {
            (run + 1, if run == 0 { at } else { run_start })
        } else {
            (0, at)
        };
        let talking = self.speech_run.0 >= self.min_speech_frames;
        match self.phase {
            Phase::Listening if talking => {
                self.onset = Some(self.speech_run.1);
                self.phase = Phase::FirstPhrase {
                    onset: self.speech_run.1,
                    last_speech: end,
                };
                self.syllables = SyllableCounter::new();
                self.syllables.push(features.level_dbfs, speech);
            }
            Phase::FirstPhrase { onset, last_speech } => {
                self.syllables.push(features.level_dbfs, speech);
                if !talking {
                    return;
                }
                self.phase = Phase::FirstPhrase {
                    onset,
                    last_speech: end.max(last_speech),
                };
                if self.greeting_too_long(end.saturating_sub(onset)) {
                    self.decide(Verdict::Machine, Cause::LongGreeting, end);
                }
            }
            _ => {}
        }
    }
}

impl Detector for AmdDetector {
    fn handle_frame(&mut self, now: Duration, samples: &[i16]) {
        if self.phase == Phase::Done {
            return;
        }
        let mut framer = std::mem::replace(&mut self.framer, Framer::new());
        framer.push(now, samples, |at, frame| self.process(at, frame));
        self.framer = framer;
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.expire(now);
    }

    fn poll_timeout(&self) -> Option<Duration> {
        match self.phase {
            Phase::Listening => Some(self.budget()),
            Phase::FirstPhrase { onset, last_speech } => Some(
                last_speech
                    .saturating_add(self.wait_after(last_speech.saturating_sub(onset)))
                    .min(self.budget()),
            ),
            Phase::AwaitingBeep => Some(self.beep_wait()),
            Phase::Done => None,
        }
    }

    fn poll_event(&mut self) -> Option<AmdEvent> {
        self.events.pop_front()
    }

    fn is_done(&self) -> bool {
        self.phase == Phase::Done && self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::tests::{noise, sine};
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// 20 ms of a voice-like sound: harmonics 3–16 of 125 Hz (the fundamental is below the
    /// telephone band), at `amplitude`, continuing the waveform from `frame_index`.
    fn voiced(amplitude: f32, frame_index: usize) -> [i16; 160] {
        std::array::from_fn(|n| {
            let t = (frame_index * 160 + n) as f32 / 8000.0;
            let v: f32 = (3..=16)
                .map(|h| (std::f32::consts::TAU * 125.0 * h as f32 * t + h as f32).sin() / h as f32)
                .sum();
            (amplitude * v).round() as i16
        })
    }

    /// A script of the call: (what, ms). Words are 160 ms syllables with 40 ms dips between
    /// them, at about -20 dBFS, over faint noise.
    #[derive(Clone, Copy)]
    enum Part {
        Silence,
        Talk,
        Tone(f32),
    }

    fn audio(script: &[(Part, u32)]) -> Vec<[i16; 160]> {
        let mut seed = 11;
        let mut frames = Vec::new();
        for &(part, ms) in script {
            for k in 0..(ms / 20) as usize {
                let i = frames.len();
                let hiss = noise(40.0, &mut seed);
                let frame = match part {
                    Part::Silence => hiss,
                    Part::Talk if k % 10 >= 8 => hiss,
                    Part::Talk => voiced(2500.0, i),
                    Part::Tone(hz) => sine(hz, 6000.0, i * 160),
                };
                frames.push(frame);
            }
        }
        frames
    }

    /// Plays frames from offset 0; returns the events with their frame index.
    fn play(d: &mut AmdDetector, frames: &[[i16; 160]]) -> Vec<AmdEvent> {
        let mut events = Vec::new();
        for (k, f) in frames.iter().enumerate() {
            d.handle_frame(FRAME * k as u32, f);
            while let Some(e) = d.poll_event() {
                events.push(e);
            }
        }
        events
    }

    fn verdict(e: &AmdEvent) -> (Verdict, Cause, Duration) {
        match *e {
            AmdEvent::Verdict { verdict, cause, at } => (verdict, cause, at),
            other => panic!("expected a verdict, got {other:?}"),
        }
    }

    #[test]
    fn a_hello_then_silence_is_a_person_after_the_short_wait() {
        let mut d = AmdDetector::default();
        let events = play(
            &mut d,
            &audio(&[
                (Part::Silence, 600),
                (Part::Talk, 400),
                (Part::Silence, 2000),
            ]),
        );
        assert_eq!(events.len(), 1, "{events:?}");
        let (v, cause, at) = verdict(&events[0]);
        assert_eq!((v, cause), (Verdict::Human, Cause::ShortGreeting));
        // Talk from 600 to 1000 ms (the VAD may trim a frame at either end), then 300 ms.
        assert!(at >= 1260 * MS && at <= 1320 * MS, "{at:?}");
        let onset = d.speech_onset().expect("speech was heard");
        assert!(onset >= 580 * MS && onset <= 640 * MS, "{onset:?}");
        assert!(d.is_done());
        assert_eq!(d.poll_timeout(), None);
    }

    #[test]
    fn a_longer_phrase_needs_the_longer_wait() {
        let mut d = AmdDetector::default();
        // Two words with a 200 ms pause between: one phrase of about 1 s, then silence. The
        // second word's last syllable ends 40 ms before its part does.
        let script = [
            (Part::Silence, 400),
            (Part::Talk, 400),
            (Part::Silence, 200),
            (Part::Talk, 400),
            (Part::Silence, 2000),
        ];
        let events = play(&mut d, &audio(&script));
        let (v, _, at) = verdict(&events[0]);
        assert_eq!(v, Verdict::Human);
        assert!(at >= 1840 * MS && at <= 1900 * MS, "{at:?}");
    }

    #[test]
    fn talking_on_is_a_machine_then_the_beep_end_is_reported() {
        let mut d = AmdDetector::default();
        let script = [
            (Part::Silence, 200),
            (Part::Talk, 1200),
            (Part::Silence, 300),
            (Part::Talk, 2000),
            (Part::Silence, 400),
            (Part::Tone(1000.0), 600),
            (Part::Silence, 1000),
        ];
        let events = play(&mut d, &audio(&script));
        assert_eq!(events.len(), 2, "{events:?}");
        let (v, cause, at) = verdict(&events[0]);
        assert_eq!((v, cause), (Verdict::Machine, Cause::LongGreeting));
        // The 300 ms pause is shorter than the wait; the phrase passes 1.7 s in the pause, so the
        // verdict comes with the next confirmed speech (two frames after 1.9 s).
        assert!(at <= 1960 * MS, "{at:?}");
        match events[1] {
            AmdEvent::BeepEnd { at, freq_hz } => {
                assert_eq!(at, 4700 * MS);
                assert!(freq_hz.abs_diff(1000) <= 5, "{freq_hz}");
            }
            other => panic!("{other:?}"),
        }
        assert!(d.is_done());
    }

    #[test]
    fn a_beep_before_any_decision_is_a_machine() {
        let mut d = AmdDetector::default();
        let events = play(
            &mut d,
            &audio(&[
                (Part::Silence, 500),
                (Part::Tone(440.0), 800),
                (Part::Silence, 500),
            ]),
        );
        let (v, cause, at) = verdict(&events[0]);
        assert_eq!((v, cause), (Verdict::Machine, Cause::Beep));
        assert_eq!(at, 620 * MS, "confirmed after 120 ms of tone");
        assert!(matches!(events[1], AmdEvent::BeepEnd { at, .. } if at == 1300 * MS));
    }

    #[test]
    fn no_beep_within_the_wait_is_reported_once() {
        let config = AmdConfig {
            max_beep_wait_ms: 6000,
            ..AmdConfig::default()
        };
        let mut d = AmdDetector::new(&config).unwrap();
        let events = play(&mut d, &audio(&[(Part::Talk, 3000), (Part::Silence, 1000)]));
        assert_eq!(verdict(&events[0]).0, Verdict::Machine);
        assert_eq!(d.poll_timeout(), Some(6000 * MS));
        // The stream stalls: the deadline fires from handle_timeout alone.
        d.handle_timeout(5999 * MS);
        assert_eq!(d.poll_event(), None);
        d.handle_timeout(7000 * MS);
        assert_eq!(d.poll_event(), Some(AmdEvent::NoBeep { at: 6000 * MS }));
        assert!(d.is_done());
        d.handle_frame(8000 * MS, &[0; 160]);
        assert_eq!(d.poll_event(), None);
    }

    #[test]
    fn silence_and_noise_are_not_sure_at_the_budget() {
        let mut d = AmdDetector::default();
        let events = play(&mut d, &audio(&[(Part::Silence, 6000)]));
        assert_eq!(events.len(), 1);
        assert_eq!(
            verdict(&events[0]),
            (Verdict::NotSure, Cause::TooLong, 5000 * MS)
        );
        // Loud steady white noise: the floor rises to it, nothing is speech.
        let mut seed = 5;
        let frames: Vec<[i16; 160]> = (0..300).map(|_| noise(6000.0, &mut seed)).collect();
        let mut d = AmdDetector::default();
        let events = play(&mut d, &frames);
        assert_eq!(verdict(&events[0]).0, Verdict::NotSure, "{events:?}");
    }

    #[test]
    fn a_stalled_stream_still_decides() {
        let mut d = AmdDetector::default();
        assert_eq!(d.poll_timeout(), Some(5000 * MS));
        play(&mut d, &audio(&[(Part::Silence, 400), (Part::Talk, 400)]));
        // The person stops and so does the RTP (silence suppression): the wait runs from the
        // last speech frame.
        let deadline = d.poll_timeout().unwrap();
        assert!(
            deadline >= 1060 * MS && deadline <= 1100 * MS,
            "{deadline:?}"
        );
        d.handle_timeout(deadline);
        let (v, _, at) = verdict(&d.poll_event().unwrap());
        assert_eq!((v, at), (Verdict::Human, deadline));
    }

    #[test]
    fn odd_packet_sizes_give_the_same_verdict() {
        let frames = audio(&[
            (Part::Silence, 600),
            (Part::Talk, 400),
            (Part::Silence, 1000),
        ]);
        let samples: Vec<i16> = frames.iter().flatten().copied().collect();
        let mut reference = AmdDetector::default();
        let want = play(&mut reference, &frames);
        for size in [1, 7, 80, 240, 1000] {
            let mut d = AmdDetector::default();
            let mut got = Vec::new();
            for (k, chunk) in samples.chunks(size).enumerate() {
                d.handle_frame(Duration::from_micros((k * size) as u64 * 125), chunk);
                got.extend(std::iter::from_fn(|| d.poll_event()));
            }
            assert_eq!(got, want, "packets of {size} samples");
        }
    }

    #[test]
    fn hostile_input_is_bounded() {
        // Full-scale garbage, clipping, time going backwards, offsets at the end of time.
        let mut seed = 99;
        let mut d = AmdDetector::default();
        let mut events = 0;
        for k in 0..2000u32 {
            let frame = match k % 4 {
                0 => noise(32767.0, &mut seed),
                1 => [i16::MAX; 160],
                2 => std::array::from_fn(|n| if n % 2 == 0 { i16::MIN } else { i16::MAX }),
                _ => voiced(30000.0, k as usize),
            };
            let now = if k % 7 == 0 {
                Duration::ZERO
            } else {
                FRAME * k
            };
            d.handle_frame(now, &frame);
            d.handle_timeout(now);
            events += std::iter::from_fn(|| d.poll_event()).count();
        }
        d.handle_frame(Duration::MAX, &[1; 160]);
        d.handle_timeout(Duration::MAX);
        events += std::iter::from_fn(|| d.poll_event()).count();
        assert!((1..=2).contains(&events), "{events} events");
        assert!(d.is_done());
    }

    #[test]
    fn an_invalid_config_is_refused() {
        let config = AmdConfig {
            min_beep_ms: 0,
            ..AmdConfig::default()
        };
        assert!(AmdDetector::new(&config).is_err());
    }
}
