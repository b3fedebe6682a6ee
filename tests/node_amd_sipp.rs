//! Answering-machine detection end to end: SIPp answers the node's calls and talks back with
//! recordings made here (espeak-ng and sox), streamed as RTP (`rtp_stream`).
//!
//! - A machine: a long greeting, then its beep. The node codes the attempt answered-machine,
//!   never hands it to the waiting agent, and leaves the campaign's message after the beep:
//!   the call lasts past the beep's end by the message's length, and the node's RTP counters
//!   show the message's packets sent (the node sends nothing else on the call).
//! - A person: "Hello?", then silence. The detector calls it a person and the agent gets the
//!   call inside the connect window, counted from the first word.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::audio::{join, need_tools, seconds, silence, speech, tone};
use support::desktop::*;
use support::node::*;
use support::*;

/// When the greeting starts after the answer, in seconds.
const LEAD_S: f64 = 0.1;
const BEEP_S: f64 = 0.6;

#[test]
fn a_machine_is_coded_and_left_its_message_after_the_beep() {
    need_tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let greeting = speech(
        dir.path(),
        "greeting",
        "Hi, you have reached the voicemail of Jordan Miller. I cannot take your call right \
         now. Please leave your name and number after the tone.",
    );
    let parts = [
        silence(dir.path(), "lead", LEAD_S),
        greeting.clone(),
        tone(dir.path(), "beep", 1000, BEEP_S),
        silence(dir.path(), "tail", 8.0),
    ];
    join(&parts, &dir.path().join("answer.ul"));
    let beep_end_ms = ((LEAD_S + seconds(&greeting) + BEEP_S) * 1000.0) as u64;
    let message = speech(
        dir.path(),
        "message",
        "This is a reminder of your appointment tomorrow at nine.",
    );
    let message_ms = (seconds(&message) * 1000.0) as u64;

    let call = AnsweringCall::start(dir.path(), "node-amd-machine");
    let (_, job) = call.node.create_campaign(&campaign(json!({
        "on_machine": "leave-message",
        "machine_message": message.display().to_string(),
    })));
    call.node.upload_csv(job, &contacts_csv(1));
    call.node.start_job(job);
    let over = call.node.wait_job_over(job, Duration::from_secs(40));
    assert_eq!(over["job"]["state"], "finished", "{over}");

    let attempts = call.node.attempts(job);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let a = &attempts[0];
    assert_eq!(a.code.as_deref(), Some("answered-machine"), "{:?}", a.raw);
    assert!(
        at(a, "connected").is_none(),
        "a machine never reaches the agent: {:?}",
        a.raw
    );
    let amd = &a.raw["amd"];
    assert_eq!(amd["verdict"], "machine", "{}", a.raw);
    let decided = amd["decided_ms"].as_u64().expect("decided_ms");
    assert!(
        decided <= 2_500,
        "machine verdict at {decided} ms: {}",
        a.raw
    );
    let found = amd["beep_end_ms"]
        .as_u64()
        .expect("the beep's end is stored");
    assert!(
        found.abs_diff(beep_end_ms) <= 300,
        "beep ended at {beep_end_ms} ms, found at {found} ms: {}",
        a.raw
    );
    assert_eq!(
        over["stats"]["nuisance_counts"]["machine_day"], 1,
        "the machine verdict is metered: {over}"
    );

    // The message: its packets went out, and the call lasted past the beep by its length.
    let answered = at(a, "answered").expect("answered");
    let sent = call.node.metric("outdial_rtp_packets_sent_total");
    assert!(
        sent * 20 >= message_ms * 9 / 10,
        "{sent} packets of 20 ms sent for a {message_ms} ms message"
    );
    assert_eq!(
        call.node.metric("outdial_rtp_unexpected_source_total"),
        0,
        "SIPp's audio came from where its SDP said"
    );
    assert!(
        call.node.metric("outdial_rtp_packets_received_total") > 200,
        "the node heard the machine"
    );
    eprintln!(
        "machine: verdict at {decided} ms, beep end {found} ms (true {beep_end_ms} ms), \
         {sent} packets of message"
    );
    let done = at(a, "completed").expect("completed");
    assert!(
        done >= answered + beep_end_ms + message_ms,
        "released {} ms after the answer, before the message could end",
        done - answered
    );
}

