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
#[rtype(result = "usize")]
pub struct AddDoNotCall(pub Vec<String>);

pub struct RuleEngine {
    rules: Arc<ArcSwap<RuleSet>>,
    dnc_file: Option<PathBuf>,
}

impl RuleEngine {
    pub fn new(rules: Arc<ArcSwap<RuleSet>>, dnc_file: Option<PathBuf>) -> Self {
        Self { rules, dnc_file }
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
            match crate::phone::normalize(line) {
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
    }
}

impl Handler<AddDoNotCall> for RuleEngine {
    type Result = usize;

    fn handle(&mut self, msg: AddDoNotCall, _ctx: &mut Context<Self>) -> usize {
        let mut numbers = self.rules.load().dnc.clone();
        numbers.extend(msg.0);
        let n = numbers.len();
        self.rules.store(Arc::new(RuleSet { dnc: numbers }));
        n
    }
}
