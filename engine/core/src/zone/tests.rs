//! The zone core against a host made of plain values.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::*;
use crate::campaign::CampaignSpec;
use crate::clock::{Clock, VirtualClock};
use crate::domain::ContactState;

#[derive(Default)]
struct Host {
    snap: ZoneSnapshot,
    running: bool,
    lines: u32,
    queue: HashMap<JobId, VecDeque<Contact>>,
    returned: Vec<ContactId>,
    media_free: usize,
    released_media: usize,
    next_id: u64,
    ids_fail: bool,
    free_agents: VecDeque<&'static str>,
    stored: HashMap<ContactId, Contact>,
}

impl ZoneHost for Host {
    type Agent = &'static str;
    fn snapshot(&self) -> ZoneSnapshot {
        self.snap
    }
    fn may_launch(&self, _: JobId) -> bool {
        self.running
    }
    fn lines_without_agent(&self, _: JobId) -> u32 {
        self.lines
    }
    fn measure(&mut self, _: JobId, _: Instant, _: &mut ZoneSnapshot) {}
    fn next_contact(&mut self, job: JobId, _: UnixMs) -> Option<Contact> {
        self.queue.get_mut(&job)?.pop_front()
    }
    fn return_contact(&mut self, _: JobId, contact: ContactId) {
        self.returned.push(contact);
    }
    fn pick_media(&mut self, _: UnixMs) -> Option<usize> {
        (self.media_free > 0).then(|| {
            self.media_free -= 1;
            0
        })
    }
    fn release_media(&mut self, _: usize) {
        self.released_media += 1;
    }
    fn allocate_ids(&mut self, n: u64) -> Result<u64, StoreError> {
        if self.ids_fail {
            return Err(StoreError::Closed);
        }
        let first = self.next_id;
        self.next_id += n;
        Ok(first)
    }
    fn free_agent(&mut self, _: JobId) -> Option<&'static str> {
        self.free_agents.pop_front()
    }
    fn stored_contact(&mut self, _: JobId, contact: ContactId) -> Option<Contact> {
        self.stored.get(&contact).cloned()
    }
}

const JOB: JobId = JobId(1);

fn campaign(mode: &str) -> Arc<Campaign> {
    let text = format!(
        "name = \"t\"\nmode = \"{mode}\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n"
    );
    Arc::new(CampaignSpec::from_toml(&text).unwrap().resolve().unwrap())
}

fn contact(id: u64) -> Contact {
    Contact {
        id: ContactId(id),
        job: JOB,
        phone: format!("+1555{id:07}"),
        tz: None,
        fields: BTreeMap::new(),
        attempts: 0,
        state: ContactState::Ready { not_before: 0 },
        last_code: None,
    }
}

fn host(contacts: u64, ready: u32, media: usize) -> Host {
    Host {
        snap: ZoneSnapshot {
            agents_ready: ready,
            agents_total: ready,
            ..ZoneSnapshot::default()
        },
        running: true,
        queue: HashMap::from([(JOB, (0..contacts).map(contact).collect())]),
        media_free: media,
        next_id: 100,
        ..Host::default()
    }
}

fn zone(mode: &str) -> Zone {
    let mut z = Zone::new("default", "n1");
    let c = campaign(mode);
    assert!(z.attach(JOB, Arc::clone(&c), Pacer::new(c.mode())));
    z
}

fn now() -> Now {
    Now {
        at: VirtualClock::new().now(),
        unix: 1_000_000,
    }
}

#[test]
fn progressive_opens_one_attempt_per_ready_agent_with_its_dialing_write() {
    let mut z = zone("progressive");
    let mut h = host(5, 2, 10);
    let d = z.decide(now(), 7, &mut h);
    assert_eq!(d.launches.len(), 2);
    assert_eq!(
        d.writes.len(),
        6,
        "an attempt, its contact and its number's history per launch"
    );
    let e = &d.launches[0].entry;
    assert_eq!(e.attempt().id, AttemptId(100));
    assert_eq!(e.attempt().state, AttemptState::Dialing);
    assert_eq!(e.attempt().epoch, 7);
    assert_eq!(
        e.contact().state,
        ContactState::InFlight {
            attempt: AttemptId(100)
        }
    );
    assert_eq!(d.launches[0].mode, CallMode::WithAgent);
    assert!(!d.ran_dry);
    // The lines are the host's to count: with both still without an agent, no more calls.
    h.lines = 2;
    assert!(z.decide(now(), 7, &mut h).launches.is_empty());
}

