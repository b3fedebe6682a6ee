//! Socket glue (tokio): one task per call leg, and one per bridge, around the sans-IO cores.
//! The only module of the crate that owns sockets or reads the clock.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant as StdInstant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::runtime::Handle;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::codec::Codec;
use crate::error::MediaError;
use crate::ports::{MediaTotals, PortLease, PortPool};
use crate::prompt::{Prompt, FRAME_BYTES};
use crate::rtp::{self, Pacer, RtpSender, HEADER_LEN};
use crate::stats::{ReceiveStats, Verdict};
use crate::types::Ssrc;

/// Receive buffer: larger than any RTP packet a G.711 peer sends (a 1500-byte MTU).
const RECV_BUF: usize = 2048;
/// A socket that fails this many receives in a row is given up on (no busy loop on a dead socket).
const MAX_CONSECUTIVE_RECV_ERRORS: u32 = 100;
/// DSCP EF (46) in the IPv4 TOS byte, the usual marking for voice.
const TOS_EF: u32 = 0xB8;

mod bridge;
pub use bridge::{spawn_bridge, BridgeHandle, BridgeStats};

/// The clock read for every arrival and pacing decision. This glue is where the `now` of the
/// sans-IO cores comes from; it uses tokio's clock, so a runtime with paused time (tests) moves
/// pacing and statistics together.
fn now() -> StdInstant {
    Instant::now().into_std()
}

/// One received RTP packet, handed to an [`RtpLeg::audio_tap`] (for answering-machine detection,
/// recording, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// Synchronisation source of the sender.
    pub ssrc: Ssrc,
    /// Sequence number as sent.
    pub seq: u16,
    /// Timestamp as sent.
    pub timestamp: u32,
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub payload_type: u8,
    /// G.711 codes (or whatever the payload type carries).
    pub payload: Vec<u8>,
    /// When it arrived.
    pub arrival: StdInstant,
}

impl AudioFrame {
    /// The payload as linear samples, if its payload type is PCMU or PCMA.
    pub fn decode(&self) -> Option<Vec<i16>> {
        Codec::from_payload_type(self.payload_type).map(|c| c.decode(&self.payload))
    }
}

/// Final statistics of a leg, returned by [`RtpLeg::stop`].
#[derive(Debug, Clone)]
pub struct LegStats {
    /// RTP packets sent (prompt, silence, or relayed towards this leg's peer).
    pub packets_sent: u64,
    /// Payload bytes sent.
    pub payload_bytes_sent: u64,
    /// Frames not sent because the task was woken too late to catch up.
    pub frames_skipped: u64,
    /// Packets the socket refused to send.
    pub send_errors: u64,
    /// RTP packets received from the peer (every one that parsed, as [`ReceiveStats::packets`]).
    pub packets_received: u64,
    /// Packets lost per RFC 3550 (expected minus received).
    pub packets_lost: i64,
    /// Interarrival jitter in milliseconds (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Datagrams from addresses other than the peer's, dropped.
    pub unexpected_source: u64,
    /// Datagrams from the peer that were not RTP, dropped.
    pub malformed: u64,
    /// Frames the audio tap could not take because it was full.
    pub tap_dropped: u64,
    /// The full receive statistics.
    pub receive: ReceiveStats,
}

#[derive(Debug, Clone, Copy, Default)]
struct LegCounters {
    unexpected_source: u64,
    frames_skipped: u64,
    send_errors: u64,
    recv_errors: u64,
    tap_dropped: u64,
}

/// What the handle asks of the task. The task reacts to each change as a whole.
#[derive(Clone, Default)]
struct Control {
    remote: Option<SocketAddr>,
    /// Bumped by every `play`; the prompt (`None`: silence) goes with it.
    play_gen: u64,
    prompt: Option<Prompt>,
    tap: Option<mpsc::Sender<AudioFrame>>,
    stop: bool,
}

/// What the task tells the handle.
#[derive(Debug, Clone, Copy, Default)]
struct Status {
    /// The last `play_gen` whose prompt has been sent in full.
    finished_gen: u64,
}

