//! One call's actor with the SIP plant stood in for by a channel: what it asks of SIP, how it
//! plays the message and hangs up, and what it records when the call ends.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};

use tokio::sync::mpsc as tokio_mpsc;

use super::*;
use crate::cluster::ZoneLease;
use crate::config::Mpp;
use crate::storage::{GroupCommit, SledStore, Store, Write};
use outdial_core::attempt::ledger::Origin;
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::SystemClock;
use outdial_core::domain::CompletionCode;
use outdial_core::domain::{AttemptState, Contact, ContactId, ContactState, JobId};
use outdial_core::pacing::ContactQueue;

const WAIT: Duration = Duration::from_secs(5);

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    events: tokio::sync::broadcast::Receiver<crate::events::AttemptEvent>,
    sip: tokio_mpsc::Receiver<SipCommand>,
    /// Where the far end's RTP goes (nobody reads it).
    _far: UdpSocket,
    far: SocketAddr,
}

fn campaign() -> Arc<outdial_core::campaign::Campaign> {
    Arc::new(
        CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"agentless\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[agentless]\nrate_cps = 10\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .expect("spec")
        .resolve()
        .expect("resolves"),
    )
}

/// Starts a call actor for a fresh attempt whose `Dialing` is already durable, as the zone
/// actor leaves it.
async fn start_call() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("sled"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let commit = Arc::new(GroupCommit::new(Arc::clone(&store), 64));
    let contact = Contact {
        id: ContactId(1),
        job: JobId(1),
        phone: "+15550000001".into(),
        tz: None,
        fields: BTreeMap::new(),
        attempts: 0,
        state: ContactState::Ready { not_before: 0 },
        last_code: None,
    };
    commit
        .commit_blocking(vec![Write::Contact {
            contact: contact.clone(),
            was: None,
        }])
        .expect("seed");
    let origin = Origin {
        node: "n1".into(),
        epoch: 1,
    };
    let (entry, writes) = LedgerEntry::open(
        contact,
        AttemptId(42),
        &origin,
        AttemptState::Dialing,
        clock.unix_ms(),
    );
    commit.commit_blocking(writes).expect("dialing");
    let (sip, rx) = SipHandle::detached("127.0.0.1:5060".parse().expect("addr"));
    let cell = Arc::new(ZoneLease::forever(1));
    let leases = Arc::new(Leases::new(
        [("default".to_owned(), cell)].into(),
        clock.now(),
        Arc::clone(&clock),
    ));
    let events = AttemptEvents::new(16, Arc::clone(&clock));
    let subscribed = events.subscribe();
    let deps = Arc::new(CallDeps {
        sip,
        rtp: Rtp::new(
            media::PortPool::new(46_000, 46_098).expect("ports"),
            "127.0.0.1".parse().expect("ip"),
        ),
        mpps: Arc::new(MppTable::new(&[Mpp {
            name: "m".into(),
            address: "127.0.0.1:5090".parse().expect("addr"),
            capacity: 10,
            options_interval: Duration::from_secs(60),
            down_after_missed: 3,
            trunk: None,
        }])),
        writer: Writer::new(commit, None),
        leases,
        clock: Arc::clone(&clock),
        events,
        registry: None,
        stopping: Arc::new(AtomicBool::new(false)),
    });
    let job = Arc::new(JobRuntime::new(
        JobId(1),
        campaign(),
        ContactQueue::new(4, 1),
        media::Prompt::tone(440.0, 60, media::Codec::Pcmu),
        clock.unix_ms(),
    ));
    job.stats.launched();
    let media = deps.mpps.pick(clock.unix_ms()).expect("a port");
    CallActor::new(deps, None, job, entry, media, CallMode::Agentless, None).start();
    let far = UdpSocket::bind("127.0.0.1:0").expect("far end");
    let far_addr = far.local_addr().expect("addr");
    Fixture {
        _dir: dir,
        store,
        events: subscribed,
        sip: rx,
        _far: far,
        far: far_addr,
    }
}

async fn next(sip: &mut tokio_mpsc::Receiver<SipCommand>) -> SipCommand {
    tokio::time::timeout(WAIT, sip.recv())
        .await
        .expect("a SIP command in time")
        .expect("the channel is open")
}

fn answer_sdp(far: SocketAddr) -> Vec<u8> {
    sip::sdp::offer(7, 1, far.ip(), far.port()).into_bytes()
}

/// Waits (bounded) for attempt 42's outcome event, published once the outcome is durable,
/// and reads the attempt and its contact back from storage.
async fn completed(f: &mut Fixture) -> (AttemptState, Contact) {
    loop {
        let ev = tokio::time::timeout(WAIT, f.events.recv())
            .await
            .expect("the outcome in time")
            .expect("events flow");
        if ev.attempt == AttemptId(42) && !ev.state.is_transient() {
            break;
        }
    }
    let a = f.store.attempts(JobId(1)).expect("attempts");
    let a = a
        .into_iter()
        .find(|a| a.id == AttemptId(42))
        .expect("attempt 42");
    let c = f
        .store
        .contact(JobId(1), ContactId(1))
        .expect("read")
        .expect("contact");
    (a.state, c)
}

#[actix::test]
async fn an_agentless_answer_hears_the_message_is_hung_up_and_ends_answered_human() {
    let mut f = start_call().await;
    let SipCommand::Dial { attempt, call, .. } = next(&mut f.sip).await else {
        panic!("the call dials first");
    };
    assert_eq!(attempt, AttemptId(42));
    call.do_send(CallSignal(Signal::Sent));
    call.do_send(CallSignal(Signal::Answered {
        sdp: Some(answer_sdp(f.far)),
    }));
    // The message plays, then the call hangs up.
    let SipCommand::HangUp { attempt } = next(&mut f.sip).await else {
        panic!("the message ends with a hang-up");
    };
    assert_eq!(attempt, AttemptId(42));
    call.do_send(CallSignal(Signal::Ended(sip::EndReason::LocalHangup)));
    let (state, contact) = completed(&mut f).await;
    assert_eq!(
        state,
        AttemptState::Completed(CompletionCode::AnsweredHuman)
    );
    assert_eq!(contact.last_code, Some(CompletionCode::AnsweredHuman));
    assert!(!matches!(contact.state, ContactState::InFlight { .. }));
}

#[actix::test]
async fn a_busy_callee_ends_busy_under_its_retry_rule() {
    let mut f = start_call().await;
    let SipCommand::Dial { call, .. } = next(&mut f.sip).await else {
        panic!("the call dials first");
    };
    call.do_send(CallSignal(Signal::Ended(sip::EndReason::Rejected {
        status: 486,
        retry_after: None,
    })));
    let (state, contact) = completed(&mut f).await;
    assert_eq!(state, AttemptState::Completed(CompletionCode::Busy));
    // Busy is retried (the default rule), not final.
    assert!(
        matches!(contact.state, ContactState::Ready { .. }),
        "{contact:?}"
    );
}
