//! The demo's report, from independent sources: the store's end state (nothing lost,
//! nothing transient), the customers' record of INVITE dialogs (nothing dialed twice), the
//! agents' sessions (occupancy), the phones' RTP counters and the node's takeover records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use outdial_core::domain::{AttemptState, CompletionCode, JobId};
use outdial_node::NodeHandle;

use super::agents::AgentsSeen;
use super::faults::Injected;

/// The agents' side of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentsReport {
    pub agents: u32,
    /// Talk and wrap-up over logged-in time, all agents together, from the node's sessions.
    pub occupancy: f64,
    /// Screen pops the desktops received.
    pub calls: u64,
    pub dispositions: u64,
    /// Error events the desktops received (should be 0).
    pub desktop_errors: u64,
    /// RTP packets the agents' phones received: customer audio through the node's bridges.
    pub rtp_packets_to_agents: u64,
    /// From the customer's answer to the bridge to an agent (stored timestamps, ms).
    pub answer_to_agent_ms_p50: u64,
    pub answer_to_agent_ms_p99: u64,
    pub answer_to_agent_ms_max: u64,
    /// Nuisance calls whose customer hung up while waiting for an agent, and those whose
    /// connect window closed with no agent free (they heard the message).
    pub nuisance_customer_left: u64,
    pub nuisance_window_closed: u64,
}

/// The final report; `--json` prints it as one object.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub contacts: u64,
    /// Contacts whose outcome is final.
    pub r#final: u64,
    /// Contacts scheduled for another attempt (the finish criteria stopped before it).
    pub pending_retry: u64,
    /// Contacts neither final nor schedulable (stuck in flight): must be 0.
    pub lost: u64,
    /// Attempts the peer saw as more than one INVITE dialog, plus dialogs no attempt
    /// accounts for: must be 0.
    pub double_dialed: u64,
    pub attempts: u64,
    pub by_code: BTreeMap<String, u64>,
    /// Attempts per second over the run.
    pub cps: f64,
    /// Nuisance calls as a share of live-answered calls, in percent.
    pub nuisance_rate: f64,
    /// The campaign's cap, in percent (agents only; docs/design.md §6 invariant 5).
    pub nuisance_cap_pct: Option<f64>,
    pub invite_dialogs_seen_by_peer: u64,
    pub seconds: f64,
    pub data_dir: String,
    /// Present when agents took part.
    pub agents: Option<AgentsReport>,
    /// Present when faults were injected (`--faults`).
    pub takeovers: Option<TakeoverReport>,
    /// The job's own compliance meters at its end.
    pub meters: Option<Meters>,
    /// The wall-board's one-time supervisor link printed at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
}

/// The job's compliance meters as the node keeps them: the nuisance windows (with the people
/// answering-machine detection is estimated to have called machines, counted as abandoned)
/// and the contacts each rule held back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meters {
    pub live_day: u64,
    pub nuisance_day: u64,
    pub machine_day: u64,
    pub amd_estimate_day: u64,
    pub live_30d: u64,
    pub nuisance_30d: u64,
    pub machine_30d: u64,
    pub amd_estimate_30d: u64,
    pub held_back: BTreeMap<String, u64>,
}

impl Meters {
    pub fn of(stats: &outdial_node::job::StatsView) -> Meters {
        let c = &stats.nuisance_counts;
        Meters {
            live_day: c.live_day,
            nuisance_day: c.nuisance_day,
            machine_day: c.machine_day,
            amd_estimate_day: stats.amd_estimate_day,
            live_30d: c.live_30d,
            nuisance_30d: c.nuisance_30d,
            machine_30d: c.machine_30d,
            amd_estimate_30d: stats.amd_estimate_30d,
            held_back: stats.held_back.clone(),
        }
    }

    fn render(&self) -> String {
        let pct = |n: u64, d: u64| {
            if d == 0 {
                0.0
            } else {
                n as f64 * 100.0 / d as f64
            }
        };
        let held: Vec<String> = self
            .held_back
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        format!(
            "meters: today {} live, {} nuisance + {} estimated from {} machine verdicts ({:.2} %); 30 days {:.2} %; held back: {}\n",
            self.live_day,
            self.nuisance_day,
            self.amd_estimate_day,
            self.machine_day,
            pct(self.nuisance_day + self.amd_estimate_day, self.live_day),
            pct(self.nuisance_30d + self.amd_estimate_30d, self.live_30d),
            if held.is_empty() { "none".to_owned() } else { held.join(", ") },
        )
    }
}

