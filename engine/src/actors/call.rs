//! The call actor: one per attempt in flight, on the SIP plant's arbiter. A thin shell over
//! [`AttemptFlow`]: it turns SIP signals into effects and performs them (storage writes, the
//! RTP leg, hang-up), then records the outcome durably and applies the retry rule.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use media::{Codec, RtpLeg};

use crate::domain::{Attempt, AttemptState, CompletionCode, Contact};
use crate::flow::{AttemptFlow, CallMode, Effect};
use crate::node::job::JobRuntime;
use crate::node::shared::NodeShared;
use crate::node::sip::{CallSignal, SipCommand};
use crate::store::Write;

pub struct CallActor {
    shared: Arc<NodeShared>,
    job: Arc<JobRuntime>,
    attempt: Attempt,
    contact: Contact,
    mpp: usize,
    flow: AttemptFlow,
    leg: Option<RtpLeg>,
    completed: bool,
}

impl CallActor {
    pub fn new(
        shared: Arc<NodeShared>,
        job: Arc<JobRuntime>,
        attempt: Attempt,
        contact: Contact,
        mpp: usize,
    ) -> Self {
        Self {
            shared,
            job,
            attempt,
            contact,
            mpp,
            flow: AttemptFlow::new(CallMode::Agentless),
            leg: None,
            completed: false,
        }
    }

    fn bind_leg(&mut self) -> Option<u16> {
        let leg = RtpLeg::bind_from(&self.shared.ports, self.shared.rtp_ip, Codec::Pcmu, 8).ok()?;
        let port = leg.local_addr().port();
        self.leg = Some(leg);
        Some(port)
    }

    fn perform(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) {
        for e in effects {
            match e {
                Effect::Persist(state) => {
                    self.attempt.state = state;
                    self.attempt
                        .history
                        .push((self.shared.clock.unix_ms(), state));
                    // Not awaited: recovery treats Ringing and Answered like Dialing.
                    drop(
                        self.shared
                            .commit
                            .submit(vec![Write::Attempt(self.attempt.clone())]),
                    );
                    self.shared.publish(&self.attempt);
                }
                Effect::PlayPrompt => {
                    let prompt = self.job.prompt.clone();
                    let length = prompt.duration();
                    if let Some(leg) = &self.leg {
                        leg.play(prompt);
                    }
                    ctx.run_later(length + Duration::from_millis(100), |act, ctx| {
                        let effects = act.flow.on_prompt_done();
                        act.perform(effects, ctx);
                    });
                }
                Effect::HangUp => {
                    self.shared.sip.send(SipCommand::HangUp {
                        attempt: self.attempt.id,
                    });
                }
                Effect::Complete(code) => self.complete(code, ctx),
            }
        }
    }

    fn complete(&mut self, code: CompletionCode, ctx: &mut Context<Self>) {
        if self.completed {
            return;
        }
        self.completed = true;
        self.shared.mpps.release(self.mpp);
        if let Some(leg) = self.leg.take() {
            actix::spawn(async move {
                let _ = leg.stop().await;
            });
        }
        let now = self.shared.clock.unix_ms();
        self.attempt.state = AttemptState::Completed(code);
        self.attempt.history.push((now, self.attempt.state));
        let was = self.contact.state;
        self.contact.last_code = Some(code);
        self.contact.state = crate::retry::decide(&self.job.campaign, &self.contact, code, now);
        let writes = vec![
            Write::Attempt(self.attempt.clone()),
            Write::Contact {
                contact: self.contact.clone(),
                was: Some(was),
            },
        ];
        let ticket = self.shared.commit.submit(writes);
        let job = Arc::clone(&self.job);
        let contact = self.contact.id;
        let attempt = self.attempt.id;
        ctx.wait(ticket.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok(()) => {
                    job.stats.completed(code, act.shared.clock.unix_ms());
                    job.release(contact);
                    act.shared.publish(&act.attempt);
                }
                // The contact stays InFlight on disk; recovery resolves it at the next
                // start. Keep it claimed so this node does not dial it again meanwhile.
                Err(e) => tracing::error!(%attempt, error = %e, "could not record the outcome"),
            }
            ctx.stop();
        }));
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(port) = self.bind_leg() else {
            let effects = self.flow.no_media();
            self.perform(effects, ctx);
            return;
        };
        let Some(slot) = self.shared.mpps.slot(self.mpp) else {
            let effects = self.flow.no_media();
            self.perform(effects, ctx);
            return;
        };
        let target = slot.config.address;
        tracing::debug!(attempt = %self.attempt.id, phone = %crate::domain::Redacted(&self.contact.phone), mpp = %slot.config.name, "dialing");
        let offer = sip::sdp::offer(self.attempt.id.0, 1, self.shared.rtp_ip, port).into_bytes();
        let campaign = &self.job.campaign;
        let sent = self.shared.sip.send(SipCommand::Dial {
            attempt: self.attempt.id,
            target,
            request_uri: format!("sip:{}@{}", self.contact.phone, target),
            from_uri: caller_uri(campaign, self.shared.sip.local),
            sdp_offer: Some(offer),
            ring_timeout: campaign.ring_timeout(),
            call: ctx.address().recipient(),
        });
        if !sent {
            let effects = self.flow.on_signal(&CallSignal::NotSent { backoff: false });
            self.perform(effects, ctx);
        }
    }
}

impl Handler<CallSignal> for CallActor {
    type Result = ();

    fn handle(&mut self, signal: CallSignal, ctx: &mut Context<Self>) {
        if let CallSignal::Answered { sdp: Some(sdp) } = &signal {
            if let (Some(remote), Some(leg)) = (
                sip::sdp::parse_answer(sdp).ok().and_then(|a| a.remote()),
                &self.leg,
            ) {
                leg.set_remote(remote);
            }
        }
        if let CallSignal::NotSent { backoff: true } = signal {
            // The MPP asked for a pause (503 Retry-After): stop picking it meanwhile.
            if let Some(slot) = self.shared.mpps.slot(self.mpp) {
                slot.block_until(self.shared.clock.unix_ms() + 1000);
            }
        }
        if let CallSignal::Ended(sip::EndReason::Rejected {
            status: 503,
            retry_after: Some(ra),
        }) = &signal
        {
            if let Some(slot) = self.shared.mpps.slot(self.mpp) {
                slot.block_until(
                    self.shared.clock.unix_ms() + u64::try_from(ra.as_millis()).unwrap_or(u64::MAX),
                );
            }
        }
        let effects = self.flow.on_signal(&signal);
        self.perform(effects, ctx);
    }
}

/// The From URI of a campaign's calls: its caller ID, or the node's own address.
fn caller_uri(campaign: &crate::campaign::Campaign, local: std::net::SocketAddr) -> String {
    match campaign.caller_id() {
        Some(crate::campaign::CallerId::E164(n)) => format!("sip:{n}@{}", local.ip()),
        Some(crate::campaign::CallerId::Uri(u)) => u.clone(),
        None => format!("sip:outdial@{local}"),
    }
}
