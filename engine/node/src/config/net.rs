//! IP networks in CIDR notation (`10.0.0.0/8`, `fc00::/7`), for the networks agents' phones
//! may be in.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP network: an address and a prefix length, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// A network that does not parse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a network in CIDR notation (10.0.0.0/8, fc00::/7): {why}")]
pub struct BadNet {
    text: String,
    why: &'static str,
}

impl IpNet {
    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u128::from(u32::from(a)), self.prefix, 32) == u128::from(u32::from(n))
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(a), self.prefix, 128) == u128::from(n)
            }
            _ => false,
        }
    }
}

fn masked(v: u128, prefix: u8, bits: u8) -> u128 {
    let host = u32::from(bits - prefix.min(bits));
    if host >= 128 {
        0
    } else {
        (v >> host) << host
    }
}

impl FromStr for IpNet {
    type Err = BadNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadNet {
            text: s.to_owned(),
            why,
        };
        let (a, p) = s.trim().split_once('/').ok_or_else(|| bad("no /prefix"))?;
        let addr: IpAddr = a.parse().map_err(|_| bad("not an IP address"))?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = p.parse().map_err(|_| bad("the prefix is not a number"))?;
        if prefix > bits {
            return Err(bad("the prefix is longer than the address"));
        }
        let net = IpNet { addr, prefix };
        let host_bits_zero = match addr {
            IpAddr::V4(v) => {
                masked(u128::from(u32::from(v)), prefix, 32) == u128::from(u32::from(v))
            }
            IpAddr::V6(v) => masked(u128::from(v), prefix, 128) == u128::from(v),
        };
        if !host_bits_zero {
            return Err(bad("host bits are set (did you mean the network address?)"));
        }
        Ok(net)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        assert!(net("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("172.16.0.0/12").contains(ip("172.31.255.255")));
        assert!(!net("172.16.0.0/12").contains(ip("172.32.0.0")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
        assert!(net("fc00::/7").contains(ip("fd12::1")));
        assert!(!net("fc00::/7").contains(ip("fe80::1")));
        assert!(net("::1/128").contains(ip("::1")));
        assert!(
            net("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")),
            "v4-mapped"
        );
        assert!(net("::/0").contains(ip("2001:db8::1")));
        assert_eq!(net("192.168.0.0/16").to_string(), "192.168.0.0/16");
    }

    #[test]
    fn bad_networks_say_why() {
        for bad in [
            "10.0.0.0",
            "10.0.0.1/8",
            "10.0.0.0/33",
            "x/8",
            "10.0.0.0/x",
            "::1/129",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }
}
