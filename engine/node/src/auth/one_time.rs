//! One-time login links: a secret that, presented once before it expires, starts a browser
//! session for a named role. `outdial demo` prints one so whoever runs the demo opens the
//! wall-board logged in as a supervisor of that demo alone (the links live in memory and die
//! with the process). Sans-IO: every call takes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::service::Account;
use super::token::{digest, random_b64};

/// Links alive at once; issuing another drops the oldest.
const MAX_LINKS: usize = 16;

#[derive(Debug, Default)]
pub struct OneTimeLogins {
    /// By the SHA-256 of the secret: the account and when the link expires.
    live: HashMap<String, (Account, Instant)>,
}

impl OneTimeLogins {
    /// A new secret for `account`, good once until `now + ttl`.
    pub fn issue(&mut self, now: Instant, account: Account, ttl: Duration) -> String {
        self.live.retain(|_, (_, until)| *until > now);
        if self.live.len() >= MAX_LINKS {
            if let Some(oldest) = self
                .live
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| k.clone())
            {
                self.live.remove(&oldest);
            }
        }
        let secret = random_b64();
        self.live.insert(digest(&secret), (account, now + ttl));
        secret
    }

    /// The account of `secret` if it is live; it is spent either way.
    pub fn redeem(&mut self, now: Instant, secret: &str) -> Option<Account> {
        let (account, until) = self.live.remove(&digest(secret))?;
        (until > now).then_some(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn sup() -> Account {
        Account {
            name: "demo".into(),
            role: Role::Supervisor,
            zones: vec![],
        }
    }

    #[test]
    fn a_link_works_once_and_not_after_it_expires() {
        let t = outdial_core::clock::now();
        let mut l = OneTimeLogins::default();
        let s = l.issue(t, sup(), Duration::from_secs(60));
        assert_eq!(l.redeem(t, "made-up"), None);
        assert_eq!(l.redeem(t, &s).map(|a| a.role), Some(Role::Supervisor));
        assert_eq!(l.redeem(t, &s), None, "spent");
        let s = l.issue(t, sup(), Duration::from_secs(60));
        assert_eq!(l.redeem(t + Duration::from_secs(61), &s), None, "expired");
    }

    #[test]
    fn links_are_bounded() {
        let t = outdial_core::clock::now();
        let mut l = OneTimeLogins::default();
        let first = l.issue(t, sup(), Duration::from_secs(60));
        for i in 0..MAX_LINKS {
            l.issue(t, sup(), Duration::from_secs(61 + i as u64));
        }
        assert_eq!(l.live.len(), MAX_LINKS);
        assert_eq!(l.redeem(t, &first), None, "the oldest was dropped");
    }
}
