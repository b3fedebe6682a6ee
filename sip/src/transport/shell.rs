//! The multi-transport shell: UDP, TCP and TLS listeners and connections for one endpoint.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::conn::{self, ConnEvent, ConnSettings};
use super::tls::{self, TlsClientSettings, TlsServerSettings};
use super::udp::{SocketConfig, TransportStats, UdpTransport};
use crate::endpoint::{Endpoint, EndpointConfig};
use crate::error::Error;
use crate::msg::{Origin, MAX_MESSAGE_OCTETS};
use crate::peer::{Peer, Transport};

/// How stream connections behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Largest message taken from a stream, header section and body, in octets; default
    /// 65,535 (what `parse_datagram` accepts), bounds 1,024..=65,535 in practice.
    pub max_message: usize,
    /// A connection that carried no SIP message either way for this long is closed; default
    /// 300 s.
    pub idle_timeout: Duration,
    /// A connection we opened is pinged (CRLF CRLF) after this long without traffic; default
    /// 90 s (RFC 5626 §4.4.1 suggests 95-120 s for TCP); `None` sends no pings.
    pub keepalive: Option<Duration>,
    /// A ping not answered within this closes the connection; default 10 s (RFC 5626 §4.4.1).
    pub pong_timeout: Duration,
    /// Messages waiting to be written on one connection before new ones are dropped and
    /// counted; default 256.
    pub write_queue: usize,
    /// Messages from all connections waiting for the endpoint's task; default 1,024. A full
    /// queue slows the connections' readers (TCP flow control), never grows memory.
    pub inbound_queue: usize,
    /// Giving up on a TCP connect (and TLS handshake); default 5 s.
    pub connect_timeout: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_message: MAX_MESSAGE_OCTETS,
            idle_timeout: Duration::from_secs(300),
            keepalive: Some(Duration::from_secs(90)),
            pong_timeout: Duration::from_secs(10),
            write_queue: 256,
            inbound_queue: 1024,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What to listen on and how to reach TLS peers. Every listener is optional.
#[derive(Debug, Clone, Default)]
pub struct ShellConfig {
    pub udp: Option<(SocketAddr, SocketConfig)>,
    pub tcp: Option<SocketAddr>,
    /// A TLS listener and what it presents.
    pub tls: Option<(SocketAddr, TlsServerSettings)>,
    /// How outgoing TLS connections check servers; without it TLS peers cannot be reached.
    pub tls_client: Option<TlsClientSettings>,
    pub streams: StreamConfig,
}

/// Counters of the shell.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShellStats {
    pub udp: TransportStats,
    pub connections_opened: u64,
    pub connections_accepted: u64,
    pub connections_closed: u64,
    /// Closed by an error: connect or handshake failure, framing, keep-alive, I/O.
    pub connection_errors: u64,
    pub stream_messages_in: u64,
    pub stream_messages_out: u64,
    /// Messages dropped because a connection's write queue was full.
    pub write_queue_full: u64,
    /// Messages for a transport this shell does not run (no UDP socket, no TLS client).
    pub unroutable: u64,
}

/// Something the shell is ready to handle; see [`Shell::ready`].
#[derive(Debug)]
pub enum Ready {
    Udp,
    Conn(ConnEvent),
    Accepted {
        stream: TcpStream,
        from: SocketAddr,
        transport: Transport,
    },
}

#[derive(Debug)]
struct Conn {
    id: u64,
    queue: mpsc::Sender<Vec<u8>>,
}

/// How many connection errors [`Shell::take_errors`] keeps.
const ERRORS_KEPT: usize = 32;

