//! The crate's one error type, grouped by who is to blame.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::srtp::SrtpBlame;

/// Everything that can go wrong in the media layer.
///
/// Variants are grouped by who is to blame; [`MediaError::blame`] says which group an error is in,
/// so the engine can map it (a bad prompt is a configuration fault, an exhausted pool is
/// `no-media-resource`, ...) without matching every variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    // --- a bad input file (the operator's fault) ---
    /// A prompt file was readable but its contents are not something we can play.
    #[error("prompt {path}: {problem}")]
    BadPrompt {
        /// The file, or `<memory>` for prompts parsed from bytes.
        path: PathBuf,
        /// What is wrong with it.
        problem: PromptProblem,
    },
    /// A recording to classify was readable but is not audio we can analyse.
    #[error("recording {path}: {problem}")]
    BadRecording {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: PromptProblem,
    },
    /// A recording to classify could not be read at all.
    #[error("cannot read recording {path}: {source}")]
    ReadRecording {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A prompt file could not be read at all.
    #[error("cannot read prompt {path}: {source}")]
    ReadPrompt {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    // --- the peer sent garbage ---
    /// A datagram was not a valid RTP packet.
    #[error("malformed RTP packet: {0}")]
    MalformedRtp(RtpProblem),
    /// A telephone-event payload (RFC 4733) that is not the 4-byte event report.
    #[error("telephone-event payload is {len} bytes, expected 4")]
    MalformedTelephoneEvent {
        /// Bytes in the payload.
        len: usize,
    },
    /// An SRTP or SRTCP packet was refused; [`crate::srtp::SrtpError::blame`] says why.
    #[error("SRTP: {0}")]
    Srtp(#[from] crate::srtp::SrtpError),

    // --- the caller misused the API ---
    /// The port range given to [`crate::PortPool::new`] cannot hold one RTP/RTCP pair.
    #[error("invalid RTP port range {first}..={last}: {reason}")]
    InvalidPortRange {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The output buffer cannot hold the packet.
    #[error("buffer of {got} bytes is too small for a {needed}-byte RTP packet")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
    /// A parameter was outside its documented bounds.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// The parameter.
        name: &'static str,
        /// The bound it broke.
        reason: &'static str,
    },
    /// `handle_datagram` was called while a transmit was still waiting in `poll_transmit`.
    #[error(
        "transmit not drained: call poll_transmit until it returns None after each handle_datagram"
    )]
    TransmitNotDrained,
    /// Sockets and tasks can only be created inside a tokio runtime.
    #[error("no tokio runtime: RTP legs must be created from inside a tokio runtime")]
    NoRuntime,
    /// The leg's task is gone (its runtime shut down), so the leg cannot be handed over.
    #[error("the leg's task has already ended")]
    LegGone,

    // --- capacity (nobody's fault; the engine answers no-media-resource) ---
    /// Every RTP port of the pool is leased.
    #[error("RTP port pool exhausted: all {capacity} port pairs of {first}..={last} are in use")]
    PortsExhausted {
        /// Number of RTP/RTCP pairs in the pool.
        capacity: usize,
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },

    // --- I/O (the operating system refused) ---
    /// Binding the leg's UDP socket failed (for example the port is used by another process).
    #[error("cannot bind RTP socket to {addr}: {source}")]
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// Another socket operation failed.
    #[error("RTP socket {op}: {source}")]
    Io {
        /// The operation (`"register with tokio"`, ...).
        op: &'static str,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// Who is to blame for a [`MediaError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Blame {
    /// A prompt or recording file is missing or unusable.
    InputFile,
    /// The remote side sent bytes that are not valid RTP.
    Peer,
    /// The code calling this crate broke a documented rule.
    Caller,
    /// A resource ran out (ports).
    Capacity,
    /// The operating system refused.
    Io,
}

impl MediaError {
    /// Which group this error belongs to.
    pub fn blame(&self) -> Blame {
        match self {
            Self::BadPrompt { .. }
            | Self::ReadPrompt { .. }
            | Self::BadRecording { .. }
            | Self::ReadRecording { .. } => Blame::InputFile,
            Self::MalformedRtp(_) | Self::MalformedTelephoneEvent { .. } => Blame::Peer,
            Self::Srtp(e) => match e.blame() {
                SrtpBlame::Misuse => Blame::Caller,
                SrtpBlame::Capacity => Blame::Capacity,
                _ => Blame::Peer,
            },
            Self::InvalidPortRange { .. }
            | Self::BufferTooSmall { .. }
            | Self::InvalidArgument { .. }
            | Self::TransmitNotDrained
            | Self::NoRuntime
            | Self::LegGone => Blame::Caller,
            Self::PortsExhausted { .. } => Blame::Capacity,
            Self::Bind { .. } | Self::Io { .. } => Blame::Io,
        }
    }
}

/// Why a prompt file cannot be played or a recording analysed. Each message names the offending
/// value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromptProblem {
    /// The file does not start with `RIFF`.
    #[error("not a RIFF file (no \"RIFF\" at offset 0)")]
    NotRiff,
    /// The RIFF form type is not `WAVE`.
    #[error("RIFF file is not WAVE (form type is not \"WAVE\")")]
    NotWave,
    /// A header or chunk claims more bytes than the file has.
    #[error("truncated: {what} needs {needed} bytes at offset {offset}, the file has {len}")]
    Truncated {
        /// Which structure was cut short.
        what: &'static str,
        /// Bytes it needs.
        needed: u64,
        /// Where it starts.
        offset: u64,
        /// Length of the file.
        len: u64,
    },
    /// No `fmt ` chunk before the `data` chunk.
    #[error("no \"fmt \" chunk before the \"data\" chunk")]
    MissingFmt,
    /// Two `fmt ` chunks.
    #[error("more than one \"fmt \" chunk")]
    DuplicateFmt,
    /// No `data` chunk.
    #[error("no \"data\" chunk")]
    MissingData,
    /// The `fmt ` chunk is shorter than the 16 bytes of a PCM format.
    #[error("\"fmt \" chunk is {0} bytes; at least 16 are required")]
    FmtTooShort(u32),
    /// The audio encoding is not one we play.
    #[error(
        "audio format tag {0:#06x} is not supported; use 16-bit PCM (1), A-law (6) or µ-law (7)"
    )]
    UnsupportedFormat(u16),
    /// The sample rate is not 8000 Hz.
    #[error("sample rate is {0} Hz; the audio must be 8000 Hz (resample, e.g. `sox in.wav -r 8000 -c 1 out.wav`)")]
    SampleRate(u32),
    /// The file is not mono.
    #[error("{0} channels; the audio must be mono (1 channel)")]
    Channels(u16),
    /// The sample size does not fit the format.
    #[error("{format} with {bits} bits per sample; {format} must be {expected}-bit")]
    BitsPerSample {
        /// The format (`"PCM"`, `"A-law"`, `"µ-law"`).
        format: &'static str,
        /// Bits per sample in the file.
        bits: u16,
        /// What the format requires.
        expected: u16,
    },
    /// A header field contradicts the others.
    #[error("header field {field} is {found}, expected {expected} from the other fields")]
    Inconsistent {
        /// The field (`"block_align"`, `"byte_rate"`).
        field: &'static str,
        /// Its value in the file.
        found: u32,
        /// The value the other fields imply.
        expected: u32,
    },
    /// 16-bit PCM data with an odd number of bytes.
    #[error("16-bit PCM data has an odd length ({0} bytes)")]
    OddPcmLength(u32),
    /// No audio at all.
    #[error("no audio samples")]
    Empty,
    /// The file is larger than a prompt can sensibly be.
    #[error("{len} bytes is larger than the {max}-byte limit for audio files")]
    TooLarge {
        /// Size of the file.
        len: u64,
        /// The limit.
        max: u64,
    },
}

/// Why a datagram is not a valid RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpProblem {
    /// Shorter than the 12-byte fixed header.
    #[error("{0} bytes is shorter than the 12-byte RTP header")]
    TooShort(usize),
    /// The version field is not 2.
    #[error("RTP version {0}, expected 2")]
    Version(u8),
    /// CSRC list or header extension runs past the end of the datagram.
    #[error("headers need {header_len} bytes but the datagram has {buffer_len}")]
    HeadersTruncated {
        /// Bytes the headers claim.
        header_len: usize,
        /// Bytes in the datagram.
        buffer_len: usize,
    },
    /// The padding count is 0 or larger than the payload.
    #[error("invalid padding length {0}")]
    Padding(u8),
    /// Payload type 72-76: an RTCP packet on the RTP port (RFC 5761 §4).
    #[error("payload type {0} is an RTCP packet type (RFC 5761)")]
    Rtcp(u8),
}