/// What the injected faults did (`--faults`): each zone fault is a takeover, timed from the
/// fault to dialing resumed, and each agent's passage through it checked against Table 9
/// from its desktop's side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TakeoverReport {
    pub faults_injected: u32,
    pub takeovers: u64,
    pub took_ms_min: f64,
    pub took_ms_p50: f64,
    pub took_ms_max: f64,
    /// The last takeover's steps, ms from the fault.
    pub last_steps_ms: Vec<(outdial_core::agent::takeover::Step, f64)>,
    pub nuisance_released: u64,
    pub desktop_errors: u64,
    /// Each director and campaign-manager restart, fault to back in role, ms.
    pub director_restart_ms: Vec<f64>,
    pub campaign_manager_restart_ms: Vec<f64>,
    /// Agents' passages through a takeover, seen from their desktops.
    pub agent_takeovers: u64,
    /// Passages whose state after the takeover is not what Table 9 gives: must be 0.
    pub table9_violations: u64,
    /// HA time accounted to the agents, all together, seconds.
    pub ha_seconds: f64,
}

/// A completed attempt that a live voice answered (the nuisance rate's denominator).
fn answered_live(c: CompletionCode) -> bool {
    matches!(c, CompletionCode::AnsweredHuman | CompletionCode::Nuisance)
}

pub(super) fn build_report(
    node: &NodeHandle,
    job: JobId,
    peer_record: &str,
    seconds: f64,
    dir: &Path,
) -> Result<DemoReport, Box<dyn std::error::Error>> {
    let store = node.store();
    let counts = store.contact_counts(job)?;
    let attempts = store.attempts(job)?;
    let mut by_code = BTreeMap::new();
    let mut live = 0u64;
    let mut nuisance = 0u64;
    for a in &attempts {
        if let AttemptState::Completed(c) = a.state {
            *by_code.entry(c.name().to_owned()).or_insert(0u64) += 1;
            if answered_live(c) {
                live += 1;
            }
            if c == CompletionCode::Nuisance {
                nuisance += 1;
            }
        }
    }
    // The store's end state: every contact final or Ready (scheduled). Anything else —
    // still in flight after the job ended, or missing from the counts — is lost.
    let lost = counts.total.saturating_sub(counts.final_ + counts.ready);

    // The peer's record: one line per INVITE dialog, Call-ID first. A Call-ID starts with its
    // attempt's id (sip::ids::call_id_prefix; the rest is random), so two dialogs of one
    // attempt are an attempt dialed twice, and a Call-ID no attempt accounts for is a dial the
    // store does not know.
    let known: HashSet<u64> = attempts.iter().map(|a| a.id.0).collect();
    let mut dialogs: HashMap<u64, u64> = HashMap::new();
    let mut total_dialogs = 0u64;
    let mut unknown = 0u64;
    for line in peer_record.lines() {
        if let Some(cid) = line.split('\t').next() {
            total_dialogs += 1;
            match sip::ids::id_of_call_id("demo", cid) {
                Some(id) if known.contains(&id) => *dialogs.entry(id).or_default() += 1,
                _ => unknown += 1,
            }
        }
    }
    let repeated: u64 = dialogs.values().map(|n| n.saturating_sub(1)).sum();
    Ok(DemoReport {
        contacts: counts.total,
        r#final: counts.final_,
        pending_retry: counts.ready,
        lost,
        double_dialed: repeated + unknown,
        attempts: attempts.len() as u64,
        by_code,
        cps: if seconds > 0.0 {
            attempts.len() as f64 / seconds
        } else {
            0.0
        },
        nuisance_rate: if live == 0 {
            0.0
        } else {
            nuisance as f64 * 100.0 / live as f64
        },
        invite_dialogs_seen_by_peer: total_dialogs,
        seconds,
        data_dir: dir.display().to_string(),
        agents: None,
        takeovers: None,
        nuisance_cap_pct: None,
        meters: None,
        dashboard_url: None,
    })
}

/// One pass over the attempts for the agents' side: answer-to-agent times, and why each
/// nuisance call was one (the customer left, or the connect window closed).
pub(super) fn answer_times(
    node: &NodeHandle,
    job: JobId,
    connect_window_ms: u64,
    into: &mut AgentsReport,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut waits = crate::stats::Samples::default();
    for a in node.store().attempts(job)? {
        let at = |s: AttemptState| a.history.iter().find(|(_, x)| *x == s).map(|(t, _)| *t);
        let Some(answered) = at(AttemptState::Answered) else {
            continue;
        };
        if let Some(connected) = at(AttemptState::Connected) {
            waits.record(Duration::from_millis(connected.saturating_sub(answered)));
        }
        let nuisance = AttemptState::Completed(CompletionCode::Nuisance);
        if a.state == nuisance {
            let waited = at(nuisance).map_or(0, |end| end.saturating_sub(answered));
            if waited < connect_window_ms {
                into.nuisance_customer_left += 1;
            } else {
                into.nuisance_window_closed += 1;
            }
        }
    }
    let p = waits.percentiles();
    into.answer_to_agent_ms_p50 = p.p50 as u64;
    into.answer_to_agent_ms_p99 = p.p99 as u64;
    into.answer_to_agent_ms_max = p.max as u64;
    Ok(())
}

