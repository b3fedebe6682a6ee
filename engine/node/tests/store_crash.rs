//! Crash durability of the sled store without the rest of the engine: a child process (this
//! test binary re-executed) commits numbered batches and prints each number once `commit`
//! returns; the parent SIGKILLs it mid-stream, reopens the store and checks that every
//! printed batch is there and intact, and that the batch in flight is all there or absent.
//!
//! `OUTDIAL_CRASH_ROUNDS` (default 5) sets how many kills; `OUTDIAL_CRASH_SEED` the seed.
//! A failure names the round, seed and sequence number: keep it as a regression.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, CampaignId, CompletionCode, Contact, ContactId, ContactState,
    JobId,
};
use outdial_node::storage::{Job, JobState, SledStore, Store, Write};

const CHILD_DIR: &str = "OUTDIAL_CRASH_CHILD_DIR";
const JOB: JobId = JobId(1);

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Contacts in batch `seq`: 1 to 20.
fn contacts_in(seed: u64, seq: u64) -> u64 {
    1 + splitmix(seed ^ seq) % 20
}

fn contact(seed: u64, seq: u64, k: u64, latest: u64) -> Contact {
    let r = splitmix(seed ^ (seq << 8) ^ k);
    // Payloads from empty to ~3 KB, so batches straddle sled's buffers in many ways.
    let payload: String = (0..(r % 3_000))
        .map(|i| char::from(b'a' + ((r >> (i % 40)) % 26) as u8))
        .collect();
    let id = seq * 100 + k;
    // The first contact of each batch goes Final in the next batch.
    let state = if k == 0 && seq < latest {
        ContactState::Final {
            code: CompletionCode::AnsweredHuman,
        }
    } else {
        ContactState::Ready { not_before: seq }
    };
    Contact {
        id: ContactId(id),
        job: JOB,
        phone: format!("+4420{id:08}"),
        tz: None,
        fields: BTreeMap::from([("payload".into(), payload), ("seq".into(), seq.to_string())]),
        attempts: u32::from(k == 0),
        state,
        last_code: None,
    }
}

fn attempt(seq: u64, latest: u64) -> Attempt {
    Attempt {
        id: AttemptId(seq),
        job: JOB,
        contact: ContactId(seq * 100),
        number: 1,
        state: if seq < latest {
            AttemptState::Completed(CompletionCode::AnsweredHuman)
        } else {
            AttemptState::Dialing
        },
        history: vec![(seq, AttemptState::Dialing)],
        sip_status: None,
        node: "crash".into(),
        epoch: seq,
        amd: None,
    }
}

fn marker(seq: u64) -> Job {
    Job {
        id: JOB,
        campaign: CampaignId(1),
        zone: "z".into(),
        state: JobState::Running,
        created_at: 0,
        updated_at: seq,
    }
}

/// Batch `seq`: the job marker, its new contacts and attempt, and the previous batch's first
/// contact and attempt made final.
fn batch(seed: u64, seq: u64) -> Vec<Write> {
    let mut w = vec![Write::Job(marker(seq))];
    if seq > 1 {
        let prev = contact(seed, seq - 1, 0, seq - 1);
        w.push(Write::Contact {
            contact: contact(seed, seq - 1, 0, seq),
            was: Some(prev.state),
        });
        w.push(Write::Attempt(attempt(seq - 1, seq)));
    }
    for k in 0..contacts_in(seed, seq) {
        w.push(Write::Contact {
            contact: contact(seed, seq, k, seq),
            was: None,
        });
    }
    w.push(Write::Attempt(attempt(seq, seq)));
    w
}

