//! `outdial peer`: our own SIP UAS that answers calls with a seeded mix of outcomes. It is the
//! customer network of the demo and of tests that must not depend on SIPp, and it keeps a
//! record of every INVITE dialog it saw so a test can compare it with the dialer's attempts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sip::transport::{SocketConfig, UdpTransport};
use sip::{CallEvent, CallKey, EndReason, Endpoint, EndpointConfig, Event};

use crate::media_legs::MediaLegs;
use outdial_core::clock;

/// What the peer does with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Ring, answer with SDP (and audio if `media`), wait for the caller's BYE.
    Answer,
    /// Ring, answer, then hang up ourselves after `hangup_after_ms`.
    RemoteHangup,
    /// 486 Busy Here.
    Busy,
    /// 180 and never answer: the caller's ring timeout must CANCEL (we answer 487).
    NoAnswer,
    /// 603 Decline.
    Decline,
    /// 404 Not Found.
    InvalidNumber,
    /// 503 Service Unavailable (no Retry-After).
    Unavailable,
}

impl OutcomeKind {
    /// The profile's name for this outcome (as in the TOML and the JSON report).
    pub fn name(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::RemoteHangup => "remote-hangup",
            Self::Busy => "busy",
            Self::NoAnswer => "no-answer",
            Self::Decline => "decline",
            Self::InvalidNumber => "invalid-number",
            Self::Unavailable => "unavailable",
        }
    }
}

/// One weighted line of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRule {
    pub kind: OutcomeKind,
    /// Relative weight; the share of calls is weight / sum of weights.
    pub weight: u32,
    /// Ringing time before the final response, uniform in [min, max] ms. Default [0, 0].
    #[serde(default)]
    pub ring_ms: [u64; 2],
    /// For `remote-hangup`: time from answer to our BYE, uniform in [min, max] ms.
    #[serde(default)]
    pub hangup_after_ms: [u64; 2],
    /// Send RTP audio (a tone) on answered calls. Default false.
    #[serde(default)]
    pub media: bool,
}

/// A profile file (TOML): a seed and weighted outcomes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Seeds the outcome choice; the choice for a call is a function of (seed, Call-ID),
    /// so it does not depend on arrival order.
    #[serde(default)]
    pub seed: u64,
    pub outcome: Vec<OutcomeRule>,
}

/// Why a profile was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("profile {path} is not valid: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("profile {path}: {what}")]
    Invalid { path: String, what: String },
}

impl Profile {
    /// Answer every call at once and wait for the caller's BYE.
    pub fn answer_all() -> Self {
        Self {
            seed: 0,
            outcome: vec![OutcomeRule {
                kind: OutcomeKind::Answer,
                weight: 1,
                ring_ms: [0, 0],
                hangup_after_ms: [0, 0],
                media: false,
            }],
        }
    }

    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, ProfileError> {
        let prof: Profile = toml::from_str(text).map_err(|source| ProfileError::Parse {
            path: path.into(),
            source,
        })?;
        let invalid = |what: String| ProfileError::Invalid {
            path: path.into(),
            what,
        };
        if prof.outcome.is_empty() || prof.outcome.iter().all(|o| o.weight == 0) {
            return Err(invalid(
                "needs at least one [[outcome]] with a weight above 0".into(),
            ));
        }
        for o in &prof.outcome {
            if o.ring_ms[0] > o.ring_ms[1] || o.hangup_after_ms[0] > o.hangup_after_ms[1] {
                return Err(invalid(format!(
                    "{:?}: ranges must be [min, max] with min <= max",
                    o.kind
                )));
            }
            if o.kind == OutcomeKind::RemoteHangup && o.hangup_after_ms[1] == 0 {
                return Err(invalid("remote-hangup needs hangup_after_ms".into()));
            }
        }
        Ok(prof)
    }

    /// The rule for a call, and its ring and hang-up delays, from (seed, Call-ID) alone.
    pub fn choose(&self, call_id: &str) -> (&OutcomeRule, Duration, Duration) {
        let mut h = mix(self.seed ^ fnv(call_id.as_bytes()));
        let total: u64 = self.outcome.iter().map(|o| u64::from(o.weight)).sum();
        let mut pick = h % total.max(1);
        let mut chosen = &self.outcome[0];
        for o in &self.outcome {
            if pick < u64::from(o.weight) {
                chosen = o;
                break;
            }
            pick -= u64::from(o.weight);
        }
        h = mix(h);
        let ring = uniform(h, chosen.ring_ms);
        h = mix(h);
        let hang = uniform(h, chosen.hangup_after_ms);
        (chosen, ring, hang)
    }
}

