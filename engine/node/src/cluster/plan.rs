//! What a node does next about mastership, decided from what it sees: a pure function, so
//! the shipped deployments and their failures can be played through it in tests without a
//! database or a network.
//!
//! The rules:
//! - The director, rule engine and load monitor are taken, when free, by the first live node
//!   in the cluster's order. A lease is free when nobody holds it, it ran out, or its holder
//!   is dead. The director goes back to the first node when that node is live again (a
//!   recovered director takes its zones back).
//! - Only the director allocates zones: a zone whose assigned node is not live, and whose
//!   lease nobody alive holds, goes to the least busy live node (fewest zones), the earlier
//!   node on a tie (docs/design.md §5.1: in the four-node deployment the third node takes zone 1, the fourth zone 2).
//! - A node takes a zone's lease only when the zone is assigned to it and the lease is free.
//!   A node holding a zone assigned elsewhere hands it over (its agents are logged out
//!   first), which is how "save and apply" moves a zone; a recovered node is never assigned
//!   anything by itself, so it stays DORMANT.
//! - A leaving node releases everything.

use std::collections::BTreeMap;

use crate::cluster::coordination::{zone_lease, Assignment, LeaseRow};

use super::{CONTROL_LEASES, DIRECTOR};

/// What the node sees at one decision.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub me: &'a str,
    /// Every node of the cluster, in rank order.
    pub ranks: &'a [String],
    /// Live nodes (this one included unless leaving).
    pub live: &'a [String],
    /// Peers this node may act on as dead.
    pub dead: &'a [String],
    pub zones: &'a [String],
    pub leases: &'a [LeaseRow],
    pub assignments: &'a [Assignment],
    /// Leases this node holds, with their epochs.
    pub held: &'a BTreeMap<String, u64>,
    pub leaving: bool,
    /// The director may allocate (it has been director long enough to have heard everyone).
    pub may_allocate: bool,
}

/// One step for the shell to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Take a lease; `dead` are the holders it may be taken from.
    Acquire(String),
    /// Give a lease up (a zone's agents are logged out first by the shell).
    Release(String),
    /// As director: move `zone` to `node`.
    Assign { zone: String, node: String },
}

impl Inputs<'_> {
    fn lease(&self, name: &str) -> Option<&LeaseRow> {
        self.leases.iter().find(|l| l.name == name)
    }

    /// Nobody may still act under it: never taken, released, run out, or its holder is dead.
    fn free(&self, name: &str) -> bool {
        match self.lease(name).and_then(|l| l.live_holder()) {
            None => true,
            Some(holder) => holder == self.me || self.dead.iter().any(|d| d == holder),
        }
    }

    fn is_live(&self, node: &str) -> bool {
        self.live.iter().any(|n| n == node)
    }

    fn first_live(&self) -> Option<&str> {
        self.ranks
            .iter()
            .find(|n| self.is_live(n))
            .map(String::as_str)
    }

    fn rank(&self, node: &str) -> usize {
        self.ranks
            .iter()
            .position(|n| n == node)
            .unwrap_or(usize::MAX)
    }
}

