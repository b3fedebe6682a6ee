//! What a scenario run counts: SIPp's successful and failed calls, its per-message counters
//! (sent, received, retransmissions, timeouts, unexpected, lost), response times and counters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Scenario, StepKind};
use crate::loadtest::stat_file::{Bucket, Timing};
use crate::stats::{Percentiles, Samples};

/// One scenario message's counters, as SIPp's screen shows them per line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    /// SIPp's message index (labels are not counted).
    pub index: usize,
    /// `send`, `recv`, `pause`, `timewait` or `nop`.
    pub element: &'static str,
    /// The method or status sent or expected; empty for pauses and nops.
    pub message: String,
    /// Line of the element in the scenario file.
    pub line: u32,
    pub sent: u64,
    pub received: u64,
    /// Our retransmissions of a sent message.
    pub retransmissions: u64,
    /// Retransmissions of a received message that we absorbed.
    pub recv_retransmissions: u64,
    pub timeouts: u64,
    /// Messages received while this element was current that matched nothing.
    pub unexpected: u64,
    /// Messages thrown away by `lost`.
    pub lost: u64,
}

/// The scenario part of the JSON report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScenarioReport {
    /// The scenario file played.
    pub scenario_file: String,
    pub successful_calls: u64,
    pub failed_calls: u64,
    pub messages: Vec<MessageCounts>,
    /// `rtd` timers by name (`rtd="true"` is "1"), in milliseconds.
    pub response_times_ms: BTreeMap<String, Percentiles>,
    pub counters: BTreeMap<String, u64>,
    /// Messages for calls that had already ended (absorbed, as SIPp's dead calls do).
    pub dead_call_messages: u64,
    /// Datagrams the kernel refused to send.
    pub send_errors: u64,
}

/// Running counts of a scenario run, updated by the calls.
#[derive(Debug)]
pub(crate) struct Tally {
    pub messages: Vec<MessageCounts>,
    pub rtd: Vec<Samples>,
    /// The same response times in repartition buckets, for the screen and the stat file.
    pub rtd_timing: Vec<Timing>,
    /// First message to end, for each ended call.
    pub call_length: Timing,
    pub counters: Vec<u64>,
    pub retransmissions: u64,
    pub setup: Samples,
    pub answered: u64,
    pub last_answer: Option<Instant>,
    pub early_media: u64,
    pub remote_hangups: u64,
    pub successful: u64,
    pub failed_calls: u64,
    /// Failed calls by reason (a status code for an unexpected response).
    pub failed: BTreeMap<String, u64>,
    pub dead_call_messages: u64,
    pub stray: u64,
    pub junk: u64,
}

impl Tally {
    pub fn new(scn: &Scenario) -> Self {
        let messages =
            scn.steps
                .iter()
                .enumerate()
                .map(|(index, s)| {
                    let (element, message) = match &s.kind {
                        StepKind::Send(send) => (
                            "send",
                            match &send.what {
                                super::Outgoing::Request(m) => m.to_string(),
                                super::Outgoing::Response(c) => c.to_string(),
                            },
                        ),
                        StepKind::Recv(r) => (
                            "recv",
                            match &r.expect {
                                super::Expect::Response(c) => c.to_string(),
                                super::Expect::Request(m) => m.to_string(),
                                super::Expect::ResponseLike(re)
                                | super::Expect::RequestLike(re) => re.as_str().to_owned(),
                            },
                        ),
                        StepKind::Pause(p) if p.timewait => ("timewait", String::new()),
                        StepKind::Pause(_) => ("pause", String::new()),
                        StepKind::Nop => ("nop", String::new()),
                    };
                    MessageCounts {
                        index,
                        element,
                        message,
                        line: s.line,
                        ..MessageCounts::default()
                    }
                })
                .collect();
        Self {
            messages,
            rtd: vec![Samples::default(); scn.rtd_names.len()],
            rtd_timing: vec![Timing::new(&scn.rtd_bounds_ms); scn.rtd_names.len()],
            call_length: Timing::new(&scn.call_length_bounds_ms),
            counters: vec![0; scn.counter_names.len()],
            retransmissions: 0,
            setup: Samples::default(),
            answered: 0,
            last_answer: None,
            early_media: 0,
            remote_hangups: 0,
            successful: 0,
            failed_calls: 0,
            failed: BTreeMap::new(),
            dead_call_messages: 0,
            stray: 0,
            junk: 0,
        }
    }

    pub fn record_rtd(&mut self, rtd: usize, d: Duration) {
        if let Some(s) = self.rtd.get_mut(rtd) {
            s.record(d);
        }
        if let Some(t) = self.rtd_timing.get_mut(rtd) {
            t.record(d);
        }
    }

    /// Response times by name, for the stat file and the screen.
    pub fn response_times(&self, scn: &Scenario) -> Vec<(String, Timing)> {
        scn.rtd_names
            .iter()
            .zip(&self.rtd_timing)
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect()
    }

    /// Response-time repartition by name, for the JSON report.
    pub fn repartition(&self, scn: &Scenario) -> std::collections::BTreeMap<String, Vec<Bucket>> {
        scn.rtd_names
            .iter()
            .zip(&self.rtd_timing)
            .map(|(n, t)| (n.to_string(), t.repartition()))
            .collect()
    }

    pub fn fail(&mut self, reason: String) {
        self.failed_calls += 1;
        *self.failed.entry(reason).or_default() += 1;
    }

    /// The scenario part of the report (sorting the samples).
    pub fn report(&mut self, scn: &Scenario) -> ScenarioReport {
        ScenarioReport {
            scenario_file: scn.path.display().to_string(),
            successful_calls: self.successful,
            failed_calls: self.failed_calls,
            messages: self.messages.clone(),
            response_times_ms: scn
                .rtd_names
                .iter()
                .zip(self.rtd.iter_mut())
                .map(|(n, s)| (n.to_string(), s.percentiles()))
                .collect(),
            counters: scn
                .counter_names
                .iter()
                .zip(&self.counters)
                .map(|(n, c)| (n.to_string(), *c))
                .collect(),
            dead_call_messages: self.dead_call_messages,
            send_errors: 0,
        }
    }
}
