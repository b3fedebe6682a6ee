//! Helpers shared by the media end-to-end tests: bounded waits on events, never sleeps.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use media::AudioFrame;
use tokio::sync::mpsc;

/// Legs in these tests bind on loopback.
pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Upper bound on any wait: generous, because the machine is shared, but a hang still fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `f`, failing the test if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(WAIT, f).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// The next frame from a leg's audio tap.
pub async fn next_frame(tap: &mut mpsc::Receiver<AudioFrame>) -> AudioFrame {
    within("an RTP frame", tap.recv())
        .await
        .expect("the leg is alive")
}
