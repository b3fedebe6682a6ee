//! Offline classification of a recorded call: a WAV file (8 kHz mono, 16-bit PCM, µ-law or
//! A-law; read by the strict parser in [`crate::prompt`]) played through a detector.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::{AmdConfig, AmdDetector, AmdEvent, Cause, Detector, Verdict, FRAME, FRAME_SAMPLES};
use crate::error::{MediaError, PromptProblem};
use crate::prompt::{parse_wav, WavEncoding, MAX_PROMPT_FILE_BYTES};

/// What a detector concluded about one recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmdReport {
    /// Who answered.
    pub verdict: Verdict,
    /// Why.
    pub cause: Cause,
    /// When the verdict was reached, ms from the start of the file (the end of the file if the
    /// audio ran out first).
    pub decided_ms: u64,
    /// When the beep ended, ms from the start of the file, if one was heard.
    pub beep_end_ms: Option<u64>,
}

/// Classifies a WAV file with our detector configured by `config`.
pub fn classify_wav(path: impl AsRef<Path>, config: &AmdConfig) -> Result<AmdReport, MediaError> {
    classify_wav_with(path, AmdDetector::new(config)?)
}

/// Classifies a WAV file with `detector` (ours or [`super::ClassicAmd`]).
///
/// Errors name what is wrong: an unreadable file, or one that is not an 8 kHz mono WAV in 16-bit
/// PCM, µ-law or A-law (the format tag, channels, rate or sample size it has instead).
pub fn classify_wav_with<D: Detector>(
    path: impl AsRef<Path>,
    detector: D,
) -> Result<AmdReport, MediaError> {
    Ok(classify_samples(&read_recording(path)?, detector))
}

/// The linear samples of a recording: an 8 kHz mono WAV in 16-bit PCM, µ-law or A-law.
pub fn read_recording(path: impl AsRef<Path>) -> Result<Vec<i16>, MediaError> {
    let path = path.as_ref();
    let bytes = read_limited(path)?;
    decode(&bytes).map_err(|problem| MediaError::BadRecording {
        path: path.to_path_buf(),
        problem,
    })
}

/// Plays 8 kHz samples through `detector` frame by frame, as if they were a call answered at
/// sample 0, until the detector is done or the audio ends.
pub fn classify_samples<D: Detector>(samples: &[i16], mut detector: D) -> AmdReport {
    let mut verdict = None;
    let mut beep_end_ms = None;
    let mut drain = |detector: &mut D| {
        while let Some(event) = detector.poll_event() {
            match event {
                AmdEvent::Verdict {
                    verdict: v,
                    cause,
                    at,
                } => verdict = Some((v, cause, at)),
                AmdEvent::BeepEnd { at, .. } => beep_end_ms = Some(millis(at)),
                AmdEvent::NoBeep { .. } => {}
            }
        }
    };
    for (k, chunk) in samples.chunks(FRAME_SAMPLES).enumerate() {
        let now = FRAME.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
        detector.handle_frame(now, chunk);
        drain(&mut detector);
        if detector.is_done() {
            break;
        }
    }
    let end = Duration::from_micros(samples.len() as u64 * 125);
    if !detector.is_done() {
        detector.handle_timeout(end);
        drain(&mut detector);
    }
    let (verdict, cause, at) = verdict.unwrap_or((Verdict::NotSure, Cause::AudioEnded, end));
    AmdReport {
        verdict,
        cause,
        decided_ms: millis(at),
        beep_end_ms,
    }
}

fn millis(at: Duration) -> u64 {
    u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
}

/// Reads at most [`MAX_PROMPT_FILE_BYTES`]; a larger file is refused before it is read whole.
fn read_limited(path: &Path) -> Result<Vec<u8>, MediaError> {
    let read_err = |source| MediaError::ReadRecording {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_PROMPT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    let len = bytes.len() as u64;
    if len > MAX_PROMPT_FILE_BYTES {
        return Err(MediaError::BadRecording {
            path: path.to_path_buf(),
            problem: PromptProblem::TooLarge {
                len,
                max: MAX_PROMPT_FILE_BYTES,
            },
        });
    }
    Ok(bytes)
}

/// Linear samples of a WAV file.
fn decode(bytes: &[u8]) -> Result<Vec<i16>, PromptProblem> {
    let (encoding, data) = parse_wav(bytes)?;
    Ok(match encoding {
        WavEncoding::Pcm16 => data
            .chunks_exact(2)
            .map(|s| i16::from_le_bytes([s[0], s[1]]))
            .collect(),
        WavEncoding::G711(codec) => codec.decode(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amd::ClassicAmd;
    use crate::prompt::tests::wav;
    use crate::Codec;

    fn pcm(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn the_three_encodings_decode_to_the_same_audio() {
        let tone: Vec<i16> = (0..800)
            .map(|n| ((n as f32 * 0.3).sin() * 9000.0) as i16)
            .collect();
        let linear = decode(&wav(1, 1, 8000, 16, &pcm(&tone))).unwrap();
        assert_eq!(linear, tone);
        for (tag, codec) in [(7, Codec::Pcmu), (6, Codec::Pcma)] {
            let coded = decode(&wav(tag, 1, 8000, 8, &codec.encode(&tone))).unwrap();
            assert_eq!(coded, codec.decode(&codec.encode(&tone)));
        }
    }

    #[test]
    fn other_formats_are_refused_naming_the_problem() {
        let data = pcm(&[0; 160]);
        assert_eq!(
            decode(&wav(1, 2, 8000, 16, &data)),
            Err(PromptProblem::Channels(2))
        );
        assert_eq!(
            decode(&wav(1, 1, 16000, 16, &data)),
            Err(PromptProblem::SampleRate(16000))
        );
        assert_eq!(
            decode(&wav(3, 1, 8000, 32, &data)),
            Err(PromptProblem::UnsupportedFormat(3))
        );
        assert!(matches!(
            decode(&wav(1, 1, 8000, 8, &data)),
            Err(PromptProblem::BitsPerSample { bits: 8, .. })
        ));
        assert_eq!(decode(b"OggS...."), Err(PromptProblem::NotRiff));
    }

    #[test]
    fn errors_name_the_file_and_blame_it() {
        let dir = std::env::temp_dir().join(format!("amd-file-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stereo = dir.join("stereo.wav");
        std::fs::write(&stereo, wav(1, 2, 8000, 16, &pcm(&[0; 320]))).unwrap();
        let err = classify_wav(&stereo, &AmdConfig::default()).unwrap_err();
        assert_eq!(err.blame(), crate::Blame::InputFile);
        let text = err.to_string();
        assert!(
            text.contains("stereo.wav") && text.contains("2 channels"),
            "{text}"
        );
        let missing = classify_wav(dir.join("missing.wav"), &AmdConfig::default()).unwrap_err();
        assert!(
            matches!(missing, MediaError::ReadRecording { .. }),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn silence_runs_out_the_budget_or_the_audio() {
        let long = classify_samples(&[0; 8000 * 8], AmdDetector::default());
        assert_eq!(
            (long.verdict, long.cause, long.decided_ms),
            (Verdict::NotSure, Cause::TooLong, 5000)
        );
        let short = classify_samples(&[0; 8000], ClassicAmd::default());
        assert_eq!(
            (short.verdict, short.cause, short.decided_ms),
            (Verdict::NotSure, Cause::AudioEnded, 1000)
        );
        assert_eq!(classify_samples(&[], AmdDetector::default()).decided_ms, 0);
    }
}
