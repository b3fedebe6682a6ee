//! SDES `a=crypto` attributes (RFC 4568 §9.1): tag, crypto suite, `inline:` key and salt with
//! optional lifetime and MKI, session parameters. Only what SRTP with AES-CM needs is accepted.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::{CryptoRng, RngCore};

/// Bytes of key and salt in an `inline:` parameter of our suites (16-byte key, 14-byte salt).
pub const KEY_SALT_LEN: usize = 30;
/// Longest master key lifetime: the SRTP index space (RFC 3711 §9.2).
pub const MAX_LIFETIME: u64 = 1 << 48;
/// Longest MKI (RFC 4568 §9.1: 1 to 128 bytes).
pub const MAX_MKI_LEN: u8 = 128;
/// Smallest window size hint: RFC 3711's replay window is at least 64 packets.
pub const MIN_WINDOW_SIZE_HINT: u32 = 64;

/// The crypto suites we speak (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// 80-bit tags on SRTP and SRTCP.
    AesCm128HmacSha1_80,
    /// 32-bit tags on SRTP, 80-bit on SRTCP.
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// Our preference order.
    pub const ALL: [CryptoSuite; 2] = [Self::AesCm128HmacSha1_80, Self::AesCm128HmacSha1_32];

    pub fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    pub fn from_name(name: &str) -> Option<CryptoSuite> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A Master Key Identifier: `value` written big-endian in `len` bytes of every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    pub value: u64,
    pub len: u8,
}

impl Mki {
    /// The bytes packets carry.
    pub fn bytes(self) -> Vec<u8> {
        let len = usize::from(self.len);
        let be = self.value.to_be_bytes();
        let mut out = vec![0; len.saturating_sub(be.len())];
        out.extend_from_slice(&be[be.len().saturating_sub(len)..]);
        out
    }
}

/// The `inline:` key parameter: master key and salt, lifetime, MKI.
///
/// `Debug` never shows the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineKey {
    key_salt: [u8; KEY_SALT_LEN],
    /// Packets the key may protect; `None` is the suite's maximum.
    pub lifetime: Option<u64>,
    pub mki: Option<Mki>,
}

impl InlineKey {
    pub fn new(key_salt: [u8; KEY_SALT_LEN]) -> InlineKey {
        InlineKey {
            key_salt,
            lifetime: None,
            mki: None,
        }
    }

    /// A fresh key from a cryptographically secure generator (the bound keeps a seeded
    /// simulation RNG from making keys).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> InlineKey {
        let mut key_salt = [0u8; KEY_SALT_LEN];
        rng.fill_bytes(&mut key_salt);
        InlineKey::new(key_salt)
    }

    /// Master key followed by master salt, as SRTP takes them.
    pub fn key_salt(&self) -> &[u8; KEY_SALT_LEN] {
        &self.key_salt
    }
}

impl fmt::Debug for InlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineKey")
            .field("key_salt", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

/// One `a=crypto` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crypto {
    /// Names this line; the answer echoes the tag of the line it accepts.
    pub tag: u32,
    pub suite: CryptoSuite,
    pub key: InlineKey,
    /// `WSH=`: the replay window the sender suggests (we keep 64 whatever it says).
    pub window_size_hint: Option<u32>,
}

impl Crypto {
    pub fn new(tag: u32, suite: CryptoSuite, key: InlineKey) -> Crypto {
        Crypto {
            tag,
            suite,
            key,
            window_size_hint: None,
        }
    }

    /// Parses the value of an `a=crypto` attribute (what follows `a=crypto:`).
    pub fn parse(value: &str) -> Result<Crypto, CryptoProblem> {
        let mut fields = value.split_ascii_whitespace();
        let (Some(tag), Some(suite), Some(key_params)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(CryptoProblem::Fields);
        };
        let tag = parse_tag(tag)?;
        let suite = CryptoSuite::from_name(suite)
            .ok_or_else(|| CryptoProblem::UnsupportedSuite(clip(suite)))?;
        let key = parse_key_params(key_params)?;
        let mut window_size_hint = None;
        for param in fields {
            match param.strip_prefix("WSH=") {
                Some(n) => {
                    window_size_hint = Some(
                        digits::<u32>(n)
                            .filter(|&n| n >= MIN_WINDOW_SIZE_HINT)
                            .ok_or(CryptoProblem::WindowSizeHint)?,
                    )
                }
                // KDR, UNENCRYPTED_*, UNAUTHENTICATED_SRTP, FEC_*: none of them is done here.
                None => return Err(CryptoProblem::UnsupportedSessionParam(clip(param))),
            }
        }
        Ok(Crypto {
            tag,
            suite,
            key,
            window_size_hint,
        })
    }
}

