//! Digest authentication (RFC 2617 / RFC 3261 §22): answering 401/407 challenges with MD5,
//! MD5-sess and qop=auth, plus verification for our own test UAS.

use md5::{Digest, Md5};
use std::fmt::Write;

/// A username and password for one peer (or realm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// A parsed `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// Whether the server offered qop=auth (we never do auth-int).
    pub qop_auth: bool,
    pub stale: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Md5,
    Md5Sess,
}

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("challenge scheme is not Digest")]
    NotDigest,
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    #[error("unsupported digest algorithm {0:?}")]
    Algorithm(String),
    #[error("challenge offers only qop values we do not support: {0:?}")]
    Qop(String),
}

/// Parses a Digest challenge header value.
pub fn parse_challenge(value: &str) -> Result<Challenge, ChallengeError> {
    let value = value.trim();
    let rest = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("digest") => rest,
        _ => return Err(ChallengeError::NotDigest),
    };
    let mut c = Challenge::default();
    let mut realm = None;
    let mut nonce = None;
    let mut qop_seen = None;
    for (k, v) in params(rest) {
        match k.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(v),
            "nonce" => nonce = Some(v),
            "opaque" => c.opaque = Some(v),
            "stale" => c.stale = v.eq_ignore_ascii_case("true"),
            "algorithm" => {
                c.algorithm = if v.eq_ignore_ascii_case("md5") {
                    Algorithm::Md5
                } else if v.eq_ignore_ascii_case("md5-sess") {
                    Algorithm::Md5Sess
                } else {
                    return Err(ChallengeError::Algorithm(v));
                }
            }
            "qop" => qop_seen = Some(v),
            _ => {}
        }
    }
    if let Some(q) = qop_seen {
        c.qop_auth = q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth"));
        if !c.qop_auth {
            return Err(ChallengeError::Qop(q));
        }
    }
    c.realm = realm.ok_or(ChallengeError::Missing("realm"))?;
    c.nonce = nonce.ok_or(ChallengeError::Missing("nonce"))?;
    Ok(c)
}

/// Splits `k=v, k="v, with comma"` pairs, honouring quotes and backslash escapes.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                val.push(n);
                            }
                        }
                        '"' => break,
                        _ => val.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    val.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_owned(), val.trim().to_owned()));
    }
    out
}

fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut s = String::with_capacity(32);
    for b in digest {
        // INVARIANT: writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The `response=` value of RFC 2617 §3.2.2.1.
pub fn response_digest(
    c: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let mut ha1 = md5_hex(&[&creds.username, &c.realm, &creds.password]);
    if c.algorithm == Algorithm::Md5Sess {
        ha1 = md5_hex(&[&ha1, &c.nonce, cnonce]);
    }
    let ha2 = md5_hex(&[method, uri]);
    if c.qop_auth {
        let nc = format!("{nc:08x}");
        md5_hex(&[&ha1, &c.nonce, &nc, cnonce, "auth", &ha2])
    } else {
        md5_hex(&[&ha1, &c.nonce, &ha2])
    }
}

/// The `Authorization` / `Proxy-Authorization` header value answering `c`.
pub fn authorization(
    c: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let response = response_digest(c, creds, method, uri, cnonce, nc);
    let mut v = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
        creds.username,
        c.realm,
        c.nonce,
        uri,
        response,
        match c.algorithm {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
        }
    );
    if c.qop_auth {
        // INVARIANT: writing to a String cannot fail.
        let _ = write!(v, ", qop=auth, nc={nc:08x}, cnonce=\"{cnonce}\"");
    }
    if let Some(o) = &c.opaque {
        let _ = write!(v, ", opaque=\"{o}\"");
    }
    v
}

/// Checks an `Authorization` header value against the password (our UAS's side).
pub fn verify(authorization: &str, password: &str, method: &str, realm: &str, nonce: &str) -> bool {
    let Some(rest) = authorization
        .trim()
        .strip_prefix("Digest")
        .or_else(|| authorization.trim().strip_prefix("digest"))
    else {
        return false;
    };
    let p: std::collections::HashMap<String, String> = params(rest)
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let (Some(user), Some(uri), Some(resp)) = (p.get("username"), p.get("uri"), p.get("response"))
    else {
        return false;
    };
    if p.get("realm").map(String::as_str) != Some(realm)
        || p.get("nonce").map(String::as_str) != Some(nonce)
    {
        return false;
    }
    let qop_auth = p.get("qop").is_some_and(|q| q.eq_ignore_ascii_case("auth"));
    let nc = p
        .get("nc")
        .and_then(|n| u32::from_str_radix(n, 16).ok())
        .unwrap_or(1);
    let cnonce = p.get("cnonce").cloned().unwrap_or_default();
    let c = Challenge {
        realm: realm.into(),
        nonce: nonce.into(),
        qop_auth,
        ..Challenge::default()
    };
    let creds = Credentials {
        username: user.clone(),
        password: password.into(),
    };
    response_digest(&c, &creds, method, uri, &cnonce, nc).eq_ignore_ascii_case(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_response() {
        // RFC 2617 §3.5's worked example.
        let c = parse_challenge(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("valid challenge");
        assert!(c.qop_auth);
        let creds = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let r = response_digest(&c, &creds, "GET", "/dir/index.html", "0a4f113b", 1);
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn authorization_verifies_round_trip() {
        let c = parse_challenge(
            "Digest realm=\"outdial.test\", nonce=\"abc\", algorithm=MD5, qop=\"auth\"",
        )
        .expect("valid");
        let creds = Credentials {
            username: "alice".into(),
            password: "secret".into(),
        };
        let h = authorization(&c, &creds, "INVITE", "sip:bob@127.0.0.1", "c0ffee", 1);
        assert!(verify(&h, "secret", "INVITE", "outdial.test", "abc"));
        assert!(!verify(&h, "wrong", "INVITE", "outdial.test", "abc"));
    }

    #[test]
    fn rejects_non_digest_and_auth_int_only() {
        assert_eq!(
            parse_challenge("Basic realm=\"x\""),
            Err(ChallengeError::NotDigest)
        );
        assert!(matches!(
            parse_challenge("Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\""),
            Err(ChallengeError::Qop(_))
        ));
        assert_eq!(
            parse_challenge("Digest nonce=\"n\""),
            Err(ChallengeError::Missing("realm"))
        );
    }
}
