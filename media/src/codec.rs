//! G.711 µ-law (PCMU) and A-law (PCMA): one byte per sample at 8 kHz, bit-exact with ITU-T G.191.
//!
//! Encoding is table-free arithmetic; decoding and µ-law↔A-law transcoding use 256-entry tables
//! computed at compile time from the same functions.

use crate::types::G711_CLOCK_RATE;

/// A G.711 codec negotiated for a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static RTP payload type 0.
    Pcmu,
    /// G.711 A-law, static RTP payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec of a static payload type, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP encoding name (`PCMU`, `PCMA`).
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// RTP clock rate: 8000 Hz.
    pub const fn clock_rate(self) -> u32 {
        G711_CLOCK_RATE
    }

    /// The code of a zero sample (0xFF for µ-law, 0xD5 for A-law).
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Samples carried by a payload of `len` bytes (one per byte for G.711).
    pub const fn samples_in(self, len: usize) -> usize {
        len
    }

    /// Encodes one 16-bit linear sample.
    pub const fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// Decodes one code to a 16-bit linear sample.
    pub const fn decode_sample(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW_DECODE[code as usize],
            Codec::Pcma => ALAW_DECODE[code as usize],
        }
    }

    /// Encodes 16-bit linear samples.
    pub fn encode(self, pcm: &[i16]) -> Vec<u8> {
        pcm.iter().map(|&s| self.encode_sample(s)).collect()
    }

    /// Decodes codes to 16-bit linear samples.
    pub fn decode(self, codes: &[u8]) -> Vec<i16> {
        let table = self.decode_table();
        codes.iter().map(|&c| table[usize::from(c)]).collect()
    }

    /// Re-encodes codes of this codec as codes of `to`, in place (through linear, as a
    /// decode-then-encode would). A no-op when `to` is this codec.
    pub fn transcode_in_place(self, to: Codec, codes: &mut [u8]) {
        let table = match (self, to) {
            (Codec::Pcmu, Codec::Pcma) => &ULAW_TO_ALAW,
            (Codec::Pcma, Codec::Pcmu) => &ALAW_TO_ULAW,
            _ => return,
        };
        for c in codes {
            *c = table[usize::from(*c)];
        }
    }

    fn decode_table(self) -> &'static [i16; 256] {
        match self {
            Codec::Pcmu => &ULAW_DECODE,
            Codec::Pcma => &ALAW_DECODE,
        }
    }
}

/// Index of the highest set bit of a positive value.
const fn top_bit(v: i32) -> i32 {
    31 - v.leading_zeros() as i32
}

/// G.711 µ-law compression of a 16-bit sample (G.191 `ulaw_compress`: negative values use their
/// one's complement magnitude, so -1 encodes as 0x7F).
pub const fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let x = sample as i32;
    let (mag, mask) = if x < 0 {
        (BIAS - x - 1, 0x7F)
    } else {
        (BIAS + x, 0xFF)
    };
    let seg = top_bit(mag | 0xFF) - 7;
    if seg >= 8 {
        (0x7F ^ mask) as u8
    } else {
        (((seg << 4) | ((mag >> (seg + 3)) & 0x0F)) ^ mask) as u8
    }
}

/// G.711 µ-law expansion to a 16-bit sample.
pub const fn ulaw_decode(code: u8) -> i16 {
    const BIAS: i32 = 0x84;
    let u = !code as i32;
    let t = (((u & 0x0F) << 3) + BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 { BIAS - t } else { t - BIAS }) as i16
}

/// G.711 A-law compression of a 16-bit sample (G.191 `alaw_compress`).
pub const fn alaw_encode(sample: i16) -> u8 {
    let x = sample as i32;
    let (mag, mask) = if x >= 0 { (x, 0xD5) } else { (-x - 1, 0x55) };
    // For 16-bit input `mag` is at most 32767, so the segment is at most 7.
    let seg = top_bit(mag | 0xFF) - 7;
    let shift = if seg == 0 { 4 } else { seg + 3 };
    (((seg << 4) | ((mag >> shift) & 0x0F)) ^ mask) as u8
}

/// G.711 A-law expansion to a 16-bit sample.
pub const fn alaw_decode(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mant = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    let mag = if seg == 0 {
        mant + 8
    } else {
        (mant + 0x108) << (seg - 1)
    };
    (if a & 0x80 != 0 { mag } else { -mag }) as i16
}

const fn decode_table(law: Codec) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match law {
            Codec::Pcmu => ulaw_decode(i as u8),
            Codec::Pcma => alaw_decode(i as u8),
        };
        i += 1;
    }
    t
}

const fn transcode_table(from: Codec, to: Codec) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let linear = match from {
            Codec::Pcmu => ulaw_decode(i as u8),
            Codec::Pcma => alaw_decode(i as u8),
        };
        t[i] = match to {
            Codec::Pcmu => ulaw_encode(linear),
            Codec::Pcma => alaw_encode(linear),
        };
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = decode_table(Codec::Pcmu);
static ALAW_DECODE: [i16; 256] = decode_table(Codec::Pcma);
static ULAW_TO_ALAW: [u8; 256] = transcode_table(Codec::Pcmu, Codec::Pcma);
static ALAW_TO_ULAW: [u8; 256] = transcode_table(Codec::Pcma, Codec::Pcmu);

#[cfg(test)]
mod tests {
    use super::*;

