//! Answering-machine detection (AMD) for outdial: was an answered call picked up by a person or
//! by a machine, and when does the machine's beep end?
//!
//! Two sans-IO detectors behind one [`Detector`] trait, fed the decoded audio of an answered call:
//!
//! ```text
//!   file         classify a WAV file offline: AmdReport { verdict, decided_ms, beep_end_ms }
//!   detector     AmdDetector: the cadence of the first phrase decides (ours)
//!   classic      ClassicAmd: Asterisk app_amd's algorithm, re-implemented as the baseline
//!   vad, tone    speech/silence against a tracked noise floor, syllable peaks; the beep
//!   features     per-frame measurements: level, high band, voicing, tone purity and frequency
//!   frames       cuts whatever the caller hands in into 20 ms frames with their offsets
//!   config       AmdConfig: every knob with its unit, default and bounds
//! ```
//!
//! Time is an offset from the moment the call was answered (`Duration`), passed in with every
//! frame; the detectors never read a clock. On a leg, decode each RTP payload with its codec
//! ([`crate::Codec::decode`]) and pass the offset of its RTP timestamp from the first one's
//! (timestamp difference / 8 ms), so jitter does not move the audio. After each `handle_frame` or `handle_timeout`, drain
//! [`Detector::poll_event`] until it returns `None`. Any input is accepted: odd frame sizes,
//! gaps, time going backwards (ignored), clipping or garbage; memory is bounded.

mod classic;
mod config;
mod detector;
mod features;
mod file;
mod frames;
mod tone;
mod vad;

use std::time::Duration;

pub use classic::{ClassicAmd, ClassicConfig};
pub use config::AmdConfig;
pub use detector::AmdDetector;
pub use file::{classify_samples, classify_wav, classify_wav_with, read_recording, AmdReport};

/// Sample rate of the audio the detectors take.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;
/// Length of one frame.
pub const FRAME: Duration = Duration::from_millis(20);

/// Who answered the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A person: connect an agent.
    Human,
    /// An answering machine or voicemail: wait for the beep, then leave a message.
    Machine,
    /// No decision within the time budget (silence, noise, or nothing we recognise).
    NotSure,
}

impl Verdict {
    /// `HUMAN`, `MACHINE` or `NOTSURE`, as Asterisk's `AMDSTATUS` spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Human => "HUMAN",
            Verdict::Machine => "MACHINE",
            Verdict::NotSure => "NOTSURE",
        }
    }
}

/// Why a detector reached its verdict ([`Cause::as_str`] names it as Asterisk's `AMDCAUSE`
/// does, where it has a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// Ours: a short first phrase followed by a wait (Human).
    ShortGreeting,
    /// Both: talking for longer than a person's greeting (Machine).
    LongGreeting,
    /// Ours: a voicemail beep heard before any other decision (Machine).
    Beep,
    /// Both: the time budget ran out (NotSure).
    TooLong,
    /// Classic: silence before any word lasted too long (Machine).
    InitialSilence,
    /// Classic: silence after the greeting (Human).
    AfterGreetingSilence,
    /// Classic: more words than a person's greeting has (Machine).
    MaxWords,
    /// Classic: one word lasting too long (Machine).
    MaxWordLength,
    /// The file classifier: the audio ended before any decision (NotSure).
    AudioEnded,
}

impl Cause {
    /// An upper-case name: `SHORTGREETING`, `LONGGREETING`, `BEEP`, `TOOLONG`,
    /// `INITIALSILENCE`, `HUMAN` (app_amd's name for the silence after a greeting), `MAXWORDS`,
    /// `MAXWORDLENGTH`, `AUDIOENDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ShortGreeting => "SHORTGREETING",
            Cause::LongGreeting => "LONGGREETING",
            Cause::Beep => "BEEP",
            Cause::TooLong => "TOOLONG",
            Cause::InitialSilence => "INITIALSILENCE",
            Cause::AfterGreetingSilence => "HUMAN",
            Cause::MaxWords => "MAXWORDS",
            Cause::MaxWordLength => "MAXWORDLENGTH",
            Cause::AudioEnded => "AUDIOENDED",
        }
    }
}

/// What a detector has to report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmdEvent {
    /// The verdict, exactly once per call.
    Verdict {
        /// Who answered.
        verdict: Verdict,
        /// Why.
        cause: Cause,
        /// When it was reached: the end of the frame that decided, or the deadline that expired.
        at: Duration,
    },
    /// After a [`Verdict::Machine`]: the voicemail beep has ended, leave the message now.
    BeepEnd {
        /// When the tone stopped.
        at: Duration,
        /// Its frequency.
        freq_hz: u32,
    },
    /// After a [`Verdict::Machine`]: no beep within the beep budget; the detector is done.
    NoBeep {
        /// When the detector gave up.
        at: Duration,
    },
}

/// A sans-IO answering-machine detector.
///
/// Feed it the decoded audio of an answered call with [`Detector::handle_frame`], call
/// [`Detector::handle_timeout`] when [`Detector::poll_timeout`]'s deadline passes without audio,
/// and after each `handle_*` drain [`Detector::poll_event`] until it returns `None`. Once
/// [`Detector::is_done`] is true, further input is ignored.
pub trait Detector {
    /// Audio at 8 kHz: `samples` start at `now`, the offset from the answer. Frames of 160
    /// samples are expected; other lengths are cut or joined into 20 ms frames. A `now` earlier
    /// than the end of the audio already seen is taken as that end (time going backwards is
    /// ignored); a later one leaves a gap, which counts as silence.
    fn handle_frame(&mut self, now: Duration, samples: &[i16]);
    /// No audio until `now`: deadlines up to `now` fire.
    fn handle_timeout(&mut self, now: Duration);
    /// The earliest deadline at which something can happen without more audio.
    fn poll_timeout(&self) -> Option<Duration>;
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<AmdEvent>;
    /// Whether the detector has nothing more to say (after its verdict, and for a machine after
    /// the beep or the beep budget).
    fn is_done(&self) -> bool;
}
