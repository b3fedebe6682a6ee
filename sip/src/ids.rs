//! Call-ID, tags and branches derived from a caller-supplied id (an attempt id).
//!
//! Derivation, not randomness, is the point: the same attempt id always yields the same
//! Call-ID and From-tag, so an attempt re-sent after a crash is recognisably the same dialog
//! to the far end and to our own records; it can never become two dialogs.

use std::fmt::Write;

/// RFC 3261's magic cookie: branches starting with it are globally unique.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// The identity of one outgoing dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogIds {
    pub call_id: String,
    pub from_tag: String,
}

/// Derives the Call-ID and From-tag of attempt `id` in `namespace` (a node or campaign
/// name that keeps two deployments' ids apart), at `host`.
pub fn dialog_ids(namespace: &str, id: u64, host: &str) -> DialogIds {
    let ns = fnv1a(namespace.as_bytes());
    DialogIds {
        call_id: format!("{id:x}-{ns:08x}@{host}"),
        from_tag: format!("{:x}", mix(id ^ u64::from(ns))),
    }
}

/// Branch of the request with `cseq` in attempt `id`'s dialog. CANCEL reuses its INVITE's
/// branch; a 2xx ACK gets `ack = true` (it is a transaction of its own).
pub fn branch(namespace: &str, id: u64, cseq: u32, ack: bool) -> String {
    let mut b = String::with_capacity(40);
    let ns = fnv1a(namespace.as_bytes());
    // INVARIANT: writing to a String cannot fail.
    let _ = write!(b, "{BRANCH_COOKIE}{ns:08x}.{id:x}.{cseq}");
    if ack {
        b.push_str(".a");
    }
    b
}

/// Tag for dialogs we answer (UAS side), from our own slot number.
pub fn local_tag(slot: u64) -> String {
    format!("{:x}", mix(slot))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// splitmix64's finaliser: spreads sequential ids so tags do not look sequential.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_dialog_different_id_different_dialog() {
        let a = dialog_ids("node-a", 42, "127.0.0.1");
        assert_eq!(a, dialog_ids("node-a", 42, "127.0.0.1"));
        assert_ne!(a.call_id, dialog_ids("node-a", 43, "127.0.0.1").call_id);
        assert_ne!(a.call_id, dialog_ids("node-b", 42, "127.0.0.1").call_id);
    }

    #[test]
    fn branches_carry_the_cookie_and_differ_per_request() {
        let b1 = branch("n", 7, 1, false);
        assert!(b1.starts_with(BRANCH_COOKIE));
        assert_ne!(b1, branch("n", 7, 2, false));
        assert_ne!(b1, branch("n", 7, 1, true));
    }
}
