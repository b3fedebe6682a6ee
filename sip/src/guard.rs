//! Per-source rate limits for the requests an endpoint answers without keeping state: a
//! stranger's INVITE, OPTIONS, a request for a dialog we do not have, malformed junk. Modelled
//! on Kamailio's pike module (a source over its request density is blocked and reported), redone
//! as a sans-IO policy in a fixed-size table.
//!
//! A source is an IPv4 address or an IPv6 /64 (one subscriber's prefix: an attacker owning a
//! /64 must not get 2^64 budgets). Its rate is a sliding-window estimate over two fixed windows
//! (this one's count plus the last one's, weighted by how much of it the sliding window still
//! covers), so a burst straddling a window boundary is seen whole. Over `rate`, the source is
//! *banned*: dropped silently for `ban`, a ban that each further request over the rate renews,
//! so a flood that never pauses never gets an answer. Memory is a table of `table_size` entries
//! allocated once, set-associative (eight ways per set, the set picked by a keyed hash an
//! outsider cannot aim at); a full set evicts its least recently seen unbanned source, and only
//! when all eight are banned the ban that ends soonest.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Ways per set of the table.
const WAYS: usize = 8;

/// The guard's knobs. Units in the names where they are not `Duration`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Requests a source may send per `window` (1..=100000). Default 30, as Kamailio's
    /// `reqs_density_per_unit`.
    pub rate: u32,
    /// The sampling window (100 ms..=60 s). Default 2 s, as Kamailio's `sampling_time_unit`.
    pub window: Duration,
    /// How long a source over its rate is dropped after its last request over the rate
    /// (0..=3600 s; 0 drops only while the source is over its rate). Default 60 s.
    pub ban: Duration,
    /// Sources tracked at once (64..=1048576, rounded up to a multiple of 8); about 64 bytes
    /// each, allocated up front. Default 4096.
    pub table_size: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            rate: 30,
            window: Duration::from_secs(2),
            ban: Duration::from_secs(60),
            table_size: 4096,
        }
    }
}

impl GuardConfig {
    /// Every knob outside its bounds, by name.
    pub fn problems(&self) -> Vec<&'static str> {
        let mut p = Vec::new();
        if !(1..=100_000).contains(&self.rate) {
            p.push("guard rate: 1..=100000 requests per window");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&self.window) {
            p.push("guard window: 100 ms..=60 s");
        }
        if self.ban > Duration::from_secs(3600) {
            p.push("guard ban: at most 3600 s");
        }
        if !(64..=1 << 20).contains(&self.table_size) {
            p.push("guard table_size: 64..=1048576 sources");
        }
        p
    }

    /// The same knobs pulled inside their bounds.
    fn clamped(self) -> Self {
        Self {
            rate: self.rate.clamp(1, 100_000),
            window: self
                .window
                .clamp(Duration::from_millis(100), Duration::from_secs(60)),
            ban: self.ban.min(Duration::from_secs(3600)),
            table_size: self.table_size.clamp(64, 1 << 20),
        }
    }
}

/// What to do with one request from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Under its rate: answer it.
    Admit,
    /// This request took the source over its rate: it is banned from now (drop it; worth one
    /// log line, as pike's first detection).
    Banned,
    /// Banned, or over its rate: drop it silently.
    Drop,
}

/// What the guard has done, for counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GuardStats {
    pub admitted: u64,
    pub dropped: u64,
    /// Sources banned (each time a ban starts).
    pub bans: u64,
    /// Sources pushed out of a full set to make room.
    pub evictions: u64,
}

/// A source as the guard counts it: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    V6Net([u8; 8]),
}

impl Source {
    fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                let mut net = [0u8; 8];
                net.copy_from_slice(&o[..8]);
                Source::V6Net(net)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    source: Source,
    window_start: Instant,
    this: u32,
    last: u32,
    /// Banned while `now < banned_until`.
    banned_until: Instant,
    seen: Instant,
}

/// The per-source rate limiter (sans-IO: every call takes `now`).
#[derive(Debug)]
pub struct Guard {
    cfg: GuardConfig,
    sets: usize,
    table: Vec<Option<Entry>>,
    key: RandomState,
    last_now: Option<Instant>,
    stats: GuardStats,
}

impl Guard {
    /// A guard with `cfg` (pulled inside its documented bounds); the whole table is allocated
    /// here and never grows.
    pub fn new(cfg: GuardConfig) -> Self {
        let cfg = cfg.clamped();
        let sets = cfg.table_size.div_ceil(WAYS);
        Self {
            cfg,
            sets,
            table: vec![None; sets * WAYS],
            key: RandomState::new(),
            last_now: None,
            stats: GuardStats::default(),
        }
    }

    pub fn config(&self) -> GuardConfig {
        self.cfg
    }