/// Everything a leg's task owns. Handed from the leg task to a bridge task and back.
struct LegParts {
    // Fields drop in declaration order: the socket must close before the lease returns its port
    // to the pool, or the next leg could be given a port that is still bound.
    socket: UdpSocket,
    _lease: PortLease,
    local: SocketAddr,
    codec: Codec,
    remote: Option<SocketAddr>,
    sender: RtpSender,
    stats: ReceiveStats,
    counters: LegCounters,
    tap: Option<mpsc::Sender<AudioFrame>>,
}

impl Drop for LegParts {
    /// However the leg ends (stopped, dropped, aborted, or after a bridge), its counters join
    /// its pool's totals.
    fn drop(&mut self) {
        self._lease.record(&MediaTotals {
            legs: 1,
            packets_sent: self.sender.packets_sent(),
            packets_received: self.stats.packets(),
            packets_lost: u64::try_from(self.stats.lost()).unwrap_or(0),
            unexpected_source: self.counters.unexpected_source,
            malformed: self.stats.malformed(),
        });
    }
}

impl LegParts {
    fn stats(&self) -> LegStats {
        LegStats {
            packets_sent: self.sender.packets_sent(),
            payload_bytes_sent: self.sender.payload_bytes_sent(),
            frames_skipped: self.counters.frames_skipped,
            send_errors: self.counters.send_errors,
            packets_received: self.stats.packets(),
            packets_lost: self.stats.lost(),
            jitter_ms: self.stats.jitter_ms(),
            unexpected_source: self.counters.unexpected_source,
            malformed: self.stats.malformed(),
            tap_dropped: self.counters.tap_dropped,
            receive: self.stats.clone(),
        }
    }

    /// Checks the source, records the packet and feeds the tap.
    fn receive(&mut self, datagram: &[u8], from: SocketAddr, arrival: StdInstant) {
        if self.remote != Some(from) {
            self.counters.unexpected_source += 1;
            return;
        }
        let Ok(pkt) = rtp::parse(datagram) else {
            self.stats.record_malformed();
            return;
        };
        let verdict = self.stats.record(&pkt, arrival);
        if matches!(verdict, Verdict::Duplicate | Verdict::Rejected) {
            return;
        }
        if let Some(tap) = &self.tap {
            let frame = AudioFrame {
                ssrc: pkt.ssrc,
                seq: pkt.seq,
                timestamp: pkt.timestamp,
                marker: pkt.marker,
                payload_type: pkt.payload_type,
                payload: pkt.payload.to_vec(),
                arrival,
            };
            match tap.try_send(frame) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.counters.tap_dropped += 1,
                Err(TrySendError::Closed(_)) => self.tap = None,
            }
        }
    }

    fn send(&mut self, packet: &[u8], to: SocketAddr) {
        if let Err(e) = self.socket.try_send_to(packet, to) {
            self.counters.send_errors += 1;
            tracing::debug!(local = %self.local, error = %e, "RTP send failed");
        }
    }
}

/// One call leg's RTP: a UDP socket bound on a leased port, and a task that sends a prompt (or
/// silence) every 20 ms and records what arrives in [`ReceiveStats`].
///
/// The task starts receiving at once; it starts sending on [`RtpLeg::play`], as soon as the remote
/// address is known. Only packets from the remote address are accepted (others are counted and
/// dropped), so nothing is received before [`RtpLeg::set_remote`].
///
/// The socket is closed and the port returned to its pool on every exit path: [`RtpLeg::stop`],
/// dropping the handle (which aborts the task), a failed bind, or the end of the runtime.
pub struct RtpLeg {
    local: SocketAddr,
    codec: Codec,
    control: watch::Sender<Control>,
    status: watch::Receiver<Status>,
    task: Option<JoinHandle<LegParts>>,
}

impl RtpLeg {
    /// Binds a leg on the pool's next free port. The pool knows only its own leases, so a port
    /// another process holds fails to bind; its lease goes back to the end of the pool's queue
    /// and the next port is tried, up to `tries` ports in all.
    pub fn bind_from(
        pool: &PortPool,
        ip: IpAddr,
        codec: Codec,
        tries: usize,
    ) -> Result<RtpLeg, MediaError> {
        for _ in 1..tries.max(1) {
            match RtpLeg::bind(pool.acquire()?, ip, codec) {
                Err(MediaError::Bind { addr, source }) => {
                    tracing::debug!(%addr, error = %source, "RTP port taken outside the pool, trying the next");
                }
                other => return other,
            }
        }
        RtpLeg::bind(pool.acquire()?, ip, codec)
    }

