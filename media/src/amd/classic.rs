//! The baseline: Asterisk's `app_amd` algorithm, re-implemented from its description and
//! source so both detectors can be scored on the same files.
//!
//! A frame is silent when its mean absolute sample is under a fixed threshold. Runs of voiced
//! frames become words once they last the minimum word length; the verdict comes from the
//! silence before the first word (too long: machine), the total voiced time of the greeting
//! (too long: machine), the number of words (too many: machine), one word lasting too long
//! (machine), or the silence after the greeting (long enough: human). The quirks are kept: the
//! first word is counted only if some silence came before it, and voiced time accumulates over
//! the whole greeting rather than per word.
//! It has no beep detector, so a Machine verdict is its last event.

use std::collections::VecDeque;
use std::time::Duration;

use super::frames::Framer;
use super::{AmdEvent, Cause, Detector, Verdict, FRAME, FRAME_SAMPLES};

/// `app_amd`'s parameters, in its units (ms, and a mean absolute sample value for the
/// threshold). [`Default`] gives Asterisk's shipped defaults (`apps/app_amd.c`,
/// `configs/samples/amd.conf.sample`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicConfig {
    /// Longest silence before the greeting; more is a machine. Default 2500.
    pub initial_silence_ms: u32,
    /// Longest voiced time of a person's greeting; more is a machine. Default 1500.
    pub greeting_ms: u32,
    /// Silence after the greeting that means a person. Default 800.
    pub after_greeting_silence_ms: u32,
    /// Time budget; then NotSure. Default 5000.
    pub total_analysis_ms: u32,
    /// Voiced time that makes a word. Default 100.
    pub min_word_length_ms: u32,
    /// Silence that separates words. Default 50.
    pub between_words_silence_ms: u32,
    /// Most words a person's greeting has; more is a machine. Default 2.
    pub maximum_number_of_words: u32,
    /// Mean absolute sample (0–32767) under which a frame is silent. Default 256.
    pub silence_threshold: u32,
    /// Longest single word; longer is a machine. Default 5000.
    pub maximum_word_length_ms: u32,
}

impl Default for ClassicConfig {
    fn default() -> ClassicConfig {
        ClassicConfig {
            initial_silence_ms: 2500,
            greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            total_analysis_ms: 5000,
            min_word_length_ms: 100,
            between_words_silence_ms: 50,
            maximum_number_of_words: 2,
            silence_threshold: 256,
            maximum_word_length_ms: 5000,
        }
    }
}

/// The counters `app_amd` keeps while it listens, in ms.
#[derive(Debug, Clone, Default)]
struct Counters {
    total: u32,
    /// Consecutive silence so far (the silence detector's running total).
    silence: u32,
    voice: u32,
    consecutive_voice: u32,
    words: u32,
    in_word: bool,
    in_initial_silence: bool,
    in_greeting: bool,
}

/// Asterisk's `app_amd` as a sans-IO [`Detector`].
#[derive(Debug, Clone)]
pub struct ClassicAmd {
    config: ClassicConfig,
    framer: Framer,
    c: Counters,
    done: bool,
    events: VecDeque<AmdEvent>,
}

impl Default for ClassicAmd {
    fn default() -> ClassicAmd {
        ClassicAmd::new(ClassicConfig::default())
    }
}

impl ClassicAmd {
    /// A detector with `config` (any values are accepted, as `app_amd` accepts them).
    pub fn new(config: ClassicConfig) -> ClassicAmd {
        ClassicAmd {
            config,
            framer: Framer::new(),
            c: Counters {
                // It starts "in a word", so a greeting without leading silence has its first
                // word uncounted.
                in_word: true,
                in_initial_silence: true,
                ..Counters::default()
            },
            done: false,
            events: VecDeque::with_capacity(1),
        }
    }

    fn decide(&mut self, verdict: Verdict, cause: Cause, at: Duration) {
        self.events
            .push_back(AmdEvent::Verdict { verdict, cause, at });
        self.done = true;
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(u64::from(self.config.total_analysis_ms))
    }

    fn process(&mut self, at: Duration, frame: &[i16; FRAME_SAMPLES]) {
        if self.done {
            return;
        }
        // The wall-clock guard: frames that arrive after the budget end the analysis.
        if at > self.budget() {
            return self.decide(Verdict::NotSure, Cause::TooLong, at);
        }
        let end = at.saturating_add(FRAME);
        let frame_ms = FRAME.as_millis() as u32;
        let cfg = &self.config;
        let c = &mut self.c;
        c.total = c.total.saturating_add(frame_ms);
        if c.total >= cfg.total_analysis_ms {
            return self.decide(Verdict::NotSure, Cause::TooLong, end);
        }
        let mean_abs = frame
            .iter()
            .map(|&s| i32::from(s).unsigned_abs())
            .sum::<u32>()
            / FRAME_SAMPLES as u32;
        let verdict = if mean_abs < cfg.silence_threshold {
            c.silence = c.silence.saturating_add(frame_ms);
            if c.silence >= cfg.between_words_silence_ms {
                c.in_word = false;
                c.consecutive_voice = 0;
            }
            if c.in_initial_silence && c.silence >= cfg.initial_silence_ms {
                Some((Verdict::Machine, Cause::InitialSilence))
            } else if c.in_greeting && c.silence >= cfg.after_greeting_silence_ms {
                Some((Verdict::Human, Cause::AfterGreetingSilence))
            } else {
                None
            }
        } else {
            c.silence = 0;
            c.consecutive_voice = c.consecutive_voice.saturating_add(frame_ms);
            c.voice = c.voice.saturating_add(frame_ms);
            if c.consecutive_voice >= cfg.min_word_length_ms && !c.in_word {
                c.words += 1;
                c.in_word = true;
            }
            let verdict = if c.consecutive_voice >= cfg.maximum_word_length_ms {
                Some((Verdict::Machine, Cause::MaxWordLength))
            } else if c.words > cfg.maximum_number_of_words {
                Some((Verdict::Machine, Cause::MaxWords))
            } else if c.in_greeting && c.voice >= cfg.greeting_ms {
                Some((Verdict::Machine, Cause::LongGreeting))
            } else {
                None
            };
            if c.consecutive_voice >= cfg.min_word_length_ms && !c.in_greeting {
                c.in_initial_silence = false;
                c.in_greeting = true;
            }
            verdict
        };
        if let Some((verdict, cause)) = verdict {
            self.decide(verdict, cause, end);
        }
    }
}

