//! A customer's audio reaches the agent through the relay (customer leg → bridge → agent leg),
//! transcoded, as one continuous stream on the agent's side, even across a customer restart.

mod support;

use media::{spawn_bridge, AudioFrame, Codec, PortPool, Prompt, RtpLeg, Side};
use support::{next_frame, within, LOCALHOST};
use tokio::sync::mpsc;

/// Reads the agent's tap until the first frame that is not silence in `codec`.
async fn skip_silence(
    tap: &mut mpsc::Receiver<AudioFrame>,
    codec: Codec,
) -> (Vec<AudioFrame>, AudioFrame) {
    let mut silence = Vec::new();
    loop {
        let f = next_frame(tap).await;
        if f.payload.iter().any(|&c| c != codec.silence()) {
            return (silence, f);
        }
        silence.push(f);
    }
}

#[tokio::test]
async fn customer_audio_reaches_the_agent_transcoded() {
    let pool = PortPool::new(46_100, 46_119).unwrap();
    let bind = |codec| RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, codec).unwrap();
    // Customer and our customer-facing leg speak µ-law; the agent side speaks A-law.
    let customer = bind(Codec::Pcmu);
    let to_customer = bind(Codec::Pcmu);
    let to_agent = bind(Codec::Pcma);
    let agent = bind(Codec::Pcma);
    customer.set_remote(to_customer.local_addr());
    to_customer.set_remote(customer.local_addr());
    to_agent.set_remote(agent.local_addr());
    agent.set_remote(to_agent.local_addr());
    let mut agent_tap = agent.audio_tap(256);

    // The agent is nailed: it hears silence from us before the customer is connected.
    to_agent.play(None);
    let nailed: Vec<AudioFrame> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(next_frame(&mut agent_tap).await);
        }
        v
    };
    let bridge = spawn_bridge(to_customer, to_agent).await.unwrap();

    let prompt = Prompt::tone(700.0, 500, Codec::Pcmu);
    customer.play(prompt.clone());
    let (more_silence, first) = skip_silence(&mut agent_tap, Codec::Pcma).await;
    let mut heard = vec![first];
    for _ in 1..25 {
        heard.push(next_frame(&mut agent_tap).await);
    }
    within(
        "the customer's prompt to finish",
        customer.prompt_finished(),
    )
    .await;

    // What the agent hears is what the customer sent, frame for frame.
    let in_alaw = prompt.clone().into_codec(Codec::Pcma);
    for (k, frame) in heard.iter().enumerate() {
        assert_eq!(frame.payload_type, 8, "frame {k}");
        assert_eq!(frame.payload, in_alaw.frame(k).unwrap(), "frame {k}");
        let sent = Codec::Pcmu.decode(prompt.frame(k).unwrap());
        let got = frame.decode().unwrap();
        for (s, g) in sent.iter().zip(&got) {
            // µ-law → A-law re-quantisation only: within half an A-law step at this level.
            let bound = i32::from(*s).abs() / 32 + 16;
            assert!(
                (i32::from(*s) - i32::from(*g)).abs() <= bound,
                "frame {k}: sent {s}, heard {g}"
            );
        }
    }

    // One stream on the agent's side: same SSRC as the nailed silence, no gap in numbering, and a
    // marker where the customer's talkspurt begins.
    let before = more_silence.last().unwrap_or(nailed.last().unwrap());
    assert!(heard
        .iter()
        .chain(&nailed)
        .all(|f| f.ssrc == nailed[0].ssrc));
    assert_eq!(heard[0].seq, before.seq.wrapping_add(1));
    assert!(heard[0].marker);
    assert!(heard[0].timestamp.wrapping_sub(before.timestamp) >= 160);
    for (k, pair) in heard.windows(2).enumerate() {
        assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "after frame {k}");
        assert_eq!(
            pair[1].timestamp,
            pair[0].timestamp.wrapping_add(160),
            "after frame {k}"
        );
        assert!(!pair[1].marker);
    }

    let customer_stats = customer.stop().await;
    let stats = bridge.stop().await.unwrap();
    assert!(
        stats.from_a.relayed >= 25,
        "relayed {}",
        stats.from_a.relayed
    );
    assert_eq!(stats.from_a.relayed, stats.from_a.transcoded);
    assert_eq!(stats.from_a.relayed, stats.leg_a.packets_received);
    assert!(stats.from_a.relayed <= customer_stats.packets_sent);
    assert_eq!(stats.from_a.unexpected_source + stats.from_a.malformed, 0);
    assert_eq!(stats.from_b.relayed, 0, "the agent said nothing");
    assert_eq!(
        stats.leg_b.packets_sent,
        (nailed.len() + more_silence.len()) as u64 + stats.from_a.relayed
    );
    let agent_stats = agent.stop().await;
    assert_eq!(agent_stats.packets_lost, 0);
    assert_eq!(agent_stats.receive.ssrc_changes(), 0);
    assert_eq!(pool.in_use(), 0, "all four ports back");
}

