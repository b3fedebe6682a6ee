//! Every bad request to a node's HTTP API gets a 4xx with a JSON body `{"error": ..,
//! "details": [..]}` saying what is wrong: malformed or invalid campaigns, unknown and
//! non-numeric ids, unknown actions and endpoints, job transitions that make no sense, imports
//! into started jobs; a CSV with bad rows is imported with per-line errors; /metrics is
//! Prometheus text.

mod support;

use serde_json::{json, Value};

use support::node::*;
use support::*;

/// A node whose MPP is `outdial peer` answering every call at once.
fn node(dir: &std::path::Path, name: &str) -> (Proc, Node) {
    let (peer, addr) = outdial_peer(None, None);
    let node = Node::start(dir, name, &[MppConf::new("peer", addr, 600_000)]);
    (peer, node)
}

/// Asserts `status` and a JSON error body (non-empty `error`, `details` a list); returns it.
fn expect_error(what: &str, got: (u16, String), status: u16) -> Value {
    let (code, body) = got;
    assert_eq!(code, status, "{what}: status {code}, body {body}");
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{what}: error body is not JSON ({e}): {body:?}"));
    assert!(
        v["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}: no error message: {v}"
    );
    assert!(
        v["details"].is_array(),
        "{what}: details is not a list: {v}"
    );
    v
}

fn valid_campaign(name: &str, rate_cps: f64) -> Value {
    agentless_campaign(name, rate_cps, 10, 3000, &[("busy", 1, 2)])
}

#[test]
fn bad_campaigns_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, n) = node(dir.path(), "api-campaigns");
    let post = |body: &[u8]| n.post("/v1/campaigns", Some("application/json"), body);

    let e = expect_error("malformed JSON", post(b"{\"name\": \"x\", \"mode\": "), 400);
    assert!(e["error"].as_str().unwrap_or("").contains("JSON"), "{e}");
    expect_error("empty body", post(b""), 400);
    expect_error("not UTF-8", post(b"{\"name\": \"\xff\"}"), 400);
    expect_error("a JSON array", post(b"[1, 2]"), 400);
    let e = expect_error(
        "an unknown key",
        post(
            json!({"name": "x", "mode": "agentless", "bogus": 1})
                .to_string()
                .as_bytes(),
        ),
        400,
    );
    assert!(
        e["error"].as_str().unwrap_or("").contains("bogus"),
        "names the key: {e}"
    );
    expect_error(
        "a missing required key (mode)",
        post(json!({"name": "x"}).to_string().as_bytes()),
        400,
    );
    expect_error(
        "a wrong type",
        post(
            json!({"name": "x", "mode": "agentless", "ring_timeout_ms": "soon"})
                .to_string()
                .as_bytes(),
        ),
        400,
    );

    // Well-formed but invalid: 422 with every problem, each naming its key path.
    let bad = json!({
        "name": "",
        "mode": "agentless",
        "ring_timeout_ms": 10,
        "agentless": { "rate_cps": -1.0, "max_concurrent": 0 },
        "calling_hours": { "start": "25:00", "default_tz": "Mars/Olympus" },
        "retry": {
            "busy": { "delay_s": 1, "max_attempts": 0 },
            "bogus-code": { "delay_s": 1, "max_attempts": 1 },
        },
        "caller_id": "12345",
        "target": "nowhere",
    });
    let e = expect_error("invalid fields", post(bad.to_string().as_bytes()), 422);
    let details: Vec<String> = e["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for path in [
        "name",
        "ring_timeout_ms",
        "agentless.rate_cps",
        "agentless.max_concurrent",
        "calling_hours.start",
        "calling_hours.default_tz",
        "retry.busy.max_attempts",
        "retry.bogus-code",
        "caller_id",
        "target",
    ] {
        assert!(
            details.iter().any(|d| d.starts_with(&format!("{path}:"))),
            "no detail for {path}: {details:#?}"
        );
    }
    let e = expect_error(
        "a mode without its pacing",
        post(
            json!({"name": "x", "mode": "agentless"})
                .to_string()
                .as_bytes(),
        ),
        422,
    );
    assert!(e["details"].to_string().contains("agentless"), "{e}");
    // A campaign that would break the law: refused with every rule it breaks, by code.
    let e = expect_error(
        "an unlawful campaign",
        post(
            json!({
                "name": "unlawful",
                "mode": "predictive",
                "connect_window_ms": 5000,
                "nuisance": { "cap_pct": 10.0 },
                "calling_hours": { "start": "07:00", "end": "23:00", "default_tz": "UTC" },
                "retry": { "nuisance": { "delay_s": 86400, "max_attempts": 2 } },
            })
            .to_string()
            .as_bytes(),
        ),
        422,
    );
    for code in [
        "caller-id-missing",
        "connect-window-too-long",
        "no-information-message",
        "cap-above-legal-limit",
        "calling-hours-wider-than-law",
        "retry-inside-lockout",
    ] {
        assert!(
            e["details"].to_string().contains(&format!("[{code}]")),
            "{code} not named: {e}"
        );
    }
    let mut other_zone = valid_campaign("elsewhere", 1.0);
    other_zone["zone"] = json!("not-here");
    let e = expect_error(
        "a zone of no node",
        post(other_zone.to_string().as_bytes()),
        422,
    );
    assert!(e["details"].to_string().contains("zone"), "{e}");

    // Nothing was created by any of these.
    let list = n.get_json("/v1/campaigns");
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    expect_error("non-numeric campaign id", n.get("/v1/campaigns/abc"), 400);
    expect_error("unknown campaign", n.get("/v1/campaigns/424242"), 404);
    expect_error(
        "unknown campaign stats",
        n.get("/v1/campaigns/424242/stats"),
        404,
    );
}

