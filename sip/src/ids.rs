//! Call-IDs, tags and branches that nobody outside the endpoint can predict.
//!
//! Every identifier carries fresh material from a CSPRNG ([`IdGen`]: ChaCha12, seeded from the
//! operating system), so an off-path attacker can guess neither a branch (to forge a response
//! to one of our transactions) nor a Call-ID with its tags (to forge a request inside one of
//! our dialogs). Nothing is derived from a node's name or a counter any more.
//!
//! The caller's id (an attempt id) is *mapped* to its dialog by the endpoint, not derived into
//! it. For records kept outside the endpoint, a Call-ID of a call we place starts with a
//! stable prefix naming the caller's id:
//!
//! ```text
//!   {id:x}-{ns:08x}.{random:032x}@{host}      e.g. 2a-1c9e4b07.5f0c…e1@192.0.2.10
//! ```
//!
//! `id` in lower-case hex, a dash, FNV-1a of the namespace (a node's name) in eight hex digits,
//! a dot, then 128 random bits. [`call_id_prefix`] writes the prefix and [`id_of_call_id`]
//! reads the id back, so a peer's record of Call-IDs maps to attempts (and an attempt dialed
//! twice shows as two Call-IDs with one prefix). The prefix is no secret and grants nothing:
//! the random part is what makes a Call-ID unguessable.

use std::fmt;
use std::hash::BuildHasher;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// RFC 3261's magic cookie: branches starting with it are globally unique.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// The identity of one outgoing dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogIds {
    pub call_id: String,
    pub from_tag: String,
}

/// The stable start of the Call-IDs of caller id `id` in `namespace`: `{id:x}-{ns:08x}.`.
pub fn call_id_prefix(namespace: &str, id: u64) -> String {
    let mut out = String::with_capacity(26);
    push_prefix(&mut out, namespace, id);
    out
}

fn push_prefix(out: &mut String, namespace: &str, id: u64) {
    let digits = (64 - id.leading_zeros()).div_ceil(4).max(1);
    push_hex(out, u128::from(id), digits);
    out.push('-');
    push_hex(out, u128::from(fnv1a(namespace.as_bytes())), 8);
    out.push('.');
}

/// The low `digits` nibbles of `v` in lower-case hex, most significant first. (`format!`
/// costs ten times as much, on every request the endpoint writes.)
fn push_hex(out: &mut String, v: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (i * 4)) & 0xf) as usize]));
    }
}

/// The caller id a Call-ID of `namespace` was placed for, if it has the documented prefix.
pub fn id_of_call_id(namespace: &str, call_id: &str) -> Option<u64> {
    let (id, rest) = call_id.split_once('-')?;
    let (ns, _) = rest.split_once('.')?;
    let ours = format!("{:08x}", fnv1a(namespace.as_bytes()));
    if ns != ours || id.is_empty() || id.len() > 16 {
        return None;
    }
    u64::from_str_radix(id, 16).ok()
}

/// The part of a Call-ID that every dialog of one caller id shares: the documented prefix when
/// the Call-ID has one, else the whole Call-ID (one written by anybody else). A peer that keys
/// its records or choices by it sees an attempt dialed twice under one key.
pub fn stable_part(call_id: &str) -> &str {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let prefix = call_id.split_once('-').and_then(|(id, rest)| {
        let ns = rest.get(..8)?;
        let ok = id.len() <= 16 && hex(id) && hex(ns) && rest.as_bytes().get(8) == Some(&b'.');
        ok.then_some(id.len() + 10)
    });
    prefix.map_or(call_id, |end| &call_id[..end])
}

/// The endpoint's source of identifiers: a CSPRNG for fresh ones, and a secret key for the
/// To-tags of stateless replies (which must repeat for a retransmitted request).
pub struct IdGen {
    rng: StdRng,
    stateless: std::collections::hash_map::RandomState,
}

impl fmt::Debug for IdGen {
    /// The generator's state is a secret: it is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdGen { .. }")
    }
}

impl Default for IdGen {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGen {
    /// Seeded from the operating system's randomness.
    pub fn new() -> Self {
        Self {
            rng: StdRng::from_entropy(),
            stateless: Default::default(),
        }
    }

    /// The Call-ID and From-tag of a new dialog for caller id `id` (see the module doc).
    pub fn dialog(&mut self, namespace: &str, id: u64, host: &str) -> DialogIds {
        let mut call_id = String::with_capacity(26 + 32 + 1 + host.len());
        push_prefix(&mut call_id, namespace, id);
        self.push_call_id(&mut call_id, host);
        DialogIds {
            call_id,
            from_tag: self.tag(),
        }
    }

