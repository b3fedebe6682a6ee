//! Every way a leg or a bridge can end gives its RTP port back, with the socket really closed.

mod support;

use media::{spawn_bridge, Codec, MediaError, PortPool, Prompt, RtpLeg};
use support::{within, LOCALHOST};

#[tokio::test]
async fn stop_releases_at_once_and_the_port_can_be_bound_again() {
    let pool = PortPool::new(46_200, 46_203).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let b = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    assert_eq!(pool.in_use(), 2);
    assert!(matches!(
        pool.acquire(),
        Err(MediaError::PortsExhausted { capacity: 2, .. })
    ));
    let port = a.local_addr().port();
    a.stop().await;
    assert_eq!(pool.in_use(), 1);
    // The freed port is the next one handed out, and binding it works: the socket is closed.
    let again = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    assert_eq!(again.local_addr().port(), port);
    again.stop().await;
    b.stop().await;
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn dropping_a_playing_leg_releases_its_port() {
    let pool = PortPool::new(46_210, 46_213).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
    let sink = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    a.set_remote(sink.local_addr().unwrap());
    a.play(Prompt::tone(300.0, 1000, Codec::Pcma).looped(true));
    let mut buf = [0u8; 256];
    within("the leg to send", sink.recv(&mut buf))
        .await
        .unwrap();
    drop(a);
    within("the dropped leg's port", pool.drained()).await;
    // And the port binds again.
    RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma)
        .unwrap()
        .stop()
        .await;
}

#[tokio::test]
async fn dropping_a_bridge_releases_both_ports() {
    let pool = PortPool::new(46_220, 46_223).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let b = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
    let bridge = spawn_bridge(a, b).await.unwrap();
    assert_eq!(pool.in_use(), 2);
    drop(bridge);
    within("both bridged ports", pool.drained()).await;
}

#[tokio::test]
async fn stopping_a_bridge_releases_both_ports_at_once() {
    let pool = PortPool::new(46_230, 46_233).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let b = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let stats = spawn_bridge(a, b).await.unwrap().stop().await.unwrap();
    assert_eq!(stats.from_a.relayed + stats.from_b.relayed, 0);
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn a_failed_bind_releases_its_lease() {
    let pool = PortPool::new(46_240, 46_241).unwrap();
    let squatter = std::net::UdpSocket::bind((LOCALHOST, 46_240)).unwrap();
    let err = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap_err();
    assert!(matches!(err, MediaError::Bind { .. }), "{err}");
    assert_eq!(pool.in_use(), 0);
    drop(squatter);
}

#[test]
fn ending_the_runtime_releases_every_port() {
    let pool = PortPool::new(46_250, 46_259).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let legs: Vec<RtpLeg> = runtime.block_on(async {
        (0..5)
            .map(|_| RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap())
            .collect()
    });
    assert_eq!(pool.in_use(), 5);
    // The legs' tasks are dropped with the runtime, even though their handles are still alive.
    drop(runtime);
    assert_eq!(pool.in_use(), 0);
    drop(legs);
}
