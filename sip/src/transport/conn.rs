//! One TCP or TLS connection's task: reads octets through a [`StreamFramer`] and hands whole
//! messages to the endpoint's task, writes what that task queued, answers pings, sends pings
//! when we opened an idle connection, and closes an idle one.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant as TokioInstant};

use crate::error::Error;
use crate::msg::stream::{PING, PONG};
use crate::msg::{Frame, Origin, StreamFramer};
use crate::peer::Peer;

/// How connections behave. See [`StreamConfig`](super::StreamConfig) for units and defaults.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnSettings {
    pub max_message: usize,
    pub idle_timeout: Duration,
    pub keepalive: Option<Duration>,
    pub pong_timeout: Duration,
}

/// What a connection task tells the endpoint's task.
#[derive(Debug)]
pub enum ConnEvent {
    /// A whole message arrived on connection `id`.
    Message { id: u64, peer: Peer, bytes: Vec<u8> },
    /// Connection `id` is gone, with the reason when it was not an orderly close.
    Closed {
        id: u64,
        peer: Peer,
        error: Option<Error>,
    },
}

/// Runs connection `id` to `peer` until it ends; always reports `Closed` last.
pub(super) async fn run<S>(
    stream: S,
    id: u64,
    peer: Peer,
    origin: Origin,
    settings: ConnSettings,
    mut queue: mpsc::Receiver<Vec<u8>>,
    events: mpsc::Sender<ConnEvent>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let error = serve(stream, id, peer, origin, settings, &mut queue, &events)
        .await
        .err();
    let _ = events.send(ConnEvent::Closed { id, peer, error }).await;
}

async fn serve<S>(
    stream: S,
    id: u64,
    peer: Peer,
    origin: Origin,
    settings: ConnSettings,
    queue: &mut mpsc::Receiver<Vec<u8>>,
    events: &mpsc::Sender<ConnEvent>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut framer = StreamFramer::new(origin, settings.max_message);
    let mut buf = vec![0u8; 16 * 1024];
    // Idleness counts SIP messages only; keep-alives count as traffic for the next ping.
    let mut last_message = TokioInstant::now();
    let mut last_io = last_message;
    // While a ping of ours waits for its pong: when we give up on it.
    let mut pong_due: Option<TokioInstant> = None;
    let keepalive = settings.keepalive.filter(|_| origin == Origin::Outbound);
    loop {
        let idle_at = last_message + settings.idle_timeout;
        let ping_at = keepalive
            .map(|k| last_io + k)
            .filter(|_| pong_due.is_none());
        let wake = [Some(idle_at), ping_at, pong_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(idle_at);
        tokio::select! {
            read = rd.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    framer.finish()?;
                    return Ok(());
                }
                last_io = TokioInstant::now();
                framer.push(buf.get(..n).unwrap_or(&[]));
                while let Some(frame) = framer.poll()? {
                    match frame {
                        Frame::Message(bytes) => {
                            last_message = last_io;
                            // Bounded: a slow endpoint task slows this reader, never grows memory.
                            if events.send(ConnEvent::Message { id, peer, bytes }).await.is_err() {
                                return Ok(());
                            }
                        }
                        Frame::Ping => wr.write_all(PONG).await?,
                        Frame::Pong => pong_due = None,
                    }
                }
            }
            queued = queue.recv() => {
                let Some(payload) = queued else {
                    // The endpoint's task dropped this connection.
                    wr.shutdown().await?;
                    return Ok(());
                };
                wr.write_all(&payload).await?;
                last_message = TokioInstant::now();
                last_io = last_message;
            }
            _ = sleep_until(wake) => {
                let now = TokioInstant::now();
                if pong_due.is_some_and(|due| now >= due) {
                    return Err(Error::Protocol("no pong to our keep-alive ping (RFC 5626 §4.4.1)"));
                }
                if now >= idle_at {
                    wr.shutdown().await?;
                    return Ok(());
                }
                if ping_at.is_some_and(|at| now >= at) {
                    wr.write_all(PING).await?;
                    pong_due = Some(now + settings.pong_timeout);
                    last_io = now;
                }
            }
        }
    }
}
