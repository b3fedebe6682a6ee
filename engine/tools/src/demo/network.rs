//! The demo's embedded network on loopback: the customers (an `outdial peer` that records
//! every INVITE dialog) and, with agents, the agents' phones (a second peer that answers the
//! nailing calls and counts the RTP bridged to it).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::peer::{self, PeerReport, Profile};

/// A `Write` the peer's record goes into, read back at the end.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One running peer.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<PeerReport>>,
    addr: SocketAddr,
}

async fn start(
    profile: Profile,
    record: Option<SharedBuf>,
    what: &str,
) -> Result<Running, Box<dyn std::error::Error>> {
    let (stop, stop_rx) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) = oneshot::channel::<SocketAddr>();
    let record: Option<Box<dyn std::io::Write + Send>> =
        record.map(|r| Box::new(r) as Box<dyn std::io::Write + Send>);
    let task = tokio::task::spawn_local(peer::run(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        profile,
        record,
        async move {
            let _ = stop_rx.await;
        },
        move |a| {
            let _ = ready_tx.send(a);
        },
    ));
    let addr = ready_rx
        .await
        .map_err(|_| format!("the embedded {what} did not start"))?;
    Ok(Running { stop, task, addr })
}

/// The customers and, with agents, their phones.
pub(super) struct Network {
    customers: Running,
    record: SharedBuf,
    phones: Option<Running>,
}

/// What the network saw, once stopped.
pub(super) struct NetworkSeen {
    /// The customers' record: one line per INVITE dialog, Call-ID first.
    pub record: String,
    /// RTP packets the agents' phones received.
    pub rtp_to_agents: u64,
}

impl Network {
    pub(super) async fn start(
        customers: Profile,
        phones: Option<Profile>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let record = SharedBuf::default();
        let customers = start(customers, Some(record.clone()), "customers").await?;
        let phones = match phones {
            Some(p) => Some(start(p, None, "agent phones").await?),
            None => None,
        };
        Ok(Self {
            customers,
            record,
            phones,
        })
    }

    pub(super) fn customers(&self) -> SocketAddr {
        self.customers.addr
    }

    pub(super) fn phones(&self) -> Option<SocketAddr> {
        self.phones.as_ref().map(|p| p.addr)
    }

    /// Stops both peers and reads back what they saw.
    pub(super) async fn stop(self) -> Result<NetworkSeen, Box<dyn std::error::Error>> {
        let mut rtp_to_agents = 0;
        if let Some(p) = self.phones {
            let _ = p.stop.send(());
            if let Ok(Ok(r)) = p.task.await {
                rtp_to_agents = r.media.map(|m| m.packets_received).unwrap_or(0);
            }
        }
        let _ = self.customers.stop.send(());
        let _ = self.customers.task.await;
        let bytes = self.record.0.lock().map_err(|_| "poisoned")?.clone();
        Ok(NetworkSeen {
            record: String::from_utf8(bytes)?,
            rtp_to_agents,
        })
    }
}