    /// Binds a UDP socket on `ip` at the leased port and starts the leg's task, for a leg that
    /// negotiated `codec`. Must be called inside a tokio runtime. On error the lease is dropped,
    /// so the port goes back to the pool.
    pub fn bind(lease: PortLease, ip: IpAddr, codec: Codec) -> Result<RtpLeg, MediaError> {
        let runtime = Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
        let addr = SocketAddr::new(ip, lease.port());
        let socket = bind_socket(addr)?;
        let socket = {
            let _entered = runtime.enter();
            UdpSocket::from_std(socket)
        }
        .map_err(|source| MediaError::Io {
            op: "register with tokio",
            source,
        })?;
        let local = socket.local_addr().map_err(|source| MediaError::Io {
            op: "local address",
            source,
        })?;
        let parts = LegParts {
            socket,
            _lease: lease,
            local,
            codec,
            remote: None,
            sender: RtpSender::random(codec, &mut rand::thread_rng()),
            stats: ReceiveStats::new(codec.clock_rate()),
            counters: LegCounters::default(),
            tap: None,
        };
        Ok(RtpLeg::spawn(parts, &runtime))
    }

    fn spawn(parts: LegParts, runtime: &Handle) -> RtpLeg {
        let (control, control_rx) = watch::channel(Control {
            remote: parts.remote,
            tap: parts.tap.clone(),
            ..Control::default()
        });
        let (status_tx, status) = watch::channel(Status::default());
        let local = parts.local;
        let codec = parts.codec;
        let task = runtime.spawn(run_leg(parts, control_rx, status_tx));
        RtpLeg {
            local,
            codec,
            control,
            status,
            task: Some(task),
        }
    }

    /// The local address packets are sent from and received at (what goes in our SDP).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The codec negotiated for this leg.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Sets (or changes) the peer's address, learned from its SDP. Sending starts, if `play` was
    /// called, and only packets from this address are accepted from now on.
    pub fn set_remote(&self, remote: SocketAddr) {
        self.control.send_modify(|c| c.remote = Some(remote));
    }

    /// The peer's address, if set.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.control.borrow().remote
    }

    /// Starts sending `prompt` (transcoded to the leg's codec if needed), replacing whatever was
    /// playing, and silence once it ends (unless it is looped). `None` sends silence. Sending is
    /// paced at 20 ms and continues until [`RtpLeg::stop`].
    pub fn play(&self, prompt: impl Into<Option<Prompt>>) {
        let prompt = prompt.into().map(|p| p.into_codec(self.codec));
        self.control.send_modify(|c| {
            c.play_gen += 1;
            c.prompt = prompt;
        });
    }

    /// Waits until the prompt of the latest [`RtpLeg::play`] has been sent in full. Returns at once
    /// if nothing was played, if silence was, or if the task has ended; never for a looped prompt.
    pub async fn prompt_finished(&self) {
        let gen = self.control.borrow().play_gen;
        let mut status = self.status.clone();
        // An error means the task is gone: nothing more will be played either.
        let _ = status.wait_for(|s| s.finished_gen >= gen).await;
    }

    /// A channel receiving every packet accepted from the peer, replacing any earlier tap. When it
    /// is full, frames are dropped and counted ([`LegStats::tap_dropped`]), never queued unbounded.
    pub fn audio_tap(&self, capacity: usize) -> mpsc::Receiver<AudioFrame> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.control.send_modify(|c| c.tap = Some(tx));
        rx
    }

    /// Stops the leg: ends its task, closes the socket, returns the port to the pool and reports.
    pub async fn stop(mut self) -> LegStats {
        let codec = self.codec;
        match self.join().await {
            Some(parts) => parts.stats(),
            None => LegParts::empty_stats(codec),
        }
    }

    /// Ends the task and takes back what it owned (`None` only if the runtime cancelled it).
    async fn join(&mut self) -> Option<LegParts> {
        self.control.send_modify(|c| c.stop = true);
        let task = self.task.take()?;
        match task.await {
            Ok(parts) => Some(parts),
            Err(e) => match e.try_into_panic() {
                // A bug in the task: let it surface in the caller, like a thread join would.
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => None,
            },
        }
    }
}