#[test]
fn bad_job_requests_get_4xx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, n) = node(dir.path(), "api-jobs");

    // Unknown and non-numeric ids.
    for path in ["/v1/jobs/987654", "/v1/jobs/987654/attempts"] {
        expect_error(path, n.get(path), 404);
    }
    for action in ["start", "pause", "resume", "stop"] {
        let path = format!("/v1/jobs/987654/{action}");
        expect_error(&path, n.post(&path, None, b""), 404);
    }
    expect_error(
        "import into an unknown job",
        n.post(
            "/v1/jobs/987654/contacts",
            Some("text/csv"),
            b"phone\n+12125550100\n",
        ),
        404,
    );
    for path in [
        "/v1/jobs/abc",
        "/v1/jobs/-1",
        "/v1/jobs/1.5",
        "/v1/jobs/99999999999999999999",
        "/v1/jobs/abc/attempts",
    ] {
        expect_error(path, n.get(path), 400);
    }
    expect_error(
        "non-numeric id, action",
        n.post("/v1/jobs/abc/start", None, b""),
        400,
    );
    expect_error(
        "non-numeric id, import",
        n.post("/v1/jobs/abc/contacts", Some("text/csv"), b"phone\n"),
        400,
    );

    // A real job: 50 contacts at 1 call/s keeps it running through the checks.
    let (_c, job) = n.create_campaign(&valid_campaign("api-jobs", 1.0));
    let e = expect_error(
        "bad action",
        n.post(&format!("/v1/jobs/{job}/explode"), None, b""),
        404,
    );
    assert!(e["error"].as_str().unwrap_or("").contains("explode"), "{e}");
    let e = expect_error(
        "contacts in the wrong media type",
        n.post(
            &format!("/v1/jobs/{job}/contacts"),
            Some("application/json"),
            b"[]",
        ),
        415,
    );
    assert!(
        e["error"].as_str().unwrap_or("").contains("text/csv"),
        "{e}"
    );
    let e = expect_error(
        "a CSV without a phone column",
        n.post(
            &format!("/v1/jobs/{job}/contacts"),
            Some("text/csv"),
            b"name,number\nA,+12125550100\n",
        ),
        422,
    );
    assert!(e["details"].to_string().contains("phone"), "{e}");
    assert_eq!(n.upload_csv(job, &contacts_csv(50))["imported"], 50);

    let conflict = |action: &str| {
        let path = format!("/v1/jobs/{job}/{action}");
        expect_error(
            &format!("{action} of job {job}"),
            n.post(&path, None, b""),
            409,
        )
    };
    conflict("pause");
    conflict("resume");
    assert_eq!(n.start_job(job)["state"], "running");
    let e = conflict("start");
    assert!(e["error"].as_str().unwrap_or("").contains("running"), "{e}");
    conflict("resume");
    let e = expect_error(
        "import into a started job",
        n.post(
            &format!("/v1/jobs/{job}/contacts"),
            Some("text/csv"),
            b"phone\n+12125559999\n",
        ),
        409,
    );
    assert!(e["error"].as_str().unwrap_or("").contains("started"), "{e}");
    assert_eq!(n.job_action(job, "pause")["state"], "paused");
    conflict("pause");
    conflict("start");
    expect_error(
        "import into a paused job",
        n.post(
            &format!("/v1/jobs/{job}/contacts"),
            Some("text/csv"),
            b"phone\n+12125559999\n",
        ),
        409,
    );
    assert_eq!(n.job_action(job, "resume")["state"], "running");
    assert_eq!(n.job_action(job, "stop")["state"], "stopped");
    for action in ["start", "pause", "resume", "stop"] {
        conflict(action);
    }
    let v = n.job(job);
    assert_eq!(
        v["contacts"]["total"], 50,
        "the refused import added nothing: {v}"
    );
}

