//! Builds the labelled AMD set from a plan with espeak-ng and sox, and reads it back.
//!
//! Each utterance is spoken by espeak-ng, resampled to 8 kHz and trimmed of its leading and
//! trailing silence by sox, so its length is the length of the speech. The parts are placed at
//! known offsets, line noise from `sox synth` is added at the planned SNR and the mix goes
//! through sox once more for the telephone band-pass (a zero-phase `sinc 300-3400`, so offsets do
//! not move) and the file's encoding. Labels are computed from those offsets, never measured on
//! the result.
//!
//! A set is cached under the target directory by seed, size and [`GENERATOR_VERSION`]; its
//! manifest is written last, so a half-built set is built again.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::plan::{plan, CallPlan, Encoding, Kind, NoiseColour, SetSpec, Utterance, ONE_WORD};

/// Bump when the plan or the build changes, so cached sets are rebuilt.
pub const GENERATOR_VERSION: u32 = 3;

const RATE: usize = 8000;
const NOISE_BED_SECONDS: usize = 30;

/// One file of the set with its labels.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The WAV file.
    pub path: PathBuf,
    /// Who answered.
    pub kind: Kind,
    /// When the first word starts, ms from the start of the file.
    pub speech_start_ms: u64,
    /// When the first phrase (a person's) or the greeting (a machine's) ends.
    pub first_phrase_end_ms: u64,
    /// Whether a person's first phrase is a single word ("Hello?").
    pub one_word: bool,
    /// When a machine's beep ends, if it has one.
    pub beep_end_ms: Option<u64>,
    /// Length of the file.
    pub duration_ms: u64,
    /// The planned SNR, if noise was added.
    pub snr_db: Option<f64>,
    /// What is said first, and the espeak-ng voice and speed that say it.
    pub first_text: String,
}

/// Fails the test naming the Debian package when a tool is missing.
pub fn require_tools() {
    for (tool, package) in [("espeak-ng", "espeak-ng"), ("sox", "sox")] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "`{tool}` is not installed: install the Debian package `{package}`"
        );
    }
}

/// The set `spec` describes, built (or reused) under `root`.
pub fn labelled_set(root: &Path, spec: &SetSpec) -> Vec<Labelled> {
    require_tools();
    let dir = root.join(format!(
        "amd-set-v{GENERATOR_VERSION}-s{}-h{}-m{}-w{}-{}",
        spec.seed,
        spec.humans,
        spec.machines,
        spec.speeds.start(),
        spec.speeds.end()
    ));
    let manifest = dir.join("manifest.tsv");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        if let Some(set) = parse_manifest(&dir, &text) {
            return set;
        }
    }
    std::fs::create_dir_all(&dir).expect("create the set's directory");
    let calls = plan(spec);
    let beds = noise_beds();
    let cache = Mutex::new(HashMap::new());
    let next = AtomicUsize::new(0);
    let out = Mutex::new(vec![None; calls.len()]);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(call) = calls.get(i) else { break };
                let labelled = build_call(&dir, call, &beds, &cache);
                out.lock().expect("no worker panicked")[i] = Some(labelled);
            });
        }
    });
    let set: Vec<Labelled> = out
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|l| l.expect("every call was built"))
        .collect();
    std::fs::write(&manifest, manifest_text(&set)).expect("write the manifest");
    set
}

/// Builds one planned call into `dir` (for tests of a single case).
pub fn build_one(dir: &Path, call: &CallPlan) -> Labelled {
    require_tools();
    std::fs::create_dir_all(dir).expect("create the directory");
    build_call(dir, call, &noise_beds(), &Mutex::new(HashMap::new()))
}

/// Runs a command with `input` on stdin; returns its stdout, failing the test on an error.
fn run(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for the tool");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pcm_from_bytes(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect()
}

fn sox_raw_args(cmd: &mut Command) -> &mut Command {
    cmd.args([
        "-t",
        "raw",
        "-r",
        "8000",
        "-e",
        "signed-integer",
        "-b",
        "16",
        "-c",
        "1",
    ])
}