impl LegParts {
    fn empty_stats(codec: Codec) -> LegStats {
        LegStats {
            packets_sent: 0,
            payload_bytes_sent: 0,
            frames_skipped: 0,
            send_errors: 0,
            packets_received: 0,
            packets_lost: 0,
            jitter_ms: 0.0,
            unexpected_source: 0,
            malformed: 0,
            tap_dropped: 0,
            receive: ReceiveStats::new(codec.clock_rate()),
        }
    }
}

impl Drop for RtpLeg {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for RtpLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpLeg")
            .field("local", &self.local)
            .field("codec", &self.codec)
            .field("remote", &self.remote())
            .finish()
    }
}

fn bind_socket(addr: SocketAddr) -> Result<std::net::UdpSocket, MediaError> {
    let err = |source| MediaError::Bind { addr, source };
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    if addr.is_ipv4() {
        if let Err(e) = socket.set_tos(TOS_EF) {
            tracing::debug!(%addr, error = %e, "cannot mark RTP socket DSCP EF");
        }
    }
    socket.bind(&addr.into()).map_err(err)?;
    Ok(socket.into())
}

/// What is being sent: a prompt (or silence) from a position, paced once the remote is known.
struct Playback {
    prompt: Option<Prompt>,
    position: u64,
    gen: u64,
    pacer: Option<Pacer>,
}

enum LegEvent {
    Control,
    HandleGone,
    Tick,
    Received(std::io::Result<(usize, SocketAddr)>),
}

async fn run_leg(
    mut parts: LegParts,
    mut control: watch::Receiver<Control>,
    status: watch::Sender<Status>,
) -> LegParts {
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = vec![0u8; HEADER_LEN + FRAME_BYTES];
    let silence = [parts.codec.silence(); FRAME_BYTES];
    let mut playback: Option<Playback> = None;
    let mut recv_errors = 0u32;
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    loop {
        // Pacing needs a pacer and a destination; without both the timer branch stays disabled,
        // so an elapsed timer can never spin the loop.
        let pacing = parts.remote.is_some() && playback.as_ref().is_some_and(|p| p.pacer.is_some());
        let event = tokio::select! {
            biased;
            changed = control.changed() => match changed {
                Ok(()) => LegEvent::Control,
                Err(_) => LegEvent::HandleGone,
            },
            () = &mut sleep, if pacing => LegEvent::Tick,
            received = parts.socket.recv_from(&mut buf) => LegEvent::Received(received),
        };
        match event {
            LegEvent::HandleGone => break,
            LegEvent::Control => {
                let c = control.borrow_and_update().clone();
                // Addresses first: a leg stopped to be bridged must carry the latest remote.
                parts.remote = c.remote;
                parts.tap = c.tap;
                if c.stop {
                    break;
                }
                if playback
                    .as_ref()
                    .map_or(c.play_gen > 0, |p| p.gen != c.play_gen)
                {
                    let prompt = c.prompt.filter(|p| p.frame_count() > 0);
                    if prompt.is_none() {
                        // Silence or an empty prompt: nothing to wait for.
                        status.send_modify(|s| s.finished_gen = c.play_gen);
                    }
                    // A new prompt on a running stream keeps its pacing; it does not restart it.
                    let pacer = playback.take().and_then(|p| p.pacer);
                    playback = Some(Playback {
                        prompt,
                        position: 0,
                        gen: c.play_gen,
                        pacer,
                    });
                }
            }
            LegEvent::Tick => {
                if let (Some(p), Some(remote)) = (playback.as_mut(), parts.remote) {
                    send_due_frames(&mut parts, p, remote, &mut out, &silence, &status);
                    if let Some(pacer) = &p.pacer {
                        sleep
                            .as_mut()
                            .reset(Instant::from_std(pacer.poll_timeout()));
                    }
                }
            }
            LegEvent::Received(Ok((n, from))) => {
                recv_errors = 0;
                parts.receive(&buf[..n], from, now());
            }
            LegEvent::Received(Err(e)) => {
                parts.counters.recv_errors += 1;
                recv_errors += 1;
                tracing::debug!(local = %parts.local, error = %e, "RTP receive failed");
                if recv_errors >= MAX_CONSECUTIVE_RECV_ERRORS {
                    tracing::error!(local = %parts.local, error = %e, "RTP socket keeps failing; leg stops receiving and sending");
                    break;
                }
            }
        }
        // Start pacing once there is something to send and somewhere to send it.
        if let Some(p) = playback.as_mut().filter(|p| p.pacer.is_none()) {
            if parts.remote.is_some() {
                let at = now();
                parts.sender.resume(at);
                p.pacer = Some(Pacer::g711(at));
                sleep.as_mut().reset(Instant::from_std(at));
            }
        }
    }
    parts
}