#[test]
fn a_csv_with_bad_rows_imports_the_good_ones_and_reports_each_bad_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, n) = node(dir.path(), "api-csv");
    let (_c, job) = n.create_campaign(&valid_campaign("api-csv", 1.0));
    let csv = "phone,name\n\
               +12125550100,ok\n\
               not-a-number,bad phone\n\
               +12125550101,ok\n\
               +1 212 555 0100,duplicate of line 2\n\
               +12125550102,too,many\n\
               ,empty phone\n\
               +12125550103,ok\n";
    let r = n.upload_csv(job, csv);
    assert_eq!(r["imported"], 3, "{r}");
    assert_eq!(r["rejected"], 4, "{r}");
    assert_eq!(r["duplicates"], 1, "{r}");
    let errors = r["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {r}"));
    let lines: Vec<u64> = errors.iter().filter_map(|e| e["line"].as_u64()).collect();
    assert_eq!(lines, vec![3, 5, 6, 7], "{r}");
    for e in errors {
        assert!(
            e["reason"].as_str().is_some_and(|s| !s.is_empty()),
            "each bad line says why: {r}"
        );
    }
    let v = n.job(job);
    assert_eq!(v["contacts"]["total"], 3, "{v}");
    assert_eq!(v["job"]["state"], "created", "{v}");

    // A second list for the same job brings back none of its phones.
    let r = n.upload_csv(job, "phone\n+12125550103\n+12125550104\n");
    assert_eq!(
        (r["imported"].as_u64(), r["duplicates"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let e = expect_error(
        "an empty CSV",
        n.post(&format!("/v1/jobs/{job}/contacts"), Some("text/csv"), b""),
        422,
    );
    assert!(
        !e["details"].as_array().map(Vec::is_empty).unwrap_or(true),
        "{e}"
    );
}

#[test]
fn unknown_endpoints_and_methods_are_json_404() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, n) = node(dir.path(), "api-misc");
    // `/` is the wall-board page (http::web); everything else unknown is a 404.
    for path in [
        "/nope",
        "/v1",
        "/v1/nope",
        "/v2/jobs/1",
        "/v1/jobs",
        "/v1/jobs/1/attempts/2",
    ] {
        let e = expect_error(path, n.get(path), 404);
        assert!(
            e["error"]
                .as_str()
                .unwrap_or("")
                .contains("no such endpoint"),
            "{path}: {e}"
        );
    }
    expect_error(
        "POST to a GET-only path",
        n.post("/v1/node", None, b""),
        404,
    );
    expect_error("GET of a POST-only action", n.get("/v1/jobs/1/start"), 404);
    expect_error(
        "DELETE of campaigns",
        n.call("DELETE", "/v1/campaigns", None, b""),
        404,
    );
    let e = expect_error(
        "a do-not-call list with bad numbers",
        n.post(
            "/v1/dnc",
            Some("application/json"),
            br#"["+12125550100", "nope"]"#,
        ),
        422,
    );
    assert!(
        e["details"].to_string().contains("[1]"),
        "names the bad entry: {e}"
    );
    expect_error(
        "a do-not-call list that is not JSON",
        n.post("/v1/dnc", Some("application/json"), b"+12125550100"),
        400,
    );
}