/// An utterance at 8 kHz, trimmed of leading and trailing silence.
fn speak(u: &Utterance) -> Vec<f64> {
    let mut espeak = Command::new("espeak-ng")
        .args([
            "-v",
            &u.voice,
            "-s",
            &u.speed.to_string(),
            "-p",
            &u.pitch.to_string(),
        ])
        .arg("--stdout")
        .arg(u.text)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start espeak-ng (Debian package `espeak-ng`)");
    let wav = espeak.stdout.take().expect("stdout is piped");
    let mut sox = Command::new("sox");
    sox.args(["-R", "-V1", "-t", "wav", "-"]);
    sox_raw_args(&mut sox).arg("-");
    sox.args([
        "silence", "1", "0.01", "-50d", "reverse", "silence", "1", "0.01", "-50d", "reverse",
    ]);
    let out = sox
        .stdin(wav)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("start sox (Debian package `sox`)");
    let status = espeak.wait().expect("wait for espeak-ng");
    assert!(status.success(), "espeak-ng failed on {u:?}");
    assert!(
        out.status.success(),
        "sox failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcm = pcm_from_bytes(&out.stdout);
    assert!(
        pcm.len() > RATE / 10,
        "espeak-ng said almost nothing for {u:?}"
    );
    pcm
}

fn speak_cached(u: &Utterance, cache: &Mutex<HashMap<Utterance, Vec<f64>>>) -> Vec<f64> {
    if let Some(pcm) = cache.lock().expect("no worker panicked").get(u) {
        return pcm.clone();
    }
    let pcm = speak(u);
    cache
        .lock()
        .expect("no worker panicked")
        .insert(u.clone(), pcm.clone());
    pcm
}

/// `sox synth` output as samples at full scale.
fn synth(seconds: f64, what: &[&str]) -> Vec<f64> {
    let mut sox = Command::new("sox");
    sox.args(["-R", "-V1", "-n"]);
    sox_raw_args(&mut sox).arg("-");
    sox.arg("synth").arg(format!("{seconds:.3}")).args(what);
    pcm_from_bytes(&run(&mut sox, &[]))
}

fn noise_beds() -> HashMap<NoiseColour, Vec<f64>> {
    [NoiseColour::White, NoiseColour::Pink, NoiseColour::Brown]
        .into_iter()
        .map(|c| (c, synth(NOISE_BED_SECONDS as f64, &[c.sox_name()])))
        .collect()
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// RMS over the 20 ms frames within 30 dB of the loudest: the level while someone is talking.
fn active_rms(x: &[f64]) -> f64 {
    let powers: Vec<f64> = x
        .chunks(160)
        .map(|f| f.iter().map(|v| v * v).sum::<f64>() / f.len() as f64)
        .collect();
    let loudest = powers.iter().cloned().fold(0.0, f64::max);
    let active: Vec<f64> = powers
        .into_iter()
        .filter(|&p| p >= loudest / 1000.0)
        .collect();
    (active.iter().sum::<f64>() / active.len().max(1) as f64).sqrt()
}

fn ms_to_samples(ms: u32) -> usize {
    ms as usize * RATE / 1000
}

fn samples_to_ms(n: usize) -> u64 {
    (n * 1000 / RATE) as u64
}

fn add_at(mix: &mut Vec<f64>, at: usize, part: &[f64], gain: f64) {
    if mix.len() < at + part.len() {
        mix.resize(at + part.len(), 0.0);
    }
    for (m, p) in mix[at..].iter_mut().zip(part) {
        *m += p * gain;
    }
}

fn build_call(
    dir: &Path,
    call: &CallPlan,
    beds: &HashMap<NoiseColour, Vec<f64>>,
    cache: &Mutex<HashMap<Utterance, Vec<f64>>>,
) -> Labelled {
    let first = speak_cached(&call.first, cache);
    let speech_rms = active_rms(&first);
    let target = 32768.0 * 10f64.powf(call.level_dbfs / 20.0);
    let gain = target / speech_rms;
    let mut mix = Vec::new();
    let start = ms_to_samples(call.lead_ms);
    add_at(&mut mix, start, &first, gain);
    let first_end = start + first.len();
    let mut end = first_end;
    if let Some((gap, second)) = &call.second {
        let pcm = speak_cached(second, cache);
        let at = first_end + ms_to_samples(*gap);
        add_at(&mut mix, at, &pcm, gain);
        end = at + pcm.len();
    }
    let mut beep_end = None;
    if let Some(beep) = call.beep {
        let mut tone = synth(
            f64::from(beep.len_ms) / 1000.0,
            &["sine", &beep.freq_hz.to_string()],
        );
        let fade = ms_to_samples(5).min(tone.len() / 2);
        let n = tone.len();
        for k in 0..fade {
            let g = k as f64 / fade as f64;
            tone[k] *= g;
            tone[n - 1 - k] *= g;
        }
        let tone_gain = target * 10f64.powf(beep.rel_db / 20.0) / rms(&tone);
        let at = end + ms_to_samples(beep.gap_ms);
        add_at(&mut mix, at, &tone, tone_gain);
        end = at + n;
        beep_end = Some(samples_to_ms(end));
    }
    mix.resize(end + ms_to_samples(call.tail_ms), 0.0);
    if let Some((colour, snr_db)) = call.noise {
        let bed = &beds[&colour];
        let offset = name_hash(&call.name) % (bed.len() - mix.len());
        let slice = &bed[offset..offset + mix.len()];
        let noise_gain = target / 10f64.powf(snr_db / 20.0) / rms(bed);
        add_at(&mut mix, 0, slice, noise_gain);
    }
    let path = dir.join(format!("{}.wav", call.name));
    write_wav(&path, &mix, call.encoding);
    Labelled {
        path,
        kind: call.kind,
        speech_start_ms: samples_to_ms(start),
        first_phrase_end_ms: samples_to_ms(first_end),
        one_word: call.kind == Kind::Human && ONE_WORD.contains(&call.first.text),
        beep_end_ms: beep_end,
        duration_ms: samples_to_ms(mix.len()),
        snr_db: call.noise.map(|(_, snr)| snr),
        first_text: format!(
            "{} [{} {} wpm]",
            call.first.text, call.first.voice, call.first.speed
        ),
    }
}

fn name_hash(name: &str) -> usize {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) as usize
}

/// Band-passes the mix to the telephone band and writes it in `encoding`.
fn write_wav(path: &Path, mix: &[f64], encoding: Encoding) {
    let raw: Vec<u8> = mix
        .iter()
        .flat_map(|v| (v.round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect();
    let mut sox = Command::new("sox");
    sox.args(["-R", "-V1"]);
    sox_raw_args(&mut sox).arg("-");
    match encoding {
        Encoding::Pcm16 => sox.args(["-e", "signed-integer", "-b", "16"]),
        Encoding::Ulaw => sox.args(["-e", "u-law"]),
        Encoding::Alaw => sox.args(["-e", "a-law"]),
    };
    sox.args(["-t", "wav"]).arg(path).args(["sinc", "300-3400"]);
    run(&mut sox, &raw);
}

fn manifest_text(set: &[Labelled]) -> String {
    let mut text = String::new();
    for l in set {
        let kind = match l.kind {
            Kind::Human => "human",
            Kind::Machine => "machine",
        };
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let snr = l.snr_db.map_or("-".to_string(), |v| v.to_string());
        text.push_str(&format!(
            "{}\t{kind}\t{}\t{}\t{}\t{}\t{}\t{snr}\t{}\n",
            l.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
            l.speech_start_ms,
            l.first_phrase_end_ms,
            l.one_word,
            opt(l.beep_end_ms),
            l.duration_ms,
            l.first_text,
        ));
    }
    text
}

fn parse_manifest(dir: &Path, text: &str) -> Option<Vec<Labelled>> {
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [name, kind, start, end, one_word, beep, duration, snr, text] = f[..] else {
                return None;
            };
            let path = dir.join(name);
            path.exists().then_some(())?;
            Some(Labelled {
                path,
                kind: match kind {
                    "human" => Kind::Human,
                    "machine" => Kind::Machine,
                    _ => return None,
                },
                speech_start_ms: start.parse().ok()?,
                first_phrase_end_ms: end.parse().ok()?,
                one_word: one_word.parse().ok()?,
                beep_end_ms: if beep == "-" {
                    None
                } else {
                    Some(beep.parse().ok()?)
                },
                duration_ms: duration.parse().ok()?,
                snr_db: if snr == "-" {
                    None
                } else {
                    Some(snr.parse().ok()?)
                },
                first_text: text.to_string(),
            })
        })
        .collect()
}
