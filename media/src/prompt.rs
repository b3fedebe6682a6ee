//! Prompts to play on a leg: G.711 audio cut into 20 ms frames, loaded from WAV (strictly
//! validated), raw G.711 or generated as a tone.

use std::f64::consts::TAU;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::Codec;
use crate::error::{MediaError, PromptProblem};
use crate::rtp::{FRAME_DURATION, FRAME_SAMPLES};

/// Bytes in one G.711 frame: 20 ms at 8 kHz.
pub const FRAME_BYTES: usize = FRAME_SAMPLES;

/// Largest prompt file accepted: 64 MiB, over two hours of G.711.
pub const MAX_PROMPT_FILE_BYTES: u64 = 64 << 20;

/// WAVE format tags we accept.
const TAG_PCM: u16 = 1;
const TAG_ALAW: u16 = 6;
const TAG_MULAW: u16 = 7;
const TAG_EXTENSIBLE: u16 = 0xFFFE;
/// The 14 bytes after the format tag in a WAVE_FORMAT_EXTENSIBLE sub-format GUID.
const KSDATAFORMAT_SUFFIX: [u8; 14] = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71];

/// Audio to play on a leg: G.711 in one codec, in frames of [`FRAME_BYTES`] (the last one padded
/// with silence), optionally looped. Cloning is cheap: the audio is shared, so one prompt can be
/// played on a thousand legs at once.
#[derive(Clone)]
pub struct Prompt {
    codec: Codec,
    audio: Arc<[u8]>,
    looped: bool,
}

