//! SIPp's built-in UAC (`sipp -sn uac`) against `outdial peer`: every call completes, and the
//! peer's record agrees with SIPp's count.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

#[test]
fn sipp_uac_calls_complete_against_outdial_peer() {
    let dir = std::env::temp_dir().join(format!("outdial-uac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let record = dir.join("dialogs.tsv");
    let (peer, addr) = outdial_peer(None, Some(&record));
    let mut cmd = Command::new(sipp_bin());
    cmd.arg("-sn")
        .arg("uac")
        .arg(addr.to_string())
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(sipp_isolation())
        .args([
            "-m",
            "200",
            "-r",
            "100",
            "-nostdin",
            "-timeout",
            "60s",
            "-buff_size",
            "4194304",
        ])
        .current_dir(&dir);
    let mut uac = spawn(cmd, "sipp uac");
    let status = uac.wait_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "sipp uac failed: {status:?}"
    );
    let out = peer.terminate();
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("peer JSON ({e}): {out}"));
    assert_eq!(report["dialogs"], 200, "{report}");
    assert_eq!(report["answered"], 200, "{report}");
    assert_eq!(report["caller_hangups"], 200, "{report}");
    assert_eq!(report["repeated_call_ids"], 0, "{report}");
    let lines = std::fs::read_to_string(&record)
        .expect("record file")
        .lines()
        .count();
    assert_eq!(lines, 200);
    let _ = std::fs::remove_dir_all(&dir);
}
