//! `GET /metrics`: the node's counters and gauges in the Prometheus text format.

use std::fmt::Write as _;

use actix_web::{web, HttpResponse};

use super::error::ApiResult;
use crate::NodeHandle;

pub async fn metrics(node: web::Data<NodeHandle>) -> ApiResult {
    let st = node.status();
    let mut out = String::new();
    let _ = writeln!(out, "# HELP outdial_invites_sent_total INVITEs sent by this node.\n# TYPE outdial_invites_sent_total counter\noutdial_invites_sent_total {}", st.invites_sent);
    let _ = writeln!(out, "# HELP outdial_sip_retransmissions_total SIP retransmissions sent.\n# TYPE outdial_sip_retransmissions_total counter\noutdial_sip_retransmissions_total {}", st.sip_retransmissions);
    let _ = writeln!(out, "# HELP outdial_recovered_attempts_total Attempts resolved recovered-after-failover at start-up.\n# TYPE outdial_recovered_attempts_total counter\noutdial_recovered_attempts_total {}", st.recovered_attempts);
    let _ = writeln!(out, "# HELP outdial_calls_in_flight Calls in progress.\n# TYPE outdial_calls_in_flight gauge\noutdial_calls_in_flight {}", st.load.calls_in_flight);
    let _ = writeln!(out, "# HELP outdial_cpu_cores CPU cores used by this process.\n# TYPE outdial_cpu_cores gauge\noutdial_cpu_cores {}", st.load.cpu_cores);
    // Each metric family is written whole (HELP, TYPE, then every sample): the text format
    // does not allow a family's samples to be interleaved with another's.
    let _ = writeln!(out, "# HELP outdial_mpp_up Whether a media server answers its health probes.\n# TYPE outdial_mpp_up gauge");
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_up{{mpp=\"{}\"}} {}",
            m.name,
            u8::from(m.healthy)
        );
    }
    let _ = writeln!(out, "# HELP outdial_mpp_ports_in_use Calls a media server is carrying.\n# TYPE outdial_mpp_ports_in_use gauge");
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_ports_in_use{{mpp=\"{}\"}} {}",
            m.name, m.in_use
        );
    }
    let mut views = Vec::new();
    if let Ok(jobs) = node.store().jobs() {
        for j in jobs {
            if let Some(rt) = node.runtime(j.id).await {
                views.push((j.id, rt.stats.view(outdial_core::clock::unix_ms())));
            }
        }
    }
    let _ = writeln!(out, "# HELP outdial_attempts_total Attempts completed, by job and completion code.\n# TYPE outdial_attempts_total counter");
    for (job, v) in &views {
        for (code, n) in &v.by_code {
            let _ = writeln!(
                out,
                "outdial_attempts_total{{job=\"{job}\",code=\"{code}\"}} {n}"
            );
        }
    }
    let _ = writeln!(out, "# HELP outdial_nuisance_rate_percent Nuisance calls per live-answered call.\n# TYPE outdial_nuisance_rate_percent gauge");
    for (job, v) in &views {
        let _ = writeln!(
            out,
            "outdial_nuisance_rate_percent{{job=\"{job}\",window=\"calendar-day\"}} {}",
            v.nuisance_rate_day_pct
        );
        let _ = writeln!(
            out,
            "outdial_nuisance_rate_percent{{job=\"{job}\",window=\"rolling-30-days\"}} {}",
            v.nuisance_rate_30d_pct
        );
    }
    let _ = writeln!(out, "# HELP outdial_zone_agents Agents logged in to the zone, and those free for a call.\n# TYPE outdial_zone_agents gauge");
    let zones = node.zone_counts();
    for (zone, c) in &zones {
        let _ = writeln!(
            out,
            "outdial_zone_agents{{zone=\"{zone}\",state=\"logged-in\"}} {}",
            c.agents_total
        );
        let _ = writeln!(
            out,
            "outdial_zone_agents{{zone=\"{zone}\",state=\"ready\"}} {}",
            c.agents_ready
        );
    }
    let _ = writeln!(out, "# HELP outdial_zone_calls_without_agent Calls holding a line without an agent, by stage.\n# TYPE outdial_zone_calls_without_agent gauge");
    for (zone, c) in &zones {
        for (stage, n) in [
            ("dialing", c.calls_dialing),
            ("ringing", c.calls_ringing),
            ("waiting", c.calls_waiting),
        ] {
            let _ = writeln!(
                out,
                "outdial_zone_calls_without_agent{{zone=\"{zone}\",stage=\"{stage}\"}} {n}"
            );
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}
