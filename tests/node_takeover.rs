//! A zone (agent-manager) takeover on a live node follows docs/design.md §5's rules in order, seen
//! from the agents' desktops and from the node's API and records.
//!
//! Real processes: `outdial run` with fault injection on and every takeover held open for
//! 1.5 s (`[chaos] takeover_delay_ms`), customers who talk and hang up exactly 4 s after
//! answering (`outdial peer` on the profile below) and agents' phones (`outdial peer`,
//! configs/peer-agent-phones.toml). Four agents are configured; three work a progressive
//! campaign from test desktops, the fourth tries to log in during the outage. A panic
//! injected into the zone's pacing actor starts the takeover at a moment chosen so that one
//! talking agent's customer hangs up during the outage (Table 9 column C) and another's stays
//! on the line (column A).
//!
//! Asserted, rule by rule:
//! 1. every desktop hears `service` unavailable; its commands, a new login, a move, a logout
//!    and a job pause are refused (not lost) while `GET /v1/node` shows the agent manager
//!    DORMANT and the zone out of service; nothing is dialed and no call is offered;
//! 2. live answers waiting for an agent when the fault hit (or answered during the outage)
//!    end nuisance, never connected, and the node counts exactly those;
//! 3. no call is connected during the outage; the refused changes succeed afterwards;
//! 4. every desktop hears `service` available, then (for a call lost meanwhile) `call-ended`
//!    by failover, its state as Table 9 gives it, then `state-check`;
//! 5. honest state reports keep their agents; a wrong one logs its agent out with
//!    desktop-error and codes its call desktop-error;
//! 6. dialing resumes, the takeover's steps are recorded in the rules' order, and the outage
//!    is the agents' HA time.
//!
//! Then the job is stopped: no contact is left in flight and no attempt in a transient state.
//!
//! A second test holds rule 5 to its word when a desktop answers the state check late: the
//! agent's wrap-up waits for the check, and a wrong report codes the call desktop-error.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::desktop::*;
use support::node::*;
use support::*;

#[path = "node_takeover/seats.rs"]
mod seats;
#[path = "node_takeover/state_check.rs"]
mod state_check;
use seats::*;

