//! Socket glue for a bridge: one task relaying between two legs' sockets with the sans-IO
//! [`Bridge`] core, taking the legs over and handing them back.

use std::net::SocketAddr;

use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{now, LegParts, LegStats, RtpLeg, MAX_CONSECUTIVE_RECV_ERRORS, RECV_BUF};
use crate::error::MediaError;
use crate::relay::{Bridge, BridgeSide, RelayCounters, Side};

/// Relay counters and both legs' statistics, returned by [`BridgeHandle::stop`].
#[derive(Debug, Clone)]
pub struct BridgeStats {
    /// Packets that arrived on leg A and what became of them.
    pub from_a: RelayCounters,
    /// Packets that arrived on leg B and what became of them.
    pub from_b: RelayCounters,
    /// Leg A over its whole life (before, during and after the bridge).
    pub leg_a: LegStats,
    /// Leg B over its whole life.
    pub leg_b: LegStats,
}

#[derive(Clone, Default)]
struct BridgeControl {
    remotes: [Option<SocketAddr>; 2],
    stop: bool,
}

struct BridgeParts {
    a: LegParts,
    b: LegParts,
    bridge: Bridge,
}

/// A running relay between two legs (see [`spawn_bridge`]). Dropping it stops the relay, closes
/// both sockets and returns both ports.
pub struct BridgeHandle {
    locals: [SocketAddr; 2],
    control: watch::Sender<BridgeControl>,
    task: Option<JoinHandle<BridgeParts>>,
}

/// Bridges two legs (customer `a`, agent `b`): stops whatever each was playing and relays audio
/// between them with the [`Bridge`] core, one task for both sockets. Each peer keeps seeing the
/// SSRC and numbering its leg was already sending; PCMU and PCMA legs are transcoded.
pub async fn spawn_bridge(mut a: RtpLeg, mut b: RtpLeg) -> Result<BridgeHandle, MediaError> {
    let runtime = Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
    let (Some(a), Some(b)) = (a.join().await, b.join().await) else {
        return Err(MediaError::LegGone);
    };
    let side = |p: &LegParts| BridgeSide {
        remote: p.remote,
        codec: p.codec,
        sender: p.sender.clone(),
    };
    let bridge = Bridge::new(side(&a), side(&b));
    let (control, control_rx) = watch::channel(BridgeControl {
        remotes: [a.remote, b.remote],
        stop: false,
    });
    let locals = [a.local, b.local];
    let task = runtime.spawn(run_bridge(BridgeParts { a, b, bridge }, control_rx));
    Ok(BridgeHandle {
        locals,
        control,
        task: Some(task),
    })
}

impl BridgeHandle {
    /// The local address of `side`'s socket.
    pub fn local_addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::A => self.locals[0],
            Side::B => self.locals[1],
        }
    }

    /// Sets (or changes, after a re-INVITE) where `side`'s peer is.
    pub fn set_remote(&self, side: Side, remote: SocketAddr) {
        self.control.send_modify(|c| match side {
            Side::A => c.remotes[0] = Some(remote),
            Side::B => c.remotes[1] = Some(remote),
        });
    }

    /// Stops the relay and both legs; returns the counters and both legs' statistics.
    pub async fn stop(mut self) -> Result<BridgeStats, MediaError> {
        let parts = self.join().await.ok_or(MediaError::LegGone)?;
        Ok(BridgeStats {
            from_a: parts.bridge.counters(Side::A),
            from_b: parts.bridge.counters(Side::B),
            leg_a: parts.a.stats(),
            leg_b: parts.b.stats(),
        })
    }

    /// Ends the relay and gives both legs back, idle (call [`RtpLeg::play`] to send again), with
    /// their sockets, statistics and outbound streams continuing: a nailed agent's phone sees the
    /// same SSRC and numbering before, during and after the customer call.
    pub async fn unbridge(mut self) -> Result<(RtpLeg, RtpLeg), MediaError> {
        let runtime = Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
        let BridgeParts { a, b, .. } = self.join().await.ok_or(MediaError::LegGone)?;
        Ok((RtpLeg::spawn(a, &runtime), RtpLeg::spawn(b, &runtime)))
    }

    async fn join(&mut self) -> Option<BridgeParts> {
        self.control.send_modify(|c| c.stop = true);
        let task = self.task.take()?;
        match task.await {
            Ok(parts) => Some(parts),
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => None,
            },
        }
    }
}

impl Drop for BridgeHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for BridgeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeHandle")
            .field("locals", &self.locals)
            .finish()
    }
}

enum BridgeEvent {
    Control,
    HandleGone,
    Received(Side, std::io::Result<(usize, SocketAddr)>),
}

async fn run_bridge(
    mut parts: BridgeParts,
    mut control: watch::Receiver<BridgeControl>,
) -> BridgeParts {
    let mut buf_a = vec![0u8; RECV_BUF];
    let mut buf_b = vec![0u8; RECV_BUF];
    let mut recv_errors = 0u32;
    loop {
        let event = tokio::select! {
            biased;
            changed = control.changed() => match changed {
                Ok(()) => BridgeEvent::Control,
                Err(_) => BridgeEvent::HandleGone,
            },
            r = parts.a.socket.recv_from(&mut buf_a) => BridgeEvent::Received(Side::A, r),
            r = parts.b.socket.recv_from(&mut buf_b) => BridgeEvent::Received(Side::B, r),
        };
        match event {
            BridgeEvent::HandleGone => break,
            BridgeEvent::Control => {
                let c = control.borrow_and_update().clone();
                if c.stop {
                    break;
                }
                for (side, remote) in [(Side::A, c.remotes[0]), (Side::B, c.remotes[1])] {
                    if let Some(remote) = remote {
                        parts.bridge.set_remote(side, remote);
                    }
                }
                parts.a.remote = c.remotes[0];
                parts.b.remote = c.remotes[1];
            }
            BridgeEvent::Received(side, Ok((n, from))) => {
                recv_errors = 0;
                let arrival = now();
                let (leg, datagram) = match side {
                    Side::A => (&mut parts.a, &buf_a[..n]),
                    Side::B => (&mut parts.b, &buf_b[..n]),
                };
                leg.receive(datagram, from, arrival);
                if let Err(e) = parts.bridge.handle_datagram(arrival, side, from, datagram) {
                    tracing::debug!(error = %e, "relay refused a datagram");
                }
                while let Some(t) = parts.bridge.poll_transmit() {
                    let leg = match t.from {
                        Side::A => &mut parts.a,
                        Side::B => &mut parts.b,
                    };
                    leg.send(t.payload, t.to);
                }
            }
            BridgeEvent::Received(side, Err(e)) => {
                recv_errors += 1;
                let leg = match side {
                    Side::A => &mut parts.a,
                    Side::B => &mut parts.b,
                };
                leg.counters.recv_errors += 1;
                if recv_errors >= MAX_CONSECUTIVE_RECV_ERRORS {
                    tracing::error!(error = %e, "RTP socket keeps failing; bridge stops");
                    break;
                }
            }
        }
    }
    // The bridge's outbound streams are the legs' from now on.
    parts.a.sender = parts.bridge.sender(Side::A).clone();
    parts.b.sender = parts.bridge.sender(Side::B).clone();
    parts
}
