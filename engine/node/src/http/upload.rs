//! A CSV upload streamed into the importer: the request body goes chunk by chunk through a
//! small bounded channel to the importer's blocking reader, so the node holds a few chunks of
//! the file at a time, whatever its size, and reading the socket waits while the importer
//! is busy. The body is counted on the way; past the limit the import stops.

use std::io::{self, Read};

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::gate::too_large;
use crate::import::ImportReport;
use crate::NodeHandle;
use outdial_core::domain::JobId;

/// Chunks in flight between the socket and the importer.
const CHUNKS: usize = 4;

/// The importer's end: blocks for the next chunk (call from a blocking thread only).
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        ChannelReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(b)) => self.cur = b,
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

/// How feeding the importer ended.
enum Fed {
    All,
    /// The body passed `limit` bytes.
    TooLarge(u64),
    /// The client's body broke off.
    Broken(String),
    /// The importer stopped reading (it failed, or finished early).
    Stopped,
}

/// Streams `body` into `job`'s contacts; at most `limit` bytes.
pub async fn import(
    node: &NodeHandle,
    job: JobId,
    mut body: web::Payload,
    limit: u64,
) -> Result<ImportReport, ApiError> {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS);
    let feed = async move {
        let mut seen: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other("the upload broke off"))).await;
                    return Fed::Broken(e.to_string());
                }
            };
            seen += chunk.len() as u64;
            if seen > limit {
                let _ = tx
                    .send(Err(io::Error::other("the upload is over the size limit")))
                    .await;
                return Fed::TooLarge(limit);
            }
            if tx.send(Ok(chunk)).await.is_err() {
                return Fed::Stopped;
            }
        }
        Fed::All
    };
    let (report, fed) = tokio::join!(node.import_csv(job, ChannelReader::new(rx), false), feed);
    match fed {
        Fed::TooLarge(limit) => Err(too_large(limit)),
        Fed::Broken(why) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the upload broke off: {why}"),
        )),
        Fed::All | Fed::Stopped => Ok(report?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_joins_chunks_and_ends_when_the_sender_does() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::channel(2);
        let reader = std::thread::spawn(move || {
            let mut out = String::new();
            ChannelReader::new(rx).read_to_string(&mut out).map(|_| out)
        });
        rt.block_on(async {
            for part in ["phone\n+1212", "5550100\n", ""] {
                tx.send(Ok(Bytes::from(part))).await.expect("send");
            }
        });
        drop(tx);
        let got = reader.join().expect("join").expect("read");
        assert_eq!(got, "phone\n+12125550100\n");
    }
}
