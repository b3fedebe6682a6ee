//! The agent's audio: the nailing call to the agent's phone, and the bridge between a
//! customer's leg and the nailed leg (held, unbridged, lost).

use actix::prelude::*;
use media::RtpLeg;

use super::AgentActor;
use crate::sip_plant::SipCommand;

/// How long the agent's phone may ring before the nailing call counts as failed.
const NAIL_RING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl AgentActor {
    pub(super) fn nail(&mut self, ctx: &mut Context<Self>) {
        self.drop_nail();
        let leg = match self.deps.rtp.bind_leg() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(agent = %self.session.id(), error = %e, "no RTP port to nail the agent's phone");
                let now = self.deps.clock.now();
                self.session.on_nail_lost(now);
                return;
            }
        };
        let id = self.deps.nails.next();
        let offer =
            sip::sdp::offer(id.0, 1, self.deps.rtp.ip(), leg.local_addr().port()).into_bytes();
        self.nail_leg = Some(leg);
        self.nail_id = Some(id);
        let sent = self.deps.sip.send(SipCommand::Dial {
            attempt: id,
            target: self.phone.addr,
            request_uri: self.phone.uri.clone(),
            from_uri: format!("sip:outdial@{}", self.deps.sip.local),
            sdp_offer: Some(offer),
            ring_timeout: NAIL_RING_TIMEOUT,
            extra_headers: Vec::new(),
            transport: None,
            call: ctx.address().recipient(),
        });
        if !sent {
            self.nail_id = None;
            if let Some(leg) = self.nail_leg.take() {
                stop_leg(leg);
            }
            let now = self.deps.clock.now();
            self.session.on_nail_lost(now);
        }
    }

    pub(super) fn drop_nail(&mut self) {
        if let Some(id) = self.nail_id.take() {
            self.deps.sip.send(SipCommand::HangUp { attempt: id });
        }
        if let Some(leg) = self.nail_leg.take() {
            stop_leg(leg);
        }
        if let Some(b) = self.bridge.take() {
            actix::spawn(async move {
                let _ = b.stop().await;
            });
        }
    }

    /// Bridges the customer's leg to the nailed leg.
    pub(super) fn bridge(&mut self, ctx: &mut Context<Self>) {
        let Some(customer_leg) = self.customer.as_mut().and_then(|c| c.leg.take()) else {
            return;
        };
        let Some(nail_leg) = self.nail_leg.take() else {
            if let Some(c) = self.customer.as_mut() {
                c.leg = Some(customer_leg);
            }
            return;
        };
        ctx.wait(
            media::spawn_bridge(customer_leg, nail_leg)
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok(handle) => act.bridge = Some(handle),
                    Err(e) => {
                        // Both legs are gone with the failed bridge: the agent cannot hear
                        // the customer, which is a lost phone as far as the call goes.
                        tracing::warn!(agent = %act.session.id(), error = %e, "could not bridge");
                        act.nail_id
                            .take()
                            .map(|id| act.deps.sip.send(SipCommand::HangUp { attempt: id }));
                        let now = act.deps.clock.now();
                        act.session.on_nail_lost(now);
                        act.drain(ctx);
                    }
                }),
        );
    }

    /// Ends the bridge: the nailed leg comes back to the agent, the customer's leg is closed.
    pub(super) fn unbridge(&mut self, ctx: &mut Context<Self>) {
        self.unbridge_then(ctx, false);
    }

    /// Ends the bridge but keeps the customer's leg (hold).
    pub(super) fn unbridge_keep_customer(&mut self, ctx: &mut Context<Self>) {
        self.unbridge_then(ctx, true);
    }

    pub(super) fn unbridge_then(&mut self, ctx: &mut Context<Self>, keep_customer: bool) {
        let Some(handle) = self.bridge.take() else {
            if !keep_customer {
                if let Some(leg) = self.customer.as_mut().and_then(|c| c.leg.take()) {
                    stop_leg(leg);
                }
            }
            return;
        };
        ctx.wait(
            handle
                .unbridge()
                .into_actor(self)
                .map(move |res, act, ctx| match res {
                    Ok((customer_leg, nail_leg)) => {
                        act.nail_leg = Some(nail_leg);
                        match act.customer.as_mut() {
                            Some(c) if keep_customer => c.leg = Some(customer_leg),
                            _ => stop_leg(customer_leg),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(agent = %act.session.id(), error = %e, "could not unbridge");
                        act.nail_id
                            .take()
                            .map(|id| act.deps.sip.send(SipCommand::HangUp { attempt: id }));
                        let now = act.deps.clock.now();
                        act.session.on_nail_lost(now);
                        act.drain(ctx);
                    }
                }),
        );
    }
}

pub(super) fn stop_leg(leg: RtpLeg) {
    actix::spawn(async move {
        let _ = leg.stop().await;
    });
}
