//! UDP: a thin shell that moves datagrams between one socket and an [`Endpoint`]; one socket
//! serves every dialog, and since the endpoint lives on the task that owns the socket,
//! dispatch needs no lock at all.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::endpoint::Endpoint;

/// The largest datagram we accept; anything bigger is truncated by the kernel and then
/// rejected by framing (Content-Length no longer fits).
const MAX_DATAGRAM: usize = 65_535;

/// Socket options. Large buffers matter: with the kernel's defaults SIPp itself starts
/// dropping calls at about 1,500 calls/s on a 2-core machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketConfig {
    /// SO_RCVBUF in bytes; default 4 MiB (the kernel may cap it at net.core.rmem_max).
    pub recv_buffer_bytes: usize,
    /// SO_SNDBUF in bytes; default 4 MiB.
    pub send_buffer_bytes: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            recv_buffer_bytes: 4 << 20,
            send_buffer_bytes: 4 << 20,
        }
    }
}

/// Counters of the socket shell.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransportStats {
    pub received: u64,
    pub sent: u64,
    /// Sends the kernel refused (buffer full after waiting, unreachable peer ...).
    pub send_errors: u64,
}

/// One UDP socket feeding one endpoint.
#[derive(Debug)]
pub struct UdpTransport {
    socket: UdpSocket,
    buf: Vec<u8>,
    stats: TransportStats,
}

impl UdpTransport {
    /// Binds with the given buffer sizes. Must be called inside a tokio runtime.
    pub fn bind(addr: SocketAddr, cfg: SocketConfig) -> io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        // Ask, and accept what the kernel grants: a smaller buffer is not an error.
        let _ = socket.set_recv_buffer_size(cfg.recv_buffer_bytes);
        let _ = socket.set_send_buffer_size(cfg.send_buffer_bytes);
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let socket = UdpSocket::from_std(socket.into())?;
        Ok(Self {
            socket,
            buf: vec![0; MAX_DATAGRAM],
            stats: TransportStats::default(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The buffer sizes the kernel actually granted (receive, send).
    pub fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        let s = socket2::SockRef::from(&self.socket);
        Ok((s.recv_buffer_size()?, s.send_buffer_size()?))
    }

    pub fn stats(&self) -> TransportStats {
        self.stats
    }

    /// Waits until a datagram can be read.
    pub async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Reads every datagram already queued (up to `max`) into the endpoint, then sends
    /// whatever it produced. Returns how many datagrams were read.
    pub async fn pump(&mut self, ep: &mut Endpoint, now: Instant, max: usize) -> io::Result<usize> {
        let n = self.receive(ep, now, max)?;
        self.flush(ep).await;
        Ok(n)
    }

    /// Reads every datagram already queued (up to `max`) into the endpoint, sending nothing.
    pub fn receive(&mut self, ep: &mut Endpoint, now: Instant, max: usize) -> io::Result<usize> {
        let mut n = 0;
        while n < max {
            match self.socket.try_recv_from(&mut self.buf) {
                Ok((len, from)) => {
                    n += 1;
                    self.stats.received += 1;
                    ep.handle_datagram(now, from, &self.buf[..len]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // ICMP port-unreachable surfaces here on Linux as ECONNREFUSED: not fatal.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Reads and throws away every datagram already queued (up to `max`): a fault that
    /// drops the network for a while. Returns how many were dropped.
    pub fn discard(&mut self, max: usize) -> io::Result<usize> {
        let mut n = 0;
        while n < max {
            match self.socket.try_recv_from(&mut self.buf) {
                Ok(_) => n += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Sends every datagram the endpoint has queued. A message for a TCP or TLS peer has no
    /// way out of a UDP-only shell: it is counted as a send error (the transaction's timer
    /// reports the loss); [`Shell`](super::Shell) carries those.
    pub async fn flush(&mut self, ep: &mut Endpoint) {
        while let Some(t) = ep.poll_transmit() {
            if t.dest.transport == crate::peer::Transport::Udp {
                self.send(&t.payload, t.dest.addr).await;
            } else {
                self.stats.send_errors += 1;
            }
        }
    }

    /// Sends one datagram, waiting for buffer space rather than dropping it.
    pub async fn send(&mut self, payload: &[u8], dest: SocketAddr) {
        loop {
            match self.socket.try_send_to(payload, dest) {
                Ok(_) => {
                    self.stats.sent += 1;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        self.stats.send_errors += 1;
                        return;
                    }
                }
                Err(_) => {
                    // Unreachable peer or the like: the transaction's timers handle the loss.
                    self.stats.send_errors += 1;
                    return;
                }
            }
        }
    }
}
