//! The recipe of the labelled AMD set: which calls to build, decided by a seeded RNG alone, so the
//! same seed always gives the same files and labels.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Whether a call was answered by a person or by a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A person says one or two short phrases and waits.
    Human,
    /// A recorded greeting, sometimes followed by a beep.
    Machine,
}

/// The line noise mixed under the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseColour {
    /// `sox synth whitenoise`.
    White,
    /// `sox synth pinknoise`.
    Pink,
    /// `sox synth brownnoise`.
    Brown,
}

impl NoiseColour {
    /// The name sox's `synth` effect knows it by.
    pub fn sox_name(self) -> &'static str {
        match self {
            NoiseColour::White => "whitenoise",
            NoiseColour::Pink => "pinknoise",
            NoiseColour::Brown => "brownnoise",
        }
    }
}

/// How the finished file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 16-bit PCM WAV.
    Pcm16,
    /// G.711 µ-law WAV.
    Ulaw,
    /// G.711 A-law WAV.
    Alaw,
}

/// One espeak-ng utterance: the text and the voice that says it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Utterance {
    /// espeak-ng voice, `language+variant` (`en-gb+f2`).
    pub voice: String,
    /// Words per minute (`-s`).
    pub speed: u32,
    /// Pitch 0–99 (`-p`).
    pub pitch: u32,
    /// What is said.
    pub text: &'static str,
}

/// A steady tone after a machine's greeting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beep {
    /// Silence between the end of the greeting and the tone.
    pub gap_ms: u32,
    /// Tone frequency.
    pub freq_hz: u32,
    /// Tone length.
    pub len_ms: u32,
    /// Tone level relative to the speech's active level.
    pub rel_db: f64,
}

/// Everything needed to build one file.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// File stem (`h0007`, `m0012`).
    pub name: String,
    /// Who answered.
    pub kind: Kind,
    /// Silence before the first word (the pick-up delay).
    pub lead_ms: u32,
    /// The first phrase (a person's) or the whole greeting (a machine's).
    pub first: Utterance,
    /// A person's second phrase and the silence before it.
    pub second: Option<(u32, Utterance)>,
    /// The tone after a machine's greeting.
    pub beep: Option<Beep>,
    /// Silence after the last sound.
    pub tail_ms: u32,
    /// Active speech level, dBFS RMS.
    pub level_dbfs: f64,
    /// Line noise and its SNR against the speech's active level (`None`: a clean line).
    pub noise: Option<(NoiseColour, f64)>,
    /// File encoding.
    pub encoding: Encoding,
}

/// One-word answers: the "hello" case of the latency goal.
pub const ONE_WORD: &[&str] = &["Hello?", "Hello.", "Yes?", "Hi.", "Yeah?", "Speaking."];

/// Short first phrases of a person answering.
pub const SHORT_PHRASES: &[&str] = &[
    "Hello, who's calling?",
    "Hi, this is Sam.",
    "Yes, hello?",
    "Good morning.",
    "Hello, Sam speaking.",
    "Hi there.",
];

/// What a person says after a pause when nobody answers.
pub const SECOND_PHRASES: &[&str] = &["Hello?", "Who is this?", "Hello? Anyone there?", "Hello?"];

/// Voicemail greetings, several sentences each; espeak-ng's own pauses separate the sentences.
pub const GREETINGS: &[&str] = &[
    "Hi, you've reached the voicemail of Sam Taylor. I can't take your call right now. Please leave a message after the tone.",
    "Hello, you have reached the Johnson residence. We are not available to take your call. Please leave your name and number and we will call you back.",
    "The person you are calling is not available. Please leave a message after the tone. When you have finished recording, you may hang up.",
    "Thank you for calling Acme Dental. Our office is currently closed. Our hours are Monday to Friday, nine to five. Please leave a message and we will return your call.",
    "Hey, it's Alex. Sorry I missed you. Leave a message and I'll get back to you as soon as I can.",
    "Hi, this is Maria Lopez. I'm away from my desk at the moment. Please leave a brief message with your number, and I will call you back.",
    "You have reached five five five, zero one three four. Nobody is available to take your call. Please leave a message.",
    "Hello, you've reached Chris and Dana. We can't come to the phone right now, so leave us a message and we'll call you back. Thanks.",
    "Welcome to the voice mailbox of extension two four one. The subscriber is not available. Record your message at the tone.",
    "Hi there, thanks for calling. I'm either on the other line or away from the phone. Leave your name, number and a short message, and I'll return your call.",
    "Good afternoon, you have reached the offices of Baker and Sons. All of our staff are busy. Please stay on the line to leave a message.",
    "This is Tom. I'm not here right now. Leave a message.",
    "The number you have dialed, five five five, zero one nine eight, is not available. Please leave a message after the beep.",
    "Hi, sorry we missed your call. We're probably out walking the dog. Leave a message and we'll call you back.",
];

const LANGUAGES: &[&str] = &["en", "en-us", "en-gb"];
const VARIANTS: &[&str] = &["", "m1", "m2", "m3", "m4", "f1", "f2", "f3", "f4"];

