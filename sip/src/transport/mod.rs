//! Transports: the only module that owns sockets. Thin tokio shells around the sans-IO
//! [`Endpoint`](crate::Endpoint).
//!
//! ```text
//!   udp    UdpTransport: one socket, datagrams in and out on the endpoint's task
//!   shell  Shell: UDP, TCP and TLS listeners and connections for one endpoint
//!   conn   one task per TCP/TLS connection: StreamFramer, write queue, pings, idle timeout
//!   tls    rustls client and server configurations from PEM settings
//! ```
//!
//! # Why one endpoint task and a task per connection
//! The endpoint is a plain state machine, so it has one owner: the task that runs the
//! [`Shell`], which also reads the UDP socket (as the UDP-only shell always did: no lock, no
//! hop on the hot path). A stream connection cannot live on that task without one slow
//! peer stalling everyone, so each runs in its own task that frames what it reads and feeds
//! whole messages to the endpoint's task through one bounded channel; the endpoint's task
//! writes through a bounded queue per connection with `try_send`, counting what a full queue
//! drops (RFC 3261 §18 lets a transport fail; the transaction's Timer B or F reports it).
//! Connections are kept per [`Peer`](crate::Peer): requests to a peer reuse the connection,
//! responses go back on the connection a request came on, and a message for a peer whose
//! connection is gone opens a new one. [`Shell::ready`] is cancel-safe, so the application
//! `select!`s it with its own command channel and timers on the same task.

mod conn;
mod shell;
pub mod tls;
mod udp;

pub use conn::ConnEvent;
pub use shell::{Ready, Shell, ShellConfig, ShellStats, StreamConfig};
pub use tls::{Identity, TlsClientSettings, TlsServerSettings};
pub use udp::{SocketConfig, TransportStats, UdpTransport};
