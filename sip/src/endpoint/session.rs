//! RFC 4028 session timers on the calls we place: the INVITE offers one
//! ([`EndpointConfig::session_expires`](super::EndpointConfig)), the 2xx settles its interval
//! and refresher; when we refresh we send an UPDATE every half interval, and when the peer
//! does and lets the session lapse we end the call with a BYE.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::{local, CallKey, Endpoint, TimerRef};
use crate::dialog::Dialog;
use crate::msg::Incoming;

/// Below this a Session-Expires is not believed (RFC 4028 §4 recommends 90 s as the floor;
/// tests use a few seconds, so only nonsense is refused).
const FLOOR: Duration = Duration::from_secs(1);
/// Longest session interval believed: a day.
const CEILING: Duration = Duration::from_secs(86_400);

/// One call's session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SessionTimer {
    interval: Duration,
    /// We refresh (UPDATE at half the interval); otherwise the peer must, or we hang up.
    we_refresh: bool,
    due: Instant,
}

impl SessionTimer {
    fn next(interval: Duration, we_refresh: bool, now: Instant) -> Self {
        // RFC 4028 §10: without a refresh, the session ends `interval - min(32, interval/3)`
        // after the last one.
        let wait = if we_refresh {
            interval / 2
        } else {
            interval - (interval / 3).min(Duration::from_secs(32))
        };
        Self {
            interval,
            we_refresh,
            due: now + wait,
        }
    }
}

/// `Session-Expires: delta-seconds[;refresher=uac|uas]`: the interval, and whether the UAS
/// (the peer, for our calls) refreshes.
pub(crate) fn parse_session_expires(value: &str) -> Option<(Duration, bool)> {
    let mut parts = value.split(';');
    let secs: u64 = parts.next()?.trim().parse().ok()?;
    let interval = Duration::from_secs(secs);
    if !(FLOOR..=CEILING).contains(&interval) {
        return None;
    }
    let uas_refreshes = parts.any(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("refresher") && v.trim().eq_ignore_ascii_case("uas")
        })
    });
    Some((interval, uas_refreshes))
}

/// A header's value by its long or compact name (`Session-Expires`, `x`).
pub(super) fn header<'a>(inc: &'a Incoming, long: &str, compact: &str) -> Option<&'a str> {
    let headers = match &inc.msg {
        rsip::SipMessage::Request(r) => &r.headers,
        rsip::SipMessage::Response(r) => &r.headers,
    };
    headers.iter().find_map(|h| match h {
        rsip::Header::Other(name, value)
            if name.eq_ignore_ascii_case(long) || name.eq_ignore_ascii_case(compact) =>
        {
            Some(value.as_str())
        }
        _ => None,
    })
}

impl Endpoint {
    /// A 2xx answered call `key`: start its session timer if the answer settles one.
    pub(super) fn start_session(&mut self, now: Instant, key: CallKey, inc: &Incoming) {
        let Some((interval, uas_refreshes)) =
            header(inc, "session-expires", "x").and_then(parse_session_expires)
        else {
            return;
        };
        self.arm_session(key, SessionTimer::next(interval, !uas_refreshes, now));
    }

    fn arm_session(&mut self, key: CallKey, t: SessionTimer) {
        self.sessions.insert(key, t);
        self.timers.push(Reverse((t.due, TimerRef::Session(key))));
    }