#[test]
fn metrics_are_well_formed_prometheus_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, addr) = outdial_peer(None, None);
    // Two MPPs (two names for the same peer) so per-MPP families have two samples each.
    let n = Node::start(
        dir.path(),
        "api-metrics",
        &[
            MppConf::new("peer-a", addr, 600_000),
            MppConf::new("peer-b", addr, 600_000),
        ],
    );
    let status = n.get_json("/v1/node");
    assert_eq!(status["name"], "api-metrics", "{status}");
    let text = metrics(&n);
    assert_eq!(
        sample(&text, "outdial_invites_sent_total"),
        Some(0.0),
        "{text}"
    );

    // With a job that has dialed, its per-job families appear too.
    let (_c, job) = n.create_campaign(&valid_campaign("api-metrics", 20.0));
    n.upload_csv(job, &contacts_csv(5));
    n.start_job(job);
    let over = n.wait_job_over(job, std::time::Duration::from_secs(30));
    assert_eq!(over["contacts"]["final_"], 5, "{over}");
    let text = metrics(&n);
    let sent = sample(&text, "outdial_invites_sent_total").unwrap_or(-1.0);
    assert!(
        sent >= 5.0,
        "5 calls placed, {sent} INVITEs counted: {text}"
    );
    assert!(
        text.contains(&format!(
            "outdial_attempts_total{{job=\"{job}\",code=\"answered-human\"}} 5"
        )),
        "{text}"
    );

    // The in-flight gauge (sampled once a second) comes back to 0 once the calls are over.
    let deadline = wall_now() + std::time::Duration::from_secs(5);
    while sample(&metrics(&n), "outdial_calls_in_flight") != Some(0.0) {
        assert!(
            wall_now() < deadline,
            "outdial_calls_in_flight not back to 0 within 5 s: {}",
            metrics(&n)
        );
        pause(std::time::Duration::from_millis(200));
    }

    // Every sample line is `name{labels} value`; every family has HELP and TYPE before its
    // samples, and its samples are contiguous (the text format requires one group per family).
    let mut typed = std::collections::HashSet::new();
    let mut helped = std::collections::HashSet::new();
    let mut closed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut current = String::new();
    let mut problems = Vec::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().unwrap_or_default().to_owned());
            continue;
        }
        if let Some(rest) = l.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap_or_default().to_owned());
            continue;
        }
        let (name, value) = l
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample line {l:?}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {l:?}");
        let metric = name.split('{').next().unwrap_or_default().to_owned();
        assert!(
            metric.starts_with("outdial_")
                && metric
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name in {l:?}"
        );
        if !typed.contains(&metric) || !helped.contains(&metric) {
            problems.push(format!("{metric}: sample without HELP and TYPE before it"));
        }
        if metric != current {
            if closed.contains(&metric) {
                problems.push(format!("{metric}: samples not contiguous"));
            }
            if !current.is_empty() {
                closed.insert(std::mem::take(&mut current));
            }
            current = metric;
        }
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "/metrics is not well-formed: {problems:#?}\n{text}"
    );
}

fn metrics(n: &Node) -> String {
    let (code, text) = n.get("/metrics");
    assert_eq!(code, 200, "{text}");
    text
}

/// The value of an unlabelled sample.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}
