//! The zone's pacing actor with its neighbours stood in for: a real store and group commit, a
//! media-server table, a board, and a `PlaceCall` that records what it is asked to place
//! (with what storage held at that moment), and a supervisor that records its reports.

use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;

use super::*;
use crate::actors::supervisor::ZoneStatus;
use crate::cluster::leases::Leases;
use crate::config::Mpp;
use crate::storage::{GroupCommit, Job, JobState, SledStore};
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::SystemClock;
use outdial_core::domain::{AttemptState, ContactId};
use outdial_core::pacing::{ContactQueue, ZoneSnapshotCell};

/// What the stand-in placer saw: each launch, and the attempt as storage had it then.
struct Placed {
    attempt: outdial_core::domain::AttemptId,
    stored_state: Option<AttemptState>,
}

struct Recorder {
    store: Arc<dyn Store>,
    tx: std::sync::Mutex<std_mpsc::Sender<Placed>>,
}

impl PlaceCall for Recorder {
    fn place(
        &self,
        launch: Launch,
        _job: Arc<JobRuntime>,
        _board: Arc<AgentBoard>,
        _agent: Option<Addr<AgentActor>>,
    ) {
        let id = launch.entry.id();
        let stored_state = self
            .store
            .attempts(launch.entry.attempt().job)
            .ok()
            .and_then(|all| all.into_iter().find(|a| a.id == id))
            .map(|a| a.state);
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Placed {
                attempt: id,
                stored_state,
            });
        }
    }
}

/// Stands in for the zone's supervisor.
#[derive(Default)]
struct Supervisor {
    tx: Option<std_mpsc::Sender<String>>,
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

impl Handler<ZoneDown> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: ZoneDown, _: &mut Context<Self>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(format!("down {:?}", m.generation));
        }
    }
}

impl Handler<Resumed> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: Resumed, _: &mut Context<Self>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(format!("resumed {}", m.generation));
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    zone: Addr<ZoneActor>,
    placed: std_mpsc::Receiver<Placed>,
    reports: std_mpsc::Receiver<String>,
    job: Arc<JobRuntime>,
}

const WAIT: Duration = Duration::from_secs(5);

fn campaign() -> Arc<outdial_core::campaign::Campaign> {
    Arc::new(
        CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"agentless\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[agentless]\nmax_concurrent = 3\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .expect("spec")
        .resolve()
        .expect("resolves"),
    )
}

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

/// A zone actor over a sled store with one agentless job of `contacts` queued contacts,
/// capped at three lines.
async fn fixture(contacts: u64, media: u32) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("sled"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let commit = Arc::new(GroupCommit::new(Arc::clone(&store), 1024));
    let now = clock.unix_ms();
    let job = Job {
        id: JobId(1),
        campaign: outdial_core::domain::CampaignId(1),
        zone: "z".into(),
        state: JobState::Running,
        created_at: now,
        updated_at: now,
    };
    let mut writes = vec![crate::storage::Write::Job(job)];
    for i in 0..contacts {
        writes.push(crate::storage::Write::Contact {
            contact: contact(i),
            was: None,
        });
    }
    commit.commit_blocking(writes).expect("seed");
    let cell = Arc::new(ZoneLease::forever(1));
    let leases = Arc::new(Leases::new(
        [("z".to_owned(), Arc::clone(&cell))].into(),
        clock.now(),
        Arc::clone(&clock),
    ));
    let (ptx, placed) = std_mpsc::channel();
    let (rtx, reports) = std_mpsc::channel();
    let deps = Arc::new(ZoneDeps {
        node: "n1".into(),
        store: Arc::clone(&store),
        writer: Writer::new(commit, None),
        mpps: Arc::new(MppTable::new(&[Mpp {
            name: "m".into(),
            address: "127.0.0.1:5060".parse().expect("addr"),
            capacity: media,
            options_interval: Duration::from_secs(60),
            down_after_missed: 3,
            trunk: None,
        }])),
        clock: Arc::clone(&clock),
        leases,
        calls: Arc::new(Recorder {
            store,
            tx: std::sync::Mutex::new(ptx),
        }),
        stopping: Arc::new(AtomicBool::new(false)),
    });
    let board = Arc::new(AgentBoard::new(
        "z".into(),
        Arc::new(ZoneSnapshotCell::default()),
    ));
    let handle = ZoneHandle::new("z".into(), board, Arc::new(ZoneStatus::default()), cell);
    let sup = Supervisor { tx: Some(rtx) }.start();
    let zone = ZoneActor::new(
        deps,
        &handle,
        7,
        Reports {
            down: sup.clone().recipient(),
            resumed: sup.recipient(),
        },
    )
    .start();
    let queue = ContactQueue::new(64, 16);
    for i in 0..contacts {
        let _ = queue.push(contact(i));
    }
    let job = Arc::new(JobRuntime::new(
        JobId(1),
        campaign(),
        queue,
        media::Prompt::tone(440.0, 100, media::Codec::Pcmu),
        now,
    ));
    Fixture {
        _dir: dir,
        zone,
        placed,
        reports,
        job,
    }
}