/// Writes the attribute value, `<tag> <suite> inline:<key||salt>[|lifetime][|mki:len]`.
impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            STANDARD.encode(self.key.key_salt)
        )?;
        if let Some(l) = self.key.lifetime {
            if l.is_power_of_two() {
                write!(f, "|2^{}", l.trailing_zeros())?;
            } else {
                write!(f, "|{l}")?;
            }
        }
        if let Some(m) = self.key.mki {
            write!(f, "|{}:{}", m.value, m.len)?;
        }
        if let Some(w) = self.window_size_hint {
            write!(f, " WSH={w}")?;
        }
        Ok(())
    }
}

/// Why an `a=crypto` attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoProblem {
    // --- malformed ---
    #[error("a=crypto is not '<tag> <crypto-suite> <key-params> [<session-params>]'")]
    Fields,
    #[error("a=crypto tag is not 1 to 9 digits")]
    Tag,
    #[error("a=crypto key is not valid base64")]
    Base64,
    #[error("a=crypto key and salt are {got} bytes; the suite needs {KEY_SALT_LEN}")]
    KeyLength { got: usize },
    #[error("a=crypto lifetime is not a number or 2^n of 1..=2^48 packets")]
    Lifetime,
    #[error(
        "a=crypto MKI is not '<value>:<length>' with a length of 1..=128 bytes holding the value"
    )]
    Mki,
    #[error("a=crypto WSH= is not a number of at least 64")]
    WindowSizeHint,
    // --- well-formed, but not something we do ---
    #[error(
        "crypto suite {0} is not supported (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32 are)"
    )]
    UnsupportedSuite(String),
    #[error("a=crypto key method is not inline:")]
    UnsupportedKeyMethod,
    #[error("a=crypto with several master keys is not supported")]
    SeveralKeys,
    #[error("a=crypto session parameter {0} is not supported")]
    UnsupportedSessionParam(String),
}

impl CryptoProblem {
    /// A well-formed line asking for something we do not do: an offerer may list several, and
    /// the answerer takes the first it can.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedSuite(_)
                | Self::UnsupportedKeyMethod
                | Self::SeveralKeys
                | Self::UnsupportedSessionParam(_)
        )
    }
}

/// Names from the peer, cut short so an error message stays small.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_tag(s: &str) -> Result<u32, CryptoProblem> {
    if s.len() > 9 {
        return Err(CryptoProblem::Tag);
    }
    digits(s).ok_or(CryptoProblem::Tag)
}

/// `inline:<key||salt>[|lifetime][|mki-value:mki-length]`, one key only.
fn parse_key_params(s: &str) -> Result<InlineKey, CryptoProblem> {
    if s.contains(';') {
        return Err(CryptoProblem::SeveralKeys);
    }
    let info = s
        .strip_prefix("inline:")
        .ok_or(CryptoProblem::UnsupportedKeyMethod)?;
    let mut parts = info.split('|');
    let key_salt = decode_key(parts.next().unwrap_or(""))?;
    let mut key = InlineKey::new(key_salt);
    for part in parts {
        if part.contains(':') {
            if key.mki.is_some() {
                return Err(CryptoProblem::Mki);
            }
            key.mki = Some(parse_mki(part)?);
        } else if key.lifetime.is_none() && key.mki.is_none() {
            key.lifetime = Some(parse_lifetime(part)?);
        } else {
            return Err(CryptoProblem::Lifetime);
        }
    }
    Ok(key)
}

fn decode_key(b64: &str) -> Result<[u8; KEY_SALT_LEN], CryptoProblem> {
    // Bounded before decoding: anything longer cannot be our 30 bytes.
    if b64.len() > 64 {
        return Err(CryptoProblem::KeyLength {
            got: b64.len() / 4 * 3,
        });
    }
    let bytes = STANDARD.decode(b64).map_err(|_| CryptoProblem::Base64)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| CryptoProblem::KeyLength { got: bytes.len() })
}

fn parse_lifetime(s: &str) -> Result<u64, CryptoProblem> {
    let packets = match s.strip_prefix("2^") {
        Some(exp) => digits::<u32>(exp).filter(|&e| e <= 48).map(|e| 1u64 << e),
        None => digits::<u64>(s),
    };
    packets
        .filter(|&p| (1..=MAX_LIFETIME).contains(&p))
        .ok_or(CryptoProblem::Lifetime)
}

