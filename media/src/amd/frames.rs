//! Cuts the audio a caller hands in (any length, any offsets) into 20 ms frames with the offset
//! of each frame's first sample.

use std::time::Duration;

use super::FRAME_SAMPLES;

/// Length of one sample at 8 kHz.
const SAMPLE: Duration = Duration::from_micros(125);

/// Reassembles 20 ms frames. Holds at most one partial frame, so memory is bounded whatever the
/// input.
#[derive(Debug, Clone)]
pub(crate) struct Framer {
    partial: [i16; FRAME_SAMPLES],
    filled: usize,
    /// Offset of `partial[0]`.
    start: Duration,
    /// Whether any audio has been seen (until then any `now` is accepted as the start).
    started: bool,
}

impl Framer {
    pub(crate) fn new() -> Framer {
        Framer {
            partial: [0; FRAME_SAMPLES],
            filled: 0,
            start: Duration::ZERO,
            started: false,
        }
    }

    /// The end of the audio seen so far.
    pub(crate) fn end(&self) -> Duration {
        self.start.saturating_add(sample_span(self.filled))
    }

    /// Adds `samples` starting at `now`; calls `frame` with each whole frame and its offset.
    /// A `now` before the end of the audio seen is taken as that end; a later one is a gap, and a
    /// partial frame before a gap is dropped.
    pub(crate) fn push(
        &mut self,
        now: Duration,
        samples: &[i16],
        mut frame: impl FnMut(Duration, &[i16; FRAME_SAMPLES]),
    ) {
        let end = self.end();
        let at = if self.started { now.max(end) } else { now };
        self.started = true;
        if at > end || self.filled == 0 {
            self.filled = 0;
            self.start = at;
        }
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME_SAMPLES - self.filled).min(rest.len());
            self.partial[self.filled..self.filled + take].copy_from_slice(&rest[..take]);
            self.filled += take;
            rest = &rest[take..];
            if self.filled == FRAME_SAMPLES {
                frame(self.start, &self.partial);
                self.start = self.start.saturating_add(super::FRAME);
                self.filled = 0;
            }
        }
    }
}

fn sample_span(samples: usize) -> Duration {
    SAMPLE.saturating_mul(u32::try_from(samples).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(framer: &mut Framer, now_ms: u64, n: usize) -> Vec<u64> {
        let mut starts = Vec::new();
        let samples = vec![1i16; n];
        framer.push(Duration::from_millis(now_ms), &samples, |at, _| {
            starts.push(at.as_millis() as u64)
        });
        starts
    }

    #[test]
    fn whole_frames_pass_through_with_their_offsets() {
        let mut f = Framer::new();
        assert_eq!(collect(&mut f, 0, 160), vec![0]);
        assert_eq!(collect(&mut f, 20, 160), vec![20]);
        assert_eq!(collect(&mut f, 40, 480), vec![40, 60, 80]);
    }

    #[test]
    fn ten_ms_packets_are_joined() {
        let mut f = Framer::new();
        assert!(collect(&mut f, 0, 80).is_empty());
        assert_eq!(collect(&mut f, 10, 80), vec![0]);
        assert!(collect(&mut f, 20, 80).is_empty());
        assert_eq!(f.end(), Duration::from_millis(30));
    }

    #[test]
    fn time_going_backwards_is_ignored() {
        let mut f = Framer::new();
        collect(&mut f, 100, 160);
        assert_eq!(collect(&mut f, 50, 160), vec![120]);
    }

    #[test]
    fn a_gap_drops_the_partial_frame() {
        let mut f = Framer::new();
        collect(&mut f, 0, 100);
        assert_eq!(collect(&mut f, 500, 160), vec![500]);
    }

    #[test]
    fn offsets_near_the_end_of_time_saturate() {
        let mut f = Framer::new();
        let mut n = 0;
        f.push(Duration::MAX, &[0; 480], |_, _| n += 1);
        assert_eq!(n, 3);
        assert_eq!(f.end(), Duration::MAX);
    }
}