#[tokio::test]
async fn a_customer_restart_is_one_stream_for_the_agent_and_unbridge_continues_it() {
    let pool = PortPool::new(46_120, 46_139).unwrap();
    let bind = |codec| RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, codec).unwrap();
    let first_customer = bind(Codec::Pcmu);
    let to_customer = bind(Codec::Pcmu);
    let to_agent = bind(Codec::Pcmu);
    let agent = bind(Codec::Pcmu);
    first_customer.set_remote(to_customer.local_addr());
    to_customer.set_remote(first_customer.local_addr());
    to_agent.set_remote(agent.local_addr());
    agent.set_remote(to_agent.local_addr());
    let mut agent_tap = agent.audio_tap(256);
    let bridge = spawn_bridge(to_customer, to_agent).await.unwrap();

    let hello = Prompt::tone(400.0, 100, Codec::Pcmu);
    first_customer.play(hello.clone());
    let mut heard = Vec::new();
    for _ in 0..5 {
        heard.push(next_frame(&mut agent_tap).await);
    }
    first_customer.stop().await;

    // The customer side comes back from another address with a new SSRC and numbering (a
    // re-INVITE moved the media); the engine tells the bridge where it is now.
    let second_customer = bind(Codec::Pcmu);
    second_customer.set_remote(bridge.local_addr(Side::A));
    bridge.set_remote(Side::A, second_customer.local_addr());
    let again = Prompt::tone(800.0, 100, Codec::Pcmu);
    second_customer.play(again.clone());
    for _ in 0..5 {
        heard.push(next_frame(&mut agent_tap).await);
    }
    within("the second prompt", second_customer.prompt_finished()).await;
    second_customer.stop().await;

    for (k, f) in heard.iter().enumerate() {
        let want = if k < 5 {
            hello.frame(k)
        } else {
            again.frame(k - 5)
        };
        assert_eq!(f.payload, want.unwrap(), "frame {k}");
        assert_eq!(f.ssrc, heard[0].ssrc, "frame {k}");
        if k > 0 {
            assert_eq!(
                f.seq,
                heard[k - 1].seq.wrapping_add(1),
                "frame {k}: numbering continues"
            );
        }
    }
    assert!(heard[5].marker, "the restart begins a talkspurt");
    assert!(heard[5].timestamp.wrapping_sub(heard[4].timestamp) >= 160);

    // The customer is gone; the agent stays nailed and hears silence on the same stream.
    let (to_customer, to_agent) = bridge.unbridge().await.unwrap();
    drop(to_customer);
    to_agent.play(None);
    let next = next_frame(&mut agent_tap).await;
    assert_eq!(next.ssrc, heard[0].ssrc);
    assert_eq!(next.seq, heard[9].seq.wrapping_add(1));
    assert_eq!(next.payload, [Codec::Pcmu.silence(); 160]);
    let agent_stats = agent.stop().await;
    assert_eq!(agent_stats.packets_lost, 0);
    assert_eq!(agent_stats.receive.ssrc_changes(), 0);
    drop(to_agent);
    within("every port back", pool.drained()).await;
}
