//! A job paused from the wall-board in Chromium (headless, through WebDriver) stops dialing:
//! a supervisor presses the job's pause button while an agentless job dials SIPp, the row
//! shows the job paused, and the node places no attempt after that. Resume from the board
//! dials again. A screenshot of the board is written under the target directory.

mod support;

use std::time::Duration;

use serde_json::json;
use support::node::*;
use support::webdriver::*;
use support::*;

#[test]
fn a_job_paused_from_the_wall_board_stops_dialing() {
    let shots = artifacts("web_board_pause");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let sipp = format!("127.0.0.1:{port}").parse().expect("addr");
    let node = Node::start(
        dir.path(),
        "node-web-pause",
        &[MppConf::new("sipp", sipp, 600_000)],
    );
    node.add_user("sup", "supervisor", "pause-it-please");
    let (_, job) = node.create_campaign(&agentless_campaign("pause-me", 5.0, 5, 3000, &[]));
    node.upload_csv(job, &contacts_csv(400));
    node.start_job(job);

    let b = Browser::start();
    b.log_in_to_board(node.api, "sup", "pause-it-please");
    let pause_button = format!("button[data-job=\"{job}\"][data-action=\"pause\"]");
    b.wait_for("the running job with its pause button", Duration::from_secs(10),
        &format!("const r = document.querySelector('tr[data-job=\"{job}\"] td[data-col=\"attempts\"]'); \
                  return r && Number(r.textContent) >= 3 && !!document.querySelector('{pause_button}')"),
        json!([]));
    b.click(&b.find(&pause_button));
    b.wait_for(
        "the job paused on the board",
        Duration::from_secs(5),
        &format!(
            "return !!document.querySelector('tr[data-job=\"{job}\"][data-state=\"paused\"]')"
        ),
        json!([]),
    );
    b.screenshot(&shots.join("wall-board-paused.png"));
    assert_eq!(node.job(job)["job"]["state"], "paused");

    // Dialing stopped: no attempt is placed over two seconds (ten at the job's rate).
    let before = node.attempts(job).len();
    pause(Duration::from_secs(2));
    let after = node.attempts(job).len();
    assert_eq!(before, after, "attempts were placed after the pause");
    assert!(before < 400, "the job had not finished before the pause");

    // Resume from the board: dialing goes on.
    let resume = format!("button[data-job=\"{job}\"][data-action=\"resume\"]");
    b.click(&b.find(&resume));
    let deadline = wall_now() + Duration::from_secs(10);
    while node.attempts(job).len() <= after {
        assert!(wall_now() < deadline, "no attempt after the resume");
        pause(Duration::from_millis(100));
    }
    node.job_action(job, "stop");
}