fn send_due_frames(
    parts: &mut LegParts,
    p: &mut Playback,
    remote: SocketAddr,
    out: &mut [u8],
    silence: &[u8; FRAME_BYTES],
    status: &watch::Sender<Status>,
) {
    let Some(pacer) = p.pacer.as_mut() else {
        return;
    };
    let at = now();
    let tick = pacer.handle_timeout(at);
    if tick.skipped > 0 {
        parts.counters.frames_skipped += u64::from(tick.skipped);
        parts
            .sender
            .skip(tick.skipped.saturating_mul(FRAME_BYTES as u32));
        p.position += u64::from(tick.skipped);
    }
    for _ in 0..tick.send {
        let frame = p
            .prompt
            .as_ref()
            .and_then(|prompt| prompt.frame_at(p.position));
        let frame = frame.unwrap_or(silence);
        match parts.sender.write(frame, at, out) {
            Ok(len) => parts.send(&out[..len], remote),
            Err(e) => {
                parts.counters.send_errors += 1;
                tracing::debug!(error = %e, "cannot build RTP packet");
            }
        }
        p.position += 1;
    }
    // A prompt played once is done when its last frame has gone (or been skipped).
    if let Some(prompt) = &p.prompt {
        if !prompt.is_looped() && p.position >= prompt.frame_count() as u64 {
            p.prompt = None;
            let gen = p.gen;
            status.send_modify(|s| s.finished_gen = gen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortPool;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn bind_outside_a_runtime_is_refused_and_releases() {
        let pool = PortPool::new(41_000, 41_003).unwrap();
        let err = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap_err();
        assert!(matches!(err, MediaError::NoRuntime));
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn bind_on_a_busy_port_fails_and_releases() {
        let pool = PortPool::new(41_100, 41_101).unwrap();
        let lease = pool.acquire().unwrap();
        let squatter = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, lease.port())).unwrap();
        let err = RtpLeg::bind(lease, LOCALHOST, Codec::Pcmu).unwrap_err();
        assert!(matches!(err, MediaError::Bind { .. }), "{err}");
        assert_eq!(pool.in_use(), 0);
        drop(squatter);
    }

    #[tokio::test]
    async fn strangers_and_garbage_are_counted_not_recorded() {
        let pool = PortPool::new(41_200, 41_209).unwrap();
        let leg = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
        let peer = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let stranger = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        leg.set_remote(peer.local_addr().unwrap());
        assert_eq!(leg.remote(), peer.local_addr().ok());
        let mut tap = leg.audio_tap(4);
        let mut sender = RtpSender::new(Codec::Pcma, Ssrc(9), 0, 0);
        stranger
            .send_to(&sender.packet(&[1; 160], now()), leg.local_addr())
            .await
            .unwrap();
        peer.send_to(b"not rtp at all", leg.local_addr())
            .await
            .unwrap();
        peer.send_to(&sender.packet(&[2; 160], now()), leg.local_addr())
            .await
            .unwrap();
        // The tap sees the good packet only: by then the two before it have been handled.
        let frame = tokio::time::timeout(Duration::from_secs(5), tap.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((frame.ssrc, frame.seq, frame.payload_type), (Ssrc(9), 1, 8));
        assert_eq!(frame.decode().unwrap()[0], Codec::Pcma.decode_sample(2));
        let stats = leg.stop().await;
        assert_eq!(stats.unexpected_source, 1);
        assert_eq!(stats.malformed, 1);
        assert_eq!(stats.packets_received, 1);
        assert_eq!(stats.packets_sent, 0, "nothing was played");
        assert_eq!(pool.in_use(), 0, "stop released the port");
    }
}
