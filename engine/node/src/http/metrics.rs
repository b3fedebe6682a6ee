//! `GET /metrics`: the node's counters and gauges in the Prometheus text format.
//!
//! Each metric family is written whole (HELP, TYPE, then every sample): the text format does
//! not allow a family's samples to be interleaved with another's.

use std::fmt::Write as _;

use actix_web::{web, HttpResponse};
use outdial_core::domain::JobId;
use outdial_core::pacing::ZoneSnapshot;

use super::error::ApiResult;
use crate::handle::NodeStatus;
use crate::job::StatsView;
use crate::NodeHandle;

pub async fn metrics(node: web::Data<NodeHandle>) -> ApiResult {
    let st = node.status();
    let mut views = Vec::new();
    if let Ok(jobs) = node.store().jobs() {
        for j in jobs {
            if let Some(rt) = node.runtime(j.id).await {
                views.push((j.id, rt.stats.view(outdial_core::clock::unix_ms())));
            }
        }
    }
    let mut out = String::new();
    node_counters(&mut out, &st);
    media(&mut out, &st);
    sip(&mut out, &st);
    media_servers(&mut out, &st);
    jobs(&mut out, &views);
    nuisance(&mut out, &views);
    zones(&mut out, &node.zone_counts());
    out.push_str(&node.trunk_metrics());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}

/// Writes a family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn node_counters(out: &mut String, st: &NodeStatus) {
    for (name, kind, help, v) in [
        (
            "outdial_invites_sent_total",
            "counter",
            "INVITEs sent by this node.",
            st.invites_sent,
        ),
        (
            "outdial_sip_retransmissions_total",
            "counter",
            "SIP retransmissions sent.",
            st.sip_retransmissions,
        ),
        (
            "outdial_recovered_attempts_total",
            "counter",
            "Attempts resolved recovered-after-failover at start-up.",
            st.recovered_attempts,
        ),
        (
            "outdial_calls_in_flight",
            "gauge",
            "Calls in progress.",
            st.load.calls_in_flight,
        ),
    ] {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
    family(
        out,
        "outdial_cpu_cores",
        "gauge",
        "CPU cores used by this process.",
    );
    let _ = writeln!(out, "outdial_cpu_cores {}", st.load.cpu_cores);
}