    pub fn stats(&self) -> GuardStats {
        self.stats
    }

    /// Sources the table can hold.
    pub fn capacity(&self) -> usize {
        self.table.len()
    }

    /// Counts one request from `ip` at `now` and says whether to answer it.
    pub fn check(&mut self, now: Instant, ip: IpAddr) -> Verdict {
        let now = match self.last_now {
            Some(last) if now < last => last,
            _ => now,
        };
        self.last_now = Some(now);
        let source = Source::of(ip);
        let cfg = self.cfg;
        let slot = self.slot_for(source, now);
        let e = self.table[slot].get_or_insert(Entry {
            source,
            window_start: now,
            this: 0,
            last: 0,
            banned_until: now,
            seen: now,
        });
        e.seen = now;
        roll(e, now, cfg.window);
        e.this = e.this.saturating_add(1);
        let over = estimate(e, now, cfg.window) > u64::from(cfg.rate);
        let banned = now < e.banned_until;
        let verdict = match (over, banned) {
            (false, false) => Verdict::Admit,
            (true, was_banned) => {
                e.banned_until = now + cfg.ban;
                if was_banned || cfg.ban.is_zero() {
                    Verdict::Drop
                } else {
                    Verdict::Banned
                }
            }
            (false, true) => Verdict::Drop,
        };
        match verdict {
            Verdict::Admit => self.stats.admitted += 1,
            Verdict::Banned => {
                self.stats.bans += 1;
                self.stats.dropped += 1;
            }
            Verdict::Drop => self.stats.dropped += 1,
        }
        verdict
    }

    /// Whether `ip` is banned at `now` (without counting a request).
    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        let source = Source::of(ip);
        let set = self.set_of(source);
        self.table[set..set + WAYS]
            .iter()
            .flatten()
            .any(|e| e.source == source && now < e.banned_until)
    }

    fn set_of(&self, source: Source) -> usize {
        // INVARIANT: `sets` is at least 8 (table_size is clamped to 64 or more).
        (self.key.hash_one(source) % self.sets as u64) as usize * WAYS
    }

    /// The slot of `source`: its own, an empty one, or the one its set gives up.
    fn slot_for(&mut self, source: Source, now: Instant) -> usize {
        let set = self.set_of(source);
        let ways = &self.table[set..set + WAYS];
        if let Some(i) = ways
            .iter()
            .position(|e| e.is_some_and(|e| e.source == source))
        {
            return set + i;
        }
        if let Some(i) = ways.iter().position(Option::is_none) {
            return set + i;
        }
        // Full: the least recently seen unbanned source goes; if all are banned, the ban that
        // ends soonest.
        let victim = ways
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i, e)))
            .min_by_key(|(_, e)| {
                let banned = now < e.banned_until;
                (banned, if banned { e.banned_until } else { e.seen })
            })
            .map_or(0, |(i, _)| i);
        self.stats.evictions += 1;
        self.table[set + victim] = None;
        set + victim
    }
}

/// Moves the entry's windows up to the one `now` falls in.
fn roll(e: &mut Entry, now: Instant, window: Duration) {
    let elapsed = now.saturating_duration_since(e.window_start);
    if elapsed < window {
        return;
    }
    let windows = elapsed.as_nanos() / window.as_nanos().max(1);
    e.last = if windows == 1 { e.this } else { 0 };
    e.this = 0;
    let step = window.as_nanos().saturating_mul(windows);
    e.window_start += Duration::from_nanos(u64::try_from(step).unwrap_or(u64::MAX));
}