/// Waits on `rx` off the actix thread, so the actors keep running meanwhile.
async fn recv<T: Send + 'static>(rx: std_mpsc::Receiver<T>) -> (Option<T>, std_mpsc::Receiver<T>) {
    tokio::task::spawn_blocking(move || (rx.recv_timeout(WAIT).ok(), rx))
        .await
        .expect("join")
}

#[actix::test]
async fn a_job_is_dialed_up_to_its_lines_each_attempt_durable_before_its_call() {
    let f = fixture(10, 100).await;
    let (first, reports) = recv(f.reports).await;
    assert_eq!(
        first.as_deref(),
        Some("resumed 7"),
        "dialing resumes under generation 7"
    );
    f.zone.do_send(AttachJob(Arc::clone(&f.job)));
    let mut placed = f.placed;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (p, rx) = recv(placed).await;
        placed = rx;
        let p = p.expect("a call placed");
        assert_eq!(
            p.stored_state,
            Some(AttemptState::Dialing),
            "Dialing is on disk before the call is placed"
        );
        seen.push(p.attempt);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three distinct attempts");
    // The cap holds: three lines in flight and nobody ends them, so no fourth call.
    let (more, _) = tokio::task::spawn_blocking(move || {
        (placed.recv_timeout(Duration::from_millis(300)).ok(), placed)
    })
    .await
    .expect("join");
    assert!(more.is_none(), "no call beyond the job's three lines");
    assert_eq!(f.job.stats.in_flight.load(Ordering::Relaxed), 3);
    drop(reports);
}

#[actix::test]
async fn without_a_media_port_the_attempt_ends_no_media_resource_and_nothing_is_placed() {
    let f = fixture(2, 0).await;
    f.zone.do_send(AttachJob(Arc::clone(&f.job)));
    let (p, _) = tokio::task::spawn_blocking(move || {
        (
            f.placed.recv_timeout(Duration::from_millis(500)).ok(),
            f.placed,
        )
    })
    .await
    .expect("join");
    assert!(p.is_none(), "no call placed without a media server port");
    let completed = f
        .job
        .stats
        .view(u64::MAX)
        .by_code
        .get("no-media-resource")
        .copied()
        .unwrap_or(0);
    assert!(completed >= 1, "{:?}", f.job.stats.view(u64::MAX));
}

#[actix::test]
async fn a_panic_in_the_actor_is_reported_as_its_generations_failure() {
    let f = fixture(0, 10).await;
    let (first, reports) = recv(f.reports).await;
    assert_eq!(first.as_deref(), Some("resumed 7"));
    f.zone.do_send(Inject::Panic);
    let (down, _) = recv(reports).await;
    assert_eq!(down.as_deref(), Some("down Some(7)"));
}
