//! The test's world: its sizes and timings, Table 9 as the desktops must see it, and the
//! seats (a test desktop with everything the node told it) and what each lived through.

use super::*;

/// Agents in the node's config; the last one only tries to log in during the outage.
pub(crate) const AGENTS: usize = 4;
/// Agents working the campaign.
pub(crate) const SEATED: usize = 3;
pub(crate) const CONTACTS: usize = 300;
/// How long the node holds every takeover open, so the outage can be watched.
pub(crate) const TAKEOVER_DELAY_MS: u64 = 1500;
pub(crate) const CONNECT_WINDOW_MS: u64 = 2000;
/// Every answered customer hangs up this long after answering (unless the agent did first).
pub(crate) const HANGUP_MS: u64 = 4000;
/// How long each seated agent talks before hanging up itself (None: until the customer
/// leaves). Different lengths keep the agents' calls out of step, so that at some moment
/// one call is about to be dropped by its customer and another has just started.
pub(crate) const TALK_MS: [Option<u64>; SEATED] = [Some(1000), None, Some(2500)];
/// The test's agents dispose a call this long after its wrap-up began. (The node's wrap-up
/// timeout stays at its default minute, so no call is disposed behind a desktop's back.)
pub(crate) const WRAP: Duration = Duration::from_millis(300);

/// An `outdial peer` profile for the customers: every answered call hangs up HANGUP_MS after
/// answering, so the test can place the fault where a customer leaves during the outage.
pub(crate) fn customers_profile() -> String {
    format!(
        "seed = 7\n\n\
         [[outcome]]\nkind = \"remote-hangup\"\nweight = 8\nring_ms = [100, 300]\n\
         hangup_after_ms = [{HANGUP_MS}, {HANGUP_MS}]\nmedia = true\n\n\
         [[outcome]]\nkind = \"busy\"\nweight = 1\nring_ms = [50, 150]\n\n\
         [[outcome]]\nkind = \"decline\"\nweight = 1\nring_ms = [50, 150]\n"
    )
}
/// Slack between the node's history timestamps and the test's reading of the same moments.
pub(crate) const SLACK_MS: u64 = 150;

/// The takeover's steps in the order docs/design.md §5 gives the rules.
pub(crate) const STEPS: [&str; 7] = [
    "fault",
    "service-down",
    "calls-released",
    "rebuilt",
    "service-up",
    "state-checked",
    "dialing-resumed",
];

/// docs/design.md §5.3, Table 9, written out so the engine is checked
/// against the spec rather than against its own matrix: an attached agent's call state after
/// a takeover, by its state before and the column. A = customer call survived, agent nailed;
/// B = customer call lost, agent unnailed; C = customer call lost, agent nailed.
pub(crate) const TABLE_9: [(&str, [&str; 3]); 11] = [
    ("idle", ["idle", "idle", "idle"]),
    ("talking", ["talking", "wrapup", "wrapup"]),
    ("wrapup", ["wrapup", "wrapup", "wrapup"]),
    ("held", ["held", "wrapup", "wrapup"]),
    // The consult owner's entries; a passive consult party goes idle under B and C. The
    // desktop protocol has no consult command, so these agents are never either.
    ("consult", ["consult", "wrapup", "wrapup"]),
    ("conference-owner", ["conference-owner", "wrapup", "wrapup"]),
    (
        "conference-passive",
        ["conference-passive", "idle", "preview"],
    ),
    ("preview", ["preview", "idle", "preview"]),
    // "Talking, then Wrapup when it ends."
    ("dialing", ["talking", "wrapup", "wrapup"]),
    ("callback", ["callback", "callback", "callback"]),
    ("pending-call", ["idle", "idle", "idle"]),
];

pub(crate) fn table_9(before: &str, column: usize) -> &'static str {
    TABLE_9
        .iter()
        .find(|(b, _)| *b == before)
        .map(|(_, after)| after[column])
        .unwrap_or_else(|| panic!("Table 9 has no row for call state {before:?}"))
}