fn seed() -> u64 {
    std::env::var("OUTDIAL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0D1A_1E55)
}

/// The child: resumes after the last batch on disk and commits until killed.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return; // Only meaningful when the parent starts this binary as its child.
    };
    let seed = seed();
    let s = SledStore::open(Path::new(&dir)).expect("child open");
    let mut seq = s.job(JOB).expect("marker").map_or(0, |j| j.updated_at);
    let mut out = std::io::stdout().lock();
    loop {
        seq += 1;
        s.commit(&batch(seed, seq)).expect("child commit");
        writeln!(out, "committed {seq}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// What the store must hold once batches 1..=`latest` are in, and nothing of `latest + 1`.
fn verify(s: &SledStore, seed: u64, latest: u64) -> Result<(), String> {
    let mut total = 0;
    for seq in 1..=latest {
        for k in 0..contacts_in(seed, seq) {
            let want = contact(seed, seq, k, latest);
            match s.contact(JOB, want.id) {
                Ok(Some(c)) if c == want => {}
                Ok(Some(c)) => return Err(format!("seq {seq} contact {k} differs: {:?}", c.state)),
                Ok(None) => return Err(format!("seq {seq} contact {k} lost")),
                Err(e) => return Err(format!("seq {seq} contact {k}: {e}")),
            }
            total += 1;
        }
    }
    for k in 0..contacts_in(seed, latest + 1) {
        let id = ContactId((latest + 1) * 100 + k);
        if s.contact(JOB, id).map_err(|e| e.to_string())?.is_some() {
            return Err(format!(
                "partial batch {} visible (contact {k})",
                latest + 1
            ));
        }
    }
    let attempts = s.attempts(JOB).map_err(|e| e.to_string())?;
    let want: Vec<Attempt> = (1..=latest).map(|q| attempt(q, latest)).collect();
    if attempts != want {
        return Err(format!(
            "attempts differ: {} on disk, {} expected",
            attempts.len(),
            want.len()
        ));
    }
    let transient: Vec<u64> = s
        .transient_attempts()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|a| a.id.0)
        .collect();
    if transient != vec![latest] {
        return Err(format!("transient attempts {transient:?}, want [{latest}]"));
    }
    let counts = s.contact_counts(JOB).map_err(|e| e.to_string())?;
    let finals = latest - 1;
    if (counts.total, counts.final_, counts.ready) != (total, finals, total - finals) {
        return Err(format!(
            "counts {counts:?}, want total {total} final {finals}"
        ));
    }
    let due = s
        .due_contacts(JOB, u64::MAX, usize::MAX)
        .map_err(|e| e.to_string())?;
    if due.len() as u64 != total - finals {
        return Err(format!("{} due, want {}", due.len(), total - finals));
    }
    Ok(())
}

#[test]
fn killed_writer_loses_nothing_it_acknowledged() {
    let rounds: u64 = std::env::var("OUTDIAL_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed = seed();
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut acknowledged = 0;
    for round in 1..=rounds {
        // Kill after a varying number of acknowledged commits, so the kill lands at
        // different points of a commit.
        let kill_after = 10 + splitmix(seed ^ round) % 90;
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env("OUTDIAL_CRASH_SEED", seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped stdout");
        // The child's lines arrive on a channel, so the kill can wait on the next one with a
        // bounded timeout instead of sleeping.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = 0;
        let mut last = acknowledged;
        let note = |line: &str, last: &mut u64| -> bool {
            match line.strip_prefix("committed ") {
                Some(n) => {
                    *last = n.parse().expect("sequence number");
                    true
                }
                None => false,
            }
        };
        while seen < kill_after {
            let Ok(line) = rx.recv() else { break };
            if note(&line, &mut last) {
                seen += 1;
            }
        }
        assert_eq!(
            seen, kill_after,
            "round {round}: the child stopped by itself"
        );
        // A commit takes about a millisecond: killing after a varying wait for the next
        // acknowledgement (bounded by up to 3 ms) moves the kill across a commit's phases
        // (encoding, apply_batch, flush, printing).
        let pause = splitmix(seed ^ round ^ 0xABCD) % 3_000;
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_micros(pause)) {
            note(&line, &mut last);
        }
        child.kill().expect("SIGKILL");
        // Lines already written before the kill are acknowledged commits too.
        for line in rx.iter() {
            note(&line, &mut last);
        }
        let _ = reader.join();
        let status = child.wait().expect("wait child");
        assert!(
            !status.success(),
            "round {round}: child exited normally: {status:?}"
        );
        assert!(last > acknowledged, "round {round}: no progress");

        let s = SledStore::open(dir.path()).expect("reopen after kill");
        let on_disk = s.job(JOB).expect("marker").map_or(0, |j| j.updated_at);
        assert!(
            on_disk == last || on_disk == last + 1,
            "round {round} seed {seed}: acknowledged {last}, marker on disk {on_disk}"
        );
        if let Err(why) = verify(&s, seed, on_disk) {
            panic!("round {round} seed {seed} acknowledged {last} on disk {on_disk}: {why}");
        }
        eprintln!("round {round}: acknowledged {last}, on disk {on_disk}: intact");
        acknowledged = on_disk;
    }
}
