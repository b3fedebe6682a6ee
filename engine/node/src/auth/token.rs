//! API tokens: `odt_<id>_<secret>`, where the id (16 hex digits) names the stored record and
//! the secret (256 random bits) is shown once and kept only as its SHA-256. A fast hash is
//! enough at rest: unlike a password, a 256-bit secret cannot be guessed, so slowing each
//! guess buys nothing, and it keeps checking a token per request cheap.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "odt_";

/// A token as issued: shown to its owner once, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub id: String,
    secret: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedToken({})", self.id)
    }
}

impl IssuedToken {
    /// A fresh random token.
    pub fn generate() -> IssuedToken {
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);
        rand::rngs::OsRng.fill_bytes(&mut secret);
        IssuedToken {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            secret: URL_SAFE_NO_PAD.encode(secret),
        }
    }

    /// What the owner sends as `Authorization: Bearer ...`.
    pub fn bearer(&self) -> String {
        format!("{PREFIX}{}_{}", self.id, self.secret)
    }

    /// What is stored: the secret's SHA-256, hex.
    pub fn digest(&self) -> String {
        digest(&self.secret)
    }
}

/// The hex SHA-256 of a token's secret.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(id, secret)` of a bearer value, if it has the token's shape.
pub fn parse(bearer: &str) -> Option<(&str, &str)> {
    let rest = bearer.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_id = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let b64 = (1..=64).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (hex_id && b64).then_some((id, secret))
}

/// Whether `secret` hashes to `stored` (hex SHA-256), without an early exit.
pub fn matches(secret: &str, stored: &str) -> bool {
    digest(secret).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// A random value for session ids and CSRF tokens: 256 bits, base64url.
pub fn random_b64() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_only_their_secret_matches() {
        let t = IssuedToken::generate();
        let bearer = t.bearer();
        let (id, secret) = parse(&bearer).expect("parses");
        assert_eq!(id, t.id);
        assert!(matches(secret, &t.digest()));
        assert!(!matches("x", &t.digest()));
        assert_ne!(IssuedToken::generate().bearer(), bearer);
        for bad in [
            "",
            "odt_",
            "odt_zz_y",
            "Bearer odt_0123456789abcdef_x",
            "odt_0123456789abcdef_",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(!format!("{t:?}").contains(secret), "Debug hides the secret");
    }
}