    pub(super) fn on_session_timer(&mut self, now: Instant, key: CallKey) {
        // A re-armed timer leaves its older heap entry behind: only the current due time counts.
        let Some(t) = self.sessions.get(&key).copied().filter(|t| t.due <= now) else {
            return;
        };
        if !t.we_refresh {
            tracing::debug!(call = key.0, "session timer lapsed; hanging up");
            self.sessions.remove(&key);
            let _ = self.hang_up(now, key);
            return;
        }
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            self.sessions.remove(&key);
            return;
        };
        let local = local(&self.cfg, u.target().transport);
        if let Some(update) = u.refresh(t.interval, local, &mut self.ids) {
            self.send_request(now, key, update);
            self.arm_session(key, SessionTimer::next(t.interval, true, now));
        }
    }

    /// The peer refreshed the session of `call_id` (a re-INVITE or an UPDATE).
    pub(super) fn session_refreshed(&mut self, now: Instant, call_id: &str) {
        let Some(&key) = self.by_call_id.get(call_id) else {
            return;
        };
        if let Some(t) = self.sessions.get(&key).copied() {
            self.arm_session(key, SessionTimer::next(t.interval, t.we_refresh, now));
        }
    }

    /// A 422 to our INVITE: ask again with its Min-SE, once per raise.
    pub(super) fn retry_with_interval(
        &mut self,
        now: Instant,
        key: CallKey,
        inc: &Incoming,
    ) -> Option<crate::txn::TxnId> {
        let min_se = header(inc, "min-se", "")
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .filter(|m| (FLOOR..=CEILING).contains(m))?;
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return None;
        };
        let local = local(&self.cfg, u.target().transport);
        let (layer, out) = (&mut self.layer, &mut self.out);
        u.retry_with_interval(min_se, local, &mut self.ids, |req| {
            layer.start_client(now, req.owned_by(key.0), out)
        })
    }

    /// Our floor (`EndpointConfig::min_se`) when a new INVITE's Session-Expires is below it.
    pub(super) fn too_brief(&self, inc: &Incoming) -> Option<Duration> {
        let floor = self.cfg.min_se?;
        let (asked, _) = header(inc, "session-expires", "x").and_then(parse_session_expires)?;
        (asked < floor).then_some(floor)
    }

    /// Our refresh was refused (RFC 4028 §10: the session is over): BYE.
    pub(super) fn refresh_failed(&mut self, now: Instant, key: CallKey) {
        if self.sessions.remove(&key).is_some() {
            let _ = self.hang_up(now, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::dialog::{CallEvent, EndReason};
    use crate::endpoint::{Dial, EndpointConfig, Event};
    use crate::peer::Peer;

    /// Two endpoints on a lossless zero-latency wire, in virtual time: the caller offers a
    /// 1800 s session timer, the callee answers with `answer_se`.
    struct Pair {
        ep: [Endpoint; 2],
        addr: [SocketAddr; 2],
        start: Instant,
        now: Instant,
        /// (ms since start, sender, start line) of every request.
        requests: Vec<(u64, usize, String)>,
        ended: Option<(u64, EndReason)>,
        answer_se: &'static str,
        invite: String,
        /// The callee's 200 to the INVITE.
        answer: String,
    }

    impl Pair {
        fn new(answer_se: &'static str) -> Self {
            Self::with(1800, None, answer_se)
        }

        /// The caller offers `offer_s`; the callee refuses intervals below `min_se_s`.
        fn with(offer_s: u64, min_se_s: Option<u64>, answer_se: &'static str) -> Self {
            let addr: [SocketAddr; 2] = [
                "127.0.0.1:5060".parse().expect("addr"),
                "127.0.0.2:5060".parse().expect("addr"),
            ];
            let mut caller = EndpointConfig::new(addr[0]);
            caller.session_expires = Some(Duration::from_secs(offer_s));
            let mut callee = EndpointConfig::new(addr[1]);
            callee.min_se = min_se_s.map(Duration::from_secs);
            let start = crate::time::virtual_epoch();
            Self {
                ep: [Endpoint::new(caller), Endpoint::new(callee)],
                addr,
                start,
                now: start,
                requests: Vec::new(),
                ended: None,
                answer_se,
                invite: String::new(),
                answer: String::new(),
            }
        }

        fn ms(&self) -> u64 {
            (self.now - self.start).as_millis() as u64
        }

        fn run(&mut self, until_s: u64) {
            let end = self.start + Duration::from_secs(until_s);
            loop {
                let mut moved = false;
                for i in 0..2 {
                    while let Some(t) = self.ep[i].poll_transmit() {
                        moved = true;
                        let text = String::from_utf8_lossy(&t.payload).into_owned();
                        let line = text.lines().next().unwrap_or("").to_owned();
                        if i == 1 && line.starts_with("SIP/2.0 200") && text.contains(" INVITE\r\n")
                        {
                            self.answer = text.clone();
                        }
                        if !line.starts_with("SIP/2.0") {
                            if line.starts_with("INVITE") {
                                self.invite = text.clone();
                            }
                            self.requests.push((self.ms(), i, line));
                        }
                        let to = 1 - i;
                        self.ep[to].handle_message(self.now, Peer::udp(self.addr[i]), &t.payload);
                    }
                    while let Some(e) = self.ep[i].poll_event() {
                        moved = true;
                        match e {
                            Event::Incoming(inc) => {
                                let se = ("Session-Expires", self.answer_se);
                                self.ep[1]
                                    .respond_with(self.now, inc.call, 200, None, &[se])
                                    .expect("answer");
                            }
                            Event::Call {
                                event: CallEvent::Ended(r),
                                ..
                            } if i == 0 => self.ended = Some((self.ms(), r)),
                            _ => {}
                        }
                    }
                }
                if moved {
                    continue;
                }
                let next = self.ep.iter().filter_map(Endpoint::poll_timeout).min();
                match next {
                    Some(at) if at <= end => {
                        self.now = self.now.max(at);
                        for ep in &mut self.ep {
                            ep.handle_timeout(self.now);
                        }
                    }
                    _ => break,
                }
            }
            self.now = end;
        }

        fn dial(&mut self) {
            let dial = Dial {
                id: 7,
                target: self.addr[1],
                request_uri: format!("sip:callee@{}", self.addr[1]),
                from_uri: format!("sip:caller@{}", self.addr[0]),
                to_uri: None,
                sdp_offer: None,
                ring_timeout: None,
                extra_headers: Vec::new(),
            };
            self.ep[0].dial(self.now, dial).expect("dial");
        }

        fn updates(&self) -> Vec<u64> {
            self.requests
                .iter()
                .filter(|(_, i, l)| *i == 0 && l.starts_with("UPDATE"))
                .map(|(t, _, _)| *t)
                .collect()
        }
    }

    #[test]
    fn we_refresh_with_an_update_every_half_interval() {
        let mut p = Pair::new("8;refresher=uac");
        p.dial();
        p.run(30);
        assert!(
            p.invite.contains("Session-Expires: 1800\r\n"),
            "{}",
            p.invite
        );
        assert!(p.invite.contains("Supported: timer\r\n"), "{}", p.invite);
        assert_eq!(
            p.updates(),
            vec![4000, 8000, 12000, 16000, 20000, 24000, 28000]
        );
        assert_eq!(p.ended, None, "refreshed sessions stay up");
    }

    #[test]
    fn a_peer_that_lets_the_session_lapse_gets_a_bye() {
        let mut p = Pair::new("9;refresher=uas");
        p.dial();
        p.run(30);
        assert!(p.updates().is_empty(), "the peer is the refresher");
        // interval - min(32, interval/3) = 9 - 3 = 6 s after the answer.
        let bye: Vec<u64> = p
            .requests
            .iter()
            .filter(|(_, i, l)| *i == 0 && l.starts_with("BYE"))
            .map(|(t, _, _)| *t)
            .collect();
        assert_eq!(bye, vec![6000]);
        assert_eq!(p.ended, Some((6000, EndReason::LocalHangup)));
    }

    #[test]
    fn an_interval_below_min_se_gets_422_and_the_invite_comes_again_with_it() {
        let mut p = Pair::with(90, Some(120), "120;refresher=uac");
        p.dial();
        p.run(1);
        let invites: Vec<&(u64, usize, String)> = p
            .requests
            .iter()
            .filter(|(_, i, l)| *i == 0 && l.starts_with("INVITE"))
            .collect();
        assert_eq!(invites.len(), 2, "{:?}", p.requests);
        assert!(
            p.invite.contains("Session-Expires: 120\r\n"),
            "{}",
            p.invite
        );
        assert!(p.invite.contains("Min-SE: 120\r\n"), "{}", p.invite);
        assert!(
            p.requests
                .iter()
                .any(|(_, i, l)| *i == 0 && l.starts_with("ACK")),
            "the 422 was ACKed"
        );
        assert_eq!(p.ended, None, "answered on the second INVITE");
        p.run(61);
        assert_eq!(p.updates(), vec![60_000], "refreshed at half of 120 s");
    }

    /// A header's value in a message's text.
    fn value<'a>(text: &'a str, name: &str) -> &'a str {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
            .unwrap_or("")
    }

    #[test]
    fn a_refresh_by_the_peer_keeps_the_session_up() {
        let mut p = Pair::new("9;refresher=uas");
        p.dial();
        p.run(5);
        assert_eq!(p.ended, None);
        // The callee refreshes by UPDATE at 5 s, before the caller's 6 s deadline.
        let update = format!(
            "UPDATE sip:caller@{a} SIP/2.0\r\nVia: SIP/2.0/UDP {b};branch=z9hG4bKpeerrefresh1\r\n\
             Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {cid}\r\n\
             CSeq: 10 UPDATE\r\nSession-Expires: 9;refresher=uas\r\nContent-Length: 0\r\n\r\n",
            a = p.addr[0],
            b = p.addr[1],
            to = value(&p.answer, "To"),
            from = value(&p.invite, "From"),
            cid = value(&p.invite, "Call-ID"),
        );
        let (now, b) = (p.now, p.addr[1]);
        p.ep[0].handle_message(now, Peer::udp(b), update.as_bytes());
        let reply = p.ep[0].poll_transmit().expect("an answer to the UPDATE");
        let reply = String::from_utf8_lossy(&reply.payload).into_owned();
        assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
        assert!(
            reply.contains("Session-Expires: 9;refresher=uas\r\n"),
            "{reply}"
        );
        p.run(30);
        assert_eq!(
            p.ended.map(|(t, _)| t),
            Some(11_000),
            "the BYE comes 6 s after the refresh at 5 s, not at 6 s"
        );
    }

    #[test]
    fn session_expires_parses_with_bounds() {
        assert_eq!(
            parse_session_expires("1800;refresher=uas"),
            Some((Duration::from_secs(1800), true))
        );
        assert_eq!(
            parse_session_expires(" 90 ; refresher=uac"),
            Some((Duration::from_secs(90), false))
        );
        assert_eq!(parse_session_expires("0"), None);
        assert_eq!(parse_session_expires("x"), None);
        assert_eq!(parse_session_expires("999999"), None);
    }
}
