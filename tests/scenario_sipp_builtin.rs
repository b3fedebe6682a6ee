//! `outdial loadtest --scenario` playing SIPp's own built-in UAC scenarios (dumped with
//! `sipp -sd` at test time) against SIPp's matching built-in servers, as SIPp's UAC would:
//! every call successful on both sides. The built-ins that need what the player does not do
//! (pcap media, 3PCC) are refused at load with their element's line, exit status 255.

mod support;

use std::time::Duration;
use support::scenario::*;

fn dumps() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn sipp_uac_against_sipp_uas() {
    let dir = dumps();
    let uac = sipp_dump("uac", dir.path());
    let uas = sipp_dump("uas", dir.path());
    let (o, uas_status) = play_against(
        uas.to_str().expect("utf-8"),
        10,
        &[],
        &uac,
        &["--rate", "50"],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (10, 0), "{o:?}");
    assert!(
        uas_status.is_some_and(|s| s.success()),
        "sipp uas: {uas_status:?}"
    );
    // INVITE, 180, 200, ACK, BYE and its 200 for each call; no 100 from SIPp's uas.
    for (index, key) in [
        (0, "sent"),
        (2, "received"),
        (4, "received"),
        (5, "sent"),
        (7, "sent"),
        (8, "received"),
    ] {
        assert_eq!(o.count(index, key), 10, "message {index} {key}: {o:?}");
    }
    assert_eq!(o.count(1, "received"), 0);
    assert_eq!(o.report["answered"], 10, "{o:?}");
    assert!(
        o.report["response_times_ms"]["1"]["max"].is_number(),
        "{o:?}"
    );
}

#[test]
fn sipp_regexp_uac_extracts_and_reinjects_against_sipp_uas() {
    let dir = dumps();
    let uac = sipp_dump("regexp", dir.path());
    let uas = sipp_dump("uas", dir.path());
    // check_it="true" on three eregs: a call whose 200 lacks an address, a Contact or an SDP
    // origin would be counted failed.
    let (o, uas_status) = play_against(
        uas.to_str().expect("utf-8"),
        5,
        &[],
        &uac,
        &["--rate", "50"],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (5, 0), "{o:?}");
    assert!(
        uas_status.is_some_and(|s| s.success()),
        "sipp uas: {uas_status:?}"
    );
}

#[test]
fn sipp_branch_client_against_sipp_branch_server() {
    let dir = dumps();
    let client = sipp_dump("branchc", dir.path());
    let server = sipp_dump("branchs", dir.path());
    // branchs answers 180/100/200 to callers named ua2* (calls 2 and 20-25) and 403 to the
    // others; branchc jumps to its BYE on a 403, and skips its pause on call 25 (ereg ua25).
    let (o, status) = play_against(
        server.to_str().expect("utf-8"),
        25,
        &[],
        &client,
        &["--rate", "50"],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (25, 0), "{o:?}");
    assert!(
        status.is_some_and(|s| s.success()),
        "sipp branchs: {status:?}"
    );
    assert_eq!(o.count(1, "received"), 25, "REGISTER answered: {o:?}");
    assert_eq!(
        o.count(2, "received"),
        0,
        "the jump over the second 200: {o:?}"
    );
    assert_eq!(o.count(7, "received"), 18, "403s: {o:?}");
    assert_eq!(o.count(8, "received"), 7, "200s: {o:?}");
    assert_eq!(o.count(9, "sent"), 7, "ACKs: {o:?}");
    assert_eq!(o.count(11, "sent"), 25, "BYEs: {o:?}");
}

#[test]
fn builtins_needing_pcap_media_or_3pcc_are_refused_with_their_line() {
    let dir = dumps();
    for (name, needle, what) in [
        ("uac_pcap", "play_pcap_audio", "<exec>"),
        ("3pcc-C-A", "<sendCmd>", "<sendCmd>"),
    ] {
        let path = sipp_dump(name, dir.path());
        let line = line_of(&path, needle);
        let scenario = path.to_str().expect("utf-8");
        // Refused before a packet is sent: the target need not exist.
        let o = loadtest_outcome(
            &[
                "--target",
                "127.0.0.1:9",
                "--rate",
                "1",
                "--calls",
                "1",
                "--scenario",
                scenario,
            ],
            Duration::from_secs(30),
        );
        assert_eq!(o.code, Some(255), "{name}: {o:?}");
        let want = format!("{scenario}:{line}: {what} is not supported");
        assert!(
            o.stderr.contains(&want),
            "{name}: wanted {want:?} in {:?}",
            o.stderr
        );
        assert!(
            o.report.is_null(),
            "{name}: no report for a refused scenario"
        );
    }
}