/// What the injected faults did, from the node's own records of the zone and what the
/// desktops saw.
pub(super) fn takeovers(
    node: &NodeHandle,
    injected: Injected,
    seen: &AgentsSeen,
) -> TakeoverReport {
    let status = node.status();
    let zone = status.zones.first();
    let took = |f: fn(&outdial_node::ZoneTakeovers) -> Option<f64>| zone.and_then(f).unwrap_or(0.0);
    TakeoverReport {
        faults_injected: injected.count,
        takeovers: zone.map_or(0, |z| z.takeovers),
        took_ms_min: took(|z| z.took_min_ms),
        took_ms_p50: took(|z| z.took_p50_ms),
        took_ms_max: took(|z| z.took_max_ms),
        last_steps_ms: zone
            .and_then(|z| z.last.as_ref())
            .map(|t| t.steps.clone())
            .unwrap_or_default(),
        nuisance_released: zone.map_or(0, |z| z.nuisance_released),
        desktop_errors: zone.map_or(0, |z| z.desktop_errors),
        director_restart_ms: injected.director_ms,
        campaign_manager_restart_ms: injected.manager_ms,
        agent_takeovers: seen.takeovers.len() as u64,
        table9_violations: seen
            .takeovers
            .iter()
            .filter(|t| !t.follows_table9())
            .count() as u64,
        ha_seconds: seen.ha_seconds,
    }
}

impl DemoReport {
    pub fn render(&self) -> String {
        let mut s = format!(
            "contacts {}  final {}  pending retry {}  lost {}  double-dialed {}\nattempts {}  ({:.1} per second over {:.1} s)  nuisance rate {:.2} %  INVITE dialogs seen by the peer {}\n",
            self.contacts, self.r#final, self.pending_retry, self.lost, self.double_dialed, self.attempts, self.cps, self.seconds, self.nuisance_rate, self.invite_dialogs_seen_by_peer
        );
        if let Some(cap) = self.nuisance_cap_pct {
            let verdict = if self.nuisance_rate <= cap {
                "held"
            } else {
                "EXCEEDED"
            };
            s.push_str(&format!(
                "nuisance cap {cap:.2} % of live answers: {verdict}\n"
            ));
        }
        if let Some(m) = &self.meters {
            s.push_str(&m.render());
        }
        for (code, n) in &self.by_code {
            s.push_str(&format!("  {code:<26} {n}\n"));
        }
        if let Some(a) = &self.agents {
            s.push_str(&format!(
                "agents {}  occupancy {:.1} %  calls with agents {}  dispositions {}  desktop errors {}  RTP packets bridged to agents {}\nanswer to agent: p50 {} ms  p99 {} ms  max {} ms\n",
                a.agents, a.occupancy * 100.0, a.calls, a.dispositions, a.desktop_errors, a.rtp_packets_to_agents,
                a.answer_to_agent_ms_p50, a.answer_to_agent_ms_p99, a.answer_to_agent_ms_max
            ));
        }
        if let Some(t) = &self.takeovers {
            s.push_str(&format!(
                "faults injected {}  takeovers {}  fault to dialing resumed: min {:.1} ms  p50 {:.1} ms  max {:.1} ms\nlive answers released as nuisance by takeovers {}  desktop errors {}  HA time {:.2} s\nagents through a takeover {}  Table 9 violations seen by the desktops {}\n",
                t.faults_injected, t.takeovers, t.took_ms_min, t.took_ms_p50, t.took_ms_max,
                t.nuisance_released, t.desktop_errors, t.ha_seconds, t.agent_takeovers, t.table9_violations
            ));
            let worst = |v: &[f64]| v.iter().copied().fold(0.0f64, f64::max);
            if !t.director_restart_ms.is_empty() || !t.campaign_manager_restart_ms.is_empty() {
                s.push_str(&format!(
                    "director restarts {} (worst {:.3} ms)  campaign manager restarts {} (worst {:.3} ms)\n",
                    t.director_restart_ms.len(),
                    worst(&t.director_restart_ms),
                    t.campaign_manager_restart_ms.len(),
                    worst(&t.campaign_manager_restart_ms)
                ));
            }
            if !t.last_steps_ms.is_empty() {
                let steps: Vec<String> = t
                    .last_steps_ms
                    .iter()
                    .map(|(step, ms)| format!("{step:?} {ms:.1}"))
                    .collect();
                s.push_str(&format!(
                    "last takeover (ms from the fault): {}\n",
                    steps.join(", ")
                ));
            }
        }
        s.push_str(&format!("data: {}\n", self.data_dir));
        s
    }
}
