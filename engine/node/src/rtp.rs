//! The node's RTP side as its actors take it: the port pool and the address legs bind to.

use std::net::IpAddr;

use media::{Codec, MediaError, MediaTotals, PortPool, RtpLeg};

/// Where call legs get their sockets. Cheap to clone.
#[derive(Clone)]
pub struct Rtp {
    ports: PortPool,
    ip: IpAddr,
}

impl Rtp {
    pub fn new(ports: PortPool, ip: IpAddr) -> Self {
        Self { ports, ip }
    }

    /// A G.711 µ-law leg on a free port, sending 20 ms frames.
    pub fn bind_leg(&self) -> Result<RtpLeg, MediaError> {
        RtpLeg::bind_from(&self.ports, self.ip, Codec::Pcmu, 8)
    }

    /// What the legs that have ended sent and received.
    pub fn totals(&self) -> MediaTotals {
        self.ports.totals()
    }

    /// The address written in SDP offers.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}
