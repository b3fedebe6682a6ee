//! Login throttling, sans-IO (every call takes `now`): a name that fails too often is locked
//! for a time that doubles with each further failure, and each source address has a budget
//! of failures that refills slowly. Names are tracked whether or not they exist, so a lock
//! tells nothing about which names are real. Both tables are bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How hard logins are throttled (`[auth]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures of one name in a row before it is locked.
    pub failures_before_lockout: u32,
    /// The first lock; each further failure doubles it.
    pub lockout_base: Duration,
    /// The longest lock.
    pub lockout_max: Duration,
    /// Failures a source address may make at once.
    pub source_burst: u32,
    /// One more failure allowed per this long.
    pub source_refill: Duration,
    /// Names and sources tracked at most (each table).
    pub max_tracked: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            failures_before_lockout: 5,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(15 * 60),
            source_burst: 20,
            source_refill: Duration::from_secs(3),
            max_tracked: 100_000,
        }
    }
}

/// Refused before the password was even looked at: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct NameState {
    failures: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Failures still allowed, as of `at`.
    left: u32,
    at: Instant,
}

/// The throttle's state.
#[derive(Debug)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    names: HashMap<String, NameState>,
    sources: HashMap<IpAddr, Budget>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        LoginThrottle {
            settings,
            names: HashMap::new(),
            sources: HashMap::new(),
        }
    }

    /// Whether a login of `name` from `source` may be tried now.
    pub fn check(&mut self, now: Instant, name: &str, source: IpAddr) -> Result<(), Throttled> {
        if let Some(until) = self.names.get(name).and_then(|s| s.locked_until) {
            if until > now {
                return Err(Throttled {
                    retry_after: until - now,
                });
            }
        }
        if let Some(b) = self.sources.get_mut(&source) {
            refill(b, now, &self.settings);
            if b.left == 0 {
                let refill = self.settings.source_refill;
                let since = now.saturating_duration_since(b.at);
                return Err(Throttled {
                    retry_after: refill.saturating_sub(since),
                });
            }
        }
        Ok(())
    }

    /// A wrong password (or an unknown name) for `name` from `source`.
    pub fn failed(&mut self, now: Instant, name: &str, source: IpAddr) {
        let s = self.settings;
        if !self.names.contains_key(name) {
            let forgotten = |v: &NameState| {
                v.locked_until.is_none_or(|u| u <= now)
                    && now.saturating_duration_since(v.last) > s.lockout_max
            };
            make_room(&mut self.names, forgotten, s.max_tracked);
        }
        let st = self.names.entry(name.to_owned()).or_insert(NameState {
            failures: 0,
            locked_until: None,
            last: now,
        });
        st.failures = st.failures.saturating_add(1);
        st.last = now;
        if st.failures >= s.failures_before_lockout {
            let doublings = (st.failures - s.failures_before_lockout).min(30);
            let lock = s
                .lockout_base
                .saturating_mul(1u32 << doublings)
                .min(s.lockout_max);
            st.locked_until = Some(now + lock);
        }
        if !self.sources.contains_key(&source) {
            let forgotten = |b: &Budget| {
                let mut b = *b;
                refill(&mut b, now, &s);
                b.left >= s.source_burst
            };
            make_room(&mut self.sources, forgotten, s.max_tracked);
        }
        let b = self.sources.entry(source).or_insert(Budget {
            left: s.source_burst,
            at: now,
        });
        refill(b, now, &s);
        b.left = b.left.saturating_sub(1);
    }

    /// A good password: the name's count starts again (the source's budget does not).
    pub fn succeeded(&mut self, name: &str) {
        self.names.remove(name);
    }

    /// Names and sources tracked now (for tests of the bounds).
    #[cfg(test)]
    pub fn tracked(&self) -> (usize, usize) {
        (self.names.len(), self.sources.len())
    }
}

