//! The live control socket (`--control ADDR`): one text command per UDP datagram, one reply.
//!
//! ```text
//!   rate N      set the call rate to N calls/s        (SIPp's "cset rate N" also works)
//!   rate +N     raise it by N; "rate -N" lowers it
//!   stop        stop launching calls; calls in progress finish (SIPp's "q" also works)
//!   stats       reply with the counters in one line
//! ```
//!
//! Loopback only and unauthenticated: any local user can send it commands, so it refuses to
//! bind anywhere else. Parsing is pure; [`ControlSocket`] is the non-blocking socket glue.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// A parsed control command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    SetRate(f64),
    AddRate(f64),
    Stop,
    Stats,
}

/// Why a command was refused; sent back as the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command (try: rate N, rate +N, rate -N, stop, stats)")]
    Unknown,
    #[error("rate wants a number of calls per second")]
    BadRate,
}

/// Longest command read; anything longer is refused unread.
pub const MAX_COMMAND: usize = 256;

impl Command {
    pub fn parse(bytes: &[u8]) -> Result<Self, CommandError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CommandError::Unknown)?;
        let mut words = text.split_whitespace();
        let (first, rest) = (words.next(), words.collect::<Vec<_>>());
        match (first, rest.as_slice()) {
            (Some("stop" | "q" | "quit"), []) => Ok(Self::Stop),
            (Some("stats"), []) => Ok(Self::Stats),
            (Some("rate"), [n]) | (Some("cset"), ["rate", n]) => rate(n),
            (Some("rate" | "cset"), _) => Err(CommandError::BadRate),
            _ => Err(CommandError::Unknown),
        }
    }

    /// The rate after this command, from the current one (`None` for non-rate commands).
    pub fn apply(self, current: f64) -> Option<f64> {
        match self {
            Self::SetRate(r) => Some(r),
            Self::AddRate(d) => Some(current + d),
            Self::Stop | Self::Stats => None,
        }
    }
}

fn rate(word: &str) -> Result<Command, CommandError> {
    let n = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or(CommandError::BadRate)
    };
    if let Some(d) = word.strip_prefix('+') {
        Ok(Command::AddRate(n(d)?))
    } else if let Some(d) = word.strip_prefix('-') {
        Ok(Command::AddRate(-n(d)?))
    } else {
        let r = n(word)?;
        if r > 0.0 {
            Ok(Command::SetRate(r))
        } else {
            Err(CommandError::BadRate)
        }
    }
}

/// The bound control socket, read without blocking from the run's loop.
#[derive(Debug)]
pub struct ControlSocket {
    socket: UdpSocket,
    buf: [u8; MAX_COMMAND],
}

impl ControlSocket {
    /// Binds `addr`, which must be a loopback address (the socket is unauthenticated).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--control {addr}: the control socket is unauthenticated and binds loopback addresses only"),
            ));
        }
        let socket = UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket,
            buf: [0; MAX_COMMAND],
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The next waiting command, with its sender; `None` when none is waiting.
    pub fn poll(&mut self) -> Option<(SocketAddr, Result<Command, CommandError>)> {
        loop {
            match self.socket.recv_from(&mut self.buf) {
                Ok((len, from)) => {
                    let parsed = if len >= MAX_COMMAND {
                        Err(CommandError::Unknown)
                    } else {
                        Command::parse(&self.buf[..len])
                    };
                    return Some((from, parsed));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                // An ICMP error from an earlier reply's sender: skip it.
                Err(_) => continue,
            }
        }
    }

    /// Best effort: a sender that went away loses its reply.
    pub fn reply(&self, to: SocketAddr, text: &str) {
        let _ = self.socket.send_to(text.as_bytes(), to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(Command::parse(b"rate 120\n"), Ok(Command::SetRate(120.0)));
        assert_eq!(Command::parse(b"cset rate 7.5"), Ok(Command::SetRate(7.5)));
        assert_eq!(Command::parse(b"rate +10"), Ok(Command::AddRate(10.0)));
        assert_eq!(Command::parse(b"rate -10"), Ok(Command::AddRate(-10.0)));
        assert_eq!(Command::parse(b"stop"), Ok(Command::Stop));
        assert_eq!(Command::parse(b"q"), Ok(Command::Stop));
        assert_eq!(Command::parse(b" stats "), Ok(Command::Stats));
    }

    #[test]
    fn bad_commands_are_refused() {
        for bad in [
            &b"rate"[..],
            b"rate 0",
            b"rate abc",
            b"rate NaN",
            b"rate inf",
            b"rate 1 2",
        ] {
            assert_eq!(Command::parse(bad), Err(CommandError::BadRate), "{bad:?}");
        }
        for bad in [&b""[..], b"reboot", b"\xff\xfe", b"stop now"] {
            assert_eq!(Command::parse(bad), Err(CommandError::Unknown), "{bad:?}");
        }
    }

    #[test]
    fn rate_changes_apply_to_the_current_rate() {
        assert_eq!(Command::AddRate(-5.0).apply(20.0), Some(15.0));
        assert_eq!(Command::SetRate(3.0).apply(20.0), Some(3.0));
        assert_eq!(Command::Stop.apply(20.0), None);
    }

    #[test]
    fn only_loopback_binds() {
        let err = ControlSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0))).expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_datagram_is_read_and_answered() {
        let mut c = ControlSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let client = UdpSocket::bind("127.0.0.1:0").expect("client");
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        client
            .send_to(b"rate 42", c.local_addr().expect("addr"))
            .expect("send");
        // The datagram is on loopback already; poll until it shows, boundedly.
        let got = (0..10_000).find_map(|_| c.poll());
        let (from, cmd) = got.expect("the command arrives");
        assert_eq!(cmd, Ok(Command::SetRate(42.0)));
        c.reply(from, "ok rate 42");
        let mut buf = [0u8; 64];
        let n = client.recv(&mut buf).expect("reply");
        assert_eq!(&buf[..n], b"ok rate 42");
    }
}
