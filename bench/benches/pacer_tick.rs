//! The pacing hot path: pacing decisions per second (`Pacer::decide` with the zone snapshot
//! read from its `ZoneSnapshotCell`) for agentless, progressive and predictive campaigns (the
//! last with the estimator filling the snapshot, as the zone loop does per decision), and the
//! pre-fetched contact queue's push/pop.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use outdial_core::domain::{Contact, ContactId, ContactState, JobId};
use outdial_core::pacing::{ContactQueue, Pacer, PacingPolicy, ZoneSnapshot, ZoneSnapshotCell};

fn contact(id: u64) -> Contact {
    Contact {
        id: ContactId(id),
        job: JobId(1),
        phone: format!("+1555{id:07}"),
        tz: Some("America/New_York".into()),
        fields: BTreeMap::new(),
        attempts: 0,
        state: ContactState::Ready { not_before: 0 },
        last_code: None,
    }
}

fn decide(c: &mut Criterion) {
    // A fixed origin from the engine's clock module; the pacer itself never reads a clock.
    let origin = outdial_core::clock::now();
    let cell = ZoneSnapshotCell::new(ZoneSnapshot {
        agents_ready: 40,
        agents_total: 120,
        calls_ringing: 25,
        calls_dialing: 5,
        ..ZoneSnapshot::default()
    });
    let mut g = c.benchmark_group("pacer_decide");
    g.throughput(Throughput::Elements(1));

    // Agentless at 1000 cps with a cap, woken every 1 ms of virtual time: one token per call.
    g.bench_function("agentless_rate_and_cap", |b| {
        let mut pacer = Pacer::new(PacingPolicy::Agentless {
            max_concurrent: Some(5_000),
            rate_cps: Some(1_000.0),
        });
        let mut now = origin;
        b.iter(|| {
            now += Duration::from_millis(1);
            let snap = cell.load();
            let n = pacer.decide(black_box(now), &snap, black_box(100));
            black_box((n, pacer.next_decision_at(now)))
        })
    });

    g.bench_function("progressive", |b| {
        let mut pacer = Pacer::new(PacingPolicy::Progressive {
            lines_per_agent: 1.5,
        });
        let mut now = origin;
        b.iter(|| {
            now += Duration::from_micros(100);
            let snap = cell.load();
            black_box(pacer.decide(black_box(now), &snap, black_box(30)))
        })
    });

    // Predictive with measurements: per decision the zone loop fills the snapshot from the
    // job's estimator (answer odds, the busy agents' freeing forecast) and then decides.
    // 120 agents logged in, 80 of them busy; 1000 attempts and 400 handle times measured.
    g.bench_function("predictive_fill_and_decide", |b| {
        use outdial_core::pacing::predictive::{Estimator, EstimatorConfig};
        let mut est = Estimator::new(EstimatorConfig::new(
            outdial_core::campaign::NuisanceWindow::CalendarDay,
            Duration::from_secs(2),
        ));
        let mut t = origin;
        for i in 0..1000u64 {
            t += Duration::from_millis(50);
            est.record_attempt(
                t,
                i % 10 < 3,
                Duration::from_millis(4_000 + (i * 37) % 12_000),
            );
        }
        for i in 0..400u64 {
            est.record_handle(t, Duration::from_millis(60_000 + (i * 997) % 240_000));
        }
        let busy: Vec<Duration> = (0..80u64)
            .map(|i| Duration::from_millis((i * 4_111) % 300_000))
            .collect();
        let counts = outdial_core::pacing::nuisance::NuisanceCounts {
            live_day: 900,
            nuisance_day: 20,
            live_30d: 20_000,
            nuisance_30d: 400,
            ..Default::default()
        };
        let mut pacer = Pacer::new(PacingPolicy::Predictive {
            lines_per_agent: 1.0,
            nuisance_cap: 0.03,
        });
        let mut now = t;
        b.iter(|| {
            now += Duration::from_millis(20);
            let mut snap = cell.load();
            est.fill_snapshot(&mut snap, black_box(&busy), counts);
            let n = pacer.decide(black_box(now), &snap, black_box(30));
            pacer.give_back(n);
            black_box(n)
        })
    });

    // The snapshot publication the zone pays per event (one allocation).
    g.bench_function("snapshot_publish", |b| {
        let mut ready = 0u32;
        b.iter(|| {
            ready = ready.wrapping_add(1) % 100;
            cell.publish(black_box(ZoneSnapshot {
                agents_ready: ready,
                ..ZoneSnapshot::default()
            }))
        })
    });
    g.finish();
}

fn queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("contact_queue");
    const BATCH: u64 = 1_024;
    g.throughput(Throughput::Elements(BATCH));
    // Push a refill's worth, then pop it all, as the prefetcher and the loop do.
    g.bench_function("push_then_pop_1024", |b| {
        let q = ContactQueue::new(BATCH as usize, 256);
        b.iter_batched(
            || (0..BATCH).map(contact).collect::<Vec<_>>(),
            |contacts| {
                for c in contacts {
                    let _ = q.push(c);
                }
                while let Some(c) = q.pop() {
                    black_box(c);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decide, queue);
criterion_main!(benches);
