//! The sled store against the `Store` contract: records read back after a reopen, the Ready
//! index and counters follow contacts through Ready → InFlight → Final and retries, due
//! contacts come oldest first within their limit, and id blocks never repeat.

use std::collections::BTreeMap;

use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, CampaignId, CompletionCode, Contact, ContactId, ContactState,
    JobId,
};
use outdial_node::storage::{
    CampaignRecord, ContactCounts, Job, JobState, SledStore, Store, Write,
};

fn contact(job: u64, id: u64, not_before: u64) -> Contact {
    Contact {
        id: ContactId(id),
        job: JobId(job),
        phone: format!("+1212555{id:04}"),
        tz: Some("America/New_York".into()),
        fields: BTreeMap::from([("name".to_string(), format!("c{id}"))]),
        attempts: 0,
        state: ContactState::Ready { not_before },
        last_code: None,
    }
}

fn attempt(job: u64, id: u64, contact: u64, state: AttemptState) -> Attempt {
    Attempt {
        id: AttemptId(id),
        job: JobId(job),
        contact: ContactId(contact),
        number: 1,
        state,
        history: vec![(1_000, AttemptState::Dialing)],
        sip_status: None,
        node: "node-a".into(),
        epoch: 3,
        amd: None,
    }
}

fn job(id: u64) -> Job {
    Job {
        id: JobId(id),
        campaign: CampaignId(1),
        zone: "east".into(),
        state: JobState::Running,
        created_at: 10,
        updated_at: 20,
    }
}

fn counts(s: &dyn Store, job: u64) -> (u64, u64, u64, u64) {
    let ContactCounts {
        total,
        ready,
        in_flight,
        final_,
    } = s.contact_counts(JobId(job)).expect("counts");
    (total, ready, in_flight, final_)
}

fn ids(cs: &[Contact]) -> Vec<u64> {
    cs.iter().map(|c| c.id.0).collect()
}

#[test]
fn records_read_back_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let campaign = CampaignRecord {
        id: CampaignId(1),
        name: "spring".into(),
        spec: r#"{"mode":"progressive"}"#.into(),
        created_at: 5,
    };
    let c = contact(7, 1, 0);
    let a = attempt(7, 1, 1, AttemptState::Dialing);
    {
        let s = SledStore::open(dir.path()).expect("open");
        s.commit(&[
            Write::Campaign(campaign.clone()),
            Write::Job(job(7)),
            Write::Contact {
                contact: c.clone(),
                was: None,
            },
            Write::Attempt(a.clone()),
        ])
        .expect("commit");
    }
    let s = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(
        s.campaign(CampaignId(1)).expect("campaign"),
        Some(campaign.clone())
    );
    assert_eq!(s.campaigns().expect("campaigns"), vec![campaign]);
    assert_eq!(s.job(JobId(7)).expect("job"), Some(job(7)));
    assert_eq!(s.jobs().expect("jobs"), vec![job(7)]);
    assert_eq!(s.contact(JobId(7), ContactId(1)).expect("contact"), Some(c));
    assert_eq!(s.contact(JobId(8), ContactId(1)).expect("other job"), None);
    assert_eq!(s.attempts(JobId(7)).expect("attempts"), vec![a.clone()]);
    assert_eq!(s.transient_attempts().expect("transient"), vec![a]);
    assert_eq!(s.job(JobId(99)).expect("missing job"), None);
}

