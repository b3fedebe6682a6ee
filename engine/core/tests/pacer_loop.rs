//! The pacing loop's parts together: a zone loop in virtual time that paces, pops pre-fetched
//! contacts and ends calls, and the contact queue's refill handshake across real threads.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use outdial_core::clock::{Clock, VirtualClock};
use outdial_core::domain::{Contact, ContactId, ContactState, JobId};
use outdial_core::pacing::{ContactQueue, Pacer, PacingPolicy, ZoneSnapshot, ZoneSnapshotCell};

fn contact(id: u64) -> Contact {
    Contact {
        id: ContactId(id),
        job: JobId(1),
        phone: format!("+1555{id:07}"),
        tz: None,
        fields: BTreeMap::new(),
        attempts: 0,
        state: ContactState::Ready { not_before: 0 },
        last_code: None,
    }
}

/// Ten minutes of agentless dialing at 50 cps with 100 lines, calls lasting 3 s: the cap, not
/// the rate, binds (100 lines / 3 s = 33 cps), no call goes over it, and every contact the
/// prefetcher supplies is dialed exactly once, in order.
#[test]
fn agentless_zone_loop_in_virtual_time() {
    let clock = VirtualClock::new();
    let origin = clock.now();
    let end = origin + Duration::from_secs(600);
    let call_length = Duration::from_secs(3);
    let cell = ZoneSnapshotCell::default();
    let queue = ContactQueue::new(256, 64);
    let mut pacer = Pacer::new(PacingPolicy::Agentless {
        max_concurrent: Some(100),
        rate_cps: Some(50.0),
    });
    let mut next_id = 0u64;
    let mut dialed = Vec::new();
    let mut ends: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
    let mut max_up = 0;

    let refill = |queue: &ContactQueue, next_id: &mut u64| loop {
        for _ in 0..queue.room() {
            queue.push(contact(*next_id)).expect("room was counted");
            *next_id += 1;
        }
        if !queue.refill_finished() {
            break;
        }
    };

    while clock.now() < end {
        let now = clock.now();
        while ends.peek().is_some_and(|Reverse(t)| *t <= now) {
            ends.pop();
        }
        let up = u32::try_from(ends.len()).unwrap();
        // The zone publishes what it sees; the loop reads it back without a lock.
        cell.publish(ZoneSnapshot {
            calls_ringing: up,
            ..ZoneSnapshot::default()
        });
        let n = pacer.decide(now, &cell.load(), up);
        let mut launched = 0;
        for _ in 0..n {
            if queue.claim_refill() {
                refill(&queue, &mut next_id);
            }
            let Some(c) = queue.pop() else { break };
            dialed.push(c.id.0);
            ends.push(Reverse(now + call_length));
            launched += 1;
        }
        pacer.give_back(n - launched);
        max_up = max_up.max(ends.len());
        let wake = [
            pacer.next_decision_at(now),
            ends.peek().map(|Reverse(t)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("either a token or a call end is ahead");
        assert!(
            wake > now || n > 0,
            "the loop would spin at {:?}",
            now - origin
        );
        clock.advance_to(wake.max(now + Duration::from_nanos(1)));
    }

    assert_eq!(max_up, 100, "the concurrency cap binds and holds");
    // 100 calls every 3 s for 600 s, launched in waves paced by the 50 cps grid.
    let expected = 600 / 3 * 100;
    assert!(dialed.len().abs_diff(expected) <= 100, "{}", dialed.len());
    assert!(
        dialed.iter().enumerate().all(|(i, id)| *id == i as u64),
        "each contact once, in order"
    );
    assert_eq!(queue.starved(), 0, "the prefetcher kept up");
}

/// A prefetcher thread refills the queue on request while the loop pops 200,000 contacts:
/// every contact arrives exactly once and no wake-up is lost (the test would hang).
#[test]
fn refill_handshake_across_threads() {
    const TOTAL: u64 = 200_000;
    let queue = Arc::new(ContactQueue::new(512, 128));
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let prefetcher = {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || {
            let mut next = 0u64;
            while next < TOTAL && wake_rx.recv().is_ok() {
                loop {
                    for _ in 0..queue.room() {
                        if next == TOTAL {
                            break;
                        }
                        queue.push(contact(next)).expect("room was counted");
                        next += 1;
                    }
                    if next == TOTAL || !queue.refill_finished() {
                        break;
                    }
                }
            }
        })
    };
    let mut expected = 0u64;
    while expected < TOTAL {
        if queue.claim_refill() {
            wake_tx.send(()).expect("prefetcher alive");
        }
        match queue.pop() {
            Some(c) => {
                assert_eq!(c.id.0, expected);
                expected += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    drop(wake_tx);
    prefetcher.join().expect("prefetcher finished");
    assert!(queue.pop().is_none());
}
