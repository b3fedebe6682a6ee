//! TCP and TLS for the SIP plant, present only when a trunk wants them: a [`Shell`] without
//! UDP (the plant keeps its own socket for that), a TCP listener on the UDP socket's address
//! (so a peer can open connections to our Contact), and outgoing TCP and TLS connections to
//! the trunks' next hops, each reused by every request to that hop (REGISTERs and INVITEs).

use std::net::SocketAddr;
use std::sync::Arc;

use sip::transport::{Ready, Shell, ShellConfig, StreamConfig, TlsClientSettings, UdpTransport};
use sip::{Endpoint, EndpointConfig, Transport};

use crate::config::Trunk;

/// Binds the streams the trunks need (none when every trunk is UDP) and names our TCP
/// address in `cfg` for Via and Contact.
pub(crate) fn bind(
    trunks: &[Arc<Trunk>],
    local: SocketAddr,
    cfg: &mut EndpointConfig,
) -> Result<Option<Shell>, sip::Error> {
    if trunks.iter().all(|t| t.transport == Transport::Udp) {
        return Ok(None);
    }
    let tls = trunks
        .iter()
        .filter(|t| t.transport == Transport::Tls)
        .find_map(|t| t.tls_ca_pem.clone());
    let wants_tls = trunks.iter().any(|t| t.transport == Transport::Tls);
    let mut shell = Shell::bind_now(ShellConfig {
        udp: None,
        tcp: Some(local),
        tls: None,
        tls_client: wants_tls.then(|| TlsClientSettings {
            webpki_roots: tls.is_none(),
            ca_pem: tls,
            client_identity: None,
        }),
        streams: StreamConfig::default(),
    })?;
    for t in trunks.iter().filter(|t| t.transport == Transport::Tls) {
        // The certificate must name the trunk's domain (RFC 3261 §26.3.1), unless it is an
        // address.
        let host = t
            .domain
            .rsplit_once(':')
            .map_or(t.domain.as_str(), |(h, _)| h);
        if host.parse::<std::net::IpAddr>().is_err() {
            shell.set_server_name(t.next_hop, host)?;
        }
    }
    let (_, tcp, _) = shell.local_addrs();
    cfg.local_tcp = tcp;
    Ok(Some(shell))
}

/// Waits for the streams (never returns without them), cancel-safe for a `select!`.
pub(crate) async fn ready(streams: &mut Option<Shell>) -> Result<Ready, sip::Error> {
    match streams {
        Some(s) => s.ready().await,
        None => std::future::pending().await,
    }
}

/// Sends what the endpoint queued: datagrams on the plant's socket, the rest on the streams.
pub(crate) async fn flush(ep: &mut Endpoint, udp: &mut UdpTransport, streams: &mut Option<Shell>) {
    while let Some(t) = ep.poll_transmit() {
        match (t.dest.transport, streams.as_mut()) {
            (Transport::Udp, _) => udp.send(&t.payload, t.dest.addr).await,
            (_, Some(s)) => s.send_stream(t.dest, t.payload),
            // No streams: the transaction's timer reports the loss.
            (_, None) => {}
        }
    }
}