/// Table 9's columns, as indexes into its rows and the node's `columns` counts.
pub(crate) const COL_A: usize = 0;
pub(crate) const COL_B: usize = 1;
pub(crate) const COL_C: usize = 2;
pub(crate) const COLUMNS: [char; 3] = ['A', 'B', 'C'];

/// One test desktop and everything the node told it, with arrival times.
pub(crate) struct Seat {
    pub(crate) agent: String,
    pub(crate) d: Desktop,
    /// (unix ms on arrival, message), in order; heartbeats are answered and left out.
    pub(crate) log: Vec<(u64, Value)>,
    /// The call on screen and when it popped.
    pub(crate) popped: Option<(u64, Instant)>,
    /// The call this desktop sent `hang-up` for, and that request's id.
    pub(crate) hung_up: Option<(u64, u64)>,
    /// The call in wrap-up and when its wrap-up began.
    pub(crate) wrapping: Option<(u64, Instant)>,
    /// The call this desktop sent `dispose` for, and that request's id.
    pub(crate) disposed: Option<(u64, u64)>,
    /// How long this agent talks before hanging up itself (None: it waits for the customer).
    pub(crate) talk: Option<Duration>,
    pub(crate) next_id: u64,
    pub(crate) ended: bool,
}

impl Seat {
    /// Logs agent `i` in on a new connection, waits for its phone to be nailed, and makes
    /// it ready.
    pub(crate) fn login(api: std::net::SocketAddr, i: usize, phones: std::net::SocketAddr) -> Seat {
        let mut s = Seat {
            agent: format!("agent-{i}"),
            d: Desktop::connect(api),
            log: Vec::new(),
            popped: None,
            hung_up: None,
            wrapping: None,
            disposed: None,
            talk: TALK_MS[i].map(Duration::from_millis),
            next_id: 1,
            ended: false,
        };
        let r = s.request(json!({
            "type": "login", "agent": s.agent, "password": format!("password-{i}"),
            "zone": "default", "phone": format!("sip:agent-{i}@{phones}"),
        }));
        assert_eq!(r["type"], "logged-in", "login of {}: {r}", s.agent);
        s.wait(Duration::from_secs(10), "nailed state", |v| {
            v["type"] == "state" && v["nail"] == "nailed"
        });
        let r = s.request(json!({"type": "ready"}));
        assert_eq!(r["type"], "ok", "{} ready: {r}", s.agent);
        s
    }

    pub(crate) fn record(&mut self, v: Value) {
        match v["type"].as_str() {
            Some("call") => self.popped = v["attempt"].as_u64().map(|a| (a, wall_now())),
            Some("logged-out") => self.ended = true,
            Some("state") if v["call_state"] == "wrapup" => {
                let attempt = v["attempt"].as_u64();
                if attempt.is_some() && self.wrapping.map(|(a, _)| a) != attempt {
                    self.wrapping = attempt.map(|a| (a, wall_now()));
                }
            }
            // A refused command (the call moved on meanwhile) may be sent again.
            Some("error") if self.hung_up.is_some_and(|(_, id)| v["id"] == id) => {
                self.hung_up = None
            }
            Some("error") if self.disposed.is_some_and(|(_, id)| v["id"] == id) => {
                self.disposed = None
            }
            _ => {}
        }
        self.log.push((unix_ms_now(), v));
    }

    /// Takes what the node has sent so far (each empty read waits at most ~50 ms).
    pub(crate) fn drain(&mut self) {
        if self.ended {
            return;
        }
        while let Some(v) = self.d.next(Duration::from_millis(1)) {
            self.record(v);
        }
    }

    /// Waits (bounded) for a message `pred` accepts, recording everything on the way.
    pub(crate) fn wait(
        &mut self,
        limit: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = wall_now() + limit;
        let from = self.log.len();
        loop {
            if let Some(v) = self.d.next(Duration::from_millis(20)) {
                self.record(v.clone());
                if pred(&v) {
                    return v;
                }
            }
            assert!(
                wall_now() < deadline,
                "{}: no {what} within {limit:?}; got instead: {:?}",
                self.agent,
                self.log[from..].iter().map(|(_, v)| v).collect::<Vec<_>>()
            );
        }
    }

    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends a command with a fresh id and returns the node's direct reply to it.
    pub(crate) fn request(&mut self, mut msg: Value) -> Value {
        let id = self.take_id();
        msg["id"] = json!(id);
        self.d.send(msg.clone());
        self.wait(Duration::from_secs(5), &format!("reply to {msg}"), |v| {
            matches!(v["type"].as_str(), Some("ok" | "error" | "logged-in")) && v["id"] == id
        })
    }