impl Prompt {
    /// Loads an 8 kHz mono WAV file (16-bit PCM, A-law or µ-law) as frames of `codec`, the codec
    /// negotiated for the leg; audio in the other G.711 law is transcoded, PCM is encoded.
    ///
    /// The file is checked strictly: RIFF/WAVE structure, chunk sizes against the file length, a
    /// `fmt ` chunk before `data`, header fields consistent with one another. Anything else is an
    /// error naming what is wrong (format, channels, sample rate, bits, truncation).
    pub fn from_wav(path: impl AsRef<Path>, codec: Codec) -> Result<Prompt, MediaError> {
        let path = path.as_ref();
        let bytes = read_limited(path)?;
        Self::parse_wav(&bytes, codec).map_err(|problem| MediaError::BadPrompt {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// [`Prompt::from_wav`] on bytes already in memory (errors name the path `<memory>`).
    pub fn from_wav_bytes(bytes: &[u8], codec: Codec) -> Result<Prompt, MediaError> {
        Self::parse_wav(bytes, codec).map_err(|problem| MediaError::BadPrompt {
            path: PathBuf::from("<memory>"),
            problem,
        })
    }

    /// Loads a headerless file of G.711 codes in `file_codec` (for example a `.ul` or `.al` file).
    /// The prompt keeps that codec; [`Prompt::into_codec`] or `RtpLeg::play` transcode it.
    pub fn from_raw_g711(path: impl AsRef<Path>, file_codec: Codec) -> Result<Prompt, MediaError> {
        let path = path.as_ref();
        let bytes = read_limited(path)?;
        if bytes.is_empty() {
            return Err(MediaError::BadPrompt {
                path: path.to_path_buf(),
                problem: PromptProblem::Empty,
            });
        }
        Ok(Self::from_codes(bytes, file_codec))
    }

    /// A prompt of G.711 codes already in memory. An empty slice gives an empty prompt.
    pub fn from_g711(codes: &[u8], codec: Codec) -> Prompt {
        Self::from_codes(codes.to_vec(), codec)
    }

    /// A sine tone of `freq_hz` at about -12 dBFS lasting `duration_ms` (rounded up to whole
    /// frames), for tests and default prompts. Frequencies at or above 4000 Hz alias.
    pub fn tone(freq_hz: f64, duration_ms: u32, codec: Codec) -> Prompt {
        const AMPLITUDE: f64 = 8000.0;
        let samples = duration_ms as usize * 8;
        let pcm: Vec<i16> = (0..samples)
            .map(|n| {
                let phase = TAU * freq_hz * n as f64 / f64::from(codec.clock_rate());
                (AMPLITUDE * phase.sin()).round() as i16
            })
            .collect();
        Self::from_codes(codec.encode(&pcm), codec)
    }

    /// Silence lasting `duration_ms` (rounded up to whole frames).
    pub fn silence(duration_ms: u32, codec: Codec) -> Prompt {
        Self::from_codes(vec![codec.silence(); duration_ms as usize * 8], codec)
    }

    /// This prompt, repeated forever (`true`) or played once (`false`, the default).
    pub fn looped(mut self, looped: bool) -> Prompt {
        self.looped = looped;
        self
    }

    /// Whether the prompt repeats.
    pub fn is_looped(&self) -> bool {
        self.looped
    }

    /// This prompt in `codec`, transcoding if it is in the other G.711 law (the audio is copied
    /// only then).
    pub fn into_codec(self, codec: Codec) -> Prompt {
        if codec == self.codec {
            return self;
        }
        let mut audio = self.audio.to_vec();
        self.codec.transcode_in_place(codec, &mut audio);
        Prompt {
            codec,
            audio: audio.into(),
            looped: self.looped,
        }
    }

    /// The codec of the frames.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Number of frames in one pass.
    pub fn frame_count(&self) -> usize {
        self.audio.len() / FRAME_BYTES
    }

    /// Length of one pass.
    pub fn duration(&self) -> Duration {
        FRAME_DURATION.saturating_mul(u32::try_from(self.frame_count()).unwrap_or(u32::MAX))
    }

    /// Frame `index` of one pass, if there is one.
    pub fn frame(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(FRAME_BYTES)?;
        self.audio.get(start..start.checked_add(FRAME_BYTES)?)
    }

    /// The frame to play at `position` frames from the start, wrapping if looped; `None` once a
    /// prompt played once has finished.
    pub fn frame_at(&self, position: u64) -> Option<&[u8]> {
        let count = self.frame_count() as u64;
        if count == 0 {
            return None;
        }
        let index = if self.looped {
            position % count
        } else {
            position
        };
        self.frame(usize::try_from(index).ok()?)
    }

    /// The frames in order; endless if the prompt is looped (and not empty).
    pub fn frames(&self) -> Frames<'_> {
        Frames {
            prompt: self,
            position: 0,
        }
    }

    fn from_codes(mut codes: Vec<u8>, codec: Codec) -> Prompt {
        let padded = codes.len().div_ceil(FRAME_BYTES) * FRAME_BYTES;
        codes.resize(padded, codec.silence());
        Prompt {
            codec,
            audio: codes.into(),
            looped: false,
        }
    }

    fn parse_wav(bytes: &[u8], codec: Codec) -> Result<Prompt, PromptProblem> {
        let (encoding, data) = parse_wav(bytes)?;
        let codes = match encoding {
            WavEncoding::Pcm16 => {
                let pcm: Vec<i16> = data
                    .chunks_exact(2)
                    .map(|s| i16::from_le_bytes([s[0], s[1]]))
                    .collect();
                codec.encode(&pcm)
            }
            WavEncoding::G711(file_codec) => {
                let mut codes = data.to_vec();
                file_codec.transcode_in_place(codec, &mut codes);
                codes
            }
        };
        Ok(Self::from_codes(codes, codec))
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("codec", &self.codec)
            .field("frames", &self.frame_count())
            .field("looped", &self.looped)
            .finish()
    }
}

/// Iterator over a prompt's frames (see [`Prompt::frames`]).
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    prompt: &'a Prompt,
    position: u64,
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let frame = self.prompt.frame_at(self.position)?;
        self.position += 1;
        Some(frame)
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, MediaError> {
    let read_err = |source| MediaError::ReadPrompt {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_PROMPT_FILE_BYTES {
        return Err(MediaError::BadPrompt {
            path: path.to_path_buf(),
            problem: PromptProblem::TooLarge {
                len,
                max: MAX_PROMPT_FILE_BYTES,
            },
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// How a WAV file's samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WavEncoding {
    /// 16-bit little-endian PCM.
    Pcm16,
    /// One G.711 code per sample.
    G711(Codec),
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the RIFF chunks; returns the encoding and the audio bytes of the `data` chunk (also the
/// reader of recordings for [`crate::amd`]).
pub(crate) fn parse_wav(b: &[u8]) -> Result<(WavEncoding, &[u8]), PromptProblem> {
    let len = b.len() as u64;
    if b.len() < 12 {
        if b.len() >= 4 && &b[0..4] != b"RIFF" {
            return Err(PromptProblem::NotRiff);
        }
        return Err(PromptProblem::Truncated {
            what: "RIFF header",
            needed: 12,
            offset: 0,
            len,
        });
    }
    if &b[0..4] != b"RIFF" {
        return Err(PromptProblem::NotRiff);
    }
    if &b[8..12] != b"WAVE" {
        return Err(PromptProblem::NotWave);
    }
    let riff_size = u64::from(u32_at(b, 4));
    if riff_size < 4 || 8 + riff_size > len {
        return Err(PromptProblem::Truncated {
            what: "RIFF chunk",
            needed: riff_size,
            offset: 8,
            len,
        });
    }
    // Bytes after the RIFF chunk (some tools append junk) are not ours to read.
    let end = (8 + riff_size) as usize;
    let mut pos = 12usize;
    let mut encoding = None;
    while pos + 8 <= end {
        let id = &b[pos..pos + 4];
        let size = u32_at(b, pos + 4) as usize;
        let start = pos + 8;
        let what = match id {
            b"fmt " => "\"fmt \" chunk",
            b"data" => "\"data\" chunk",
            _ => "chunk",
        };
        let Some(stop) = start.checked_add(size).filter(|&s| s <= end) else {
            return Err(PromptProblem::Truncated {
                what,
                needed: size as u64,
                offset: start as u64,
                len,
            });
        };
        let body = &b[start..stop];
        match id {
            b"fmt " if encoding.is_some() => return Err(PromptProblem::DuplicateFmt),
            b"fmt " => encoding = Some(parse_fmt(body)?),
            b"data" => {
                let encoding = encoding.ok_or(PromptProblem::MissingFmt)?;
                if body.is_empty() {
                    return Err(PromptProblem::Empty);
                }
                if encoding == WavEncoding::Pcm16 && !body.len().is_multiple_of(2) {
                    return Err(PromptProblem::OddPcmLength(size as u32));
                }
                return Ok((encoding, body));
            }
            _ => {}
        }
        // Chunks are word-aligned: an odd-sized chunk is followed by a pad byte.
        pos = stop + (size & 1);
    }
    Err(PromptProblem::MissingData)
}

/// Validates a `fmt ` chunk: the encoding, then mono, then 8 kHz, then sample size and the derived
/// fields.
fn parse_fmt(f: &[u8]) -> Result<WavEncoding, PromptProblem> {
    if f.len() < 16 {
        return Err(PromptProblem::FmtTooShort(f.len() as u32));
    }
    let mut tag = u16_at(f, 0);
    let channels = u16_at(f, 2);
    let rate = u32_at(f, 4);
    let byte_rate = u32_at(f, 8);
    let block_align = u16_at(f, 12);
    let bits = u16_at(f, 14);
    if tag == TAG_EXTENSIBLE {
        // cbSize (2), valid bits (2), channel mask (4), sub-format GUID (16).
        if f.len() < 40 || u16_at(f, 16) < 22 || f[26..40] != KSDATAFORMAT_SUFFIX {
            return Err(PromptProblem::UnsupportedFormat(TAG_EXTENSIBLE));
        }
        tag = u16_at(f, 24);
    }
    let (encoding, name, expected_bits) = match tag {
        TAG_PCM => (WavEncoding::Pcm16, "PCM", 16),
        TAG_ALAW => (WavEncoding::G711(Codec::Pcma), "A-law", 8),
        TAG_MULAW => (WavEncoding::G711(Codec::Pcmu), "µ-law", 8),
        other => return Err(PromptProblem::UnsupportedFormat(other)),
    };
    if channels != 1 {
        return Err(PromptProblem::Channels(channels));
    }
    if rate != 8000 {
        return Err(PromptProblem::SampleRate(rate));
    }
    if bits != expected_bits {
        return Err(PromptProblem::BitsPerSample {
            format: name,
            bits,
            expected: expected_bits,
        });
    }
    let align = u32::from(expected_bits / 8);
    if u32::from(block_align) != align {
        return Err(PromptProblem::Inconsistent {
            field: "block_align",
            found: u32::from(block_align),
            expected: align,
        });
    }
    if byte_rate != 8000 * align {
        return Err(PromptProblem::Inconsistent {
            field: "byte_rate",
            found: byte_rate,
            expected: 8000 * align,
        });
    }
    Ok(encoding)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::Blame;

    /// A WAV file with the given header fields and data (a test fixture, also used by leg tests).
    pub(crate) fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        fmt.extend_from_slice(&align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        riff(&[(b"fmt ", &fmt), (b"data", data)])
    }

    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn pcm_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    fn problem(bytes: &[u8]) -> PromptProblem {
        match Prompt::from_wav_bytes(bytes, Codec::Pcmu) {
            Err(MediaError::BadPrompt { problem, .. }) => problem,
            other => panic!("expected a bad prompt, got {other:?}"),
        }
    }

    #[test]
    fn pcm16_wav_is_encoded_and_padded() {
        let samples: Vec<i16> = (0..200).map(|n| (n * 100) as i16).collect();
        let p = Prompt::from_wav_bytes(&wav(1, 1, 8000, 16, &pcm_bytes(&samples)), Codec::Pcma)
            .unwrap();
        assert_eq!(p.codec(), Codec::Pcma);
        assert_eq!(p.frame_count(), 2);
        assert_eq!(p.duration(), Duration::from_millis(40));
        let frames: Vec<&[u8]> = p.frames().collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], &Codec::Pcma.encode(&samples[..160])[..]);
        assert_eq!(&frames[1][..40], &Codec::Pcma.encode(&samples[160..])[..]);
        assert!(
            frames[1][40..].iter().all(|&c| c == 0xD5),
            "padded with A-law silence"
        );
    }

    #[test]
    fn g711_wavs_are_transcoded_when_the_codec_differs() {
        let codes: Vec<u8> = (0..=255).collect();
        for (tag, file_codec) in [(7u16, Codec::Pcmu), (6, Codec::Pcma)] {
            let bytes = wav(tag, 1, 8000, 8, &codes);
            let same = Prompt::from_wav_bytes(&bytes, file_codec).unwrap();
            assert_eq!(&same.audio[..256], &codes[..]);
            let other = if file_codec == Codec::Pcmu {
                Codec::Pcma
            } else {
                Codec::Pcmu
            };
            let p = Prompt::from_wav_bytes(&bytes, other).unwrap();
            let mut want = codes.clone();
            file_codec.transcode_in_place(other, &mut want);
            assert_eq!(&p.audio[..256], &want[..]);
            assert_eq!(p.codec(), other);
        }
    }

    #[test]
    fn extensible_format_and_extra_chunks_are_accepted() {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&TAG_EXTENSIBLE.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&16000u32.to_le_bytes());
        fmt.extend_from_slice(&2u16.to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        fmt.extend_from_slice(&4u32.to_le_bytes());
        fmt.extend_from_slice(&TAG_PCM.to_le_bytes());
        fmt.extend_from_slice(&KSDATAFORMAT_SUFFIX);
        let data = pcm_bytes(&[0; 160]);
        let bytes = riff(&[
            (b"LIST", b"odd"),
            (b"fmt ", &fmt),
            (b"fact", &[0; 4]),
            (b"data", &data),
        ]);
        let p = Prompt::from_wav_bytes(&bytes, Codec::Pcmu).unwrap();
        assert_eq!(p.frame_count(), 1);
    }

    #[test]
    fn wrong_parameters_are_named() {
        let pcm = pcm_bytes(&[0; 16]);
        assert_eq!(
            problem(&wav(1, 1, 16_000, 16, &pcm)),
            PromptProblem::SampleRate(16_000)
        );
        assert_eq!(
            problem(&wav(1, 2, 8000, 16, &pcm)),
            PromptProblem::Channels(2)
        );
        assert_eq!(
            problem(&wav(3, 1, 8000, 32, &pcm)),
            PromptProblem::UnsupportedFormat(3)
        );
        assert_eq!(
            problem(&wav(0x55, 1, 8000, 0, &pcm)),
            PromptProblem::UnsupportedFormat(0x55)
        );
        assert_eq!(
            problem(&wav(1, 1, 8000, 8, &pcm)),
            PromptProblem::BitsPerSample {
                format: "PCM",
                bits: 8,
                expected: 16
            }
        );
        assert_eq!(
            problem(&wav(7, 1, 8000, 16, &pcm)),
            PromptProblem::BitsPerSample {
                format: "µ-law",
                bits: 16,
                expected: 8
            }
        );
        let msg = MediaError::BadPrompt {
            path: "hello.wav".into(),
            problem: PromptProblem::SampleRate(44_100),
        }
        .to_string();
        assert!(
            msg.contains("hello.wav") && msg.contains("44100 Hz") && msg.contains("8000"),
            "{msg}"
        );
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        let mut bytes = wav(1, 1, 8000, 16, &pcm_bytes(&[0; 16]));
        // byte_rate lives at offset 28 (12 RIFF + 8 chunk header + 8).
        bytes[28..32].copy_from_slice(&12_345u32.to_le_bytes());
        assert_eq!(
            problem(&bytes),
            PromptProblem::Inconsistent {
                field: "byte_rate",
                found: 12_345,
                expected: 16_000
            }
        );
        let mut bytes = wav(1, 1, 8000, 16, &pcm_bytes(&[0; 16]));
        bytes[32..34].copy_from_slice(&4u16.to_le_bytes());
        assert!(matches!(
            problem(&bytes),
            PromptProblem::Inconsistent {
                field: "block_align",
                ..
            }
        ));
    }

    #[test]
    fn broken_structure_is_refused() {
        let good = wav(1, 1, 8000, 16, &pcm_bytes(&[0; 16]));
        assert_eq!(problem(b"RIFX"), PromptProblem::NotRiff);
        assert!(matches!(problem(b"RIFF"), PromptProblem::Truncated { .. }));
        assert_eq!(problem(b"OggS\0\0\0\0\0\0\0\0\0\0"), PromptProblem::NotRiff);
        let mut not_wave = good.clone();
        not_wave[8..12].copy_from_slice(b"AVI ");
        assert_eq!(problem(&not_wave), PromptProblem::NotWave);
        // Cut short: the RIFF size promises more than there is.
        assert!(matches!(
            problem(&good[..good.len() - 4]),
            PromptProblem::Truncated {
                what: "RIFF chunk",
                ..
            }
        ));
        // A data chunk that claims more than the RIFF chunk holds.
        let mut long_data = good.clone();
        let at = long_data.len() - 32 - 4;
        long_data[at..at + 4].copy_from_slice(&1_000u32.to_le_bytes());
        assert!(matches!(
            problem(&long_data),
            PromptProblem::Truncated {
                what: "\"data\" chunk",
                ..
            }
        ));
        assert_eq!(
            problem(&riff(&[(b"data", &[0; 4])])),
            PromptProblem::MissingFmt
        );
        assert_eq!(
            problem(&riff(&[(b"LIST", &[0; 4])])),
            PromptProblem::MissingData
        );
        let fmt = &good[20..36];
        assert_eq!(
            problem(&riff(&[(b"fmt ", fmt), (b"fmt ", fmt)])),
            PromptProblem::DuplicateFmt
        );
        assert_eq!(
            problem(&riff(&[(b"fmt ", &fmt[..14])])),
            PromptProblem::FmtTooShort(14)
        );
        assert_eq!(
            problem(&riff(&[(b"fmt ", fmt), (b"data", &[])])),
            PromptProblem::Empty
        );
        assert_eq!(
            problem(&riff(&[(b"fmt ", fmt), (b"data", &[1, 2, 3])])),
            PromptProblem::OddPcmLength(3)
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        let good = wav(1, 1, 8000, 16, &pcm_bytes(&[0; 16]));
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..b.len());
                b[i] = rng.gen();
            }
            b.truncate(rng.gen_range(0..=b.len()));
            let _ = Prompt::from_wav_bytes(&b, Codec::Pcma);
        }
    }

    #[test]
    fn files_are_read_and_errors_carry_the_path() {
        let dir = std::env::temp_dir().join(format!("media-prompt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wav_path = dir.join("hello.wav");
        std::fs::write(&wav_path, wav(6, 1, 8000, 8, &[0xD5; 320])).unwrap();
        let p = Prompt::from_wav(&wav_path, Codec::Pcma).unwrap();
        assert_eq!(p.frame_count(), 2);
        let raw_path = dir.join("hello.ul");
        std::fs::write(&raw_path, [0xFF; 170]).unwrap();
        let raw = Prompt::from_raw_g711(&raw_path, Codec::Pcmu).unwrap();
        assert_eq!((raw.codec(), raw.frame_count()), (Codec::Pcmu, 2));
        std::fs::write(&raw_path, []).unwrap();
        assert!(matches!(
            Prompt::from_raw_g711(&raw_path, Codec::Pcmu),
            Err(MediaError::BadPrompt {
                problem: PromptProblem::Empty,
                ..
            })
        ));
        let missing = Prompt::from_wav(dir.join("missing.wav"), Codec::Pcmu).unwrap_err();
        assert_eq!(missing.blame(), Blame::InputFile);
        assert!(missing.to_string().contains("missing.wav"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tone_is_a_sine_of_the_right_length() {
        let p = Prompt::tone(1000.0, 50, Codec::Pcmu);
        assert_eq!(p.frame_count(), 3, "50 ms rounds up to three frames");
        let pcm = Codec::Pcmu.decode(&p.audio[..400]);
        // 1 kHz at 8 kHz: period of 8 samples, peak near 8000 at n = 2.
        assert!((i32::from(pcm[2]) - 8000).abs() < 300, "{}", pcm[2]);
        assert_eq!(pcm[0], 0);
        assert!((i32::from(pcm[6]) + 8000).abs() < 300, "{}", pcm[6]);
        assert!(
            p.audio[400..].iter().all(|&c| c == 0xFF),
            "padding is silence"
        );
        assert_eq!(
            Prompt::silence(20, Codec::Pcma).frame(0),
            Some(&[0xD5; 160][..])
        );
    }

    #[test]
    fn looping_and_transcoding() {
        let p = Prompt::tone(440.0, 40, Codec::Pcmu);
        assert_eq!(p.frames().count(), 2);
        assert_eq!(p.frame_at(2), None);
        let looped = p.clone().looped(true);
        assert!(looped.is_looped());
        assert_eq!(looped.frames().take(5).count(), 5);
        assert_eq!(looped.frame_at(3), p.frame(1));
        let a = p.clone().into_codec(Codec::Pcma);
        assert_eq!(a.codec(), Codec::Pcma);
        let mut want = p.frame(0).unwrap().to_vec();
        Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut want);
        assert_eq!(a.frame(0).unwrap(), &want[..]);
        let empty = Prompt::from_g711(&[], Codec::Pcmu).looped(true);
        assert_eq!(empty.frames().next(), None);
    }
}
