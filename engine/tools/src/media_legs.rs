//! RTP legs for the CLI tools: one leg per answered call, with its stats summed at the end.
//! Sockets and ports are released on every exit path by the leg's own Drop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use media::{Codec, PortPool, Prompt, RtpLeg};
use serde::Serialize;
use sip::CallKey;

/// Totals over every leg that ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MediaSummary {
    pub legs: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_lost: u64,
    pub mean_jitter_ms: f64,
    /// Calls where no RTP port was free or the far end gave no usable SDP.
    pub skipped: u64,
    /// Packets that reached the shared sink of calls answered without a leg of their own.
    pub sink_packets: u64,
}

/// The RTP side of a CLI run.
pub struct MediaLegs {
    ip: IpAddr,
    pool: PortPool,
    tone: Prompt,
    offered: HashMap<u64, RtpLeg>,
    legs: HashMap<CallKey, RtpLeg>,
    remote_offers: HashMap<CallKey, SocketAddr>,
    summary: MediaSummary,
    jitter_sum: f64,
    sink: Option<(
        u16,
        tokio::task::JoinHandle<u64>,
        tokio::sync::oneshot::Sender<()>,
    )>,
    /// Stats of legs stopped in the background.
    stopped_tx: tokio::sync::mpsc::UnboundedSender<media::LegStats>,
    stopped_rx: tokio::sync::mpsc::UnboundedReceiver<media::LegStats>,
}

impl MediaLegs {
    /// Legs bind on `ip` with RTP ports from `first..=last` (even ports; RTCP is port + 1).
    pub fn new(ip: IpAddr, first: u16, last: u16) -> std::io::Result<Self> {
        let pool = PortPool::new(first, last).map_err(|e| std::io::Error::other(e.to_string()))?;
        let (stopped_tx, stopped_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Self {
            ip,
            pool,
            tone: Prompt::tone(440.0, 1000, Codec::Pcmu).looped(true),
            offered: HashMap::new(),
            legs: HashMap::new(),
            remote_offers: HashMap::new(),
            summary: MediaSummary::default(),
            jitter_sum: 0.0,
            sink: None,
            stopped_tx,
            stopped_rx,
        })
    }

    /// A leg on the next free port (skipping ports other processes hold).
    fn bind_leg(&mut self) -> Option<RtpLeg> {
        RtpLeg::bind_from(&self.pool, self.ip, Codec::Pcmu, 16).ok()
    }

    /// UAC side: binds a leg for call number `n` and returns the SDP offer naming its port.
    pub fn offer(&mut self, n: u64, ip: IpAddr) -> Option<String> {
        let Some(leg) = self.bind_leg() else {
            self.summary.skipped += 1;
            return None;
        };
        let port = leg.local_addr().port();
        self.offered.insert(n, leg);
        Some(sip::sdp::offer(n, 1, ip, port))
    }

    /// The dial for call number `n` got its key.
    pub fn bind_call(&mut self, n: u64, key: CallKey) {
        if let Some(leg) = self.offered.remove(&n) {
            self.legs.insert(key, leg);
        }
    }

    pub fn forget_offer(&mut self, n: u64) {
        self.offered.remove(&n);
    }

    /// UAC side: the answer arrived; start sending to where it points.
    pub async fn answered(&mut self, key: CallKey, sdp: &[u8]) {
        let Some(remote) = sip::sdp::parse_answer(sdp).ok().and_then(|a| a.remote()) else {
            return;
        };
        if let Some(leg) = self.legs.get_mut(&key) {
            leg.set_remote(remote);
            leg.play(self.tone.clone());
        }
    }

    /// UAS side: a shared socket that swallows RTP for calls answered without a leg.
    pub async fn sink_port(&mut self) -> std::io::Result<u16> {
        let sock = tokio::net::UdpSocket::bind(SocketAddr::new(self.ip, 0)).await?;
        let port = sock.local_addr()?.port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let mut n = 0u64;
            loop {
                tokio::select! {
                    r = sock.recv_from(&mut buf) => if r.is_ok() { n += 1 },
                    _ = &mut rx => return n,
                }
            }
        });
        self.sink = Some((port, task, tx));
        Ok(port)
    }

    /// UAS side: where the caller wants our audio.
    pub fn remember_offer(&mut self, call: CallKey, offer: &[u8]) {
        if let Some(a) = sip::sdp::parse_answer(offer).ok().and_then(|a| a.remote()) {
            self.remote_offers.insert(call, a);
        }
    }

    /// UAS side: binds a leg for `call` and returns our SDP answer.
    pub async fn answer_leg(&mut self, call: CallKey) -> Option<String> {
        let remote = *self.remote_offers.get(&call)?;
        let Some(leg) = self.bind_leg() else {
            self.summary.skipped += 1;
            return None;
        };
        leg.set_remote(remote);
        let port = leg.local_addr().port();
        self.legs.insert(call, leg);
        // RFC 3264 §6.1 lets an answer list every offered format it can receive; ours sends
        // PCMU, which is listed first.
        let mut answer = sip::sdp::Offer::new(call.0, 1, self.ip, port);
        answer.telephone_event = None;
        Some(answer.to_sdp())
    }

    /// UAS side: the ACK came; start the audio.
    pub async fn start_answered(&mut self, call: CallKey) {
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.play(self.tone.clone());
        }
    }

    /// The call ended: stop its leg and add its stats.
    /// The call ended: stop its leg in the background (the SIP loop must not wait for RTP
    /// tasks to wind down) and add its stats when it has.
    pub async fn ended(&mut self, key: CallKey) {
        self.remote_offers.remove(&key);
        if let Some(leg) = self.legs.remove(&key) {
            let tx = self.stopped_tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(leg.stop().await);
            });
        }
        while let Ok(s) = self.stopped_rx.try_recv() {
            self.add(&s);
        }
    }

    fn add(&mut self, s: &media::LegStats) {
        self.summary.legs += 1;
        self.summary.packets_sent += s.packets_sent;
        self.summary.packets_received += s.packets_received;
        self.summary.packets_lost += u64::try_from(s.packets_lost).unwrap_or(0);
        self.jitter_sum += s.jitter_ms;
    }

    /// Totals over every leg, once the legs still stopping have stopped.
    pub async fn summary(mut self) -> MediaSummary {
        // Legs never ended (run cut short) stop now too.
        for (_, leg) in self.legs.drain() {
            let tx = self.stopped_tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(leg.stop().await);
            });
        }
        self.offered.clear();
        let (dead, _) = tokio::sync::mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.stopped_tx, dead));
        while let Some(s) = self.stopped_rx.recv().await {
            self.add(&s);
        }
        if self.summary.legs > 0 {
            self.summary.mean_jitter_ms = self.jitter_sum / self.summary.legs as f64;
        }
        if let Some((_, task, tx)) = self.sink.take() {
            let _ = tx.send(());
            task.abort();
        }
        self.summary
    }
}