    pub(crate) fn last_state(&self) -> Option<&Value> {
        self.log
            .iter()
            .rev()
            .find(|(_, v)| v["type"] == "state")
            .map(|(_, v)| v)
    }

    pub(crate) fn call_state(&self) -> &str {
        self.last_state()
            .and_then(|v| v["call_state"].as_str())
            .unwrap_or("none")
    }

    /// The index of the first message at or after `from` that `pred` accepts.
    pub(crate) fn find(&self, from: usize, pred: impl Fn(&Value) -> bool) -> Option<usize> {
        self.log
            .iter()
            .skip(from)
            .position(|(_, v)| pred(v))
            .map(|i| i + from)
    }

    /// How long the agent has been talking on its current call, if it is.
    pub(crate) fn talking_for(&self) -> Option<Duration> {
        let (attempt, at) = self.popped?;
        self.last_state()
            .is_some_and(|s| s["call_state"] == "talking" && s["attempt"] == attempt)
            .then(|| wall_now().duration_since(at))
    }

    /// What an agent at work does on its own: hang up a call `talk` after its screen pop,
    /// and dispose it WRAP after its wrap-up began.
    pub(crate) fn work(&mut self) {
        if self.ended {
            return;
        }
        if let (Some((attempt, _)), Some(age), Some(talk)) =
            (self.popped, self.talking_for(), self.talk)
        {
            let sent = self.hung_up.is_some_and(|(a, _)| a == attempt);
            if !sent && age >= talk {
                let id = self.take_id();
                self.hung_up = Some((attempt, id));
                self.d
                    .send(json!({"type": "hang-up", "id": id, "attempt": attempt}));
            }
        }
        let Some((attempt, since)) = self.wrapping else {
            return;
        };
        let wrapping = self
            .last_state()
            .is_some_and(|s| s["call_state"] == "wrapup" && s["attempt"] == attempt);
        let sent = self.disposed.is_some_and(|(a, _)| a == attempt);
        if wrapping && !sent && wall_now().duration_since(since) >= WRAP {
            let id = self.take_id();
            self.disposed = Some((attempt, id));
            self.d.send(
                json!({"type": "dispose", "id": id, "attempt": attempt, "code": "answered-human"}),
            );
        }
    }

    /// The last few messages, for failure messages.
    pub(crate) fn tail(&self) -> String {
        let from = self.log.len().saturating_sub(12);
        let lines: Vec<String> = self.log[from..]
            .iter()
            .map(|(t, v)| format!("    {t} {v}"))
            .collect();
        format!("  {}:\n{}", self.agent, lines.join("\n"))
    }
}

pub(crate) fn transcript(seats: &[Seat]) -> String {
    seats.iter().map(Seat::tail).collect::<Vec<_>>().join("\n")
}

/// Reads every desktop once; with `work`, the agents also act on their calls.
pub(crate) fn pump(seats: &mut [Seat], work: bool) {
    for s in seats.iter_mut() {
        s.drain();
        if work {
            s.work();
        }
    }
}

/// Pumps the desktops until `done` holds on them; panics past `limit`.
pub(crate) fn wait_seats(
    node: &Node,
    seats: &mut [Seat],
    work: bool,
    limit: Duration,
    what: &str,
    done: impl Fn(&[Seat]) -> bool,
) {
    let deadline = wall_now() + limit;
    loop {
        pump(seats, work);
        if done(seats) {
            return;
        }
        assert!(
            wall_now() < deadline,
            "{what}: not within {limit:?}; the desktops saw:\n{}\nnode stderr:\n{}",
            transcript(seats),
            node.stderr_tail()
        );
    }
}