    // ITU-T G.191 STL reference implementation (g711.c), transcribed as an independent oracle.
    fn g191_ulaw_compress(x: i16) -> u8 {
        let mut absno: i32 = if x < 0 {
            ((!x) as i32 >> 2) + 33
        } else {
            (x as i32 >> 2) + 33
        };
        if absno > 0x1FFF {
            absno = 0x1FFF;
        }
        let mut i = absno >> 6;
        let mut segno = 1;
        while i != 0 {
            segno += 1;
            i >>= 1;
        }
        let high = 0x0008 - segno;
        let low = 0x000F - ((absno >> segno) & 0x000F);
        let mut out = (high << 4) | low;
        if x >= 0 {
            out |= 0x0080;
        }
        out as u8
    }

    fn g191_ulaw_expand(code: u8) -> i16 {
        let sign = if code < 0x80 { -1 } else { 1 };
        let mantissa = !(code as i32);
        let exponent = (mantissa >> 4) & 0x07;
        let segment = exponent + 1;
        let mantissa = mantissa & 0x0F;
        let step = 4 << segment;
        (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
    }

    fn g191_alaw_compress(x: i16) -> u8 {
        let mut ix: i32 = if x < 0 {
            (!x) as i32 >> 4
        } else {
            x as i32 >> 4
        };
        if ix > 15 {
            let mut iexp = 1;
            while ix > 16 + 15 {
                ix >>= 1;
                iexp += 1;
            }
            ix -= 16;
            ix += iexp << 4;
        }
        if x >= 0 {
            ix |= 0x0080;
        }
        (ix ^ 0x0055) as u8
    }

    fn g191_alaw_expand(code: u8) -> i16 {
        let ix = (code as i32 ^ 0x55) & 0x7F;
        let iexp = ix >> 4;
        let mut mant = ix & 0x0F;
        if iexp > 0 {
            mant += 16;
        }
        mant = (mant << 4) + 0x08;
        if iexp > 1 {
            mant <<= iexp - 1;
        }
        (if code > 127 { mant } else { -mant }) as i16
    }

    #[test]
    fn known_vectors() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(ulaw_decode(0xCE), 988);
        assert_eq!(ulaw_decode(0x80), 32_124);
        assert_eq!(ulaw_decode(0x00), -32_124);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32_256);
    }

    #[test]
    fn bit_exact_with_g191_for_every_input() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(x), g191_ulaw_compress(x), "µ-law encode {x}");
            assert_eq!(alaw_encode(x), g191_alaw_compress(x), "A-law encode {x}");
        }
        for c in 0..=255u8 {
            assert_eq!(ulaw_decode(c), g191_ulaw_expand(c), "µ-law decode {c:#04x}");
            assert_eq!(alaw_decode(c), g191_alaw_expand(c), "A-law decode {c:#04x}");
        }
    }

    #[test]
    fn every_code_decodes_and_reencodes_to_itself() {
        for c in 0..=255u8 {
            let back = Codec::Pcma.encode_sample(Codec::Pcma.decode_sample(c));
            assert_eq!(back, c, "A-law {c:#04x}");
            let back = Codec::Pcmu.encode_sample(Codec::Pcmu.decode_sample(c));
            // µ-law has two zeros: 0x7F ("negative zero") decodes to 0, which encodes as 0xFF.
            let want = if c == 0x7F { 0xFF } else { c };
            assert_eq!(back, want, "µ-law {c:#04x}");
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_quantisation_step() {
        for x in i16::MIN..=i16::MAX {
            let mag = i32::from(x).abs();
            for (codec, max_out) in [(Codec::Pcmu, 32_124), (Codec::Pcma, 32_256)] {
                let y = codec.decode_sample(codec.encode_sample(x));
                let err = (i32::from(y) - i32::from(x)).abs();
                // Steps grow with the segment: relative error stays near 1/32 plus a floor.
                let bound = if mag > max_out {
                    mag - max_out + 1
                } else {
                    mag / 32 + 16
                };
                assert!(err <= bound, "{codec:?}: {x} -> {y}, error {err} > {bound}");
            }
        }
    }

    #[test]
    fn slices_and_payload_types() {
        let pcm = [0i16, 1000, -1000, 32_000, -32_000];
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let codes = codec.encode(&pcm);
            assert_eq!(codes.len(), pcm.len());
            assert_eq!(codes[0], codec.silence());
            let back = codec.decode(&codes);
            assert_eq!(back.len(), pcm.len());
            assert_eq!(Codec::from_payload_type(codec.payload_type()), Some(codec));
        }
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::from_payload_type(18), None);
    }

    #[test]
    fn transcoding_matches_decode_then_encode() {
        for c in 0..=255u8 {
            let mut buf = [c];
            Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut buf);
            assert_eq!(buf[0], alaw_encode(ulaw_decode(c)));
            let mut buf = [c];
            Codec::Pcma.transcode_in_place(Codec::Pcmu, &mut buf);
            assert_eq!(buf[0], ulaw_encode(alaw_decode(c)));
            let mut buf = [c];
            Codec::Pcma.transcode_in_place(Codec::Pcma, &mut buf);
            assert_eq!(buf[0], c);
        }
        let mut zero = [Codec::Pcmu.silence()];
        Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut zero);
        assert_eq!(zero[0], Codec::Pcma.silence());
    }
}