#[test]
fn zone_takeover_follows_the_rules_in_order() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("customers.toml");
    std::fs::write(&profile, customers_profile()).expect("write the customers' profile");
    // An absolute profile path replaces configs/ in outdial_peer's join.
    let (_customers, customers_addr) =
        outdial_peer(Some(profile.to_str().expect("a UTF-8 temp path")), None);
    let (_phones, phones_addr) = outdial_peer(Some("peer-agent-phones.toml"), None);
    let extra = format!(
        "{}\n[chaos]\nenabled = true\ntakeover_delay_ms = {TAKEOVER_DELAY_MS}\n",
        agents_toml(AGENTS, "")
    );
    let node = Node::start_with(
        dir.path(),
        "node-takeover",
        &[MppConf::new("customers", customers_addr, 1000)],
        &extra,
    );
    let mut seats: Vec<Seat> = (0..SEATED)
        .map(|i| Seat::login(node.api, i, phones_addr))
        .collect();
    node.wait_agents(SEATED, Duration::from_secs(10), |a| {
        a["nail"] == "nailed" && a["ready"] == true
    });

    // Two lines per ready agent: some live answers wait for an agent, so the fault can
    // catch calls in the connect window.
    let (_, job) = node.create_campaign(&json!({
        "name": "takeover",
        "mode": "progressive",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "lines_per_agent": 2.0,
        "ring_timeout_ms": 15000,
        "connect_window_ms": CONNECT_WINDOW_MS,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
    }));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);

    // --- before the fault -----------------------------------------------------------------
    wait_seats(
        &node,
        &mut seats,
        true,
        Duration::from_secs(20),
        "an agent talking",
        |s| talking(s) >= 1,
    );
    // The moment to fail in: one customer about to leave, another call just started. Should
    // the agents' timing never line up so, any moment with an agent talking will do (and
    // Table 9 is checked for whatever the agents were doing).
    let prefer_until = wall_now() + Duration::from_secs(12);
    let hard_deadline = prefer_until + Duration::from_secs(10);
    let planned = loop {
        pump(&mut seats, true);
        if let Some(roles) = pick_roles(&seats) {
            break Some(roles);
        }
        if wall_now() >= prefer_until && talking(&seats) >= 1 {
            break None;
        }
        assert!(
            wall_now() < hard_deadline,
            "no agent talking when the fault was due; the desktops saw:\n{}",
            transcript(&seats)
        );
    };

    // --- the fault ------------------------------------------------------------------------
    let t_fault = unix_ms_now();
    panic_zone(&node);
    // The service cannot be back before the node's held delay has passed since the fault.
    let restore_floor = t_fault + TAKEOVER_DELAY_MS;
    let since_fault = || unix_ms_now().saturating_sub(t_fault);

    // Rule 1: every desktop is told, before anything else of the takeover.
    wait_seats(
        &node,
        &mut seats,
        false,
        Duration::from_secs(3),
        "service unavailable on every desktop",
        |s| {
            s.iter()
                .all(|x| x.find(0, |v| is_service(v, false)).is_some())
        },
    );
    let downs: Vec<usize> = seats
        .iter()
        .map(|s| {
            s.find(0, |v| is_service(v, false))
                .expect("service unavailable seen")
        })
        .collect();
    let t_down = seats
        .iter()
        .zip(&downs)
        .map(|(s, &i)| s.log[i].0)
        .min()
        .expect("three desktops");
    let befores: Vec<Value> = seats
        .iter()
        .zip(&downs)
        .map(|(s, &i)| Lived::state_before(s, i))
        .collect();
    // Without a planned moment, the dishonest desktop is one with a call, talking if it can
    // be (its call must then be coded desktop-error).
    let has_call = |i: usize| befores[i]["attempt"].is_u64();
    let liar = planned.map(|(_, _, liar)| liar).unwrap_or_else(|| {
        (0..SEATED)
            .rev()
            .find(|&i| befores[i]["call_state"] == "talking")
            .or_else(|| (0..SEATED).rev().find(|&i| has_call(i)))
            .unwrap_or(SEATED - 1)
    });
    let honest: Vec<usize> = (0..SEATED).filter(|&i| i != liar).collect();
    let mover = seats[honest[0]].agent.clone();
    let kept = seats[honest[1]].agent.clone();

    // While out of service (the node holds it open TAKEOVER_DELAY_MS): the desktop cannot act.
    for s in seats.iter_mut() {
        let r = s.request(json!({"type": "ready"}));
        assert_eq!(
            (r["type"].as_str(), r["code"].as_str()),
            (Some("error"), Some("unavailable")),
            "{}: `ready` during the outage ({} ms after the fault): {r}",
            s.agent,
            since_fault()
        );
    }
    // Rule 3: supervisor changes are refused out loud, not silently lost.
    let move_body = json!({"job": job}).to_string();
    let (status, body) = node.post(
        &format!("/v1/agents/{mover}/move"),
        Some("application/json"),
        move_body.as_bytes(),
    );
    assert!(
        status == 503 && body.contains("taken over"),
        "move of {mover} during the outage ({} ms after the fault): {status} {body}",
        since_fault()
    );
    let (status, body) = node.post(&format!("/v1/jobs/{job}/pause"), None, b"");
    assert!(
        status == 503 && body.contains("taken over"),
        "pause of job {job} during the outage ({} ms after the fault): {status} {body}",
        since_fault()
    );
    let (status, body) = node.post(&format!("/v1/agents/{kept}/logout"), None, b"");
    assert!(
        status == 503 && body.contains("taken over"),
        "logout of {kept} during the outage ({} ms after the fault): {status} {body}",
        since_fault()
    );
    let during = node.get_json("/v1/node");
    assert_eq!(
        agent_manager_role(&during),
        Some("DORMANT"),
        "the agent manager during the outage ({} ms after the fault): {during}",
        since_fault()
    );
    assert_eq!(
        during["zones"][0]["in_service"], false,
        "the zone during the outage: {during}"
    );
    let mut fourth = Desktop::connect(node.api);
    let fourth_phone = format!("sip:agent-{SEATED}@{phones_addr}");
    let r = fourth.request(
        json!({"type": "login", "agent": format!("agent-{SEATED}"), "password": format!("password-{SEATED}"),
               "zone": "default", "phone": fourth_phone}),
        1,
    );
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("error"), Some("unavailable")),
        "a login during the outage ({} ms after the fault): {r}",
        since_fault()
    );
    assert!(
        unix_ms_now() < restore_floor,
        "the outage checks took {} ms, longer than the held outage: they prove nothing",
        since_fault()
    );

    // --- back in service ------------------------------------------------------------------
    // Rules 4-5: service available, Table 9's state, then the state check.
    wait_seats(
        &node,
        &mut seats,
        false,
        Duration::from_secs(8),
        "service back and a state check on every desktop",
        |s| s.iter().all(|x| Lived::of(x).is_some()),
    );
    let lived: Vec<Lived> = seats
        .iter()
        .map(|s| Lived::of(s).expect("checked above"))
        .collect();
    let t_up = seats
        .iter()
        .zip(&lived)
        .map(|(s, l)| s.log[l.up].0)
        .min()
        .expect("three desktops");
    let mut seen_columns = [0u64; 3];
    let mut rows = Vec::new();
    // Desktops that got no `state` between `service` available and `state-check` (checked
    // last, so that the rest of the takeover is checked whatever this says).
    let mut no_fresh_state = Vec::new();
    for (i, (s, l)) in seats.iter_mut().zip(&lived).enumerate() {
        let before = l.before(s);
        let after = l.after(s);
        let column = l.column(s);
        seen_columns[column] += 1;
        // Nothing is offered to an agent while its zone is out of service.
        let offered: Vec<&Value> = s.log[l.down..l.up]
            .iter()
            .map(|(_, v)| v)
            .filter(|v| v["type"] == "call" || v["type"] == "preview")
            .collect();
        assert!(
            offered.is_empty(),
            "{} was offered calls during the outage: {offered:?}",
            s.agent
        );
        if let Some(ended) = l.failover_ended(s) {
            assert_eq!(
                ended["attempt"],
                before["attempt"],
                "{}: a failover call-ended for a call it did not have: {}",
                s.agent,
                s.tail()
            );
        }
        assert_eq!(
            before["job"]["state"], "attached",
            "{}: Table 9 applies to attached agents: {before}",
            s.agent
        );
        let b = before["call_state"].as_str().expect("call_state");
        let a = after["call_state"].as_str().expect("call_state");
        // The planned seats: a customer who left during the outage is a lost call (C), one
        // still on the line a surviving call (A).
        if let Some((c_seat, a_seat, _)) = planned {
            let want = [(c_seat, COL_C), (a_seat, COL_A)]
                .iter()
                .find(|(seat, _)| *seat == i)
                .map(|(_, col)| *col);
            if let Some(want) = want {
                assert_eq!(
                    COLUMNS[column],
                    COLUMNS[want],
                    "{} was talking when the zone failed and its customer {} during the outage; the desktop saw:\n{}\nnode stderr:\n{}",
                    s.agent,
                    if want == COL_C { "hung up" } else { "stayed" },
                    s.tail(),
                    node.stderr_tail()
                );
            }
        }
        rows.push(format!("{}: {b} --{}--> {a}", s.agent, COLUMNS[column]));
        if !s.log[l.up..l.check]
            .iter()
            .any(|(_, v)| v["type"] == "state")
        {
            let seen: Vec<String> = s.log[l.down.saturating_sub(1)..=l.check]
                .iter()
                .map(|(t, v)| format!("    {t} {v}"))
                .collect();
            no_fresh_state.push(format!(
                "  {} ({b} under column {}):\n{}",
                s.agent,
                COLUMNS[column],
                seen.join("\n")
            ));
        }
        assert_eq!(
            a,
            table_9(b, column),
            "{}: Table 9 says {b} under column {} becomes {}, the desktop was told {a}:\n{}",
            s.agent,
            COLUMNS[column],
            table_9(b, column),
            s.tail()
        );
        assert_eq!(
            after["job"]["state"], "attached",
            "{}: the takeover detached the agent: {after}",
            s.agent
        );
        let report = if i == liar {
            // A desktop that lost track: it reports something else than it was told.
            if a == "idle" {
                json!({"type": "state-report", "call_state": "talking", "attempt": 1u64 << 40})
            } else {
                json!({"type": "state-report", "call_state": "idle"})
            }
        } else {
            json!({"type": "state-report", "call_state": a, "attempt": after["attempt"]})
        };
        let r = s.request(report.clone());
        assert_eq!(r["type"], "ok", "{}: {report} -> {r}", s.agent);
    }
    let t_checked = unix_ms_now();
    // Rule 5: the mismatch logs its agent out with desktop-error.
    let liar_after = lived[liar].after(&seats[liar]);
    let out = seats[liar].wait(Duration::from_secs(5), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    assert_eq!(
        out["reason"], "desktop-error",
        "{} after a wrong state report: {out}",
        seats[liar].agent
    );

    // --- after the takeover ---------------------------------------------------------------
    // Rule 6: the takeover is over once dialing resumed; its steps in the rules' order.
    let deadline = wall_now() + Duration::from_secs(5);
    let status = loop {
        pump(&mut seats, true);
        let v = node.get_json("/v1/node");
        if v["zones"][0]["takeovers"] == 1 && agent_manager_role(&v) == Some("MASTER") {
            break v;
        }
        assert!(
            wall_now() < deadline,
            "the takeover did not complete: {v}\nnode stderr:\n{}",
            node.stderr_tail()
        );
    };
    let zone = &status["zones"][0];
    assert_eq!(zone["in_service"], true, "{status}");
    let last = &zone["last"];
    let steps: Vec<&str> = last["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in the takeover record: {status}"))
        .iter()
        .map(|s| s[0].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        steps, STEPS,
        "the takeover's steps are not the rules' order: {last}"
    );
    let times: Vec<f64> = last["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s[1].as_f64()).collect())
        .unwrap_or_default();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the takeover's steps go back in time: {last}"
    );
    assert!(
        times
            .get(3)
            .is_some_and(|&rebuilt| rebuilt >= (TAKEOVER_DELAY_MS - 100) as f64),
        "rebuilt before the held delay: {last}"
    );
    assert_eq!(last["cause"]["kind"], "panic", "{last}");
    assert_eq!(
        last["columns"],
        json!(seen_columns),
        "the node's count of agents per Table 9 column (A, B, C) differs from the desktops': {last}"
    );

    // The liar's call, if it had one, is coded desktop-error; the node counts the error.
    let liar_call = liar_after["attempt"].as_u64();
    let deadline = wall_now() + Duration::from_secs(10);
    loop {
        pump(&mut seats, true);
        let errors = node.get_json("/v1/node")["zones"][0]["desktop_errors"].clone();
        let coded = liar_call.is_none_or(|a| {
            node.attempts(job)
                .iter()
                .any(|x| x.id == a && x.code.is_some())
        });
        if errors == 1 && coded {
            break;
        }
        assert!(
            wall_now() < deadline,
            "after the wrong state report: desktop_errors {errors}, call {liar_call:?} coded: {coded}\nnode stderr:\n{}",
            node.stderr_tail()
        );
    }
    if let Some(a) = liar_call {
        let attempt = node
            .attempts(job)
            .into_iter()
            .find(|x| x.id == a)
            .expect("the liar's attempt is listed");
        assert_eq!(
            attempt.code.as_deref(),
            Some("desktop-error"),
            "{}'s call after its wrong state report (its state then: {liar_after}): {:?}\nthe desktop saw:\n{}\nnode stderr:\n{}",
            seats[liar].agent,
            attempt.raw,
            seats[liar].tail(),
            node.stderr_tail()
        );
    }

    // Dialing resumed: attempts launched after the state checks.
    let deadline = wall_now() + Duration::from_secs(15);
    let resumed = loop {
        pump(&mut seats, true);
        let n = node
            .attempts(job)
            .iter()
            .filter(|a| at(a, "dialing").is_some_and(|t| t > t_checked))
            .count();
        if n > 0 {
            break n;
        }
        assert!(
            wall_now() < deadline,
            "no attempt dialed after the takeover; the desktops saw:\n{}\nnode stderr:\n{}",
            transcript(&seats),
            node.stderr_tail()
        );
    };

    // The outage is HA time for the agents who lived through it.
    let agents = node.get_json("/v1/agents");
    for &i in &honest {
        let name = &seats[i].agent;
        let a = agents
            .as_array()
            .and_then(|l| l.iter().find(|a| a["agent"] == name.as_str()))
            .unwrap_or_else(|| {
                panic!("{name} is not logged in after an honest state report (and a refused supervisor logout): {agents}")
            });
        let ha = duration_of(&a["times"]["ha"]);
        assert!(
            ha >= Duration::from_millis(TAKEOVER_DELAY_MS - 100) && ha < Duration::from_secs(10),
            "{name}'s HA time is {ha:?} for a {TAKEOVER_DELAY_MS} ms outage: {a}"
        );
    }
    assert!(
        !agents
            .as_array()
            .is_some_and(|l| l.iter().any(|a| a["agent"] == seats[liar].agent.as_str())),
        "{} is still logged in after desktop-error: {agents}",
        seats[liar].agent
    );

    // The changes refused during the outage go through now.
    let (status, body) = node.post(
        &format!("/v1/agents/{mover}/move"),
        Some("application/json"),
        move_body.as_bytes(),
    );
    assert_eq!(status, 200, "move of {mover} after the takeover: {body}");
    let paused = node.job_action(job, "pause");
    assert_eq!(paused["state"], "paused", "{paused}");
    fourth.login(
        &format!("agent-{SEATED}"),
        &format!("password-{SEATED}"),
        &format!("sip:agent-{SEATED}@{phones_addr}"),
    );
    let r = fourth.request(json!({"type": "logout"}), 2);
    assert_eq!(r["type"], "ok", "logout of the fourth agent: {r}");
    fourth.expect(Duration::from_secs(5), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    fourth.close();

    // --- the end --------------------------------------------------------------------------
    // The agents end their calls now, so the stopped job's calls complete.
    for &i in &honest {
        seats[i].talk = Some(Duration::ZERO);
    }
    node.job_action(job, "stop");
    node.wait_job_over(job, Duration::from_secs(10));
    let deadline = wall_now() + Duration::from_secs(20);
    let (over, attempts) = loop {
        pump(&mut seats, true);
        let over = node.job(job);
        let attempts = node.attempts(job);
        if over["contacts"]["in_flight"] == 0 && attempts.iter().all(|a| a.state == "completed") {
            break (over, attempts);
        }
        assert!(
            wall_now() < deadline,
            "calls still in flight after the job stopped: {over}\n{:?}\nnode stderr:\n{}",
            attempts
                .iter()
                .filter(|a| a.state != "completed")
                .map(|a| &a.raw)
                .collect::<Vec<_>>(),
            node.stderr_tail()
        );
    };
    for &i in &honest {
        let s = &mut seats[i];
        let deadline = wall_now() + Duration::from_secs(10);
        while s.call_state() != "idle" {
            s.drain();
            s.work();
            assert!(
                wall_now() < deadline,
                "{} not idle after the job stopped:\n{}",
                s.agent,
                s.tail()
            );
        }
        let r = s.request(json!({"type": "logout"}));
        assert_eq!(r["type"], "ok", "{} logout: {r}", s.agent);
        let out = s.wait(Duration::from_secs(5), "logged-out", |v| {
            v["type"] == "logged-out"
        });
        assert_eq!(
            out["reason"], "requested",
            "{} was logged out by the node: {out}",
            s.agent
        );
    }

    // No contact lost or left in flight, nothing transient, nothing dialed twice at once.
    let counts = &over["contacts"];
    assert_eq!(counts["total"], CONTACTS as u64, "{over}");
    assert_eq!(
        counts["ready"].as_u64().unwrap_or(0) + counts["final_"].as_u64().unwrap_or(0),
        CONTACTS as u64,
        "every contact final or schedulable: {over}"
    );
    check_histories(&attempts);
    check_no_concurrent_dials(&attempts);

    // Rule 1: nothing was dialed, and rule 3: no call connected, while out of service. (A
    // hand-over the agent took just before the outage reached it is stamped connected a
    // moment later, hence the slack.)
    let no_dialing = t_down..restore_floor.saturating_sub(SLACK_MS);
    let no_connect = t_down + SLACK_MS..restore_floor.saturating_sub(SLACK_MS);
    for a in &attempts {
        for (t, state) in &a.history {
            let window = match state.as_str() {
                "dialing" => &no_dialing,
                "connected" => &no_connect,
                _ => continue,
            };
            assert!(
                !window.contains(t),
                "attempt {} went {state} at {t}, during the outage {window:?}: {:?}",
                a.id,
                a.raw
            );
        }
    }
    // Calls with agents continue: an honest agent's call that survived (column A) was not
    // ended by the takeover.
    for &i in &honest {
        let (s, l) = (&seats[i], &lived[i]);
        let before = l.before(s);
        if l.column(s) != COL_A || before["call_state"] != "talking" {
            continue;
        }
        let id = before["attempt"]
            .as_u64()
            .expect("a talking state names its call");
        let a = attempts
            .iter()
            .find(|a| a.id == id)
            .expect("the call is listed");
        let done = at(a, "completed").unwrap_or(u64::MAX);
        assert!(
            done >= s.log[l.up].0,
            "{}'s call survived the takeover (no failover call-ended) yet completed during it: {:?}",
            s.agent,
            a.raw
        );
    }

    // Rule 2: every live answer an agent never took is nuisance; those waiting when the
    // fault hit (window still open) or answered while out of service were released by the
    // takeover, and the node counts exactly those.
    let mut released = Vec::new();
    let mut maybe_released = Vec::new();
    for a in &attempts {
        let Some(answered) = at(a, "answered") else {
            continue;
        };
        let connected = at(a, "connected");
        if connected.is_none() {
            assert_eq!(
                a.code.as_deref(),
                Some("nuisance"),
                "a live answer never connected to an agent: {:?}",
                a.raw
            );
        }
        // Connected before the zone went down: not waiting at the fault.
        if connected.is_some_and(|c| c <= t_down) {
            continue;
        }
        let window_end = answered + CONNECT_WINDOW_MS;
        let for_sure = window_end > t_down + SLACK_MS && answered + SLACK_MS < restore_floor;
        let maybe = window_end + SLACK_MS >= t_fault && answered <= t_up + SLACK_MS;
        if for_sure {
            assert!(
                connected.is_none() && a.code.as_deref() == Some("nuisance"),
                "attempt {} was waiting for an agent when the zone failed (answered {} ms before the fault) but is not a released nuisance: {:?}",
                a.id,
                t_fault as i64 - answered as i64,
                a.raw
            );
            released.push(a.id);
        } else if maybe && connected.is_none() {
            maybe_released.push(a.id);
        }
    }
    let counted = zone["nuisance_released"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        last["nuisance_released"].as_u64(),
        Some(counted),
        "the takeover record and the zone disagree: {zone}"
    );
    assert!(
        (released.len() as u64..=(released.len() + maybe_released.len()) as u64)
            .contains(&counted),
        "the node counts {counted} calls released by the takeover; the attempts show {released:?} (and maybe {maybe_released:?})"
    );
    assert_eq!(zone["desktop_errors"], 1, "{zone}");

    eprintln!(
        "takeover ({}): Table 9 {rows:?}; liar {} (call {liar_call:?}); {counted} released {released:?}; steps {}; {resumed} attempts after it; {} attempts {:?}; in {:?}",
        if planned.is_some() { "planned" } else { "unplanned" },
        seats[liar].agent,
        last["steps"],
        attempts.len(),
        code_counts(&attempts),
        wall_now().duration_since(started)
    );
    // Rule 4 on the wire (docs/desktop-protocol.md §9 step 4): the agent's state after the
    // takeover comes as a `state` event before the check, also when it did not change.
    assert!(
        no_fresh_state.is_empty(),
        "no `state` event between `service` available and `state-check` (from just before the outage to the check):\n{}",
        no_fresh_state.join("\n")
    );
}
