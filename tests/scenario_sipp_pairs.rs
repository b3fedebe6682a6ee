//! `outdial loadtest --scenario` playing the UAC scenarios kept in tests/sipp/check/ (written
//! to validate our UAS scenarios with SIPp's own UAC) against those UAS scenarios: each pair
//! ends as it does with SIPp on both sides (tests/sipp/check/run_all.sh), including the
//! wrong-password case where SIPp's UAS fails the calls. Also: unexpected responses fail the
//! calls (exit status 1) after SIPp's default ACK, and a scenario using what the player does
//! not implement is refused with its line (exit status 255).

mod support;

use std::time::Duration;
use support::scenario::*;
use support::*;

/// Plays check/uac_for_`name`.xml against `uas` for 3 calls; SIPp's UAS must exit `uas_code`.
fn pair(name: &str, uas: &str, sipp_extra: &[&str], uas_code: i32) -> Outcome {
    let uac = root()
        .join("tests/sipp/check")
        .join(format!("uac_for_{name}.xml"));
    let (o, status) = play_against(uas, 3, sipp_extra, &uac, &["--rate", "10"]);
    assert_eq!(o.code, Some(0), "{name}: {o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (3, 0), "{name}: {o:?}");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(uas_code),
        "{name}: SIPp's UAS; {o:?}"
    );
    o
}

#[test]
fn busy_486_is_acked_on_the_invite_branch() {
    pair("busy", "uas_busy.xml", &[], 0);
}

#[test]
fn ring_no_answer_is_cancelled_then_487_acked() {
    pair("ring_no_answer", "uas_ring_no_answer.xml", &[], 0);
}

#[test]
fn retry_after_503_is_acked() {
    pair("503_retry_after", "uas_503_retry_after.xml", &[], 0);
}

#[test]
fn digest_challenges_are_answered_with_the_authentication_keyword() {
    pair("401_challenge", "uas_401_challenge.xml", &[], 0);
    pair("407_challenge", "uas_407_challenge.xml", &[], 0);
    // A wrong password: SIPp's verifyauth fails the calls (exit 1), our side completes.
    pair("401_challenge_badpw", "uas_401_challenge.xml", &[], 1);
}

#[test]
fn early_media_far_end_bye_and_answer_media() {
    pair("183_early_media", "uas_183_early_media.xml", &[], 0);
    let o = pair("far_end_bye", "uas_far_end_bye.xml", &[], 0);
    assert_eq!(o.report["remote_hangups"], 3, "{o:?}");
    pair("answer_media", "uas_answer_media.xml", &[], 0);
}

#[test]
fn a_dropped_first_invite_is_saved_by_retransmission() {
    let o = pair(
        "drop_first_invite",
        "uas_drop_first_invite.xml",
        &["-nr"],
        0,
    );
    assert_eq!(o.count(0, "retransmissions"), 3, "{o:?}");
}

#[test]
fn sipps_builtin_uas_answers_our_check_uac() {
    let dir = tempfile::tempdir().expect("temp dir");
    let uas = sipp_dump("uas", dir.path());
    pair("builtin_uas", uas.to_str().expect("utf-8"), &[], 0);
}

#[test]
fn unexpected_486_fails_the_calls_after_sipps_default_ack() {
    // The UAC expects a 200; uas_busy answers 486, which matches nothing: each call fails,
    // and its default ACK (built from the 486) satisfies SIPp's UAS, which exits 0.
    let uac = root().join("tests/sipp/check/uac_for_builtin_uas.xml");
    let (o, status) = play_against("uas_busy.xml", 4, &[], &uac, &["--rate", "20"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (0, 4), "{o:?}");
    assert_eq!(failed(&o.report, "486"), 4, "{o:?}");
    // Counted where each call stood: at the optional 100 it had received, as SIPp counts.
    assert_eq!(o.count(1, "unexpected"), 4, "{o:?}");
    assert!(
        status.is_some_and(|s| s.success()),
        "SIPp's UAS got its ACKs: {status:?}"
    );
}

#[test]
fn named_transactions_are_refused_with_their_line() {
    let path = root().join("tests/sipp/uac_unsupported_txn.xml");
    let scenario = path.to_str().expect("utf-8");
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
    assert_eq!(o.code, Some(255), "{o:?}");
    let line = line_of(&path, "start_txn=");
    let want = format!("{scenario}:{line}: attribute \"start_txn\" of <send> is not supported");
    assert!(
        o.stderr.contains(&want),
        "wanted {want:?} in {:?}",
        o.stderr
    );
}
