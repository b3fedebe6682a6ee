//! Preview dialing on the agent desktop in Chromium (headless, through WebDriver): the agent
//! sees a contact before anything is dialed, skips it with the keyboard (S), accepts the next
//! (A): the node dials the SIPp customer and the screen pop follows; hold and back (O), hang
//! up (H) and dispose (4, no-answer). The skipped contact was never dialed.

mod support;

use std::time::Duration;

use serde_json::json;
use support::desktop::*;
use support::node::*;
use support::webdriver::*;
use support::*;

const PREVIEWED: &str = "const p = document.getElementById('preview'); \
    return !p.hidden && document.getElementById('state').dataset.state === 'preview' \
      ? document.querySelector('#preview-card td[data-field=\"Contact\"]').textContent : ''";

#[test]
fn the_agent_skips_one_preview_and_accepts_the_next_from_the_keyboard() {
    let shots = artifacts("web_agent_preview");
    let dir = tempfile::tempdir().expect("temp dir");
    let customer_port = free_udp_port();
    let _customer = sipp_uas(None, customer_port, &[]);
    let phone_port = free_udp_port();
    let _phone = sipp_uas(None, phone_port, &[]);
    let customers = format!("127.0.0.1:{customer_port}").parse().expect("addr");
    let node = Node::start_with(
        dir.path(),
        "node-web-preview",
        &[MppConf::new("sipp", customers, 600_000)],
        &agents_toml(1, "wrapup_timeout_ms = 60000"),
    );
    let b = Browser::start();
    b.log_in_agent(
        &format!("http://{}", node.api),
        "agent-0",
        "password-0",
        &format!("sip:a@127.0.0.1:{phone_port}"),
    );
    b.run("document.activeElement.blur()", json!([]));
    b.keys("r");
    b.wait_for(
        "available",
        Duration::from_secs(5),
        "return document.getElementById('state').dataset.state === 'available'",
        json!([]),
    );
    let (_, job) = node.create_campaign(&json!({
        "name": "preview",
        "mode": "preview",
        "load_test": true,
        "test_ranges": ["+1212555"],
        "ring_timeout_ms": 15000,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
    }));
    node.upload_csv(job, &contacts_csv(2));
    node.start_job(job);

    let first = b.wait_for("a preview", Duration::from_secs(10), PREVIEWED, json!([]));
    b.screenshot(&shots.join("agent-preview.png"));
    b.keys("s");
    let second = b.wait_for(
        "the next preview",
        Duration::from_secs(10),
        &format!("const c = (function () {{ {PREVIEWED} }})(); return c !== {first} ? c : ''"),
        json!([]),
    );
    assert_ne!(first, second);
    b.keys("a");
    b.wait_for(
        "the screen pop of the accepted contact",
        Duration::from_secs(15),
        "return document.getElementById('state').dataset.state === 'talking' \
           && document.querySelector('#call-card td[data-field=\"Contact\"]').textContent",
        json!([]),
    );
    // Hold and back (O), then hang up (H).
    for state in ["held", "talking"] {
        b.keys("o");
        b.wait_for(
            state,
            Duration::from_secs(5),
            &format!("return document.getElementById('state').dataset.state === '{state}'"),
            json!([]),
        );
    }
    b.keys("h");
    b.wait_for(
        "wrap-up",
        Duration::from_secs(5),
        "return !document.getElementById('wrapup').hidden",
        json!([]),
    );
    b.keys("4");
    b.wait_for(
        "disposed",
        Duration::from_secs(5),
        "return document.getElementById('state').dataset.state !== 'wrapup'",
        json!([]),
    );
    let skipped: u64 = first
        .as_str()
        .and_then(|c| c.parse().ok())
        .expect("contact id");
    let deadline = wall_now() + Duration::from_secs(10);
    let attempts = loop {
        let a = node.attempts(job);
        if a.iter().any(|x| x.code.is_some()) {
            break a;
        }
        assert!(wall_now() < deadline, "the disposition was not recorded");
        pause(Duration::from_millis(50));
    };
    assert!(
        attempts.iter().all(|a| a.contact != skipped),
        "the skipped contact was dialed"
    );
    let done = attempts
        .iter()
        .find(|a| a.code.is_some())
        .expect("an attempt");
    assert_eq!(done.code.as_deref(), Some("no-answer"), "{:?}", done.raw);
}