/// Listeners, connections and the UDP socket of one endpoint. It lives on the endpoint's
/// task; see the module documentation of [`crate::transport`].
pub struct Shell {
    udp: Option<UdpTransport>,
    tcp: Option<TcpListener>,
    tls: Option<(TcpListener, TlsAcceptor)>,
    connector: Option<TlsConnector>,
    server_names: HashMap<SocketAddr, ServerName<'static>>,
    conns: HashMap<Peer, Conn>,
    next_id: u64,
    events_tx: mpsc::Sender<ConnEvent>,
    events_rx: mpsc::Receiver<ConnEvent>,
    settings: StreamConfig,
    stats: ShellStats,
    errors: VecDeque<(Peer, Error)>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("connections", &self.conns.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Shell {
    /// Binds every configured listener. Must be called inside a tokio runtime.
    pub async fn bind(cfg: ShellConfig) -> Result<Self, Error> {
        let udp = match cfg.udp {
            Some((addr, sock)) => Some(UdpTransport::bind(addr, sock)?),
            None => None,
        };
        let tcp = match cfg.tcp {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let tls = match &cfg.tls {
            Some((addr, server)) => {
                let acceptor = TlsAcceptor::from(tls::server_config(server)?);
                Some((TcpListener::bind(addr).await?, acceptor))
            }
            None => None,
        };
        let connector = match &cfg.tls_client {
            Some(client) => Some(TlsConnector::from(tls::client_config(client)?)),
            None => None,
        };
        let (events_tx, events_rx) = mpsc::channel(cfg.streams.inbound_queue.max(1));
        Ok(Self {
            udp,
            tcp,
            tls,
            connector,
            server_names: HashMap::new(),
            conns: HashMap::new(),
            next_id: 0,
            events_tx,
            events_rx,
            settings: cfg.streams,
            stats: ShellStats::default(),
            errors: VecDeque::new(),
        })
    }

    /// [`bind`](Self::bind) for a caller that cannot await (a constructor running inside a
    /// tokio runtime, as an actix system's start-up does): UDP and a TCP listener, bound at
    /// once. TLS listeners need [`bind`](Self::bind).
    pub fn bind_now(cfg: ShellConfig) -> Result<Self, Error> {
        if cfg.tls.is_some() {
            return Err(Error::Usage("bind_now binds no TLS listener; use bind"));
        }
        let udp = match cfg.udp {
            Some((addr, sock)) => Some(UdpTransport::bind(addr, sock)?),
            None => None,
        };
        let tcp = match cfg.tcp {
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr)?;
                l.set_nonblocking(true)?;
                Some(TcpListener::from_std(l)?)
            }
            None => None,
        };
        let connector = match &cfg.tls_client {
            Some(client) => Some(TlsConnector::from(tls::client_config(client)?)),
            None => None,
        };
        let (events_tx, events_rx) = mpsc::channel(cfg.streams.inbound_queue.max(1));
        Ok(Self {
            udp,
            tcp,
            tls: None,
            connector,
            server_names: HashMap::new(),
            conns: HashMap::new(),
            next_id: 0,
            events_tx,
            events_rx,
            settings: cfg.streams,
            stats: ShellStats::default(),
            errors: VecDeque::new(),
        })
    }

    /// The addresses listened on: UDP, TCP, TLS.
    pub fn local_addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>, Option<SocketAddr>) {
        let udp = self.udp.as_ref().and_then(|u| u.local_addr().ok());
        let tcp = self.tcp.as_ref().and_then(|l| l.local_addr().ok());
        let tls = self.tls.as_ref().and_then(|(l, _)| l.local_addr().ok());
        (udp, tcp, tls)
    }

    /// An endpoint configuration whose Via and Contact name these listeners.
    pub fn endpoint_config(&self) -> EndpointConfig {
        let (udp, tcp, tls) = self.local_addrs();
        let unspecified = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut cfg = EndpointConfig::new(udp.or(tcp).or(tls).unwrap_or(unspecified));
        cfg.local_tcp = tcp;
        cfg.local_tls = tls;
        cfg
    }