#[test]
fn index_and_counters_follow_a_contact_through_its_life() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    let c = contact(1, 1, 0);
    let other = contact(1, 2, 0);
    s.commit(&[
        Write::Contact {
            contact: c.clone(),
            was: None,
        },
        Write::Contact {
            contact: other.clone(),
            was: None,
        },
    ])
    .expect("load");
    assert_eq!(counts(&s, 1), (2, 2, 0, 0));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 0, 10).expect("due")),
        vec![1, 2]
    );

    // Picked and dialing: out of the index, attempt transient.
    let mut flying = c.clone();
    flying.state = ContactState::InFlight {
        attempt: AttemptId(10),
    };
    flying.attempts = 1;
    let mut a = attempt(1, 10, 1, AttemptState::Dialing);
    s.commit(&[
        Write::Contact {
            contact: flying.clone(),
            was: Some(c.state),
        },
        Write::Attempt(a.clone()),
    ])
    .expect("dial");
    assert_eq!(counts(&s, 1), (2, 1, 1, 0));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), u64::MAX, 10).expect("due")),
        vec![2]
    );
    assert_eq!(s.transient_attempts().expect("transient"), vec![a.clone()]);

    // Busy: retry in 10 minutes, back in the index at its new time.
    let retry_at = 600_000;
    let mut retry = flying.clone();
    retry.state = ContactState::Ready {
        not_before: retry_at,
    };
    retry.last_code = Some(CompletionCode::Busy);
    a.state = AttemptState::Completed(CompletionCode::Busy);
    a.sip_status = Some(486);
    s.commit(&[
        Write::Attempt(a.clone()),
        Write::Contact {
            contact: retry.clone(),
            was: Some(flying.state),
        },
    ])
    .expect("busy");
    assert_eq!(counts(&s, 1), (2, 2, 0, 0));
    assert!(s.transient_attempts().expect("transient").is_empty());
    assert_eq!(
        ids(&s.due_contacts(JobId(1), retry_at - 1, 10).expect("due")),
        vec![2]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), retry_at, 10).expect("due")),
        vec![2, 1]
    );
    assert_eq!(s.next_due(JobId(1)).expect("next"), Some(0));

    // Second attempt answered: final, never due again.
    let mut flying2 = retry.clone();
    flying2.state = ContactState::InFlight {
        attempt: AttemptId(11),
    };
    flying2.attempts = 2;
    let mut a2 = attempt(1, 11, 1, AttemptState::Dialing);
    a2.number = 2;
    s.commit(&[
        Write::Contact {
            contact: flying2.clone(),
            was: Some(retry.state),
        },
        Write::Attempt(a2.clone()),
    ])
    .expect("redial");
    let mut done = flying2.clone();
    done.state = ContactState::Final {
        code: CompletionCode::AnsweredHuman,
    };
    a2.state = AttemptState::Completed(CompletionCode::AnsweredHuman);
    s.commit(&[
        Write::Attempt(a2.clone()),
        Write::Contact {
            contact: done.clone(),
            was: Some(flying2.state),
        },
    ])
    .expect("answered");
    assert_eq!(counts(&s, 1), (2, 1, 0, 1));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), u64::MAX, 10).expect("due")),
        vec![2]
    );
    assert_eq!(s.contact(JobId(1), ContactId(1)).expect("read"), Some(done));
    assert_eq!(s.attempts(JobId(1)).expect("attempts"), vec![a, a2]);
    assert!(s.transient_attempts().expect("transient").is_empty());

    // The last one goes final too: nothing due, nothing next.
    let mut gone = other.clone();
    gone.state = ContactState::Final {
        code: CompletionCode::Blocked,
    };
    s.commit(&[Write::Contact {
        contact: gone,
        was: Some(other.state),
    }])
    .expect("block");
    assert_eq!(counts(&s, 1), (2, 0, 0, 2));
    assert!(s
        .due_contacts(JobId(1), u64::MAX, 10)
        .expect("due")
        .is_empty());
    assert_eq!(s.next_due(JobId(1)).expect("next"), None);
}

#[test]
fn due_contacts_oldest_first_within_limit_and_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    // Ids and due times in different orders, so ordering by id would be caught.
    let due = [(1, 500), (2, 100), (3, 300), (4, 100), (5, 900), (6, 0)];
    let mut batch: Vec<Write> = due
        .iter()
        .map(|&(id, nb)| Write::Contact {
            contact: contact(1, id, nb),
            was: None,
        })
        .collect();
    // Another job's contacts must never show up.
    batch.push(Write::Contact {
        contact: contact(2, 7, 0),
        was: None,
    });
    batch.push(Write::Contact {
        contact: contact(0, 8, 0),
        was: None,
    });
    s.commit(&batch).expect("load");

    assert_eq!(
        ids(&s.due_contacts(JobId(1), 1_000, 100).expect("due")),
        vec![6, 2, 4, 3, 1, 5]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 300, 100).expect("due")),
        vec![6, 2, 4, 3]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 1_000, 3).expect("due")),
        vec![6, 2, 4]
    );
    assert!(s.due_contacts(JobId(1), 1_000, 0).expect("due").is_empty());
    assert_eq!(s.next_due(JobId(1)).expect("next"), Some(0));
    assert_eq!(
        ids(&s.due_contacts(JobId(2), 1_000, 100).expect("due")),
        vec![7]
    );
    assert_eq!(s.next_due(JobId(3)).expect("next"), None);
    assert_eq!(counts(&s, 1), (6, 6, 0, 0));
    assert_eq!(counts(&s, 2), (1, 1, 0, 0));
    assert_eq!(counts(&s, 3), (0, 0, 0, 0));
}

