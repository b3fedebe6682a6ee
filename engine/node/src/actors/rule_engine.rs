//! The rule engine: owns the rules a contact must pass before it is dialed (today the
//! do-not-call list; calling hours belong to each campaign) and publishes them as an
//! immutable snapshot the prefetcher reads without locking.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;

/// Rules in force, swapped whole when they change.
#[derive(Debug, Default)]
pub struct RuleSet {
    dnc: HashSet<String>,
}

impl RuleSet {
    pub fn new(dnc: impl IntoIterator<Item = String>) -> Self {
        Self {
            dnc: dnc.into_iter().collect(),
        }
    }

    /// Whether the number must not be called.
    pub fn blocked(&self, phone: &str) -> bool {
        self.dnc.contains(phone)
    }

    pub fn dnc_len(&self) -> usize {
        self.dnc.len()
    }
}

/// Adds numbers to the do-not-call list (from the API or an import).
#[derive(Message)]
#[rtype(result = "Result<usize, crate::storage::StoreError>")]
pub struct AddDoNotCall(pub Vec<String>);

pub struct RuleEngine {
    rules: Arc<ArcSwap<RuleSet>>,
    dnc_file: Option<PathBuf>,
    /// A cluster's shared list, and how far this node has read it.
    shared: Option<(Arc<dyn crate::cluster::coordination::Coordination>, u64)>,
}

/// How often a cluster node reads the numbers other nodes added to the shared list.
const SHARED_DNC_EVERY: Duration = Duration::from_millis(500);

impl RuleEngine {
    pub fn new(rules: Arc<ArcSwap<RuleSet>>, dnc_file: Option<PathBuf>) -> Self {
        Self {
            rules,
            dnc_file,
            shared: None,
        }
    }

    /// A cluster node's rule engine: numbers added through any node block dialing on all.
    pub fn clustered(
        rules: Arc<ArcSwap<RuleSet>>,
        dnc_file: Option<PathBuf>,
        coord: Arc<dyn crate::cluster::coordination::Coordination>,
    ) -> Self {
        Self {
            rules,
            dnc_file,
            shared: Some((coord, 0)),
        }
    }

    fn add(&self, more: impl IntoIterator<Item = String>) -> usize {
        let mut numbers = self.rules.load().dnc.clone();
        numbers.extend(more);
        let n = numbers.len();
        self.rules.store(Arc::new(RuleSet { dnc: numbers }));
        n
    }

    /// Takes in what the other nodes added since the last read.
    fn sync_shared(&mut self) {
        let Some((coord, after)) = &self.shared else {
            return;
        };
        match coord.do_not_call_since(*after) {
            Ok((numbers, last)) => {
                if let Some((_, a)) = self.shared.as_mut() {
                    *a = last;
                }
                if !numbers.is_empty() {
                    self.add(numbers);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the shared do-not-call list"),
        }
    }

    /// Reads the do-not-call file: one E.164 number per line, '#' comments; bad lines are
    /// logged with their line numbers and skipped.
    fn reload(&mut self) {
        let Some(path) = &self.dnc_file else { return };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read the do-not-call list; keeping the old one");
                return;
            }
        };
        let mut numbers: HashSet<String> = self.rules.load().dnc.clone();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match outdial_core::contacts::phone::normalize(line) {
                Ok(n) => {
                    numbers.insert(n);
                }
                Err(e) => tracing::warn!(line = i + 1, error = %e, "do-not-call entry skipped"),
            }
        }
        self.rules.store(Arc::new(RuleSet { dnc: numbers }));
    }
}

impl Actor for RuleEngine {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.reload();
        if self.dnc_file.is_some() {
            ctx.run_interval(Duration::from_secs(60), |act, _| act.reload());
        }
        if self.shared.is_some() {
            self.sync_shared();
            ctx.run_interval(SHARED_DNC_EVERY, |act, _| act.sync_shared());
        }
    }
}

/// Adds the numbers; in a cluster they are recorded in the shared list first, so the
/// other nodes block them too (an error there refuses the request rather than block them
/// on this node alone).
impl Handler<AddDoNotCall> for RuleEngine {
    type Result = Result<usize, crate::storage::StoreError>;

    fn handle(&mut self, msg: AddDoNotCall, _ctx: &mut Context<Self>) -> Self::Result {
        if let Some((coord, _)) = &self.shared {
            coord.add_do_not_call(&msg.0)?;
        }
        Ok(self.add(msg.0))
    }
}
