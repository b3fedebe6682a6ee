//! Passwords at rest: argon2id (RFC 9106) with a random per-password salt, kept as a PHC
//! string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`). Verifying costs the same whether
//! or not the name exists: an unknown name is checked against [`PasswordHash::decoy`].

use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// The longest password accepted, bytes: the hash's input stays bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The shortest password a new account may get, characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The least memory a stored hash may ask for, KiB: a hash made with less is refused, so a
/// config cannot weaken the node's hashing by accident.
const MIN_MEMORY_KIB: u32 = 8 * 1024;

/// Why a password or a stored hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password may have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("not an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash): {0}")]
    NotPhc(String),
    #[error("argon2id with at least {MIN_MEMORY_KIB} KiB of memory (m=) is required, got {0}")]
    Weak(String),
    #[error("hashing failed: {0}")]
    Hashing(String),
}

/// An argon2id hash of a password, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(argon2id)")
    }
}

/// The node's hasher: argon2id, 19 MiB, 2 passes, 1 lane (the RFC 9106 / OWASP minimum).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str) -> Result<PasswordHash, PasswordError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        Self::hash_unchecked(password)
    }

    fn hash_unchecked(password: &str) -> Result<PasswordHash, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
        let phc = hasher()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(PasswordHash(phc.to_string()))
    }

    /// A stored hash: argon2id only, with at least 8 MiB of memory.
    pub fn parse(phc: &str) -> Result<PasswordHash, PasswordError> {
        let parsed = Phc::new(phc).map_err(|e| PasswordError::NotPhc(e.to_string()))?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return Err(PasswordError::Weak(format!(
                "algorithm {}",
                parsed.algorithm.as_str()
            )));
        }
        let params = Params::try_from(&parsed).map_err(|e| PasswordError::NotPhc(e.to_string()))?;
        if params.m_cost() < MIN_MEMORY_KIB {
            return Err(PasswordError::Weak(format!("m={}", params.m_cost())));
        }
        Ok(PasswordHash(phc.to_owned()))
    }

    /// A hash of a random password nobody knows, made at start-up: verifying against it costs
    /// what verifying a real one does, and never succeeds.
    pub fn decoy() -> Result<PasswordHash, PasswordError> {
        let mut secret = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        Self::hash_unchecked(&hex)
    }

    /// Whether `password` is the one hashed. CPU-heavy (tens of ms): call off the I/O threads.
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        match Phc::new(&self.0) {
            Ok(phc) => hasher().verify_password(password.as_bytes(), &phc).is_ok(),
            Err(_) => false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = PasswordHash::new("correct horse").expect("hash");
        let b = PasswordHash::new("correct horse").expect("hash");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(a.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(a.verify("correct horse"));
        assert!(!a.verify("correct horsf"));
        assert!(!a.verify(&"x".repeat(MAX_PASSWORD_BYTES + 1)));
        assert_eq!(PasswordHash::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn weak_or_foreign_hashes_are_refused() {
        assert_eq!(PasswordHash::new("short"), Err(PasswordError::TooShort));
        assert!(matches!(
            PasswordHash::parse("e2186dbdb1bb4193608605e84f33208765b5693b55edd4f730a719a100eeea6f"),
            Err(PasswordError::NotPhc(_))
        ));
        assert!(matches!(
            PasswordHash::parse("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            Err(PasswordError::Weak(_))
        ));
        assert!(matches!(
            PasswordHash::parse("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            Err(PasswordError::Weak(_))
        ));
        let decoy = PasswordHash::decoy().expect("decoy");
        assert!(!decoy.verify(""));
    }
}
