//! Answering-machine detection on a call's answer: the leg's received audio is decoded and fed
//! to the media crate's sans-IO detector, whose verdict (and, for a machine that is left a
//! message, the end of its beep) goes to the flow and onto the attempt.
//!
//! The regulator's clock starts when the callee starts to speak: from that moment the
//! detector has the connect window for its verdict and the agent search the rest of it, so
//! a person still reaches an agent (or the message) in time. Without a verdict by then the
//! answer is a doubt, and a doubt is a person.

use std::time::Duration;

use actix::prelude::*;
use media::amd::{AmdConfig, AmdDetector, AmdEvent, Detector, Verdict as MediaVerdict};
use media::AudioFrame;

use super::CallActor;
use outdial_core::attempt::flow::Verdict;
use outdial_core::domain::AmdOutcome;

/// Frames the leg may hold for the detector before it drops (and counts) them.
const TAP_FRAMES: usize = 64;

/// How long the callee may stay silent after the answer before the detector gives up on
/// hearing a first word (Asterisk's default initial silence).
const INITIAL_SILENCE: Duration = Duration::from_millis(2_500);

impl CallActor {
    /// The flow asks for a verdict: listen to the answer.
    pub(super) fn detect(&mut self, ctx: &mut Context<Self>) {
        let (Some(leg), Some(detector)) = (&self.leg, self.new_detector()) else {
            // No audio to classify: a doubt, which goes on as a person.
            let effects = self.flow.on_verdict(Verdict::NotSure);
            self.perform(effects, ctx);
            return;
        };
        let frames = futures_util::stream::unfold(leg.audio_tap(TAP_FRAMES), |mut rx| async move {
            rx.recv().await.map(|f| (f, rx))
        });
        self.detector = Some(detector);
        ctx.add_stream(frames);
        self.arm_detector(ctx);
    }

    fn new_detector(&self) -> Option<AmdDetector> {
        let budget = (self.job.campaign.connect_window() + INITIAL_SILENCE).as_millis();
        let config = AmdConfig {
            max_analysis_ms: u32::try_from(budget)
                .unwrap_or(u32::MAX)
                .clamp(1_000, 30_000),
            ..AmdConfig::default()
        };
        AmdDetector::new(&config)
            .inspect_err(
                |e| tracing::error!(error = %e, "answering-machine detector refused its settings"),
            )
            .ok()
    }

    /// Time since the answer, as the detector counts it.
    fn since_answer(&self, at: std::time::Instant) -> Duration {
        self.answered_at
            .map_or(Duration::ZERO, |a| at.saturating_duration_since(a))
    }

    /// Wakes the detector at its next deadline, if it has one.
    fn arm_detector(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.detector_timer.take() {
            ctx.cancel_future(h);
        }
        let Some(due) = self.detector.as_ref().and_then(|d| d.poll_timeout()) else {
            return;
        };
        let now = self.since_answer(self.deps.clock.now());
        self.detector_timer = Some(ctx.run_later(due.saturating_sub(now), move |act, ctx| {
            act.detector_timer = None;
            if let Some(d) = act.detector.as_mut() {
                d.handle_timeout(due);
            }
            act.drain_detector(ctx);
        }));
    }

    /// The detector's events, to the flow and the attempt; the detector goes once it is done.
    fn drain_detector(&mut self, ctx: &mut Context<Self>) {
        while let Some(ev) = self.detector.as_mut().and_then(|d| d.poll_event()) {
            let effects = match ev {
                AmdEvent::Verdict { verdict, at, .. } => {
                    let verdict = match verdict {
                        MediaVerdict::Human => Verdict::Human,
                        MediaVerdict::Machine => Verdict::Machine,
                        MediaVerdict::NotSure => Verdict::NotSure,
                    };
                    if self.window_opens.is_none() {
                        // Silent so far: the window opens with the verdict.
                        self.window_opens = self.answered_at.map(|a| a + at);
                    }
                    self.record_amd(AmdOutcome {
                        verdict,
                        decided_ms: ms(at),
                        beep_end_ms: None,
                    });
                    self.flow.on_verdict(verdict)
                }
                AmdEvent::BeepEnd { at, .. } => {
                    if let Some(mut o) = self.entry.attempt().amd {
                        o.beep_end_ms = Some(ms(at));
                        self.record_amd(o);
                    }
                    self.flow.on_beep_over()
                }
                AmdEvent::NoBeep { .. } => self.flow.on_beep_over(),
            };
            self.perform(effects, ctx);
        }
        if self.detector.as_ref().is_some_and(|d| d.is_done()) {
            // Dropping the detector drops nothing else: the tap's frames are ignored from now.
            self.detector = None;
        }
        self.arm_detector(ctx);
    }

    /// The callee started to speak at `at`: the connect window opens, and the verdict must
    /// come inside it.
    fn speech_started(&mut self, at: std::time::Instant, ctx: &mut Context<Self>) {
        self.window_opens = Some(at);
        let closes = at + self.job.campaign.connect_window();
        let wait = closes.saturating_duration_since(self.deps.clock.now());
        ctx.run_later(wait, |act, ctx| {
            if act.flow.stage() != outdial_core::attempt::flow::Stage::Detecting {
                return;
            }
            // No verdict in time: a doubt, which goes on as a person (whose window has
            // closed, so the message plays unless an agent is free this instant).
            act.detector = None;
            if let Some(h) = act.detector_timer.take() {
                ctx.cancel_future(h);
            }
            let at = act.since_answer(act.deps.clock.now());
            act.record_amd(AmdOutcome {
                verdict: Verdict::NotSure,
                decided_ms: ms(at),
                beep_end_ms: None,
            });
            let effects = act.flow.on_verdict(Verdict::NotSure);
            act.perform(effects, ctx);
        });
    }

    /// Keeps the verdict on the attempt (not awaited, like the steps on the way).
    fn record_amd(&mut self, outcome: AmdOutcome) {
        let write = self.entry.classify(outcome);
        drop(self.deps.writer.submit_unfenced(vec![write]));
    }
}

impl StreamHandler<AudioFrame> for CallActor {
    fn handle(&mut self, frame: AudioFrame, ctx: &mut Context<Self>) {
        let Some(samples) = frame.decode() else {
            return;
        };
        let at = self.since_answer(frame.arrival);
        let Some(d) = self.detector.as_mut() else {
            return;
        };
        d.handle_frame(at, &samples);
        let onset = d.speech_onset();
        if let (None, Some(onset), Some(answered)) = (self.window_opens, onset, self.answered_at) {
            self.speech_started(answered + onset, ctx);
        }
        self.drain_detector(ctx);
    }

    // The tap ending (the leg handed over or stopped) must not stop the call's actor.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}
