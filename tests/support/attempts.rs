//! The attempts of a job as `GET /v1/jobs/{id}/attempts` shows them, and the checks the
//! end-to-end tests make over them (histories, concurrent dials, retry sequences, Call-IDs).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::node::Node;

/// One attempt as GET /v1/jobs/{id}/attempts shows it.
#[derive(Debug, Clone)]
pub struct AttemptView {
    pub id: u64,
    pub contact: u64,
    pub number: u32,
    /// `dialing`, `ringing`, ..., `completed`.
    pub state: String,
    /// The completion code when completed.
    pub code: Option<String>,
    /// (unix ms, state name) in order.
    pub history: Vec<(u64, String)>,
    pub raw: Value,
}

impl AttemptView {
    pub fn from_json(v: &Value) -> AttemptView {
        let num = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("attempt without {k}: {v}"))
        };
        let history = v["history"]
            .as_array()
            .unwrap_or_else(|| panic!("attempt without history: {v}"))
            .iter()
            .map(|h| {
                let ts = h[0]
                    .as_u64()
                    .unwrap_or_else(|| panic!("bad history entry {h} in {v}"));
                let st = h[1]["state"]
                    .as_str()
                    .unwrap_or_else(|| panic!("bad history entry {h} in {v}"));
                (ts, st.to_owned())
            })
            .collect();
        AttemptView {
            id: num("id"),
            contact: num("contact"),
            number: u32::try_from(num("number")).expect("attempt number fits u32"),
            state: v["state"]["state"]
                .as_str()
                .unwrap_or_else(|| panic!("attempt without state: {v}"))
                .to_owned(),
            code: v["state"]["code"].as_str().map(str::to_owned),
            history,
            raw: v.clone(),
        }
    }

    /// [first Dialing, Completed] in unix ms; an attempt that never dialed (no media server)
    /// is the instant of its outcome.
    pub fn interval(&self) -> (u64, u64) {
        let start = self
            .history
            .iter()
            .find(|(_, s)| s == "dialing")
            .or(self.history.first())
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("attempt {} never dialing: {}", self.id, self.raw));
        let end = self
            .history
            .iter()
            .rev()
            .find(|(_, s)| s == "completed")
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("attempt {} never completed: {}", self.id, self.raw));
        (start, end)
    }
}

/// Attempts grouped by contact, each group ordered by attempt number.
pub fn by_contact(attempts: &[AttemptView]) -> BTreeMap<u64, Vec<&AttemptView>> {
    let mut m: BTreeMap<u64, Vec<&AttemptView>> = BTreeMap::new();
    for a in attempts {
        m.entry(a.contact).or_default().push(a);
    }
    for v in m.values_mut() {
        v.sort_by_key(|a| a.number);
    }
    m
}

/// Every attempt is completed, its history starts with `dialing` and ends with `completed`
/// (exactly one `completed`); attempt ids are distinct.
pub fn check_histories(attempts: &[AttemptView]) {
    let mut ids = std::collections::HashSet::new();
    for a in attempts {
        assert!(ids.insert(a.id), "attempt id {} appears twice", a.id);
        assert_eq!(a.state, "completed", "attempt left transient: {}", a.raw);
        assert!(a.code.is_some(), "completed without a code: {}", a.raw);
        assert_eq!(
            a.history.first().map(|h| h.1.as_str()),
            Some("dialing"),
            "history must start with dialing: {}",
            a.raw
        );
        assert_eq!(
            a.history.last().map(|h| h.1.as_str()),
            Some("completed"),
            "history must end with completed: {}",
            a.raw
        );
        let completions = a.history.iter().filter(|h| h.1 == "completed").count();
        assert_eq!(completions, 1, "completed more than once: {}", a.raw);
        assert!(
            a.history.windows(2).all(|w| w[0].0 <= w[1].0),
            "history goes back in time: {}",
            a.raw
        );
    }
}

/// Per contact: attempt numbers are 1..=k, and no two attempts' [Dialing, Completed]
/// intervals overlap (a contact is never dialed twice at once).
pub fn check_no_concurrent_dials(attempts: &[AttemptView]) {
    for (contact, list) in by_contact(attempts) {
        let numbers: Vec<u32> = list.iter().map(|a| a.number).collect();
        let expected: Vec<u32> = (1..=u32::try_from(list.len()).expect("fits")).collect();
        assert_eq!(
            numbers, expected,
            "contact {contact}: attempt numbers {numbers:?}"
        );
        let mut by_start: Vec<&&AttemptView> = list.iter().collect();
        by_start.sort_by_key(|a| a.interval().0);
        for w in by_start.windows(2) {
            let (a, b) = (w[0].interval(), w[1].interval());
            assert!(
                b.0 >= a.1,
                "contact {contact}: attempt {} [{}, {}] overlaps attempt {} [{}, {}]",
                w[0].id,
                a.0,
                a.1,
                w[1].id,
                b.0,
                b.1
            );
            assert!(
                w[0].number < w[1].number,
                "contact {contact}: attempt {} (number {}) dialed before attempt {} (number {})",
                w[1].id,
                w[1].number,
                w[0].id,
                w[0].number
            );
        }
    }
}

