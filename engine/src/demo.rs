//! `outdial demo`: the README's main job on embedded defaults. Starts `outdial peer` with the
//! mixed customer profile in-process on loopback and drives `loadtest` against it, with a
//! live progress line and a final report. (The dialer engine's campaign demo replaces the
//! load phase once the engine lands; the peer stays its customer network.)

use std::net::SocketAddr;
use std::time::Duration;

use crate::loadtest::{self, LoadReport, LoadTestConfig};
use crate::peer::{self, PeerReport, Profile};

/// The customer mix the demo dials into (also shipped as configs/peer-mixed.toml).
pub const MIXED_PROFILE: &str = include_str!("../../configs/peer-mixed.toml");

/// Both sides' reports.
#[derive(Debug, serde::Serialize)]
pub struct DemoReport {
    pub loadtest: LoadReport,
    pub peer: PeerReport,
}

/// Runs the demo: `calls` calls at `rate` per second, each answered call held `hold`.
pub async fn run(
    calls: u64,
    rate: f64,
    hold: Duration,
    progress: bool,
) -> std::io::Result<DemoReport> {
    let profile = Profile::parse(MIXED_PROFILE, "configs/peer-mixed.toml")
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let peer_task = tokio::task::spawn_local(async move {
        peer::run(
            bind,
            profile,
            None,
            async move {
                let _ = stop_rx.await;
            },
            move |addr| {
                let _ = ready_tx.send(addr);
            },
        )
        .await
    });
    let target = ready_rx
        .await
        .map_err(|_| std::io::Error::other("the embedded peer did not start"))?;
    let mut cfg = LoadTestConfig::new(target);
    cfg.calls = calls;
    cfg.rate = rate;
    cfg.hold = hold;
    cfg.ring_timeout = Duration::from_secs(2);
    cfg.progress = progress;
    let load = loadtest::run(cfg).await?;
    let _ = stop_tx.send(());
    let peer = peer_task
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(DemoReport {
        loadtest: load,
        peer,
    })
}