/// Speaking rates of the set, espeak-ng words per minute. espeak-ng's phrases are slow for
/// their nominal rate (a "Hello?" at 175 lasts 0.56 s, "Hello, who's calling?" 1.4 s); 150–230
/// puts a one-word hello at 0.44–0.65 s, around the 500 ms of a real one.
pub const SPEEDS: std::ops::RangeInclusive<u32> = 150..=230;

/// Which set to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    /// Seed of the plan.
    pub seed: u64,
    /// Calls answered by people.
    pub humans: usize,
    /// Calls answered by machines.
    pub machines: usize,
    /// Speaking rates, words per minute (see [`SPEEDS`]).
    pub speeds: std::ops::RangeInclusive<u32>,
}

impl SetSpec {
    /// `humans + machines` calls from `seed` at the usual speaking rates.
    pub fn new(seed: u64, humans: usize, machines: usize) -> SetSpec {
        SetSpec {
            seed,
            humans,
            machines,
            speeds: SPEEDS,
        }
    }
}

/// The plan of a set: people first, then machines.
pub fn plan(spec: &SetSpec) -> Vec<CallPlan> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let speeds = &spec.speeds;
    let mut calls = Vec::with_capacity(spec.humans + spec.machines);
    for i in 0..spec.humans {
        calls.push(human(&mut rng, speeds, format!("h{i:04}")));
    }
    for i in 0..spec.machines {
        calls.push(machine(&mut rng, speeds, format!("m{i:04}")));
    }
    calls
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

fn voice(rng: &mut StdRng, speeds: &std::ops::RangeInclusive<u32>) -> (String, u32, u32) {
    let language = pick(rng, LANGUAGES);
    let variant = pick(rng, VARIANTS);
    let voice = if variant.is_empty() {
        language.to_string()
    } else {
        format!("{language}+{variant}")
    };
    (voice, rng.gen_range(speeds.clone()), rng.gen_range(25..=75))
}

fn line(rng: &mut StdRng) -> (f64, Option<(NoiseColour, f64)>, Encoding) {
    let level = rng.gen_range(-30.0..=-14.0);
    let noise = match rng.gen_range(0..10) {
        0 => None,
        _ => {
            let colour = pick(
                rng,
                &[
                    NoiseColour::White,
                    NoiseColour::White,
                    NoiseColour::Pink,
                    NoiseColour::Brown,
                ],
            );
            let snr = pick(rng, &[40.0, 30.0, 25.0, 20.0, 15.0, 10.0]);
            Some((colour, snr))
        }
    };
    let encoding = match rng.gen_range(0..20) {
        0..=13 => Encoding::Pcm16,
        14..=16 => Encoding::Ulaw,
        _ => Encoding::Alaw,
    };
    (level, noise, encoding)
}

fn human(rng: &mut StdRng, speeds: &std::ops::RangeInclusive<u32>, name: String) -> CallPlan {
    let (voice, speed, pitch) = voice(rng, speeds);
    let pattern = rng.gen_range(0..100);
    let text = if pattern < 50 {
        pick(rng, ONE_WORD)
    } else {
        pick(rng, SHORT_PHRASES)
    };
    // Half the people speak again after a pause: "hello ... hello?".
    let second = (rng.gen_range(0..2) == 0).then(|| {
        let gap = rng.gen_range(900..=2500);
        let text = pick(rng, SECOND_PHRASES);
        let utterance = Utterance {
            voice: voice.clone(),
            speed,
            pitch,
            text,
        };
        (gap, utterance)
    });
    let (level_dbfs, noise, encoding) = line(rng);
    CallPlan {
        name,
        kind: Kind::Human,
        lead_ms: rng.gen_range(0..=1500),
        first: Utterance {
            voice,
            speed,
            pitch,
            text,
        },
        second,
        beep: None,
        tail_ms: rng.gen_range(4000..=5000),
        level_dbfs,
        noise,
        encoding,
    }
}

fn machine(rng: &mut StdRng, speeds: &std::ops::RangeInclusive<u32>, name: String) -> CallPlan {
    let (voice, speed, pitch) = voice(rng, speeds);
    let text = pick(rng, GREETINGS);
    let beep = (rng.gen_range(0..2) == 0).then(|| Beep {
        gap_ms: rng.gen_range(200..=1000),
        // Half the beeps at a common frequency, half anywhere in 400–2000 Hz.
        freq_hz: if rng.gen_range(0..2) == 0 {
            pick(rng, &[440, 850, 1000, 1400])
        } else {
            rng.gen_range(400..=2000)
        },
        len_ms: rng.gen_range(300..=1000),
        rel_db: rng.gen_range(-6.0..=3.0),
    });
    let (level_dbfs, noise, encoding) = line(rng);
    CallPlan {
        name,
        kind: Kind::Machine,
        // Machines start their greeting soon after answering; people take longer.
        lead_ms: rng.gen_range(0..=800),
        first: Utterance {
            voice,
            speed,
            pitch,
            text,
        },
        second: None,
        beep,
        tail_ms: rng.gen_range(2000..=3000),
        level_dbfs,
        noise,
        encoding,
    }
}
