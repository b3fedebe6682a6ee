//! `outdial check`: the shipped campaigns pass; a campaign that breaks the law is refused
//! with every rule it breaks named by code, and a non-zero exit status.

use std::process::Command;

#[test]
fn shipped_campaigns_pass_and_an_unlawful_one_is_refused_by_rule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("unlawful.toml");
    std::fs::write(
        &bad,
        "name = \"unlawful\"\nmode = \"predictive\"\nconnect_window_ms = 5000\n\
         [nuisance]\ncap_pct = 10.0\n\
         [calling_hours]\nstart = \"07:00\"\nend = \"23:00\"\ndefault_tz = \"UTC\"\n\
         [retry.nuisance]\ndelay_s = 3600\nmax_attempts = 3\n",
    )
    .expect("write");
    let good = root.join("configs/campaign-predictive.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .arg("check")
        .arg(&good)
        .output()
        .expect("outdial check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .arg("check")
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("outdial check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("campaign-predictive.toml: ok"), "{text}");
    assert!(text.contains("unlawful.toml: refused"), "{text}");
    for code in [
        "caller-id-missing",
        "connect-window-too-long",
        "no-information-message",
        "cap-above-legal-limit",
        "calling-hours-wider-than-law",
        "retry-inside-lockout",
    ] {
        assert!(
            text.contains(&format!("[{code}]")),
            "{code} not named: {text}"
        );
    }
}
