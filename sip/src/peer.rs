//! Where a message came from or goes: a transport and a socket address.
//!
//! The sans-IO core names peers this way in every `Transmit` and receive call; the transport
//! shells map a [`Peer`] to a socket (UDP) or a connection (TCP, TLS).

use std::fmt;
use std::net::SocketAddr;

/// The transports SIP runs over here (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2); `sips:` URIs name it.
    Tls,
}

impl Transport {
    /// Whether the transport itself delivers reliably, so transactions do not retransmit
    /// (RFC 3261 §17: no Timer A, E or G, and no lingering for retransmissions).
    #[inline]
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The transport as Via's sent-protocol writes it (`SIP/2.0/TCP`).
    #[inline]
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The value of a URI's `transport` parameter that names it.
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The port a URI without one means (RFC 3261 §19.1.2): 5061 for TLS, else 5060.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            _ => 5060,
        }
    }

    /// The transport a Via sent-protocol or `transport` parameter names, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .find(|t| name.eq_ignore_ascii_case(t.uri_param()))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_name())
    }
}

/// A transport and the socket address at its other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Self {
        Self {
            transport: Transport::Udp,
            addr,
        }
    }

    pub fn tcp(addr: SocketAddr) -> Self {
        Self {
            transport: Transport::Tcp,
            addr,
        }
    }

    pub fn tls(addr: SocketAddr) -> Self {
        Self {
            transport: Transport::Tls,
            addr,
        }
    }
}

/// A bare socket address is a UDP peer, as everywhere before streams existed.
impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Self {
        Self::udp(addr)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.uri_param(), self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_reliability() {
        assert!(!Transport::Udp.is_reliable());
        assert!(Transport::Tcp.is_reliable() && Transport::Tls.is_reliable());
        assert_eq!(Transport::from_name("TcP"), Some(Transport::Tcp));
        assert_eq!(Transport::from_name("sctp"), None);
        let p = Peer::tls("192.0.2.1:5061".parse().expect("addr"));
        assert_eq!(p.to_string(), "tls:192.0.2.1:5061");
        assert_eq!(Transport::Tls.default_port(), 5061);
        let udp: Peer = SocketAddr::from(([127, 0, 0, 1], 5060)).into();
        assert_eq!(udp.transport, Transport::Udp);
    }
}