#[test]
fn a_person_reaches_the_agent_inside_the_connect_window() {
    need_tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let hello = speech(dir.path(), "hello", "Hello?");
    let lead = 0.4;
    let parts = [
        silence(dir.path(), "lead", lead),
        hello.clone(),
        silence(dir.path(), "tail", 8.0),
    ];
    join(&parts, &dir.path().join("answer.ul"));

    let mut call = AnsweringCall::start(dir.path(), "node-amd-person");
    let (_, job) = call
        .node
        .create_campaign(&campaign(json!({ "on_machine": "hang-up" })));
    call.node.upload_csv(job, &contacts_csv(1));
    call.node.start_job(job);

    let pop = call
        .desktop
        .expect(Duration::from_secs(15), "screen pop", |v| {
            v["type"] == "call"
        });
    let attempt = pop["attempt"].as_u64().expect("attempt");
    assert_eq!(
        call.desktop
            .request(json!({"type": "hang-up", "attempt": attempt}), 3)["type"],
        "ok"
    );
    assert_eq!(
        call.desktop.request(
            json!({"type": "dispose", "attempt": attempt, "code": "answered-human"}),
            4
        )["type"],
        "ok"
    );
    let over = call.node.wait_job_over(job, Duration::from_secs(20));
    assert_eq!(over["job"]["state"], "finished", "{over}");

    let attempts = call.node.attempts(job);
    let a = &attempts[0];
    assert_eq!(a.code.as_deref(), Some("answered-human"), "{:?}", a.raw);
    let amd = &a.raw["amd"];
    assert_eq!(amd["verdict"], "human", "{}", a.raw);
    let decided = amd["decided_ms"].as_u64().expect("decided_ms");
    let spoke_until = ((lead + seconds(&hello)) * 1000.0) as u64;
    assert!(
        decided <= spoke_until + 900,
        "a person's verdict {decided} ms after the answer, the hello ended at {spoke_until} ms"
    );
    let answered = at(a, "answered").expect("answered");
    let connected = at(a, "connected").expect("the person reached the agent");
    let window_from = answered + (lead * 1000.0) as u64;
    assert!(
        connected <= window_from + 2_000,
        "connected {} ms after the answer: outside the connect window",
        connected - answered
    );
    eprintln!(
        "person: verdict at {decided} ms (hello ended at {spoke_until} ms), with the agent \
         {} ms after the answer",
        connected - answered
    );
    assert_eq!(
        over["stats"]["nuisance_counts"]["nuisance_day"], 0,
        "{over}"
    );
}

/// A node with one ready agent, dialing a SIPp customer that answers with `answer.ul` from
/// `dir`.
struct AnsweringCall {
    node: Node,
    desktop: Desktop,
    _customer: Proc,
    _phone: Proc,
}

impl AnsweringCall {
    fn start(dir: &Path, name: &str) -> AnsweringCall {
        let port = free_udp_port();
        let customer = sipp_uas_in(dir, Some("uas_answer_audio.xml"), port, &[]);
        // The agent's phone: SIPp's built-in UAS answers the nailed call.
        let phone_port = free_udp_port();
        let phone = sipp_uas(None, phone_port, &[]);
        // One OPTIONS probe at start-up, then none: the customer's scenario expects calls.
        let node = Node::start_with(
            dir,
            name,
            &[MppConf::new(
                "customer",
                format!("127.0.0.1:{port}").parse().expect("addr"),
                600_000,
            )],
            &agents_toml(1, "wrapup_timeout_ms = 10000"),
        );
        let mut desktop = Desktop::connect(node.api);
        desktop.login(
            "agent-0",
            "password-0",
            &format!("sip:a@127.0.0.1:{phone_port}"),
        );
        assert_eq!(desktop.request(json!({"type": "ready"}), 2)["type"], "ok");
        node.wait_agents(1, Duration::from_secs(5), |a| a["ready"] == true);
        AnsweringCall {
            node,
            desktop,
            _customer: customer,
            _phone: phone,
        }
    }
}

fn at(a: &AttemptView, state: &str) -> Option<u64> {
    a.history.iter().find(|(_, s)| s == state).map(|(t, _)| *t)
}

/// A progressive campaign for one agent with answering-machine detection set by `amd`.
fn campaign(amd: Value) -> Value {
    json!({
        "name": "amd",
        "mode": "progressive",
        "load_test": true,
        "test_ranges": ["+1212555"],
        "lines_per_agent": 1.0,
        "ring_timeout_ms": 15000,
        "connect_window_ms": 2000,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
        "amd": amd,
    })
}
