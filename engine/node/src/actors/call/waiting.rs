//! A live answer waiting for an agent. The call queues on its zone's board, which hands the
//! oldest waiting call of a job to that job's longest-idle free agent the moment one frees
//! up: the order of service is the queue's, not whichever call looks first. The connect
//! window counts from the answer (with detection on, from the callee's first word); when it
//! closes with no agent, the flow plays the message and the call is nuisance.

use std::time::Duration;

use actix::prelude::*;

use super::CallActor;
use crate::actors::agent::{AgentActor, Connect, Resync};
use outdial_core::attempt::flow::Stage;
use outdial_core::sync::Ordering;
use outdial_core::zone::board::Seat;
use outdial_core::zone::queue::Waiting;

/// How long a call whose window closed just after the board handed it an agent waits for
/// that hand-over before it gives up on it.
const HANDOVER_GRACE: Duration = Duration::from_millis(500);

/// The board handed this call an agent: hand it the call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentFound(pub Addr<AgentActor>);

/// The zone is being taken over: a call waiting for an agent is released, never assigned
/// (docs/design.md §5.2 rules 2–3).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ReleasedByTakeover;

/// How the zone's board reaches a waiting call: to hand it an agent, or to release it.
#[derive(Clone)]
pub struct CallLink {
    pub found: Recipient<AgentFound>,
    pub released: Recipient<ReleasedByTakeover>,
}

impl CallActor {
    /// The flow asks for an agent. A preview's agent is its own; others queue on the board,
    /// and the connect window (counted from the answer) starts.
    pub(super) fn seek_agent(&mut self, ctx: &mut Context<Self>) {
        let now = self.deps.clock.now();
        let answered = *self.answered_at.get_or_insert(now);
        let closes = self.window_opens.unwrap_or(answered) + self.job.campaign.connect_window();
        ctx.run_later(closes.saturating_duration_since(now), |act, ctx| {
            act.window_closed(ctx)
        });
        if let Some(agent) = self.preview_agent.clone() {
            self.connect(agent, ctx);
            return;
        }
        let Some(board) = self.board.clone() else {
            return;
        };
        self.waiting_since_outage = board.outage_count();
        let seat = board.wait_for_agent(self.waiting(ctx));
        self.take_seat(seat, ctx);
    }

    /// Acts on where the board put the call: hand it to its agent, wait, or (answered
    /// while its zone is taken over) release it.
    fn take_seat(&mut self, seat: Seat<Addr<AgentActor>, CallLink>, ctx: &mut Context<Self>) {
        match seat {
            Seat::Agent(_, agent, _) => self.connect(agent, ctx),
            Seat::Queued => {}
            Seat::Released(_) => {
                if let Some(b) = &self.board {
                    b.count_released_by_takeover();
                }
                self.abandon_wait(ctx);
            }
        }
    }

    /// This call as the board's queue keeps it.
    fn waiting(&self, ctx: &Context<Self>) -> Waiting<CallLink> {
        let me = ctx.address();
        Waiting {
            attempt: self.entry.id(),
            job: self.job.job,
            since: self.answered_at.unwrap_or_else(|| self.deps.clock.now()),
            call: CallLink {
                found: me.clone().recipient(),
                released: me.recipient(),
            },
        }
    }

    /// The call leaves the queue (its customer hung up).
    pub(super) fn leave_queue(&mut self) {
        if let Some(b) = &self.board {
            b.stop_waiting(self.entry.id());
        }
    }

    fn window_closed(&mut self, ctx: &mut Context<Self>) {
        if self.flow.stage() != Stage::Waiting || self.connecting {
            return;
        }
        let queued = self
            .board
            .as_ref()
            .is_none_or(|b| b.stop_waiting(self.entry.id()));
        if queued || self.preview_agent.is_some() {
            self.abandon_wait(ctx);
        } else {
            // The board handed it an agent just before the window closed: the hand-over is on
            // its way; should it never come, the call is released as if none had been found.
            ctx.run_later(HANDOVER_GRACE, |act, ctx| {
                if act.flow.stage() == Stage::Waiting && !act.connecting {
                    act.abandon_wait(ctx);
                }
            });
        }
    }

    /// No agent in time: the information message, and the call is nuisance.
    fn abandon_wait(&mut self, ctx: &mut Context<Self>) {
        self.measure_wait(false);
        let effects = self.flow.on_connect_window_closed();
        self.perform(effects, ctx);
    }

    /// Hands the call (its RTP leg) to `agent`.
    fn connect(&mut self, agent: Addr<AgentActor>, ctx: &mut Context<Self>) {
        let Some(leg) = self.leg.take() else {
            agent.do_send(Resync);
            return;
        };
        self.connecting = true;
        let connect = Connect {
            info: self.info(),
            leg,
            call: ctx.address().recipient(),
        };
        ctx.wait(
            agent
                .send(connect)
                .into_actor(self)
                .map(move |res, act, ctx| {
                    act.connecting = false;
                    match res {
                        Ok(Ok(())) => act.connected(agent, ctx),
                        // The agent changed its mind meanwhile: the leg is ours again, and the
                        // call takes its place in the queue again.
                        Ok(Err(leg)) => {
                            act.leg = Some(leg);
                            act.requeue(ctx);
                        }
                        // The agent's actor is gone, and the leg with it: no audio to bridge or
                        // message to play, so the window closes on a silent line.
                        Err(_) => {
                            let effects = act.flow.on_connect_window_closed();
                            act.perform(effects, ctx);
                        }
                    }
                }),
        );
    }

    fn connected(&mut self, agent: Addr<AgentActor>, ctx: &mut Context<Self>) {
        self.agent = Some(agent);
        self.watch_agent(ctx);
        self.measure_wait(false);
        self.connected_at = Some(self.deps.clock.now());
        self.job.stats.with_agent.fetch_add(1, Ordering::Relaxed);
        let effects = self.flow.on_agent_connected();
        self.perform(effects, ctx);
    }

    /// A failed hand-over: back in the queue at its place, unless its window closed or its
    /// zone went out of service meanwhile.
    fn requeue(&mut self, ctx: &mut Context<Self>) {
        let now = self.deps.clock.now();
        let open = self
            .answered_at
            .map(|a| self.window_opens.unwrap_or(a))
            .is_some_and(|a| now < a + self.job.campaign.connect_window());
        let Some(board) = self.board.clone().filter(|_| self.preview_agent.is_none()) else {
            if !open {
                self.abandon_wait(ctx);
            }
            return;
        };
        if !open || board.outage_count() != self.waiting_since_outage {
            self.abandon_wait(ctx);
            return;
        }
        let seat = board.requeue(self.waiting(ctx));
        self.take_seat(seat, ctx);
    }
}

impl Handler<AgentFound> for CallActor {
    type Result = ();

    fn handle(&mut self, AgentFound(agent): AgentFound, ctx: &mut Context<Self>) {
        if self.flow.stage() == Stage::Waiting && !self.connecting {
            self.connect(agent, ctx);
        } else {
            // The call moved on (its customer left, its window closed): the agent is free.
            agent.do_send(Resync);
        }
    }
}

impl Handler<ReleasedByTakeover> for CallActor {
    type Result = ();

    fn handle(&mut self, _: ReleasedByTakeover, ctx: &mut Context<Self>) {
        if self.flow.stage() != Stage::Waiting || self.connecting {
            return;
        }
        if let Some(b) = &self.board {
            b.count_released_by_takeover();
        }
        self.abandon_wait(ctx);
    }
}
