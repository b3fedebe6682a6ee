//! Random draws for a call: `lost` percentages, `chance` branches, RANDOM injection lines and
//! the distributions of `<pause>` and `<sample>`, from a seeded per-call generator so that a
//! run is repeatable.

use std::time::Duration;

/// SplitMix64: tiny state, good enough spread for load-test decisions, and deterministic
/// across library versions (a run with the same seed replays the same choices).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in (0, 1]: safe under `ln`.
    fn open_unit(&mut self) -> f64 {
        1.0 - self.unit()
    }

    fn standard_normal(&mut self) -> f64 {
        // Box-Muller; one of the pair is enough here.
        let (u1, u2) = (self.open_unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A distribution of milliseconds (or plain numbers, for `<sample>`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dist {
    Fixed(f64),
    Uniform {
        min: f64,
        max: f64,
    },
    Normal {
        mean: f64,
        stdev: f64,
    },
    /// Parameters of the underlying normal, as SIPp (GSL) takes them.
    LogNormal {
        mean: f64,
        stdev: f64,
    },
    Exponential {
        mean: f64,
    },
    Weibull {
        lambda: f64,
        k: f64,
    },
    Pareto {
        k: f64,
        x_m: f64,
    },
}

impl Dist {
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => min + (max - min) * rng.unit(),
            Dist::Normal { mean, stdev } => mean + stdev * rng.standard_normal(),
            Dist::LogNormal { mean, stdev } => (mean + stdev * rng.standard_normal()).exp(),
            Dist::Exponential { mean } => -mean * rng.open_unit().ln(),
            Dist::Weibull { lambda, k } => lambda * (-rng.open_unit().ln()).powf(1.0 / k),
            Dist::Pareto { k, x_m } => x_m / rng.open_unit().powf(1.0 / k),
        }
    }

    /// A pause drawn from this distribution: negative or NaN draws pause for nothing, huge
    /// ones are capped at SIPp's INT_MAX milliseconds.
    pub fn pause(&self, rng: &mut Rng) -> Duration {
        millis(self.sample(rng))
    }
}

/// Milliseconds as a Duration, clamped to [0, i32::MAX] ms as SIPp clamps a pause.
pub(crate) fn millis(ms: f64) -> Duration {
    if ms.is_nan() || ms < 1.0 {
        return Duration::ZERO;
    }
    Duration::from_millis(ms.min(f64::from(i32::MAX)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_repeatable_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut r = Rng::new(1);
        let u = Dist::Uniform {
            min: 2000.0,
            max: 5000.0,
        };
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let v = u.sample(&mut r);
            assert!((2000.0..5000.0).contains(&v));
            let e = Dist::Exponential { mean: 100.0 }.sample(&mut r);
            assert!(e >= 0.0);
            sum += e;
        }
        // The mean of 10,000 exponential draws is within a few percent of 100.
        assert!((sum / 10_000.0 - 100.0).abs() < 5.0, "{}", sum / 10_000.0);
        assert_eq!(millis(-3.0), Duration::ZERO);
        assert_eq!(millis(1e300), Duration::from_millis(i32::MAX as u64));
    }
}