/// The actions, in the order to carry them out.
pub fn plan(i: &Inputs<'_>) -> Vec<Action> {
    let mut out = Vec::new();
    if i.leaving {
        out.extend(i.held.keys().map(|l| Action::Release(l.clone())));
        return out;
    }
    let first_live = i.first_live();
    for lease in CONTROL_LEASES {
        let holding = i.held.contains_key(lease);
        if holding {
            // The preferred director is back: hand the role over.
            let preferred = i.ranks.first().map(String::as_str);
            if lease == DIRECTOR && preferred != Some(i.me) && preferred == first_live {
                out.push(Action::Release(lease.to_owned()));
            }
        } else if first_live == Some(i.me) && i.free(lease) {
            out.push(Action::Acquire(lease.to_owned()));
        }
    }

    // The director's allocation, counted with the moves it makes this round.
    let mut assigned: BTreeMap<&str, &str> = i
        .assignments
        .iter()
        .map(|a| (a.zone.as_str(), a.node.as_str()))
        .collect();
    let director = i.held.contains_key(DIRECTOR) || out.contains(&Action::Acquire(DIRECTOR.into()));
    if director && i.may_allocate {
        for zone in i.zones {
            if assigned.get(zone.as_str()).is_some_and(|n| i.is_live(n)) {
                continue;
            }
            // A zone whose lease a node not known dead still holds is mastered, whatever its
            // heartbeat row says (a node slow to write it, or cut from the database and about
            // to give the zone up by itself): moving it would only make it hand over.
            let held = i
                .lease(&zone_lease(zone))
                .and_then(|l| l.live_holder())
                .is_some_and(|h| !i.dead.iter().any(|d| d == h));
            if held {
                continue;
            }
            let busy = |n: &str| assigned.values().filter(|v| **v == n).count();
            let target = i
                .ranks
                .iter()
                .filter(|n| i.is_live(n))
                .min_by_key(|n| (busy(n), i.rank(n)));
            if let Some(t) = target {
                out.push(Action::Assign {
                    zone: zone.clone(),
                    node: t.clone(),
                });
                assigned.insert(zone, t);
            }
        }
    }

    for zone in i.zones {
        let lease = zone_lease(zone);
        let mine = assigned.get(zone.as_str()) == Some(&i.me);
        let holding = i.held.contains_key(&lease);
        if holding && !mine {
            out.push(Action::Release(lease));
        } else if !holding && mine && i.free(&lease) {
            out.push(Action::Acquire(lease));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One node's view of a cluster whose leases and assignments are `world`.
    struct World {
        ranks: Vec<String>,
        zones: Vec<String>,
        leases: Vec<LeaseRow>,
        assignments: Vec<Assignment>,
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    impl World {
        fn new(nodes: &[&str], zones: &[(&str, &str)]) -> Self {
            World {
                ranks: names(nodes),
                zones: zones.iter().map(|(z, _)| z.to_string()).collect(),
                leases: Vec::new(),
                assignments: zones
                    .iter()
                    .map(|(z, n)| Assignment {
                        zone: z.to_string(),
                        node: n.to_string(),
                        preferred: None,
                        updated_at: 0,
                    })
                    .collect(),
            }
        }

        fn holder(&self, lease: &str) -> Option<String> {
            self.leases
                .iter()
                .find(|l| l.name == lease)
                .and_then(|l| l.live_holder().map(str::to_owned))
        }

        fn held_by(&self, me: &str) -> BTreeMap<String, u64> {
            self.leases
                .iter()
                .filter(|l| l.live_holder() == Some(me))
                .map(|l| (l.name.clone(), l.epoch))
                .collect()
        }

        /// Applies `me`'s plan to the world, as the database would.
        fn step(&mut self, me: &str, live: &[&str]) -> Vec<Action> {
            let live = names(live);
            let dead: Vec<String> = self
                .ranks
                .iter()
                .filter(|n| !live.contains(n))
                .cloned()
                .collect();
            let held = self.held_by(me);
            let actions = plan(&Inputs {
                me,
                ranks: &self.ranks,
                live: &live,
                dead: &dead,
                zones: &self.zones,
                leases: &self.leases,
                assignments: &self.assignments,
                held: &held,
                leaving: !live.iter().any(|n| n == me),
                may_allocate: true,
            });
            for a in &actions {
                match a {
                    Action::Acquire(l) => {
                        let free = self.holder(l).is_none_or(|h| h == me || dead.contains(&h));
                        if !free {
                            continue;
                        }
                        match self.leases.iter_mut().find(|x| &x.name == l) {
                            Some(x) => {
                                x.node = Some(me.into());
                                x.epoch += 1;
                                x.remaining_ms = 2000;
                            }
                            None => self.leases.push(LeaseRow {
                                name: l.clone(),
                                node: Some(me.into()),
                                epoch: 1,
                                remaining_ms: 2000,
                            }),
                        }
                    }
                    Action::Release(l) => {
                        if let Some(x) = self.leases.iter_mut().find(|x| &x.name == l) {
                            x.node = None;
                            x.remaining_ms = 0;
                        }
                    }
                    Action::Assign { zone, node } => {
                        if let Some(a) = self.assignments.iter_mut().find(|a| &a.zone == zone) {
                            a.node = node.clone();
                        }
                    }
                }
            }
            actions
        }

        /// Every live node decides, in rank order, until nothing changes.
        fn settle(&mut self, live: &[&str]) {
            for _ in 0..10 {
                let mut moved = false;
                for n in live {
                    moved |= !self.step(n, live).is_empty();
                }
                if !moved {
                    return;
                }
            }
            panic!("no fixed point: {:?}", self.leases);
        }

        /// The status table's rows we own: who masters what.
        fn table(&self) -> Vec<(String, String)> {
            let mut v: Vec<(String, String)> = self
                .leases
                .iter()
                .filter_map(|l| Some((l.name.clone(), l.live_holder()?.to_owned())))
                .collect();
            v.sort();
            v
        }
    }

    fn rows(v: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = v
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn two_nodes_one_zone_tables_1_and_2() {
        let mut w = World::new(&["pom1", "pom2"], &[("zone1", "pom1")]);
        w.settle(&["pom1", "pom2"]);
        let all_on = |n| {
            rows(&[
                ("director", n),
                ("rule-engine", n),
                ("load-monitor", n),
                ("zone/zone1", n),
            ])
        };
        assert_eq!(w.table(), all_on("pom1"));
        // pom1 dies (Table 2).
        w.settle(&["pom2"]);
        assert_eq!(w.table(), all_on("pom2"));
        // pom1 comes back: its director takes the zones back, the agent manager stays.
        w.settle(&["pom1", "pom2"]);
        assert_eq!(
            w.table(),
            rows(&[
                ("director", "pom1"),
                ("rule-engine", "pom2"),
                ("load-monitor", "pom2"),
                ("zone/zone1", "pom2"),
            ])
        );
    }

    #[test]
    fn three_nodes_two_zones_tables_3_and_4() {
        let mut w = World::new(
            &["pom1", "pom2", "pom3"],
            &[("zone1", "pom1"), ("zone2", "pom2")],
        );
        w.settle(&["pom1", "pom2", "pom3"]);
        let control = [
            ("director", "pom1"),
            ("rule-engine", "pom1"),
            ("load-monitor", "pom1"),
        ];
        let mut before = control.to_vec();
        before.extend([("zone/zone1", "pom1"), ("zone/zone2", "pom2")]);
        assert_eq!(w.table(), rows(&before));
        w.settle(&["pom1", "pom3"]);
        let mut after = control.to_vec();
        after.extend([("zone/zone1", "pom1"), ("zone/zone2", "pom3")]);
        assert_eq!(w.table(), rows(&after));
        // pom2 rejoins DORMANT.
        w.settle(&["pom1", "pom2", "pom3"]);
        assert_eq!(w.table(), rows(&after));
    }

    #[test]
    fn four_nodes_two_zones_tables_5_and_6() {
        let mut w = World::new(
            &["pom1", "pom2", "pom3", "pom4"],
            &[("zone1", "pom1"), ("zone2", "pom2")],
        );
        w.settle(&["pom1", "pom2", "pom3", "pom4"]);
        w.settle(&["pom3", "pom4"]);
        assert_eq!(
            w.table(),
            rows(&[
                ("director", "pom3"),
                ("rule-engine", "pom3"),
                ("load-monitor", "pom3"),
                ("zone/zone1", "pom3"),
                ("zone/zone2", "pom4"),
            ])
        );
    }

    #[test]
    fn save_and_apply_moves_a_zone_and_save_alone_does_not() {
        let mut w = World::new(
            &["pom1", "pom2", "pom3"],
            &[("zone1", "pom1"), ("zone2", "pom2")],
        );
        w.settle(&["pom1", "pom2", "pom3"]);
        // "save": only `preferred` changes, nothing moves.
        w.assignments[1].preferred = Some("pom3".into());
        w.settle(&["pom1", "pom2", "pom3"]);
        assert_eq!(w.holder("zone/zone2").as_deref(), Some("pom2"));
        // "save and apply": the assignment moves; pom2 releases, pom3 takes it.
        w.assignments[1].node = "pom3".into();
        let a = w.step("pom2", &["pom1", "pom2", "pom3"]);
        assert_eq!(a, vec![Action::Release("zone/zone2".into())]);
        w.settle(&["pom1", "pom2", "pom3"]);
        assert_eq!(w.holder("zone/zone2").as_deref(), Some("pom3"));
    }

    #[test]
    fn a_master_slow_to_heartbeat_keeps_its_zone_while_it_holds_the_lease() {
        let mut w = World::new(
            &["pom1", "pom2", "pom3"],
            &[("zone1", "pom1"), ("zone2", "pom2")],
        );
        w.settle(&["pom1", "pom2", "pom3"]);
        // The director (pom1) no longer sees pom2's row, but pom2 is not dead and its lease
        // is live: nothing moves.
        let director_sees = |w: &World| {
            plan(&Inputs {
                me: "pom1",
                ranks: &w.ranks,
                live: &names(&["pom1", "pom3"]),
                dead: &[],
                zones: &w.zones,
                leases: &w.leases,
                assignments: &w.assignments,
                held: &w.held_by("pom1"),
                leaving: false,
                may_allocate: true,
            })
        };
        let a = director_sees(&w);
        assert!(a.is_empty(), "{a:?}");
        // Once its lease has run out it is moved.
        for l in w.leases.iter_mut().filter(|l| l.name == "zone/zone2") {
            l.remaining_ms = 0;
        }
        assert_eq!(
            director_sees(&w),
            vec![Action::Assign {
                zone: "zone2".into(),
                node: "pom3".into()
            }]
        );
    }

    #[test]
    fn a_leaving_node_releases_everything_and_a_held_lease_is_not_taken() {
        let mut w = World::new(&["pom1", "pom2"], &[("zone1", "pom1")]);
        w.settle(&["pom1", "pom2"]);
        // pom2 thinks pom1 is live: it takes nothing.
        assert!(w.step("pom2", &["pom1", "pom2"]).is_empty());
        let a = w.step("pom1", &["pom2"]);
        assert_eq!(a.len(), 4);
        assert!(a.iter().all(|x| matches!(x, Action::Release(_))));
    }
}