fn uniform(h: u64, [lo, hi]: [u64; 2]) -> Duration {
    Duration::from_millis(lo + h % (hi - lo + 1))
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The peer's record, printed as JSON when it stops.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerReport {
    /// Distinct INVITE dialogs (by Call-ID: its stable part, `sip::ids::stable_part`).
    pub dialogs: u64,
    /// INVITEs whose Call-ID (stable part) had already been seen in an earlier, finished
    /// dialog: an attempt dialed again.
    pub repeated_call_ids: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub answered: u64,
    pub caller_hangups: u64,
    pub our_hangups: u64,
    pub cancelled: u64,
    pub datagrams: u64,
    pub rejected_malformed: u64,
    pub dropped_junk: u64,
    pub media: Option<crate::media_legs::MediaSummary>,
}

enum Pending {
    Answer(CallKey),
    Final(CallKey, u16),
    HangUp(CallKey),
}

/// Runs the peer until `stop` resolves. Writes one line per new INVITE dialog to `record`.
pub async fn run(
    bind: SocketAddr,
    profile: Profile,
    mut record: Option<Box<dyn Write + Send>>,
    stop: impl std::future::Future<Output = ()>,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<PeerReport> {
    let mut transport = UdpTransport::bind(bind, SocketConfig::default())?;
    let local = transport.local_addr()?;
    let mut ep_cfg = EndpointConfig::new(local);
    ep_cfg.namespace = format!("peer{}", local.port());
    let mut ep = Endpoint::new(ep_cfg);
    let wants_media = profile.outcome.iter().any(|o| o.media);
    // A port range apart from loadtest's, so both can run on one host.
    let mut media = MediaLegs::new(local.ip(), 40_000, 59_998)?;
    let sink = media.sink_port().await?;
    let mut report = PeerReport::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut calls: HashMap<CallKey, (String, OutcomeKind, bool, Duration)> = HashMap::new();
    let mut timers: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut next_timer = 0u64;
    ready(local);
    tokio::pin!(stop);

    loop {
        let now = clock::now();
        while let Some(Reverse((at, id))) = timers.peek().copied() {
            if at > now {
                break;
            }
            timers.pop();
            match pending.remove(&id) {
                Some(Pending::Answer(call)) => {
                    let Some((_, kind, media_on, hang)) = calls.get(&call).cloned() else {
                        continue;
                    };
                    let sdp = if media_on && wants_media {
                        media.answer_leg(call).await
                    } else {
                        None
                    }
                    .unwrap_or_else(|| sip::sdp::offer(call.0, 1, local.ip(), sink));
                    if ep.respond(now, call, 200, Some(sdp.into_bytes())).is_ok()
                        && kind == OutcomeKind::RemoteHangup
                    {
                        next_timer += 1;
                        pending.insert(next_timer, Pending::HangUp(call));
                        timers.push(Reverse((now + hang, next_timer)));
                    }
                }
                Some(Pending::Final(call, status)) => {
                    let _ = ep.respond(now, call, status, None);
                }
                Some(Pending::HangUp(call))
                    if ep.hang_up(now, call).is_ok() && calls.contains_key(&call) =>
                {
                    report.our_hangups += 1;
                }
                Some(Pending::HangUp(_)) => {}
                None => {}
            }
        }
        ep.handle_timeout(now);
        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::Incoming(inc) => {
                    // Keyed by the Call-ID's stable part: an outdial node's Call-IDs are random
                    // after their attempt's prefix, so one attempt dialed twice shares it.
                    let stable = sip::ids::stable_part(&inc.call_id);
                    if seen.insert(stable.to_owned()) {
                        report.dialogs += 1;
                    } else if finished.contains(stable) {
                        report.repeated_call_ids += 1;
                    }
                    let (rule, ring, hang) = profile.choose(stable);
                    let kind = rule.kind;
                    *report.outcomes.entry(kind.name().to_owned()).or_default() += 1;
                    if let Some(w) = record.as_mut() {
                        let _ =
                            writeln!(w, "{}\t{}\t{}", inc.call_id, inc.request_uri, kind.name());
                    }
                    if let (Some(offer), true) = (&inc.sdp, rule.media) {
                        media.remember_offer(inc.call, offer);
                    }
                    calls.insert(inc.call, (inc.call_id.clone(), kind, rule.media, hang));
                    let action = match kind {
                        OutcomeKind::Answer | OutcomeKind::RemoteHangup => {
                            Some(Pending::Answer(inc.call))
                        }
                        OutcomeKind::Busy => Some(Pending::Final(inc.call, 486)),
                        OutcomeKind::Decline => Some(Pending::Final(inc.call, 603)),
                        OutcomeKind::InvalidNumber => Some(Pending::Final(inc.call, 404)),
                        OutcomeKind::Unavailable => Some(Pending::Final(inc.call, 503)),
                        OutcomeKind::NoAnswer => None,
                    };
                    let rings = ring > Duration::ZERO || kind == OutcomeKind::NoAnswer;
                    if rings {
                        let _ = ep.respond(now, inc.call, 180, None);
                    }
                    if let Some(a) = action {
                        next_timer += 1;
                        pending.insert(next_timer, a);
                        timers.push(Reverse((now + ring, next_timer)));
                    }
                }
                Event::Call {
                    call,
                    event: CallEvent::Answered { .. },
                } => {
                    report.answered += 1;
                    media.start_answered(call).await;
                }
                Event::Call {
                    call,
                    event: CallEvent::Ended(reason),
                } => {
                    if let Some((cid, ..)) = calls.remove(&call) {
                        finished.insert(sip::ids::stable_part(&cid).to_owned());
                    }
                    media.ended(call).await;
                    match reason {
                        EndReason::RemoteHangup => report.caller_hangups += 1,
                        EndReason::RemoteCancel => report.cancelled += 1,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        transport.flush(&mut ep).await;

        let mut wake = now + Duration::from_millis(200);
        if let Some(Reverse((at, _))) = timers.peek() {
            wake = wake.min(*at);
        }
        if let Some(at) = ep.poll_timeout() {
            wake = wake.min(at);
        }
        tokio::select! {
            r = transport.readable() => { r?; }
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = &mut stop => break,
        }
        transport.pump(&mut ep, clock::now(), 256).await?;
    }
    let s = ep.stats();
    report.rejected_malformed = s.rejected_malformed;
    report.dropped_junk = s.dropped_junk;
    report.datagrams = s.datagrams;
    report.media = Some(media.summary().await);
    if let Some(w) = record.as_mut() {
        let _ = w.flush();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_depends_on_seed_and_call_id_only() {
        let p = Profile::parse(
            "seed = 7\n[[outcome]]\nkind = \"answer\"\nweight = 1\n[[outcome]]\nkind = \"busy\"\nweight = 1\n",
            "t",
        )
        .expect("valid profile");
        let a = p.choose("abc").0.kind;
        assert_eq!(a, p.choose("abc").0.kind);
        let busy = (0..1000)
            .filter(|i| p.choose(&format!("c{i}")).0.kind == OutcomeKind::Busy)
            .count();
        assert!(
            (400..600).contains(&busy),
            "busy share {busy}/1000 should be near half"
        );
    }

    #[test]
    fn bad_profiles_are_refused_with_reasons() {
        assert!(matches!(
            Profile::parse("seed = 1\n", "t"),
            Err(ProfileError::Parse { .. })
        ));
        let e = Profile::parse("[[outcome]]\nkind = \"answer\"\nweight = 0\n", "t");
        assert!(matches!(e, Err(ProfileError::Invalid { .. })));
        let e = Profile::parse("[[outcome]]\nkind = \"remote-hangup\"\nweight = 1\n", "t");
        assert!(matches!(e, Err(ProfileError::Invalid { .. })));
        let e = Profile::parse(
            "[[outcome]]\nkind = \"answer\"\nweight = 1\nring_ms = [5, 1]\n",
            "t",
        );
        assert!(matches!(e, Err(ProfileError::Invalid { .. })));
    }
}