/// Requests in the sliding window ending at `now`: this window's, and the share of the last
/// one's the sliding window still covers.
fn estimate(e: &Entry, now: Instant, window: Duration) -> u64 {
    let w = window.as_nanos().max(1);
    let into = now
        .saturating_duration_since(e.window_start)
        .as_nanos()
        .min(w);
    let carried = u128::from(e.last) * (w - into) / w;
    u64::from(e.this) + u64::try_from(carried).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn t0() -> Instant {
        crate::time::virtual_epoch()
    }

    fn guard(rate: u32, ban_s: u64) -> Guard {
        Guard::new(GuardConfig {
            rate,
            window: Duration::from_secs(1),
            ban: Duration::from_secs(ban_s),
            table_size: 64,
        })
    }

    #[test]
    fn a_source_within_its_rate_is_always_answered() {
        let mut g = guard(11, 60);
        let a = ip("192.0.2.1");
        // 10 per second, evenly, for a minute (a closed one-second span holds 11 of them).
        for i in 0..600u64 {
            let now = t0() + Duration::from_millis(i * 100);
            assert_eq!(g.check(now, a), Verdict::Admit, "request {i}");
        }
        assert_eq!(g.stats().dropped, 0);
    }

    #[test]
    fn over_its_rate_a_source_is_banned_while_it_floods_and_for_the_ban_after() {
        let mut g = guard(10, 5);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        let now = t0();
        let verdicts: Vec<Verdict> = (0..12).map(|_| g.check(now, a)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Admit));
        assert_eq!(verdicts[10], Verdict::Banned);
        assert_eq!(verdicts[11], Verdict::Drop);
        // Another source is unaffected.
        assert_eq!(g.check(now, b), Verdict::Admit);
        // Flooding on for 30 s keeps the ban, long after a single ban would have ended.
        for ms in (0..30_000).step_by(10) {
            assert_eq!(g.check(now + Duration::from_millis(ms), a), Verdict::Drop);
        }
        let stop = now + Duration::from_millis(29_990);
        assert!(g.is_banned(stop + Duration::from_millis(4_999), a));
        // Quiet for the ban: answered again.
        assert!(!g.is_banned(stop + Duration::from_secs(5), a));
        assert_eq!(g.check(stop + Duration::from_secs(5), a), Verdict::Admit);
        assert_eq!(g.stats().bans, 1);
    }

    #[test]
    fn a_burst_across_a_window_boundary_counts_whole() {
        let mut g = guard(10, 5);
        let a = ip("192.0.2.1");
        // One to open a window, eight at its end and eight at the start of the next: 16
        // within 100 ms, though neither fixed window holds more than 9.
        assert_eq!(g.check(t0(), a), Verdict::Admit);
        let end = t0() + Duration::from_millis(950);
        for _ in 0..8 {
            assert_eq!(g.check(end, a), Verdict::Admit);
        }
        let next = t0() + Duration::from_millis(1_050);
        let verdicts: Vec<Verdict> = (0..8).map(|_| g.check(next, a)).collect();
        assert!(verdicts.contains(&Verdict::Banned), "{verdicts:?}");
    }

    #[test]
    fn without_a_ban_only_the_requests_over_the_rate_are_dropped() {
        let mut g = guard(5, 0);
        let a = ip("192.0.2.1");
        let v: Vec<Verdict> = (0..7).map(|_| g.check(t0(), a)).collect();
        assert_eq!(&v[5..], &[Verdict::Drop, Verdict::Drop]);
        assert_eq!(g.check(t0() + Duration::from_secs(2), a), Verdict::Admit);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source_and_mapped_ipv4_is_ipv4() {
        let mut g = guard(3, 60);
        for i in 0..3u16 {
            let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, i, i, i, i);
            assert_eq!(g.check(t0(), IpAddr::V6(addr)), Verdict::Admit);
        }
        assert_eq!(g.check(t0(), ip("2001:db8:0:1::99")), Verdict::Banned);
        assert_eq!(g.check(t0(), ip("2001:db8:0:2::1")), Verdict::Admit);
        for _ in 0..3 {
            g.check(t0(), ip("192.0.2.7"));
        }
        assert_eq!(g.check(t0(), ip("::ffff:192.0.2.7")), Verdict::Banned);
    }

    #[test]
    fn the_table_never_grows_and_a_spray_of_sources_does_not_free_a_banned_one() {
        let mut g = guard(2, 60);
        let flooder = ip("198.51.100.1");
        for _ in 0..3 {
            g.check(t0(), flooder);
        }
        assert!(g.is_banned(t0(), flooder));
        let cap = g.capacity();
        // A hundred thousand sources of one request each, as from spoofed addresses.
        for i in 0..100_000u32 {
            let [a, b, c, d] = (0x0a00_0000 + i).to_be_bytes();
            let now = t0() + Duration::from_micros(u64::from(i));
            assert_eq!(g.check(now, IpAddr::from([a, b, c, d])), Verdict::Admit);
        }
        assert_eq!(g.capacity(), cap, "no allocation beyond the table");
        assert!(g.stats().evictions > 0);
        assert!(
            g.is_banned(t0() + Duration::from_millis(200), flooder),
            "unbanned sources are evicted first"
        );
    }

    #[test]
    fn time_going_backwards_is_ignored_and_knobs_are_bounded() {
        let mut g = guard(2, 60);
        let a = ip("192.0.2.1");
        let later = t0() + Duration::from_secs(10);
        g.check(later, a);
        g.check(t0(), a);
        assert_eq!(g.check(t0(), a), Verdict::Banned);
        let wild = GuardConfig {
            rate: 0,
            window: Duration::ZERO,
            ban: Duration::from_secs(1 << 20),
            table_size: 1,
        };
        assert_eq!(wild.problems().len(), 4);
        assert!(GuardConfig::default().problems().is_empty());
        let g = Guard::new(wild);
        assert_eq!(g.config().rate, 1);
        assert_eq!(g.capacity(), 64);
    }
}
