//! The load monitor: samples this node's CPU use and calls in flight once a second and
//! publishes them for the director's job allocation and for `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;

use crate::actors::campaign_manager::{CampaignManager, RunningJobs};
use outdial_core::sync::{AtomicU64, Ordering};

/// The latest sample. CPU in thousandths of a core, so it fits an atomic.
#[derive(Debug, Default)]
pub struct Load {
    cpu_millicores: AtomicU64,
    calls_in_flight: AtomicU64,
    samples: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LoadView {
    pub cpu_cores: f64,
    pub calls_in_flight: u64,
    pub samples: u64,
}

impl Load {
    pub fn view(&self) -> LoadView {
        LoadView {
            cpu_cores: self.cpu_millicores.load(Ordering::Relaxed) as f64 / 1000.0,
            calls_in_flight: self.calls_in_flight.load(Ordering::Relaxed),
            samples: self.samples.load(Ordering::Relaxed),
        }
    }
}

pub struct LoadMonitor {
    load: Arc<Load>,
    manager: Addr<CampaignManager>,
    last_cpu: Option<(std::time::Instant, f64)>,
    clock: Arc<dyn outdial_core::clock::Clock>,
}

impl LoadMonitor {
    pub fn new(
        load: Arc<Load>,
        manager: Addr<CampaignManager>,
        clock: Arc<dyn outdial_core::clock::Clock>,
    ) -> Self {
        Self {
            load,
            manager,
            last_cpu: None,
            clock,
        }
    }

    fn sample(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        if let Some(cpu) = crate::cpu::process_cpu_seconds() {
            if let Some((then, before)) = self.last_cpu {
                let wall = now.saturating_duration_since(then).as_secs_f64();
                if wall > 0.0 {
                    let cores = ((cpu - before) / wall).max(0.0);
                    self.load
                        .cpu_millicores
                        .store((cores * 1000.0) as u64, Ordering::Relaxed);
                }
            }
            self.last_cpu = Some((now, cpu));
        }
        let load = Arc::clone(&self.load);
        ctx.spawn(
            self.manager
                .send(RunningJobs)
                .into_actor(self)
                .map(move |res, _, _| {
                    if let Ok(jobs) = res {
                        let calls: u64 = jobs
                            .iter()
                            .map(|j| j.stats.in_flight.load(Ordering::Relaxed))
                            .sum();
                        load.calls_in_flight.store(calls, Ordering::Relaxed);
                        load.samples.fetch_add(1, Ordering::Relaxed);
                    }
                }),
        );
    }
}

impl Actor for LoadMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.sample(ctx);
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.sample(ctx));
    }
}