fn media(out: &mut String, st: &NodeStatus) {
    let m = &st.media;
    for (name, help, v) in [
        ("legs", "Call legs ended.", m.legs),
        (
            "packets_sent",
            "RTP packets sent by call legs that have ended.",
            m.packets_sent,
        ),
        (
            "packets_received",
            "RTP packets received by call legs that have ended.",
            m.packets_received,
        ),
        (
            "packets_lost",
            "RTP packets lost (RFC 3550) on call legs that have ended.",
            m.packets_lost,
        ),
        (
            "unexpected_source",
            "RTP datagrams dropped for coming from an address other than the far end's SDP named.",
            m.unexpected_source,
        ),
        (
            "malformed",
            "Datagrams from the far end that were not RTP.",
            m.malformed,
        ),
    ] {
        let name = format!("outdial_rtp_{name}_total");
        family(out, &name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
}

fn sip(out: &mut String, st: &NodeStatus) {
    let s = &st.sip_plant;
    for (name, help, v) in [
        (
            "refused_invites",
            "INVITEs from outside refused (a stateless 403, or dropped over the guard's rate).",
            s.refused_invites,
        ),
        (
            "answered_stateless",
            "Requests answered without a transaction.",
            s.answered_stateless,
        ),
        (
            "guard_dropped",
            "Requests the per-source guard dropped.",
            s.guard_dropped,
        ),
        (
            "guard_bans",
            "Sources the per-source guard banned.",
            s.guard_bans,
        ),
        (
            "foreign_responses",
            "Responses from elsewhere than their request went, dropped.",
            s.foreign_responses,
        ),
        (
            "rejected_malformed",
            "Requests that failed to parse, answered statelessly (400, 505).",
            s.rejected_malformed,
        ),
        (
            "dropped_junk",
            "Malformed bytes dropped without an answer (junk, broken responses).",
            s.dropped_junk,
        ),
        (
            "socket_errors",
            "Socket errors the SIP receive loop survived.",
            s.socket_errors,
        ),
    ] {
        let name = format!("outdial_sip_{name}_total");
        family(out, &name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
}

fn media_servers(out: &mut String, st: &NodeStatus) {
    family(
        out,
        "outdial_mpp_up",
        "gauge",
        "Whether a media server answers its health probes.",
    );
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_up{{mpp=\"{}\"}} {}",
            m.name,
            u8::from(m.healthy)
        );
    }
    family(
        out,
        "outdial_mpp_ports_in_use",
        "gauge",
        "Calls a media server is carrying.",
    );
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_ports_in_use{{mpp=\"{}\"}} {}",
            m.name, m.in_use
        );
    }
}

fn jobs(out: &mut String, views: &[(JobId, StatsView)]) {
    family(
        out,
        "outdial_attempts_total",
        "counter",
        "Attempts completed, by job and completion code.",
    );
    for (job, v) in views {
        for (code, n) in &v.by_code {
            let _ = writeln!(
                out,
                "outdial_attempts_total{{job=\"{job}\",code=\"{code}\"}} {n}"
            );
        }
    }
    family(
        out,
        "outdial_held_back_total",
        "counter",
        "Contacts the rules of law held back, by job and rule.",
    );
    for (job, v) in views {
        for (rule, n) in &v.held_back {
            let _ = writeln!(
                out,
                "outdial_held_back_total{{job=\"{job}\",rule=\"{rule}\"}} {n}"
            );
        }
    }
}

fn nuisance(out: &mut String, views: &[(JobId, StatsView)]) {
    family(
        out,
        "outdial_nuisance_rate_percent",
        "gauge",
        "Nuisance calls per live-answered call.",
    );
    for (job, v) in views {
        for (window, rate) in [
            ("calendar-day", v.nuisance_rate_day_pct),
            ("rolling-30-days", v.nuisance_rate_30d_pct),
        ] {
            let _ = writeln!(
                out,
                "outdial_nuisance_rate_percent{{job=\"{job}\",window=\"{window}\"}} {rate}"
            );
        }
    }
    family(out, "outdial_nuisance_window", "gauge", "Live answers, nuisance calls and machine verdicts in each nuisance window, with the people the detector is estimated to have called machines (counted as abandoned).");
    for (job, v) in views {
        let c = &v.nuisance_counts;
        for (window, live, nuisance, machine, estimate) in [
            (
                "calendar-day",
                c.live_day,
                c.nuisance_day,
                c.machine_day,
                v.amd_estimate_day,
            ),
            (
                "rolling-30-days",
                c.live_30d,
                c.nuisance_30d,
                c.machine_30d,
                v.amd_estimate_30d,
            ),
        ] {
            for (kind, n) in [
                ("live", live),
                ("nuisance", nuisance),
                ("machine", machine),
                ("amd-estimate", estimate),
            ] {
                let _ = writeln!(out, "outdial_nuisance_window{{job=\"{job}\",window=\"{window}\",kind=\"{kind}\"}} {n}");
            }
        }
    }
}

fn zones(out: &mut String, zones: &[(String, ZoneSnapshot)]) {
    family(
        out,
        "outdial_zone_agents",
        "gauge",
        "Agents logged in to the zone, and those free for a call.",
    );
    for (zone, c) in zones {
        for (state, n) in [("logged-in", c.agents_total), ("ready", c.agents_ready)] {
            let _ = writeln!(
                out,
                "outdial_zone_agents{{zone=\"{zone}\",state=\"{state}\"}} {n}"
            );
        }
    }
    family(
        out,
        "outdial_zone_calls_without_agent",
        "gauge",
        "Calls holding a line without an agent, by stage.",
    );
    for (zone, c) in zones {
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
}
