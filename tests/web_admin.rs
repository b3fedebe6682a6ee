//! The administration page in Chromium (headless, through WebDriver): a supervisor's campaign
//! that breaks the rules of law is refused with each refusal shown next to its field (nuisance
//! cap, calling hours, caller ID, information message); a lawful load-test campaign is created;
//! a contact list uploaded through the page imports, its bad row reported by line; a number is
//! added to the do-not-call list. Screenshots are written under the target directory.

mod support;

use std::time::Duration;

use serde_json::json;
use support::node::*;
use support::webdriver::*;
use support::*;

/// The refusal code shown under the field with key `key`, if any.
fn refusal(b: &Browser, key: &str) -> String {
    b.run(
        "const p = document.querySelector(`#campaign .field[data-key=\"${arguments[0]}\"] .field-error`); \
         return p ? p.dataset.refusal : ''",
        json!([key]),
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[test]
fn campaigns_refused_in_place_contacts_uploaded_and_dnc_added_from_the_page() {
    let shots = artifacts("web_admin");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let sipp = format!("127.0.0.1:{port}").parse().expect("addr");
    let node = Node::start(
        dir.path(),
        "node-web-admin",
        &[MppConf::new("sipp", sipp, 600_000)],
    );
    node.add_user("sup", "supervisor", "admin-page-pass");
    let b = Browser::start();
    b.log_in_to_board(node.api, "sup", "admin-page-pass");
    b.wait_for(
        "logged in",
        Duration::from_secs(10),
        "return !document.getElementById('board').hidden",
        json!([]),
    );
    b.goto(&format!("http://{}/admin", node.api));
    b.wait_for(
        "the admin page",
        Duration::from_secs(10),
        "return !document.getElementById('admin').hidden",
        json!([]),
    );

    // An unlawful predictive campaign: every refusal next to its field.
    b.type_into(&b.find("#c-name"), "too-pushy");
    b.type_into(&b.find("#c-cap"), "9");
    b.run(
        "document.getElementById('c-start').value = '07:00'; \
         document.getElementById('c-end').value = '23:30';",
        json!([]),
    );
    b.click(&b.find("#campaign button[type=submit]"));
    b.wait_for(
        "the refusals in place",
        Duration::from_secs(10),
        "return document.querySelectorAll('#campaign .field-error').length >= 3",
        json!([]),
    );
    assert_eq!(refusal(&b, "nuisance.cap_pct"), "cap-above-legal-limit");
    assert_eq!(refusal(&b, "calling_hours"), "calling-hours-wider-than-law");
    assert_eq!(refusal(&b, "caller_id"), "caller-id-missing");
    assert_eq!(refusal(&b, "abandon_message"), "no-information-message");
    b.screenshot(&shots.join("admin-refusals.png"));
    assert_eq!(
        node.get_json("/v1/campaigns"),
        json!([]),
        "nothing was created"
    );

    // A lawful load test, created; its job gets a contact list through the page.
    b.run(
        "document.getElementById('c-mode').value = 'agentless'; \
         document.getElementById('c-start').value = '00:00'; \
         document.getElementById('c-end').value = '00:00';",
        json!([]),
    );
    b.type_into(&b.find("#c-name"), "load-test");
    b.type_into(&b.find("#c-cps"), "5");
    b.type_into(&b.find("#c-conc"), "5");
    b.type_into(&b.find("#c-ring"), "3000");
    b.click(&b.find("#c-load"));
    b.type_into(&b.find("#c-ranges"), "+1212555");
    b.click(&b.find("#campaign button[type=submit]"));
    let created = b.wait_for(
        "the campaign created",
        Duration::from_secs(10),
        "const t = document.getElementById('campaign-result').textContent; \
         return t.startsWith('Created') ? t : ''",
        json!([]),
    );
    let job: u64 = created
        .as_str()
        .and_then(|t| t.rsplit("job ").next())
        .and_then(|n| n.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("no job in {created}"));
    let mut csv = contacts_csv(5);
    csv.push_str("not-a-number,bad row\n");
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, &csv).expect("write the CSV");
    b.run(
        "document.getElementById('u-job').value = String(arguments[0])",
        json!([job]),
    );
    b.type_into(&b.find("#u-file"), &file.display().to_string());
    b.click(&b.find("#upload button[type=submit]"));
    b.wait_for(
        "the import report",
        Duration::from_secs(10),
        "return document.getElementById('upload-result').textContent.startsWith('Imported')",
        json!([]),
    );
    let report = b.text(&b.find("#upload-result"));
    assert!(report.starts_with("Imported 5, rejected 1"), "{report}");
    let line = b.text(&b.find("#upload-errors tbody td"));
    assert_eq!(line, "7", "the bad row is reported by its line");
    assert_eq!(
        b.run(
            "return document.getElementById('u-progress').value",
            json!([])
        ),
        json!(100)
    );
    assert_eq!(node.job(job)["contacts"]["total"], 5);
    b.screenshot(&shots.join("admin-upload.png"));

    // Do-not-call.
    b.type_into(&b.find("#d-numbers"), "+12125559999");
    b.click(&b.find("#dnc button[type=submit]"));
    b.wait_for(
        "the number added",
        Duration::from_secs(10),
        "return document.getElementById('dnc-result').textContent.startsWith('Added')",
        json!([]),
    );
    let status = node.get_json("/v1/node");
    assert_eq!(status["do_not_call"], 1, "{status}");
}
