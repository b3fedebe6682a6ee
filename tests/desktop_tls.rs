//! The API and the desktop WebSocket over TLS: a CA and the node's certificate made at test
//! time (rcgen), a node serving HTTPS from them, and the simulated desktop logging an agent in
//! over `wss://` trusting that CA — while a desktop that does not trust it, or speaks plain
//! `ws://` to the TLS port, gets nowhere.

mod support;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use outdial_tools::api_client::ApiClient;
use outdial_tools::desktop_client::{DesktopClient, TlsTrust};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use support::desktop::agents_toml;
use support::node::*;
use support::*;

/// Writes `ca.pem`, `node.pem` (for localhost and 127.0.0.1, signed by the CA) and
/// `node.key` into `dir`.
fn make_pki(dir: &Path) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "outdial test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
    let key = KeyPair::generate().expect("node key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("node params");
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    params
        .distinguished_name
        .push(DnType::CommonName, "outdial test node");
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("sign the node's certificate");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
    std::fs::write(dir.join("node.pem"), cert.pem()).expect("write node.pem");
    std::fs::write(dir.join("node.key"), key.serialize_pem()).expect("write node.key");
}

#[test]
fn an_agent_logs_in_over_wss_with_the_deployments_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_pki(dir.path());
    let (_phones, phones) = outdial_peer(Some("peer-agent-phones.toml"), None);
    let mpp = format!("127.0.0.1:{}", free_udp_port())
        .parse()
        .expect("addr");
    let extra = format!(
        "[http]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n{}",
        dir.path().join("node.pem").display(),
        dir.path().join("node.key").display(),
        agents_toml(2, "")
    );
    let node = Node::start_with(
        dir.path(),
        "tls-node",
        &[MppConf::new("none", mpp, 60_000)],
        &extra,
    );
    let ca = dir.path().join("ca.pem");

    // The API over https, trusting the CA: the admin token works.
    let api = ApiClient::new(
        &format!("https://127.0.0.1:{}", node.api.port()),
        Some(node.token.clone()),
        Some(&ca),
    )
    .expect("client");
    let me = api
        .json("GET", "/v1/whoami", None)
        .expect("whoami over https");
    assert_eq!(me["role"], "admin", "{me}");
    // Plain HTTP to the TLS port gets no HTTP answer (a TLS alert, or nothing).
    let plain = {
        use std::io::{Read, Write};
        let mut t = std::net::TcpStream::connect(node.api).expect("connect");
        t.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // The node may hang up mid-request: a failed write is an answer too.
        let _ = write!(
            t,
            "GET /v1/whoami HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            node.api, node.token
        );
        let mut out = Vec::new();
        let _ = t.read_to_end(&mut out);
        out
    };
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plain HTTP served on the TLS port: {plain:?}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let url = format!("wss://127.0.0.1:{}/v1/desktop", node.api.port());
        let trust = TlsTrust(outdial_tools::tls::client_config(&ca).expect("trust the CA"));
        let mut d = DesktopClient::connect_with(&url, Some(&trust))
            .await
            .expect("wss with the CA");
        let phone = format!("sip:agent-0@{phones}");
        let ok = d
            .login(
                "agent-0",
                "password-0",
                "default",
                &phone,
                Duration::from_secs(10),
            )
            .await
            .expect("logged in over wss");
        assert_eq!(ok.agent, "agent-0");
        d.close().await.expect("close");

        // Not trusting the CA (the public roots only): the handshake fails.
        let e = DesktopClient::connect(&url)
            .await
            .expect_err("an unknown CA is refused");
        assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
        // ws:// to the TLS port: no WebSocket.
        let plain = format!("ws://127.0.0.1:{}/v1/desktop", node.api.port());
        assert!(
            DesktopClient::connect(&plain).await.is_err(),
            "plain ws:// to the TLS port"
        );
    });
    let agents = api.json("GET", "/v1/agents", None).expect("agents");
    assert!(agents.as_array().is_some(), "{agents}");
}
