//! Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, and a CSRF token the
//! page must echo in `X-CSRF-Token` on every state-changing request. Kept in memory (a
//! session lives on the node that issued it), keyed by the id's SHA-256, bounded in number,
//! ending after an idle time and a maximum age. Sans-IO: every call takes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::token::{digest, random_b64};
use super::Role;

/// Limits of browser sessions (`[http]` session keys in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    pub idle: Duration,
    pub max_age: Duration,
    pub max_sessions: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle: Duration::from_secs(30 * 60),
            max_age: Duration::from_secs(8 * 3600),
            max_sessions: 10_000,
        }
    }
}

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    started: Instant,
    seen: Instant,
}

/// A new session as the login answer carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The cookie's value (shown to the browser once; only its hash is kept).
    pub id: String,
    pub csrf: String,
}

#[derive(Debug)]
pub struct Sessions {
    settings: SessionSettings,
    live: HashMap<String, Session>,
}

impl Sessions {
    pub fn new(settings: SessionSettings) -> Self {
        Sessions {
            settings,
            live: HashMap::new(),
        }
    }

    /// Starts a session for `user`; the oldest is dropped when the table is full.
    pub fn start(&mut self, now: Instant, user: &str, role: Role) -> NewSession {
        let (idle, max_age) = (self.settings.idle, self.settings.max_age);
        if self.live.len() >= self.settings.max_sessions {
            self.live.retain(|_, s| alive(s, now, idle, max_age));
        }
        if self.live.len() >= self.settings.max_sessions {
            let oldest = self
                .live
                .iter()
                .min_by_key(|(_, s)| s.started)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.live.remove(&k);
            }
        }
        let new = NewSession {
            id: random_b64(),
            csrf: random_b64(),
        };
        self.live.insert(
            digest(&new.id),
            Session {
                user: user.to_owned(),
                role,
                csrf: new.csrf.clone(),
                started: now,
                seen: now,
            },
        );
        new
    }

    /// The live session of cookie value `id` (its idle time starts again), with the hash it
    /// is kept under.
    pub fn touch(&mut self, now: Instant, id: &str) -> Option<(String, Session)> {
        let key = digest(id);
        let (idle, max_age) = (self.settings.idle, self.settings.max_age);
        let s = self.live.get_mut(&key)?;
        if !alive(s, now, idle, max_age) {
            self.live.remove(&key);
            return None;
        }
        s.seen = now;
        Some((key, s.clone()))
    }

    /// Ends the session kept under `id_hash`.
    pub fn end(&mut self, id_hash: &str) {
        self.live.remove(id_hash);
    }

    /// Ends every session of `user` (removed, or its role changed).
    pub fn end_user(&mut self, user: &str) {
        self.live.retain(|_, s| s.user != user);
    }

    #[cfg(test)]
    fn count(&self) -> usize {
        self.live.len()
    }
}

fn alive(s: &Session, now: Instant, idle: Duration, max_age: Duration) -> bool {
    now.saturating_duration_since(s.seen) < idle
        && now.saturating_duration_since(s.started) < max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_or_old_and_stay_bounded() {
        let mut s = Sessions::new(SessionSettings {
            idle: Duration::from_secs(10),
            max_age: Duration::from_secs(25),
            max_sessions: 3,
        });
        let t0 = outdial_core::clock::now();
        let a = s.start(t0, "alice", Role::Supervisor);
        assert!(s.touch(t0, "nope").is_none());
        let (_, got) = s.touch(t0 + Duration::from_secs(9), &a.id).expect("live");
        assert_eq!(
            (got.user.as_str(), got.csrf.as_str()),
            ("alice", a.csrf.as_str())
        );
        assert!(
            s.touch(t0 + Duration::from_secs(18), &a.id).is_some(),
            "idle restarted"
        );
        assert!(
            s.touch(t0 + Duration::from_secs(26), &a.id).is_none(),
            "too old"
        );
        let b = s.start(t0, "b", Role::Viewer);
        assert!(
            s.touch(t0 + Duration::from_secs(11), &b.id).is_none(),
            "idle"
        );
        for i in 0..10 {
            s.start(t0, &format!("u{i}"), Role::Viewer);
        }
        assert!(s.count() <= 3);
        let c = s.start(t0, "c", Role::Viewer);
        s.end_user("c");
        assert!(s.touch(t0, &c.id).is_none());
    }
}