pub(crate) fn talking(seats: &[Seat]) -> usize {
    seats.iter().filter(|s| s.call_state() == "talking").count()
}

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Seats for a fault now: (c, a, liar) where c's customer hangs up 0.4-1.2 s into the held
/// outage (column C), a's customer stays past the state check and a does not hang up
/// meanwhile (column A), and the liar is the third agent.
pub(crate) fn pick_roles(seats: &[Seat]) -> Option<(usize, usize, usize)> {
    let age = |i: usize| seats[i].talking_for().map(ms);
    let c = (0..SEATED)
        .find(|&i| age(i).is_some_and(|t| (HANGUP_MS - 1200..=HANGUP_MS - 400).contains(&t)))?;
    let a = (0..SEATED).find(|&i| {
        let own = seats[i].talk.map_or(u64::MAX, ms);
        i != c && age(i).is_some_and(|t| t + 2300 <= HANGUP_MS && t + 300 <= own)
    })?;
    let liar = (0..SEATED).find(|&i| i != c && i != a)?;
    Some((c, a, liar))
}

pub(crate) fn is_service(v: &Value, available: bool) -> bool {
    v["type"] == "service" && v["available"] == available
}

/// One desktop's view of the takeover: indexes into its log.
#[derive(Debug, Clone)]
pub(crate) struct Lived {
    pub(crate) down: usize,
    pub(crate) up: usize,
    pub(crate) check: usize,
}

impl Lived {
    /// `service` unavailable, then available, then `state-check`, if all came.
    pub(crate) fn of(s: &Seat) -> Option<Lived> {
        let down = s.find(0, |v| is_service(v, false))?;
        let up = s.find(down, |v| is_service(v, true))?;
        let check = s.find(up, |v| v["type"] == "state-check")?;
        Some(Lived { down, up, check })
    }

    /// The last `state` the desktop had before index `i`.
    pub(crate) fn state_before(s: &Seat, i: usize) -> Value {
        s.log[..i]
            .iter()
            .rev()
            .find(|(_, v)| v["type"] == "state")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{} had no state before message {i}", s.agent))
    }

    pub(crate) fn before(&self, s: &Seat) -> Value {
        Self::state_before(s, self.down)
    }

    /// What the desktop must report: the last `state` before the check.
    pub(crate) fn after(&self, s: &Seat) -> Value {
        Self::state_before(s, self.check)
    }

    pub(crate) fn failover_ended(&self, s: &Seat) -> Option<Value> {
        s.log[self.up..self.check]
            .iter()
            .find(|(_, v)| v["type"] == "call-ended" && v["by"] == "failover")
            .map(|(_, v)| v.clone())
    }

    /// Table 9's column from the desktop's side.
    pub(crate) fn column(&self, s: &Seat) -> usize {
        let nailed = self.after(s)["nail"] == "nailed";
        match (nailed, self.failover_ended(s).is_some()) {
            (false, _) => COL_B,
            (true, false) => COL_A,
            (true, true) => COL_C,
        }
    }
}

/// A Duration as serde writes it: `{"secs": .., "nanos": ..}`.
pub(crate) fn duration_of(v: &Value) -> Duration {
    let secs = v["secs"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a serialized Duration: {v}"));
    let nanos = v["nanos"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a serialized Duration: {v}"));
    Duration::from_secs(secs) + Duration::from_nanos(nanos)
}

pub(crate) fn agent_manager_role(status: &Value) -> Option<&str> {
    status["components"].as_array()?.iter().find_map(|c| {
        (c["component"] == "agent-manager" && c["zone"] == "default")
            .then(|| c["role"].as_str())
            .flatten()
    })
}

/// Makes the zone's pacing actor panic: the takeover starts.
pub(crate) fn panic_zone(node: &Node) {
    let (status, body) = node.post(
        "/v1/admin/faults",
        Some("application/json"),
        json!({"kind": "panic-zone", "zone": "default"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "inject panic-zone: {body}");
}

/// When an attempt first reached `state` (unix ms), from its history.
pub(crate) fn at(a: &AttemptView, state: &str) -> Option<u64> {
    a.history.iter().find(|(_, s)| s == state).map(|(t, _)| *t)
}
