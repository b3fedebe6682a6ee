//! Two RtpLegs on loopback exchange half a second of audio: every frame arrives, in order, paced.

mod support;

use std::time::Duration;

use media::{Codec, PortPool, Prompt, RtpLeg};
use support::{next_frame, within, LOCALHOST};

#[tokio::test]
async fn half_a_second_of_tone_arrives_whole_and_paced() {
    let pool = PortPool::new(46_000, 46_009).unwrap();
    let caller = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let callee = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    caller.set_remote(callee.local_addr());
    callee.set_remote(caller.local_addr());
    let mut tap = callee.audio_tap(128);

    // 500 ms = 25 frames of 20 ms.
    let prompt = Prompt::tone(440.0, 500, Codec::Pcmu);
    assert_eq!(prompt.frame_count(), 25);
    caller.play(prompt.clone());
    within("the prompt to finish", caller.prompt_finished()).await;
    let sent = caller.stop().await;
    // The prompt, and at most a silence frame or two if this task was slow to stop the caller.
    assert!(
        (25..=27).contains(&sent.packets_sent),
        "sent {}",
        sent.packets_sent
    );

    let mut frames = Vec::new();
    for _ in 0..sent.packets_sent {
        frames.push(next_frame(&mut tap).await);
    }
    let stats = callee.stop().await;
    assert_eq!(stats.packets_received, sent.packets_sent);
    assert_eq!(stats.packets_lost, 0);
    assert_eq!(stats.receive.duplicates(), 0);
    assert!(
        stats.jitter_ms < 20.0,
        "jitter {} ms on loopback",
        stats.jitter_ms
    );
    assert_eq!(pool.in_use(), 0);

    // The audio is the prompt, frame for frame; numbering and timestamps are continuous.
    for (k, frame) in frames.iter().take(25).enumerate() {
        assert_eq!(frame.payload, prompt.frame(k).unwrap(), "frame {k}");
        assert_eq!(frame.payload_type, 0);
        assert_eq!(
            frame.marker,
            k == 0,
            "marker on the first packet only (frame {k})"
        );
        assert_eq!(frame.seq, frames[0].seq.wrapping_add(k as u16));
        assert_eq!(
            frame.timestamp,
            frames[0].timestamp.wrapping_add(160 * k as u32)
        );
        assert_eq!(frame.ssrc, frames[0].ssrc);
    }
    // Paced at 20 ms: 24 intervals between the first and the 25th frame, never sent early.
    let span = frames[24].arrival - frames[0].arrival;
    assert!(
        span >= Duration::from_millis(400),
        "25 frames in {span:?}: not paced"
    );
    assert!(
        span <= Duration::from_secs(2),
        "25 frames in {span:?}: far too slow"
    );
}

#[tokio::test]
async fn both_directions_at_once() {
    let pool = PortPool::new(46_010, 46_019).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
    let b = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
    a.set_remote(b.local_addr());
    b.set_remote(a.local_addr());
    let mut tap_a = a.audio_tap(128);
    let mut tap_b = b.audio_tap(128);
    a.play(Prompt::tone(1000.0, 500, Codec::Pcma));
    b.play(None); // silence
    for _ in 0..25 {
        next_frame(&mut tap_a).await;
        next_frame(&mut tap_b).await;
    }
    let (sa, sb) = (a.stop().await, b.stop().await);
    for (name, s) in [("a", &sa), ("b", &sb)] {
        assert!(
            s.packets_received >= 25,
            "{name} received {}",
            s.packets_received
        );
        assert!(s.packets_sent >= 25, "{name} sent {}", s.packets_sent);
        assert_eq!(s.packets_lost, 0, "{name}");
        assert_eq!(s.unexpected_source + s.malformed, 0, "{name}");
    }
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn a_prompt_played_before_the_remote_is_known_waits_for_it() {
    let pool = PortPool::new(46_020, 46_029).unwrap();
    let a = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcmu).unwrap();
    let b = RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, Codec::Pcma).unwrap();
    b.set_remote(a.local_addr());
    let mut tap = b.audio_tap(64);
    // A's prompt is in A-law; the leg transcodes it to its own µ-law.
    let prompt = Prompt::tone(500.0, 100, Codec::Pcma);
    a.play(prompt.clone());
    // Nothing can be sent before the SDP answer gives us the remote address...
    a.set_remote(b.local_addr());
    // ...and then the prompt starts from its first frame.
    let first = next_frame(&mut tap).await;
    assert_eq!(first.payload_type, 0);
    assert_eq!(
        first.payload,
        prompt.clone().into_codec(Codec::Pcmu).frame(0).unwrap()
    );
    within("the prompt to finish", a.prompt_finished()).await;
    a.stop().await;
    b.stop().await;
}
