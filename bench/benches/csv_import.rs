//! Contacts imported per second: a generated 100k-row CSV streamed from disk into a fresh
//! sled store, committed in batches of 5,000 (the importer's default), every batch durable.

use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use outdial_core::domain::{CampaignId, JobId};
use outdial_node::import::{import_csv, ImportOptions};
use outdial_node::storage::{Job, JobState, SledStore, Store, Write};

const ROWS: u64 = 100_000;

fn generate(path: &Path) {
    let mut w = BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(w, "phone,first_name,last_name,account,balance").expect("write");
    for i in 0..ROWS {
        writeln!(
            w,
            "+1 (212) {:03}-{:04},First{i},Last{i},ACC-{i:09},{}.{:02}",
            i / 10_000,
            i % 10_000,
            i % 5_000,
            i % 100
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// One import into a fresh store; only the import itself is timed.
#[allow(clippy::disallowed_methods)] // a bench measures wall time
fn import_once(csv: &Path) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    s.commit(&[Write::Job(Job {
        id: JobId(1),
        campaign: CampaignId(1),
        zone: "z".into(),
        state: JobState::Created,
        created_at: 0,
        updated_at: 0,
    })])
    .expect("job");
    let start = Instant::now();
    let r = import_csv(&s, JobId(1), csv, &ImportOptions::default()).expect("import");
    let took = start.elapsed();
    assert_eq!(r.imported, ROWS);
    took
}

fn import(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("contacts.csv");
    generate(&csv);
    let mut g = c.benchmark_group("csv_import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS));
    g.bench_function("100k_rows", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| import_once(&csv)).sum())
    });
    g.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