#[test]
fn no_media_ends_the_attempt_at_once_under_its_retry_rule() {
    let mut z = zone("progressive");
    let mut h = host(5, 2, 1);
    let d = z.decide(now(), 1, &mut h);
    assert_eq!(d.launches.len(), 1);
    assert_eq!(d.unplaced.len(), 1);
    assert_eq!(d.unplaced[0].code, CompletionCode::NoMediaResource);
    let completed = d.writes.iter().any(|w| {
        matches!(w, Write::Attempt(a) if a.state == AttemptState::Completed(CompletionCode::NoMediaResource))
    });
    assert!(completed);
    let retried = d.writes.iter().any(|w| {
        matches!(w, Write::Contact { contact, .. } if contact.id == d.unplaced[0].contact && matches!(contact.state, ContactState::Ready { not_before } if not_before > 1_000_000))
    });
    assert!(retried, "{:?}", d.writes);
}

#[test]
fn without_ids_nothing_is_dialed_and_the_contact_goes_back() {
    let mut z = zone("progressive");
    let mut h = host(5, 2, 10);
    h.ids_fail = true;
    let d = z.decide(now(), 1, &mut h);
    assert!(d.launches.is_empty() && d.writes.is_empty());
    assert_eq!(h.returned, vec![ContactId(0)]);
    assert_eq!(h.released_media, 1);
}

#[test]
fn a_paused_job_launches_nothing_and_a_dry_list_is_reported() {
    let mut z = zone("progressive");
    let mut h = host(1, 3, 10);
    h.running = false;
    assert!(z.decide(now(), 1, &mut h).launches.is_empty());
    h.running = true;
    let d = z.decide(now(), 1, &mut h);
    assert_eq!(d.launches.len(), 1);
    assert!(d.ran_dry);
}

#[test]
fn agentless_paces_by_rate_and_wakes_for_the_next_token() {
    let mut z = Zone::new("default", "n1");
    let c = Arc::new(
        CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"agentless\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[agentless]\nrate_cps = 10\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .unwrap()
        .resolve()
        .unwrap(),
    );
    z.attach(JOB, Arc::clone(&c), Pacer::new(c.mode()));
    let mut h = host(100, 0, 100);
    let t = now();
    let d = z.decide(t, 1, &mut h);
    assert!(!d.launches.is_empty());
    assert_eq!(d.launches[0].mode, CallMode::Agentless);
    let wake = d.wake_at.expect("the rate sets the next decision");
    assert!(wake > t.at && wake <= t.at + Duration::from_millis(200));
}

#[test]
fn previews_are_offered_accepted_under_the_shown_id_or_skipped() {
    let mut z = zone("preview");
    let mut h = host(3, 0, 10);
    h.free_agents = VecDeque::from(["ann", "bob"]);
    let d = z.decide(now(), 2, &mut h);
    assert!(
        d.launches.is_empty() && d.writes.is_empty(),
        "nothing recorded while agents look"
    );
    assert_eq!(d.offers.len(), 2);
    let (agent, info) = &d.offers[0];
    assert_eq!(*agent, "ann");
    let PreviewStart::Launch { writes, launch } = z.accept_preview(info, now(), 2, &mut h) else {
        panic!("accepted preview launches");
    };
    assert_eq!(writes.len(), 3);
    assert_eq!(launch.entry.id(), info.attempt);
    assert_eq!(launch.mode, CallMode::Preview);
    let (_, skipped) = &d.offers[1];
    let (w, job, c) = z.skip_preview(skipped, now(), &mut h).expect("held");
    assert_eq!((job, c), (JOB, skipped.contact));
    assert!(
        matches!(w, Write::Contact { contact, .. } if contact.state == ContactState::Ready { not_before: 1_000_000 + preview::SKIPPED_PREVIEW_DELAY_MS })
    );
    // A second skip of the same preview finds nothing (not held, not in storage).
    assert!(z.skip_preview(skipped, now(), &mut h).is_none());
}

#[test]
fn a_preview_from_before_a_takeover_is_read_back_from_storage() {
    let mut z = zone("preview");
    let mut h = host(0, 0, 10);
    h.stored.insert(ContactId(9), contact(9));
    let info = CallInfo {
        attempt: AttemptId(5000),
        job: JOB,
        contact: ContactId(9),
        phone: String::new(),
        fields: BTreeMap::new(),
    };
    assert!(matches!(
        z.accept_preview(&info, now(), 3, &mut h),
        PreviewStart::Launch { .. }
    ));
    let other_job = CallInfo {
        job: JobId(2),
        ..info
    };
    assert!(matches!(
        z.accept_preview(&other_job, now(), 3, &mut h),
        PreviewStart::Gone
    ));
}

#[test]
fn a_preview_with_nothing_to_show_leaves_the_agent_free_and_detach_returns_held_ones() {
    let mut z = zone("preview");
    let mut h = host(1, 0, 10);
    h.free_agents = VecDeque::from(["ann", "bob"]);
    let d = z.decide(now(), 1, &mut h);
    assert_eq!(d.offers.len(), 1);
    assert_eq!(d.unoffered, vec!["bob"]);
    assert_eq!(z.detach(JOB), vec![ContactId(0)]);
    assert!(!z.has_job(JOB));
}
