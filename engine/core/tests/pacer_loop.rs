//! The pacing loop's parts together: the zone core in virtual time pacing, popping
//! pre-fetched contacts and ending calls, and the contact queue's refill handshake across
//! real threads.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::{Clock, VirtualClock};
use outdial_core::domain::{Contact, ContactId, ContactState, JobId, UnixMs};
use outdial_core::pacing::{ContactQueue, Pacer, ZoneSnapshot, ZoneSnapshotCell};
use outdial_core::store::StoreError;
use outdial_core::zone::{Now, Zone, ZoneHost};

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

/// The zone core's host in this test: a prefetched queue refilled in line, media without
/// limit, ids from a counter, and the calls up as the board would count them.
struct Host<'a> {
    cell: &'a ZoneSnapshotCell,
    queue: &'a ContactQueue,
    next_contact: &'a mut u64,
    next_id: u64,
    up: u32,
}

impl ZoneHost for Host<'_> {
    type Agent = ();
    fn snapshot(&self) -> ZoneSnapshot {
        self.cell.load()
    }
    fn may_launch(&self, _: JobId) -> bool {
        true
    }
    fn lines_without_agent(&self, _: JobId) -> u32 {
        self.up
    }
    fn measure(&mut self, _: JobId, _: Instant, _: &mut ZoneSnapshot) {}
    fn next_contact(&mut self, _: JobId, _: UnixMs) -> Option<Contact> {
        if self.queue.claim_refill() {
            loop {
                for _ in 0..self.queue.room() {
                    self.queue
                        .push(contact(*self.next_contact))
                        .expect("room was counted");
                    *self.next_contact += 1;
                }
                if !self.queue.refill_finished() {
                    break;
                }
            }
        }
        self.queue.pop()
    }
    fn return_contact(&mut self, _: JobId, _: ContactId) {}
    fn pick_media(&mut self, _: UnixMs) -> Option<usize> {
        Some(0)
    }
    fn release_media(&mut self, _: usize) {}
    fn allocate_ids(&mut self, n: u64) -> Result<u64, StoreError> {
        let first = self.next_id;
        self.next_id += n;
        Ok(first)
    }
    fn free_agent(&mut self, _: JobId) -> Option<()> {
        None
    }
    fn stored_contact(&mut self, _: JobId, _: ContactId) -> Option<Contact> {
        None
    }
}

/// Ten minutes of agentless dialing at 50 cps with 100 lines, calls lasting 3 s, through the
/// zone core: the cap, not the rate, binds (100 lines / 3 s = 33 cps), no call goes over it,
/// and every contact the prefetcher supplies is dialed exactly once, in order, each with its
/// `Dialing` write.
#[test]
fn agentless_zone_loop_in_virtual_time() {
    let clock = VirtualClock::new();
    let origin = clock.now();
    let end = origin + Duration::from_secs(600);
    let call_length = Duration::from_secs(3);
    let queue = ContactQueue::new(256, 64);
    let cell = ZoneSnapshotCell::default();
    let campaign = Arc::new(
        CampaignSpec::from_toml(
            "name = \"loop\"\nmode = \"agentless\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[agentless]\nmax_concurrent = 100\nrate_cps = 50\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .expect("spec")
        .resolve()
        .expect("resolves"),
    );
    let mut zone: Zone = Zone::new("default", "test");
    zone.attach(JobId(1), Arc::clone(&campaign), Pacer::new(campaign.mode()));
    let mut next_contact = 0u64;
    let mut next_id = 1u64;
    let mut dialed = Vec::new();
    let mut ends: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
    let mut max_up = 0;

    while clock.now() < end {
        let now = clock.now();
        while ends.peek().is_some_and(|Reverse(t)| *t <= now) {
            ends.pop();
        }
        let up = u32::try_from(ends.len()).unwrap();
        // The zone publishes what it sees; the core reads it back without a lock.
        cell.publish(ZoneSnapshot {
            calls_ringing: up,
            ..ZoneSnapshot::default()
        });
        let mut host = Host {
            cell: &cell,
            queue: &queue,
            next_contact: &mut next_contact,
            next_id,
            up,
        };
        let d = zone.decide(Now { at: now, unix: 0 }, 1, &mut host);
        next_id = host.next_id;
        assert_eq!(
            d.writes.len(),
            3 * d.launches.len(),
            "Dialing recorded for each"
        );
        for l in &d.launches {
            dialed.push(l.entry.contact().id.0);
            ends.push(Reverse(now + call_length));
        }
        max_up = max_up.max(ends.len());
        let wake = [d.wake_at, ends.peek().map(|Reverse(t)| *t)]
            .into_iter()
            .flatten()
            .min()
            .expect("either a token or a call end is ahead");
        assert!(
            wake > now || !d.launches.is_empty(),
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