/// Codes per completion count, from the attempts.
pub fn code_counts(attempts: &[AttemptView]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for a in attempts {
        *m.entry(a.code.clone().unwrap_or_default()).or_default() += 1;
    }
    m
}

/// A retry table as the engine applies it: (delay_s, max_attempts) per code, with the
/// engine's defaults for codes the campaign does not list (campaign.rs `RetryTable::default`).
pub fn retry_rules(overrides: &[(&str, u64, u32)]) -> HashMap<String, (u64, u32)> {
    let mut m: HashMap<String, (u64, u32)> = [
        ("busy", 300, 3),
        ("no-answer", 1800, 3),
        ("network-failure", 120, 5),
        ("timeout", 120, 3),
        ("no-media-resource", 60, 10),
        ("recovered-after-failover", 60, 3),
        ("nuisance", 3600, 2),
    ]
    .into_iter()
    .map(|(c, d, n)| (c.to_owned(), (d, n)))
    .collect();
    for (c, d, n) in overrides {
        m.insert((*c).to_owned(), (*d, *n));
    }
    m
}

/// Per contact, the codes of its attempts follow the retry table: every attempt but the last
/// ended with a code that allows another attempt (number < max_attempts), and the last ended
/// with a final code or at its code's max_attempts. Also checks each retry waited at least
/// the rule's delay after the previous completion.
pub fn check_retry_sequences(attempts: &[AttemptView], rules: &HashMap<String, (u64, u32)>) {
    let max_of = |code: &str| rules.get(code).map_or(1, |r| r.1);
    for (contact, list) in by_contact(attempts) {
        let codes: Vec<&str> = list
            .iter()
            .map(|a| a.code.as_deref().unwrap_or(""))
            .collect();
        let k = u32::try_from(list.len()).expect("fits");
        for (i, a) in list.iter().enumerate() {
            let code = codes[i];
            let n = a.number;
            if n < k {
                assert!(
                    n < max_of(code),
                    "contact {contact}: attempt {n} ended {code} (max {}) yet was retried: {codes:?}",
                    max_of(code)
                );
                let delay_ms = rules.get(code).map_or(0, |r| r.0 * 1000);
                let next = list[i + 1].interval().0;
                assert!(
                    next >= a.interval().1 + delay_ms,
                    "contact {contact}: attempt {} came {} ms after {code}, before its {delay_ms} ms delay",
                    n + 1,
                    next.saturating_sub(a.interval().1)
                );
            } else {
                assert!(
                    n >= max_of(code),
                    "contact {contact}: last attempt {n} ended {code} (max {}) but was not retried: {codes:?}",
                    max_of(code)
                );
            }
        }
    }
}

/// The Call-IDs of INVITE dialogs in a peer's `--record` file (first column), in order.
pub fn record_call_ids(record: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(record)
        .unwrap_or_else(|e| panic!("cannot read the peer record {}: {e}", record.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let cid = f.next().unwrap_or_default().to_owned();
            let uri = f.next().unwrap_or_default().to_owned();
            let outcome = f.next().unwrap_or_default().to_owned();
            assert!(
                !cid.is_empty() && !outcome.is_empty(),
                "bad record line {l:?}"
            );
            (cid, uri, outcome)
        })
        .collect()
}

/// The phone of a Request-URI `sip:+1212...@host:port`.
pub fn uri_phone(uri: &str) -> &str {
    uri.trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or_default()
}

/// The attempt id a Call-ID of `node` carries (its hex prefix), checking the rest of it.
pub fn attempt_of_call_id(node: &Node, call_id: &str) -> u64 {
    let hex = call_id
        .split('-')
        .next()
        .unwrap_or_else(|| panic!("Call-ID {call_id:?} has no id part"));
    let id = u64::from_str_radix(hex, 16)
        .unwrap_or_else(|e| panic!("Call-ID {call_id:?}: id part is not hex: {e}"));
    let host = format!("@{}", node.sip.ip());
    assert!(
        call_id.starts_with(&node.call_id_prefix(id)) && call_id.ends_with(&host),
        "Call-ID {call_id:?} does not follow sip/src/ids.rs for node {}",
        node.name
    );
    id
}