fn parse_mki(s: &str) -> Result<Mki, CryptoProblem> {
    let (value, len) = s.split_once(':').ok_or(CryptoProblem::Mki)?;
    let value = digits::<u64>(value).ok_or(CryptoProblem::Mki)?;
    let len = digits::<u8>(len)
        .filter(|l| (1..=MAX_MKI_LEN).contains(l) && len.len() <= 3)
        .ok_or(CryptoProblem::Mki)?;
    if len < 8 && value >> (8 * u32::from(len)) != 0 {
        return Err(CryptoProblem::Mki);
    }
    Ok(Mki { value, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4568 §4's example key.
    const RFC_KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn parses_and_prints_the_rfc_example() {
        let line = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|2^20|1:32");
        let c = Crypto::parse(&line).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!(&c.key.key_salt()[..6], b"YS___s");
        assert_eq!(c.key.lifetime, Some(1 << 20));
        assert_eq!(c.key.mki, Some(Mki { value: 1, len: 32 }));
        assert_eq!(c.to_string(), line);
        assert_eq!(Crypto::parse(&c.to_string()), Ok(c));
    }

    #[test]
    fn optional_parts_and_session_parameters() {
        let c = Crypto::parse(&format!("7 AES_CM_128_HMAC_SHA1_32 inline:{RFC_KEY}")).unwrap();
        assert_eq!((c.tag, c.key.lifetime, c.key.mki), (7, None, None));
        let c = Crypto::parse(&format!(
            "2 AES_CM_128_HMAC_SHA1_80  inline:{RFC_KEY}|1000|4:2 WSH=128"
        ))
        .unwrap();
        assert_eq!(c.key.lifetime, Some(1000));
        assert_eq!(c.key.mki.unwrap().bytes(), [0, 4]);
        assert_eq!(c.window_size_hint, Some(128));
        assert_eq!(
            c.to_string(),
            format!("2 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|1000|4:2 WSH=128")
        );
        let c = Crypto::parse(&format!("3 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|5:1")).unwrap();
        assert_eq!(
            (c.key.lifetime, c.key.mki),
            (None, Some(Mki { value: 5, len: 1 }))
        );
        assert_eq!(
            Mki {
                value: 0x0102,
                len: 10
            }
            .bytes(),
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
        );
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        use CryptoProblem as P;
        let k = RFC_KEY;
        let cases: Vec<(String, CryptoProblem)> = vec![
            ("1 AES_CM_128_HMAC_SHA1_80".into(), P::Fields),
            (format!("x AES_CM_128_HMAC_SHA1_80 inline:{k}"), P::Tag),
            (
                format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{k}"),
                P::Tag,
            ),
            (
                format!("1 AES_256_CM_HMAC_SHA1_80 inline:{k}"),
                P::UnsupportedSuite("AES_256_CM_HMAC_SHA1_80".into()),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 uri:{k}"),
                P::UnsupportedKeyMethod,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4;inline:{k}|2:4"),
                P::SeveralKeys,
            ),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:!!!!".into(), P::Base64),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA".into(),
                P::KeyLength { got: 3 },
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}AAAA"),
                P::KeyLength { got: 33 },
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}", "A".repeat(400)),
                P::KeyLength { got: 300 },
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^49"),
                P::Lifetime,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|0"),
                P::Lifetime,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^x"),
                P::Lifetime,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4|2^20"),
                P::Lifetime,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:0"), P::Mki),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:129"),
                P::Mki,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|256:1"),
                P::Mki,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4|2:4"),
                P::Mki,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} WSH=10"),
                P::WindowSizeHint,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} KDR=1"),
                P::UnsupportedSessionParam("KDR=1".into()),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} UNENCRYPTED_SRTCP"),
                P::UnsupportedSessionParam("UNENCRYPTED_SRTCP".into()),
            ),
        ];
        for (line, problem) in cases {
            assert_eq!(Crypto::parse(&line), Err(problem.clone()), "{line}");
            assert!(!problem.to_string().is_empty());
        }
        assert!(P::UnsupportedSuite(String::new()).is_unsupported());
        assert!(!P::Base64.is_unsupported());
    }

    #[test]
    fn generated_keys_differ_and_debug_hides_them() {
        let mut rng = rand::rngs::OsRng;
        let a = InlineKey::generate(&mut rng);
        let b = InlineKey::generate(&mut rng);
        assert_ne!(a.key_salt(), b.key_salt());
        let line = Crypto::new(1, CryptoSuite::AesCm128HmacSha1_80, a).to_string();
        let encoded = line.rsplit(':').next().unwrap();
        assert!(!format!("{a:?}").contains(encoded));
        assert!(format!("{a:?}").contains("redacted"));
    }
}
