//! `outdial loadtest` against `sipp -sn uas` with a rate ramp and a stat file: the file has
//! exactly the columns SIPp's own `-trace_stat` writes (SIPp's UAC run in the same test), its
//! target rate climbs as asked, and its last line counts every call. The control socket
//! changes the rate of a live run and stops it: the calls in progress finish, exit status 0.
//! With `--threads 2` the calls are spread over two sockets and reported as one run.

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use support::scenario::loadtest_outcome;
use support::*;

/// SIPp's own stat file header, from a short `sipp -sn uac` run against `port`.
fn sipp_stat_header(port: u16, dir: &std::path::Path) -> String {
    let stat = dir.join("sipp_stat.csv");
    let mut cmd = Command::new(sipp_bin());
    cmd.args(["-sn", "uac", &format!("127.0.0.1:{port}")])
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(sipp_isolation())
        .args(["-m", "2", "-r", "10", "-nostdin", "-timeout", "20s"])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat);
    let mut uac = spawn(cmd, "sipp uac");
    let status = uac.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "sipp uac: {status:?}");
    let text = std::fs::read_to_string(&stat).expect("SIPp wrote its stat file");
    text.lines().next().expect("a header").to_owned()
}

fn column<'a>(header: &[&str], line: &'a str, name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    line.split(';').nth(i).unwrap_or("")
}

#[test]
fn a_ramped_run_writes_sipps_stat_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let sipp_header = sipp_stat_header(port, dir.path());
    let stats = dir.path().join("outdial_stat.csv");
    let target = format!("127.0.0.1:{port}");
    let o = loadtest_outcome(
        &[
            "--target",
            &target,
            "--rate",
            "20",
            "--rate-increase",
            "20",
            "--rate-interval",
            "1",
            "--rate-max",
            "60",
            "--calls",
            "150",
            "--stats-csv",
            stats.to_str().expect("utf-8"),
            "--stats-interval",
            "0.5",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(o.report["answered"], 150, "{o:?}");
    let text = std::fs::read_to_string(&stats).expect("stat file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], sipp_header, "the columns are SIPp's");
    let header: Vec<&str> = lines[0].split(';').collect();
    assert!(lines.len() >= 6, "a line each half second: {text}");
    for l in &lines[1..] {
        assert_eq!(l.split(';').count(), header.len(), "{l}");
    }
    let rates: Vec<f64> = lines[1..]
        .iter()
        .map(|l| column(&header, l, "TargetRate").parse().expect("a rate"))
        .collect();
    assert_eq!(rates.first(), Some(&20.0), "{rates:?}");
    assert!(rates.contains(&40.0), "{rates:?}");
    assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");
    assert!(rates.iter().all(|r| *r <= 60.0), "{rates:?}");
    let last = lines[lines.len() - 1];
    assert_eq!(column(&header, last, "TotalCallCreated"), "150");
    assert_eq!(column(&header, last, "SuccessfulCall(C)"), "150");
    assert_eq!(column(&header, last, "FailedCall(C)"), "0");
    assert_eq!(column(&header, last, "CurrentCall"), "0");
    // Every answered call is in one response-time bucket, in the stat file and the JSON.
    let buckets: u64 = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with("ResponseTimeRepartition1_"))
        .map(|(i, _)| last.split(';').nth(i).and_then(|v| v.parse::<u64>().ok()))
        .map(|v| v.expect("a count"))
        .sum();
    assert_eq!(buckets, 150, "{last}");
    let json: u64 = o.report["response_time_repartition"]["1"]
        .as_array()
        .expect("buckets in the JSON")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(json, 150, "{:?}", o.report);
}

/// Sends `cmd` to the control socket and waits (boundedly) for its reply.
fn control(sock: &UdpSocket, addr: &str, cmd: &str) -> Option<String> {
    let mut buf = [0u8; 512];
    sock.send_to(cmd.as_bytes(), addr).ok()?;
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn the_control_socket_changes_the_rate_and_stops_the_run() {
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let cport = free_udp_port();
    let addr = format!("127.0.0.1:{cport}");
    let target = format!("127.0.0.1:{port}");
    let args = [
        "--target",
        &target,
        "--rate",
        "5",
        "--calls",
        "100000",
        "--control",
        &addr,
    ];
    let run = std::thread::spawn({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            loadtest_outcome(&args, Duration::from_secs(60))
        }
    });
    let sock = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    // The run binds its control socket at start-up: ask until it answers, for up to 20 s.
    let first = (0..66).find_map(|_| control(&sock, &addr, "stats"));
    let first = first.expect("the control socket answers");
    assert!(first.starts_with("rate 5 "), "{first}");
    assert_eq!(
        control(&sock, &addr, "rate 50").as_deref(),
        Some("ok rate 50")
    );
    assert_eq!(
        control(&sock, &addr, "rate +25").as_deref(),
        Some("ok rate 75")
    );
    let refused = control(&sock, &addr, "rate fast").expect("a reply");
    assert!(refused.starts_with("error: "), "{refused}");
    let now = control(&sock, &addr, "stats").expect("a reply");
    assert!(now.starts_with("rate 75 "), "{now}");
    assert_eq!(
        control(&sock, &addr, "stop").as_deref(),
        Some("ok stopping")
    );
    let o = run.join().expect("the run's thread");
    assert_eq!(o.code, Some(0), "{o:?}");
    let attempted = o.report["attempted"].as_u64().expect("attempted");
    assert!((1..100_000).contains(&attempted), "{o:?}");
    assert_eq!(o.report["answered"].as_u64(), Some(attempted), "{o:?}");
}

#[test]
fn two_threads_share_the_calls_and_report_them_together() {
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let target = format!("127.0.0.1:{port}");
    let args = [
        "--target",
        &target,
        "--rate",
        "100",
        "--calls",
        "101",
        "--threads",
        "2",
    ];
    let o = loadtest_outcome(&args, Duration::from_secs(60));
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(o.report["attempted"], 101, "{o:?}");
    assert_eq!(o.report["answered"], 101, "{o:?}");
    let buckets: u64 = o.report["response_time_repartition"]["1"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(buckets, 101, "{o:?}");
}