    /// The host name a TLS server at `addr` must prove (RFC 3261 §26.3.1: the host of the URI
    /// the address was resolved from). Without one the certificate must name the IP address.
    pub fn set_server_name(&mut self, addr: SocketAddr, name: &str) -> Result<(), Error> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| Error::Usage("not a valid DNS name or IP address"))?;
        self.server_names.insert(addr, name);
        Ok(())
    }

    pub fn stats(&self) -> ShellStats {
        ShellStats {
            udp: self
                .udp
                .as_ref()
                .map(UdpTransport::stats)
                .unwrap_or_default(),
            ..self.stats
        }
    }

    /// Open connections (either direction).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The errors that closed connections since the last call (at most the latest 32).
    pub fn take_errors(&mut self) -> Vec<(Peer, Error)> {
        self.errors.drain(..).collect()
    }

    /// Closes the connection to `peer`, if there is one (its queued messages are written
    /// first).
    pub fn close(&mut self, peer: Peer) {
        self.conns.remove(&peer);
    }

    /// Waits until something can be handled. Cancel-safe, so it can sit in a `select!` with
    /// the application's own inputs.
    pub async fn ready(&mut self) -> Result<Ready, Error> {
        let udp = async {
            match &self.udp {
                Some(u) => u.readable().await,
                None => std::future::pending().await,
            }
        };
        let tcp = accept(self.tcp.as_ref());
        let tls = accept(self.tls.as_ref().map(|(l, _)| l));
        tokio::select! {
            r = udp => { r?; Ok(Ready::Udp) }
            ev = self.events_rx.recv() => match ev {
                Some(ev) => Ok(Ready::Conn(ev)),
                // Cannot happen while the shell holds a sender; refused rather than unwrapped.
                None => Err(Error::Usage("connection channel closed")),
            },
            r = tcp => { let (stream, from) = r?; Ok(Ready::Accepted { stream, from, transport: Transport::Tcp }) }
            r = tls => { let (stream, from) = r?; Ok(Ready::Accepted { stream, from, transport: Transport::Tls }) }
        }
    }

    /// Feeds what [`ready`](Self::ready) returned into the endpoint, then sends what it
    /// produced. Drain the endpoint's events afterwards, as after any `handle_*`.
    pub async fn handle(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        ready: Ready,
    ) -> Result<(), Error> {
        self.feed(ep, now, ready)?;
        self.flush(ep).await;
        Ok(())
    }

    /// [`handle`](Self::handle) without the sending, for an owner that sends what the
    /// endpoint queued itself (its own UDP socket beside this shell's streams, through
    /// [`send_stream`](Self::send_stream)).
    pub fn feed(&mut self, ep: &mut Endpoint, now: Instant, ready: Ready) -> Result<(), Error> {
        match ready {
            Ready::Udp => {
                if let Some(u) = &mut self.udp {
                    u.receive(ep, now, 512)?;
                }
            }
            Ready::Conn(ConnEvent::Message { peer, bytes, .. }) => {
                self.stats.stream_messages_in += 1;
                ep.handle_message(now, peer, &bytes);
            }
            Ready::Conn(ConnEvent::Closed { id, peer, error }) => self.closed(id, peer, error),
            Ready::Accepted {
                stream,
                from,
                transport,
            } => self.accepted(stream, from, transport),
        }
        Ok(())
    }

    /// Sends every message the endpoint has queued, each over its transport.
    pub async fn flush(&mut self, ep: &mut Endpoint) {
        while let Some(t) = ep.poll_transmit() {
            match (t.dest.transport, &mut self.udp) {
                (Transport::Udp, Some(u)) => u.send(&t.payload, t.dest.addr).await,
                (Transport::Udp, None) => self.stats.unroutable += 1,
                (_, _) => self.send_stream(t.dest, t.payload),
            }
        }
    }

    fn settings(&self) -> ConnSettings {
        ConnSettings {
            max_message: self.settings.max_message,
            idle_timeout: self.settings.idle_timeout,
            keepalive: self.settings.keepalive,
            pong_timeout: self.settings.pong_timeout,
        }
    }

    fn closed(&mut self, id: u64, peer: Peer, error: Option<Error>) {
        self.stats.connections_closed += 1;
        // A stale report (the connection was already replaced) leaves the new one alone.
        if self.conns.get(&peer).is_some_and(|c| c.id == id) {
            self.conns.remove(&peer);
        }
        if let Some(e) = error {
            self.stats.connection_errors += 1;
            tracing::debug!(%peer, error = %e, "SIP connection closed");
            if self.errors.len() == ERRORS_KEPT {
                self.errors.pop_front();
            }
            self.errors.push_back((peer, e));
        }
    }

    fn accepted(&mut self, stream: TcpStream, from: SocketAddr, transport: Transport) {
        let _ = stream.set_nodelay(true);
        self.stats.connections_accepted += 1;
        let peer = Peer {
            transport,
            addr: from,
        };
        let (id, queue) = self.register(peer);
        let (settings, events) = (self.settings(), self.events_tx.clone());
        let acceptor = self.tls.as_ref().map(|(_, a)| a.clone());
        let handshake = self.settings.connect_timeout;
        tokio::spawn(async move {
            match (transport, acceptor) {
                (Transport::Tls, Some(acceptor)) => {
                    let tls = tokio::time::timeout(handshake, acceptor.accept(stream)).await;
                    match tls.map_err(|_| timed_out()).and_then(|r| r) {
                        Ok(s) => {
                            conn::run(s, id, peer, Origin::Inbound, settings, queue, events).await
                        }
                        Err(e) => report(&events, id, peer, e).await,
                    }
                }
                _ => conn::run(stream, id, peer, Origin::Inbound, settings, queue, events).await,
            }
        });
    }

    /// A new connection's id and write queue, replacing any older one to the same peer.
    fn register(&mut self, peer: Peer) -> (u64, mpsc::Receiver<Vec<u8>>) {
        self.next_id += 1;
        let (tx, rx) = mpsc::channel(self.settings.write_queue.max(1));
        self.conns.insert(
            peer,
            Conn {
                id: self.next_id,
                queue: tx,
            },
        );
        (self.next_id, rx)
    }

    /// Queues one message for `peer` over TCP or TLS, on its connection, opening one if there
    /// is none (what could not be queued is counted in [`ShellStats`]).
    pub fn send_stream(&mut self, peer: Peer, payload: Vec<u8>) {
        let attempt = match self.conns.get(&peer) {
            Some(c) => c.queue.try_send(payload),
            None => Err(mpsc::error::TrySendError::Closed(payload)),
        };
        let payload = match attempt {
            Ok(()) => {
                self.stats.stream_messages_out += 1;
                return;
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.write_queue_full += 1;
                return;
            }
            // None yet, or gone (the peer or the idle timer closed it): connect for this one.
            Err(mpsc::error::TrySendError::Closed(p)) => p,
        };
        if !self.connect(peer) {
            self.stats.unroutable += 1;
            return;
        }
        match self.conns.get(&peer).map(|c| c.queue.try_send(payload)) {
            Some(Ok(())) => self.stats.stream_messages_out += 1,
            _ => self.stats.write_queue_full += 1,
        }
    }

    /// Starts a connection to `peer`; messages queue behind the connect. False when this
    /// shell cannot reach that transport.
    fn connect(&mut self, peer: Peer) -> bool {
        let tls = match peer.transport {
            Transport::Tls => {
                let Some(connector) = self.connector.clone() else {
                    return false;
                };
                let name = self
                    .server_names
                    .get(&peer.addr)
                    .cloned()
                    .unwrap_or_else(|| ServerName::IpAddress(peer.addr.ip().into()));
                Some((connector, name))
            }
            _ => None,
        };
        self.stats.connections_opened += 1;
        let (id, queue) = self.register(peer);
        let (settings, events) = (self.settings(), self.events_tx.clone());
        let limit = self.settings.connect_timeout;
        tokio::spawn(async move {
            let tcp = tokio::time::timeout(limit, TcpStream::connect(peer.addr)).await;
            let tcp = match tcp.map_err(|_| timed_out()).and_then(|r| r) {
                Ok(tcp) => tcp,
                Err(e) => return report(&events, id, peer, e).await,
            };
            let _ = tcp.set_nodelay(true);
            match tls {
                Some((connector, name)) => {
                    let tls = tokio::time::timeout(limit, connector.connect(name, tcp)).await;
                    match tls.map_err(|_| timed_out()).and_then(|r| r) {
                        Ok(s) => {
                            conn::run(s, id, peer, Origin::Outbound, settings, queue, events).await
                        }
                        Err(e) => report(&events, id, peer, e).await,
                    }
                }
                None => conn::run(tcp, id, peer, Origin::Outbound, settings, queue, events).await,
            }
        });
        true
    }
}

async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connect or TLS handshake timed out",
    )
}

async fn report(events: &mpsc::Sender<ConnEvent>, id: u64, peer: Peer, e: std::io::Error) {
    // rustls' refusals (a wrong server name, an unknown CA, a missing client certificate)
    // come wrapped in io::Error; unwrap them so callers can tell a TLS failure by its type.
    let error = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => Error::Tls(tls.clone()),
        None => Error::Io(e),
    };
    let _ = events
        .send(ConnEvent::Closed {
            id,
            peer,
            error: Some(error),
        })
        .await;
}