    /// A Call-ID with no prefix (an out-of-dialog probe).
    pub fn call_id(&mut self, host: &str) -> String {
        let mut call_id = String::with_capacity(32 + 1 + host.len());
        self.push_call_id(&mut call_id, host);
        call_id
    }

    fn push_call_id(&mut self, out: &mut String, host: &str) {
        push_hex(out, self.rng.gen(), 32);
        out.push('@');
        out.push_str(host);
    }

    /// A new branch: the cookie and 96 random bits.
    pub fn branch(&mut self) -> String {
        let mut b = String::with_capacity(BRANCH_COOKIE.len() + 24);
        b.push_str(BRANCH_COOKIE);
        push_hex(&mut b, self.rng.gen(), 24);
        b
    }

    /// A new tag (or client nonce): 64 random bits.
    pub fn tag(&mut self) -> String {
        let mut t = String::with_capacity(16);
        push_hex(&mut t, u128::from(self.rng.gen::<u64>()), 16);
        t
    }

    /// The To-tag of a stateless reply to the request with these identifiers: the same for
    /// every retransmission of it (RFC 3261 §8.2.7), unpredictable for any other.
    pub fn stateless_tag(
        &self,
        call_id: &str,
        from_tag: Option<&str>,
        branch: Option<&str>,
    ) -> String {
        let mut t = String::with_capacity(16);
        let h = self.stateless.hash_one((call_id, from_tag, branch));
        push_hex(&mut t, u128::from(h), 16);
        t
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn call_ids_carry_the_prefix_and_differ_every_time() {
        let mut g = IdGen::new();
        let a = g.dialog("node-a", 42, "127.0.0.1");
        let b = g.dialog("node-a", 42, "127.0.0.1");
        assert!(a.call_id.starts_with(&call_id_prefix("node-a", 42)));
        assert!(a.call_id.ends_with("@127.0.0.1"));
        assert_ne!(a.call_id, b.call_id, "random, not derived");
        assert_ne!(a.from_tag, b.from_tag);
        assert_eq!(id_of_call_id("node-a", &a.call_id), Some(42));
        assert_eq!(id_of_call_id("node-b", &a.call_id), None, "another node's");
        assert_eq!(id_of_call_id("node-a", "junk"), None);
        assert_eq!(id_of_call_id("node-a", "zz-00000000.1@h"), None);
        assert_eq!(stable_part(&a.call_id), call_id_prefix("node-a", 42));
        assert_eq!(stable_part(&b.call_id), stable_part(&a.call_id));
        for foreign in [
            "1-2@h",
            "abc@h",
            "-12345678.x",
            "1-1234567z.x",
            "1-12345678x",
            "",
        ] {
            assert_eq!(stable_part(foreign), foreign);
        }
        // Another endpoint (another run) never repeats them either.
        let c = IdGen::new().dialog("node-a", 42, "127.0.0.1");
        assert_ne!(a.call_id, c.call_id);
    }

    #[test]
    fn branches_and_tags_carry_enough_randomness() {
        let mut g = IdGen::new();
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let b = g.branch();
            assert!(b.starts_with(BRANCH_COOKIE));
            assert_eq!(b.len(), BRANCH_COOKIE.len() + 24);
            assert!(seen.insert(b), "a branch repeated");
            assert_eq!(g.tag().len(), 16);
        }
        // Every bit position of the random part varies: nothing is a counter or a constant.
        let (mut ones, mut zeros) = (0u128, 0u128);
        for _ in 0..256 {
            let c = g.call_id("h");
            let v = u128::from_str_radix(&c[..32], 16).expect("hex");
            ones |= v;
            zeros |= !v;
        }
        assert_eq!((ones, zeros), (u128::MAX, u128::MAX));
    }

    #[test]
    fn hex_is_written_as_format_would() {
        for id in [0u64, 1, 0xf, 0x10, 0x2a, u64::MAX, 1 << 63] {
            let ns = fnv1a(b"n");
            assert_eq!(call_id_prefix("n", id), format!("{id:x}-{ns:08x}."));
        }
        let mut s = String::new();
        push_hex(&mut s, 0xabc, 6);
        assert_eq!(s, "000abc");
    }

    #[test]
    fn a_stateless_tag_repeats_for_the_same_request_only() {
        let g = IdGen::new();
        let t = g.stateless_tag("c1", Some("f"), Some("z9hG4bK1"));
        assert_eq!(t, g.stateless_tag("c1", Some("f"), Some("z9hG4bK1")));
        assert_ne!(t, g.stateless_tag("c1", Some("f"), Some("z9hG4bK2")));
        assert_ne!(
            t,
            IdGen::new().stateless_tag("c1", Some("f"), Some("z9hG4bK1"))
        );
    }
}
