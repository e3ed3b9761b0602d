//! Probability distributions for task sizes, delays and sojourns, each parameterised by its mean
//! so that loads are easy to set.

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::rng::Stream;

/// A non-negative distribution (validated: every parameter finite and in range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always `value`.
    Const {
        /// The value.
        value: f64,
    },
    /// Exponential with the given mean.
    Exp {
        /// Mean.
        mean: f64,
    },
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Log-normal with the given mean and coefficient of variation.
    LogNormal {
        /// Mean.
        mean: f64,
        /// Coefficient of variation (std / mean), > 0.
        cv: f64,
    },
    /// Pareto (type I) with the given mean and tail index `alpha > 1`.
    Pareto {
        /// Mean.
        mean: f64,
        /// Tail index; the variance is finite only for `alpha > 2`.
        alpha: f64,
    },
    /// Two-phase hyperexponential with balanced means and the given mean and cv (≥ 1).
    HyperExp {
        /// Mean.
        mean: f64,
        /// Coefficient of variation, ≥ 1.
        cv: f64,
    },
}

impl Dist {
    /// The distribution's mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Const { value } => value,
            Dist::Exp { mean }
            | Dist::LogNormal { mean, .. }
            | Dist::Pareto { mean, .. }
            | Dist::HyperExp { mean, .. } => mean,
            Dist::Uniform { low, high } => 0.5 * (low + high),
        }
    }

    /// True if sampling draws nothing from the stream.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, Dist::Const { .. })
    }

    /// A sampler with derived parameters computed once.
    pub fn sampler(&self) -> Sampler {
        let kind = match *self {
            Dist::Const { value } => SamplerKind::Const(value),
            Dist::Exp { mean } => SamplerKind::Exp(mean),
            Dist::Uniform { low, high } => SamplerKind::Uniform(low, high - low),
            Dist::LogNormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                SamplerKind::LogNormal { mu: mean.ln() - 0.5 * sigma2, sigma: sigma2.sqrt() }
            }
            Dist::Pareto { mean, alpha } => {
                SamplerKind::Pareto { scale: mean * (alpha - 1.0) / alpha, inv_alpha: 1.0 / alpha }
            }
            Dist::HyperExp { mean, cv } => {
                let c2 = cv * cv;
                let p = 0.5 * (1.0 + ((c2 - 1.0) / (c2 + 1.0)).sqrt());
                // Balanced means: p / r1 = (1 - p) / r2 = mean / 2.
                SamplerKind::HyperExp { p, mean1: mean / (2.0 * p), mean2: mean / (2.0 * (1.0 - p)) }
            }
        };
        Sampler { kind }
    }
}

/// Draws from a [`Dist`].
#[derive(Clone, Copy, Debug)]
pub struct Sampler {
    kind: SamplerKind,
}

#[derive(Clone, Copy, Debug)]
enum SamplerKind {
    Const(f64),
    Exp(f64),
    Uniform(f64, f64),
    LogNormal { mu: f64, sigma: f64 },
    Pareto { scale: f64, inv_alpha: f64 },
    HyperExp { p: f64, mean1: f64, mean2: f64 },
}

impl Sampler {
    /// One draw (never negative).
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        match self.kind {
            SamplerKind::Const(v) => v,
            SamplerKind::Exp(mean) => {
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            SamplerKind::Uniform(low, width) => low + width * rng.random::<f64>(),
            SamplerKind::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            SamplerKind::Pareto { scale, inv_alpha } => {
                // 1 - U is in (0, 1], so the power is finite.
                let u = 1.0 - rng.random::<f64>();
                scale * u.powf(-inv_alpha)
            }
            SamplerKind::HyperExp { p, mean1, mean2 } => {
                let mean = if rng.random::<f64>() < p { mean1 } else { mean2 };
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Purpose};

    fn moments(d: Dist, n: usize) -> (f64, f64) {
        let s = d.sampler();
        let mut rng = stream(42, 0, Purpose::TaskSizes);
        let xs: Vec<f64> = (0..n).map(|_| s.sample(&mut rng)).collect();
        assert!(xs.iter().all(|&x| x >= 0.0 && x.is_finite()));
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn means_and_cvs_match_their_parameters() {
        let n = 400_000;
        // (dist, expected cv, tolerance on cv): standard errors are ~cv/sqrt(n) for the mean and
        // larger for the cv of heavy tails, so heavy tails get wider cv tolerances.
        let cases = [
            (Dist::Exp { mean: 2.0 }, 1.0, 0.02),
            (Dist::Uniform { low: 1.0, high: 3.0 }, (1.0f64 / 3.0).sqrt() / 2.0, 0.01),
            (Dist::LogNormal { mean: 4.0, cv: 0.5 }, 0.5, 0.02),
            (Dist::HyperExp { mean: 1.5, cv: 3.0 }, 3.0, 0.15),
            (Dist::HyperExp { mean: 1.5, cv: 1.0 }, 1.0, 0.02),
            (Dist::Pareto { mean: 1.0, alpha: 5.0 }, (1.0f64 / 15.0).sqrt(), 0.02),
        ];
        for (d, cv, cv_tol) in cases {
            let (m, c) = moments(d, n);
            let se = cv * d.mean() / (n as f64).sqrt();
            assert!((m - d.mean()).abs() < 5.0 * se + 1e-12, "{d:?}: mean {m}");
            assert!((c - cv).abs() < cv_tol, "{d:?}: cv {c}, expected {cv}");
        }
        assert_eq!(moments(Dist::Const { value: 0.25 }, 10).0, 0.25);
    }
}
