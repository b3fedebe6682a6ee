//! What the supervisor wall-board shows, gathered once per tick by its one publisher
//! (`http::web::board`): each zone's counts and oldest wait, each recent job's progress and
//! statistics. Reads in-memory state; the only storage reads are the job list and each shown
//! job's contact counts, once per tick whatever the number of viewers.

use serde::Serialize;

use super::NodeHandle;
use crate::error::NodeError;
use crate::job::StatsView;
use crate::storage::JobState;
use outdial_core::campaign::NuisanceWindow;
use outdial_core::domain::{CampaignId, JobId};
use outdial_core::pacing::PacingPolicy;
use outdial_core::store::ContactCounts;

/// One zone as the wall-board shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneLive {
    pub zone: String,
    pub in_service: bool,
    pub agents_ready: u32,
    pub agents_total: u32,
    pub calls_dialing: u32,
    pub calls_ringing: u32,
    /// Live answers waiting for an agent.
    pub calls_waiting: usize,
    /// How long the oldest of them has waited.
    pub oldest_wait_ms: Option<u64>,
}

/// One job as the wall-board shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobLive {
    pub id: JobId,
    pub campaign: CampaignId,
    pub name: String,
    pub zone: String,
    pub state: JobState,
    pub mode: &'static str,
    /// The campaign's nuisance cap, percent of live answers, and the window it is kept over.
    pub nuisance_cap_pct: f64,
    pub nuisance_window: &'static str,
    pub contacts: ContactCounts,
    pub stats: StatsView,
}

fn mode_name(p: PacingPolicy) -> &'static str {
    match p {
        PacingPolicy::Preview => "preview",
        PacingPolicy::Progressive { .. } => "progressive",
        PacingPolicy::Predictive { .. } => "predictive",
        PacingPolicy::Agentless { .. } => "agentless",
    }
}

impl NodeHandle {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.parts.name
    }

    /// The node clock's Unix milliseconds.
    pub fn unix_ms(&self) -> u64 {
        self.parts.clock.unix_ms()
    }

    /// Every zone of the node with its live counts.
    pub fn zones_live(&self) -> Vec<ZoneLive> {
        let now = self.parts.clock.now();
        let mut v: Vec<ZoneLive> = self
            .parts
            .zones
            .iter()
            .map(|z| {
                let c = z.board().counts();
                let (waiting, oldest) = z.board().queue_len();
                ZoneLive {
                    zone: z.name().to_owned(),
                    in_service: z.in_service(),
                    agents_ready: c.agents_ready,
                    agents_total: c.agents_total,
                    calls_dialing: c.calls_dialing,
                    calls_ringing: c.calls_ringing,
                    calls_waiting: waiting,
                    oldest_wait_ms: oldest.map(|t| {
                        u64::try_from(now.saturating_duration_since(t).as_millis())
                            .unwrap_or(u64::MAX)
                    }),
                }
            })
            .collect();
        v.sort_by(|a, b| a.zone.cmp(&b.zone));
        v
    }

    /// The `limit` most recent jobs, newest first, with their progress and statistics.
    pub async fn jobs_live(&self, limit: usize) -> Result<Vec<JobLive>, NodeError> {
        let mut jobs = self.parts.store.jobs()?;
        jobs.sort_by_key(|j| std::cmp::Reverse(j.id.0));
        jobs.truncate(limit);
        let now = self.parts.clock.unix_ms();
        let mut out = Vec::with_capacity(jobs.len());
        for j in jobs {
            let contacts = self.parts.store.contact_counts(j.id)?;
            let rt = self.runtime(j.id).await;
            let (name, mode, cap, window, stats) = match &rt {
                Some(rt) => {
                    let n = rt.campaign.nuisance();
                    let window = match n.window {
                        NuisanceWindow::CalendarDay => "day",
                        NuisanceWindow::Rolling30Days => "30d",
                    };
                    (
                        rt.campaign.name().to_owned(),
                        mode_name(rt.campaign.mode()),
                        n.cap * 100.0,
                        window,
                        rt.stats.view(now),
                    )
                }
                None => (
                    format!("campaign {}", j.campaign.0),
                    "",
                    0.0,
                    "",
                    StatsView::default(),
                ),
            };
            out.push(JobLive {
                id: j.id,
                campaign: j.campaign,
                name,
                zone: j.zone,
                state: j.state,
                mode,
                nuisance_cap_pct: cap,
                nuisance_window: window,
                contacts,
                stats,
            });
        }
        Ok(out)
    }
}