#[test]
fn transient_attempts_span_jobs_in_id_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    let states = [
        (3, 1, AttemptState::Ringing),
        (1, 2, AttemptState::Completed(CompletionCode::NoAnswer)),
        (2, 1, AttemptState::Pending),
        (4, 2, AttemptState::Connected),
        (5, 1, AttemptState::Completed(CompletionCode::Busy)),
    ];
    let batch: Vec<Write> = states
        .iter()
        .map(|&(id, job, st)| Write::Attempt(attempt(job, id, id, st)))
        .collect();
    s.commit(&batch).expect("commit");
    let t: Vec<u64> = s
        .transient_attempts()
        .expect("transient")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_eq!(t, vec![2, 3, 4]);
    let of_job1: Vec<u64> = s
        .attempts(JobId(1))
        .expect("attempts")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_eq!(of_job1, vec![2, 3, 5]);
}

#[test]
fn allocate_ids_is_monotonic_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut handed = Vec::new();
    for _ in 0..3 {
        let s = SledStore::open(dir.path()).expect("open");
        handed.push((s.allocate_ids("attempt", 10).expect("ids"), 10));
        handed.push((s.allocate_ids("attempt", 1).expect("ids"), 1));
        // Counters are independent per kind.
        assert!(s.allocate_ids("contact", 5).expect("ids") >= 1);
    }
    assert_eq!(handed[0].0, 1, "ids start at 1");
    for w in handed.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].0 + w[0].1,
            "blocks are contiguous and never overlap: {handed:?}"
        );
    }
    let s = SledStore::open(dir.path()).expect("open");
    assert_eq!(s.allocate_ids("attempt", 0).expect("peek"), 34);
    assert_eq!(s.allocate_ids("contact", 1).expect("ids"), 16);
}

#[test]
fn concurrent_allocations_never_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = std::sync::Arc::new(SledStore::open(dir.path()).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| s.allocate_ids("x", 3).expect("ids"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut firsts: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("join"))
        .collect();
    firsts.sort_unstable();
    let want: Vec<u64> = (0..200).map(|i| 1 + 3 * i).collect();
    assert_eq!(firsts, want);
}

#[test]
fn concurrent_commits_keep_counters_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = std::sync::Arc::new(SledStore::open(dir.path()).expect("open"));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let c = contact(1, t * 1000 + i, 0);
                    s.commit(&[Write::Contact {
                        contact: c.clone(),
                        was: None,
                    }])
                    .expect("add");
                    if i % 2 == 0 {
                        let mut f = c.clone();
                        f.state = ContactState::Final {
                            code: CompletionCode::Busy,
                        };
                        s.commit(&[Write::Contact {
                            contact: f,
                            was: Some(c.state),
                        }])
                        .expect("final");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("join");
    }
    assert_eq!(counts(s.as_ref(), 1), (200, 100, 0, 100));
    assert_eq!(s.due_contacts(JobId(1), 0, 1_000).expect("due").len(), 100);
}

#[test]
fn a_million_contacts_count_instantly() {
    // The counters are O(1) whatever the job's size: checked on 50k contacts (a million
    // would only slow the test down loading them), timing the read against a small budget.
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    for chunk in 0..10u64 {
        let batch: Vec<Write> = (0..5_000u64)
            .map(|i| Write::Contact {
                contact: contact(1, chunk * 5_000 + i, 0),
                was: None,
            })
            .collect();
        s.commit(&batch).expect("load");
    }
    #[allow(clippy::disallowed_methods)] // measuring the test itself
    let t = std::time::Instant::now();
    for _ in 0..1_000 {
        assert_eq!(counts(&s, 1), (50_000, 50_000, 0, 0));
    }
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "1,000 counts took {:?}",
        t.elapsed()
    );
}