/// Adds the failures the source earned back since `b.at`.
fn refill(b: &mut Budget, now: Instant, s: &ThrottleSettings) {
    let every = s.source_refill.max(Duration::from_millis(1));
    let elapsed = now.saturating_duration_since(b.at);
    let earned = u32::try_from(elapsed.as_nanos() / every.as_nanos()).unwrap_or(u32::MAX);
    if earned > 0 {
        b.left = b.left.saturating_add(earned).min(s.source_burst);
        b.at += every.saturating_mul(earned);
    }
    if b.left >= s.source_burst {
        b.at = now;
    }
}

/// Keeps `map` under `max` entries: drops those `idle` says are forgotten, then, if still
/// full, any one (a flood of fresh keys must not grow the table).
fn make_room<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    idle: impl Fn(&V) -> bool,
    max: usize,
) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| !idle(v));
    while map.len() >= max {
        let Some(k) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            source_burst: 100,
            ..ThrottleSettings::default()
        })
    }

    #[test]
    fn a_name_is_locked_after_its_failures_for_a_doubling_time() {
        let mut t = throttle();
        let t0 = outdial_core::clock::now();
        for _ in 0..4 {
            assert_eq!(t.check(t0, "alice", ME), Ok(()));
            t.failed(t0, "alice", ME);
        }
        assert_eq!(t.check(t0, "alice", ME), Ok(()));
        t.failed(t0, "alice", ME);
        assert_eq!(
            t.check(t0, "alice", ME),
            Err(Throttled {
                retry_after: Duration::from_secs(1)
            })
        );
        // Another name from the same place is not locked by alice's.
        assert_eq!(t.check(t0, "bob", ME), Ok(()));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.check(t1, "alice", ME), Ok(()));
        t.failed(t1, "alice", ME);
        assert_eq!(
            t.check(t1, "alice", ME).map_err(|e| e.retry_after),
            Err(Duration::from_secs(2))
        );
        // The lock never exceeds the maximum.
        let mut at = t1;
        for _ in 0..40 {
            at += Duration::from_secs(3600);
            t.failed(at, "alice", ME);
        }
        assert_eq!(
            t.check(at, "alice", ME).map_err(|e| e.retry_after),
            Err(Duration::from_secs(900))
        );
        t.succeeded("alice");
        assert_eq!(t.check(at, "alice", ME), Ok(()));
    }

    #[test]
    fn a_source_spends_a_budget_that_refills() {
        let mut t = LoginThrottle::new(ThrottleSettings::default());
        let t0 = outdial_core::clock::now();
        for i in 0..20 {
            let name = format!("n{i}");
            assert_eq!(t.check(t0, &name, ME), Ok(()), "failure {i}");
            t.failed(t0, &name, ME);
        }
        assert_eq!(
            t.check(t0, "fresh", ME).map_err(|e| e.retry_after),
            Err(Duration::from_secs(3))
        );
        let other: IpAddr = "10.0.0.9".parse().unwrap_or(ME);
        assert_eq!(
            t.check(t0, "fresh", other),
            Ok(()),
            "other sources unaffected"
        );
        let later = t0 + Duration::from_secs(3);
        assert_eq!(t.check(later, "fresh", ME), Ok(()));
        t.failed(later, "fresh", ME);
        assert!(
            t.check(later, "fresh2", ME).is_err(),
            "one earned back, one spent"
        );
    }

    #[test]
    fn tables_stay_bounded_under_a_flood_of_names_and_sources() {
        let mut t = LoginThrottle::new(ThrottleSettings {
            max_tracked: 100,
            ..ThrottleSettings::default()
        });
        let t0 = outdial_core::clock::now();
        for i in 0..10_000u32 {
            let src = IpAddr::V4(std::net::Ipv4Addr::from(i));
            t.failed(t0, &format!("user{i}"), src);
        }
        let (names, sources) = t.tracked();
        assert!(names <= 100 && sources <= 100, "{names} {sources}");
    }
}
