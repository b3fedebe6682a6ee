//! What a message hop between actix actors costs, on the same arbiter and across arbiters
//! (threads): the numbers behind placing a call's actors on the SIP plant's arbiter.
//!
//! The call path of an agentless attempt is: pacing decision (no message) → Dialing batch to
//! the group-commit thread and back (one cross-thread round trip per *batch*) → call actor
//! started on the plant's arbiter → INVITE command over a channel on the same thread → SIP
//! events to the call actor (same-thread mailbox, one per response that matters) → outcome to
//! the group-commit thread and back (one cross-thread round trip). So per call: one
//! cross-thread round trip, shared by every call of a commit batch, plus 3–5 same-thread hops.

use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion};

struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

impl Handler<Ping> for Echo {
    type Result = u64;
    fn handle(&mut self, m: Ping, _: &mut Context<Self>) -> u64 {
        m.0 + 1
    }
}

/// Runs `iters` request/response round trips from a task on the system arbiter to `addr`.
fn round_trips(sys: &mut SystemRunner, addr: &Addr<Echo>, iters: u64) -> Duration {
    let addr = addr.clone();
    sys.block_on(async move {
        #[allow(clippy::disallowed_methods)] // timing a benchmark
        let start = Instant::now();
        let mut x = 0;
        for i in 0..iters {
            x += addr.send(Ping(i)).await.unwrap_or(0);
        }
        std::hint::black_box(x);
        start.elapsed()
    })
}

fn hops(c: &mut Criterion) {
    let mut sys = System::new();
    let local = sys.block_on(async { Echo.start() });
    let other = Arbiter::new();
    let remote = Echo::start_in_arbiter(&other.handle(), |_| Echo);
    let mut g = c.benchmark_group("actor_round_trip");
    g.bench_function("same_arbiter", |b| {
        b.iter_custom(|iters| round_trips(&mut sys, &local, iters))
    });
    g.bench_function("cross_arbiter", |b| {
        b.iter_custom(|iters| round_trips(&mut sys, &remote, iters))
    });
    g.finish();
    other.stop();
}

criterion_group!(benches, hops);
criterion_main!(benches);