impl Detector for ClassicAmd {
    fn handle_frame(&mut self, now: Duration, samples: &[i16]) {
        if self.done {
            return;
        }
        let mut framer = std::mem::replace(&mut self.framer, Framer::new());
        framer.push(now, samples, |at, frame| self.process(at, frame));
        self.framer = framer;
    }

    fn handle_timeout(&mut self, now: Duration) {
        if !self.done && now >= self.budget() {
            self.decide(Verdict::NotSure, Cause::TooLong, self.budget());
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        (!self.done).then(|| self.budget())
    }

    fn poll_event(&mut self) -> Option<AmdEvent> {
        self.events.pop_front()
    }

    fn is_done(&self) -> bool {
        self.done && self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOUD: [i16; 160] = [1000; 160];
    const QUIET: [i16; 160] = [10; 160];

    /// Plays `script` (frames of voice or silence) and returns the verdict with its time in ms.
    fn run(script: &[(bool, u32)]) -> Option<(Verdict, Cause, u64)> {
        let mut amd = ClassicAmd::default();
        let mut t = 0u64;
        for &(voice, ms) in script {
            for _ in 0..ms / 20 {
                amd.handle_frame(Duration::from_millis(t), if voice { &LOUD } else { &QUIET });
                t += 20;
            }
        }
        match amd.poll_event()? {
            AmdEvent::Verdict { verdict, cause, at } => {
                Some((verdict, cause, at.as_millis() as u64))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_half_second_hello_is_human_after_800_ms_of_silence() {
        let verdict = run(&[(false, 500), (true, 500), (false, 2000)]);
        assert_eq!(
            verdict,
            Some((Verdict::Human, Cause::AfterGreetingSilence, 1800))
        );
    }

    #[test]
    fn long_initial_silence_is_a_machine() {
        assert_eq!(
            run(&[(false, 3000)]),
            Some((Verdict::Machine, Cause::InitialSilence, 2500))
        );
    }

    #[test]
    fn a_third_word_is_a_machine() {
        // Leading silence, so the first word counts: words at 1, 2, 3.
        let script = [
            (false, 200),
            (true, 200),
            (false, 100),
            (true, 200),
            (false, 100),
            (true, 200),
        ];
        // The third word is counted 100 ms into it: 200+200+100+200+100+100.
        assert_eq!(run(&script), Some((Verdict::Machine, Cause::MaxWords, 900)));
    }

    #[test]
    fn the_first_word_is_uncounted_without_leading_silence() {
        // Three words with no leading silence: only two are counted, so the
        // silence after them makes it a person.
        let script = [
            (true, 300),
            (false, 100),
            (true, 300),
            (false, 100),
            (true, 300),
            (false, 2000),
        ];
        assert_eq!(
            run(&script),
            Some((Verdict::Human, Cause::AfterGreetingSilence, 1900))
        );
    }

    #[test]
    fn voice_past_the_greeting_length_is_a_machine() {
        assert_eq!(
            run(&[(true, 3000)]),
            Some((Verdict::Machine, Cause::LongGreeting, 1500))
        );
    }

    #[test]
    fn nothing_but_voice_and_pauses_runs_out_of_time() {
        // Voice under the word length, then silence under the initial silence, repeated.
        let script: Vec<(bool, u32)> = (0..30).flat_map(|_| [(true, 60), (false, 140)]).collect();
        assert_eq!(run(&script), Some((Verdict::NotSure, Cause::TooLong, 5000)));
    }

    #[test]
    fn a_stalled_stream_times_out() {
        let mut amd = ClassicAmd::default();
        amd.handle_frame(Duration::ZERO, &QUIET);
        assert_eq!(amd.poll_timeout(), Some(Duration::from_secs(5)));
        amd.handle_timeout(Duration::from_secs(4));
        assert!(amd.poll_event().is_none());
        amd.handle_timeout(Duration::from_secs(5));
        assert!(matches!(
            amd.poll_event(),
            Some(AmdEvent::Verdict {
                verdict: Verdict::NotSure,
                ..
            })
        ));
        assert!(amd.is_done());
    }
}
