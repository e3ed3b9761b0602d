//! `particle-swarm`: a discrete particle swarm with a continuous position per task, decoded to a
//! candidate by its integer part.
//!
//! The encoding is that of Salman, Ahmad & Al-Madani, "Particle swarm optimization for task
//! assignment problem", Microprocessors and Microsystems 26(8), 2002: a particle holds, for each
//! task `t`, a real position `x_t ∈ [0, k_t)` over the task's `k_t` candidates; the assignment is
//! `⌊x_t⌋`. The candidate lists are ordered by the finish time of an average task alone on the
//! node (see the module doc of [`batch`](super)), so neighbouring positions are nodes of similar
//! attraction and the continuous moves have a meaning. Velocities follow the inertia-weight update
//! of Shi & Eberhart, "A modified particle swarm optimizer", IEEE ICEC 1998:
//!
//! `v ← w·v + c₁·r₁·(p − x) + c₂·r₂·(g − x)`, `x ← x + v`,
//!
//! with `r₁, r₂` uniform in `[0, 1)` per task, `p` the particle's best position, `g` the best
//! position of its ring neighbourhood `{p − 1, p, p + 1}` (the *lbest* topology of Kennedy &
//! Mendes, "Population structure and particle swarm performance", IEEE CEC 2002, which converges
//! more slowly and explores more than the global best), `|v_t| ≤ k_t / 2`, and a particle leaving
//! `[0, k_t)` stopped at the wall (its velocity zeroed). The defaults `w = 0.729`,
//! `c₁ = c₂ = 1.49445` are the constriction coefficients of Clerc & Kennedy (IEEE TEC 6(1), 2002).
//!
//! The integer decoding makes a converged swarm re-score the same assignments, so two rules spend
//! the budget on new ones: a step that leaves a particle's assignment unchanged costs no
//! evaluation (up to 10 such steps per evaluation of the budget, which keeps the loop finite), and
//! a particle whose assignment has not changed for 5 steps is scattered again at random, keeping
//! its best position (a re-dispersion in the spirit of Xie, Zhang & Yang's dissipative PSO, 2002).
//! On 8-task, 3-node instances these lifted the share of runs reaching the optimum from about 50%
//! to about 75%.
//!
//! Particle 0 starts on the greedy solution (at the centre of each chosen cell, at rest); the
//! others start uniformly at random with random velocities. Each assignment scored is one
//! evaluation (a full one, O(batch)); the best assignment seen is returned, so the result is never
//! worse than greedy. Memory: three reals and two integers per (particle, task).

use rand_core::RngCore;

use super::greedy::greedy_into;
use super::{unit, Evaluator, Objective, Optimiser, Plan, Problem};

/// Particle swarm over assignment positions.
#[derive(Clone, Debug)]
pub struct ParticleSwarm {
    particles: usize,
    inertia: f64,
    cognitive: f64,
    social: f64,
    evaluations: u64,
    eval: Evaluator,
    /// Per (particle, task): position, velocity, personal best position.
    position: Vec<f64>,
    velocity: Vec<f64>,
    best_position: Vec<f64>,
    /// Per particle: the value of its best position.
    best_value: Vec<f64>,
    /// The decoded assignment being scored.
    choices: Vec<u32>,
    /// Per (particle, task): the assignment last scored.
    last: Vec<u32>,
    /// Per particle: consecutive steps without a change of assignment.
    stall: Vec<u32>,
}

/// Steps without a change of assignment after which a particle is scattered again.
const STALL_STEPS: u32 = 5;

/// Bound on the steps that cost no evaluation, per evaluation of the budget.
const IDLE_STEPS_PER_EVALUATION: u64 = 10;

impl ParticleSwarm {
    /// The default swarm size.
    pub fn default_particles() -> u32 {
        20
    }

    /// The default inertia weight.
    pub fn default_inertia() -> f64 {
        0.729
    }

    /// The default cognitive and social accelerations.
    pub fn default_acceleration() -> f64 {
        1.49445
    }

    /// A swarm with these parameters (at least one particle, budget at least 1; non-finite or
    /// negative coefficients become 0).
    pub fn new(particles: u32, inertia: f64, cognitive: f64, social: f64, evaluations: u64) -> Self {
        let coefficient = |c: f64| if c.is_finite() { c.max(0.0) } else { 0.0 };
        ParticleSwarm {
            particles: particles.max(1) as usize,
            inertia: coefficient(inertia),
            cognitive: coefficient(cognitive),
            social: coefficient(social),
            evaluations: evaluations.max(1),
            eval: Evaluator::default(),
            position: Vec::new(),
            velocity: Vec::new(),
            best_position: Vec::new(),
            best_value: Vec::new(),
            choices: Vec::new(),
            last: Vec::new(),
            stall: Vec::new(),
        }
    }

    /// Decodes particle `p`'s position into `self.choices`.
    fn decode(&mut self, problem: &Problem, p: usize) {
        let n = problem.n_tasks();
        for t in 0..n {
            let k = problem.candidates(t).len();
            self.choices[t] = (self.position[p * n + t] as usize).min(k - 1) as u32;
        }
    }
}

impl Optimiser for ParticleSwarm {
    fn optimise(&mut self, problem: &Problem, objective: &Objective, rng: &mut dyn RngCore, plan: &mut Plan) {
        let n = problem.n_tasks();
        plan.objective = greedy_into(problem, objective, &mut self.eval, rng, &mut plan.choices);
        plan.evaluations = 1;
        if (0..n).all(|t| problem.candidates(t).len() == 1) {
            return; // nothing to choose
        }
        self.choices.clear();
        self.choices.resize(n, 0);
        self.position.clear();
        self.velocity.clear();
        self.best_value.clear();
        // Particle 0: the greedy solution, at rest.
        self.position.extend(plan.choices.iter().map(|&c| f64::from(c) + 0.5));
        self.velocity.resize(n, 0.0);
        self.best_value.push(plan.objective);

        // The other particles, at random, as far as the budget allows.
        while self.best_value.len() < self.particles && plan.evaluations < self.evaluations {
            let p = self.best_value.len();
            for t in 0..n {
                let k = problem.candidates(t).len() as f64;
                self.position.push(unit(rng) * k);
                self.velocity.push((2.0 * unit(rng) - 1.0) * (k / 2.0));
            }
            self.decode(problem, p);
            let value = self.eval.evaluate(problem, objective, &self.choices);
            plan.evaluations += 1;
            self.best_value.push(value);
            if value < plan.objective {
                plan.objective = value;
                plan.choices.copy_from_slice(&self.choices);
            }
        }
        self.best_position.clone_from(&self.position);
        let swarm = self.best_value.len();
        self.last.clear();
        for p in 0..swarm {
            self.decode(problem, p);
            self.last.extend_from_slice(&self.choices);
        }
        self.stall.clear();
        self.stall.resize(swarm, 0);

        // Steps that did not change a particle's assignment cost no evaluation, up to a bound
        // that keeps the loop finite whatever the swarm does.
        let mut idle_steps = 0u64;
        let max_idle_steps = IDLE_STEPS_PER_EVALUATION.saturating_mul(self.evaluations);
        'flight: loop {
            for p in 0..swarm {
                if plan.evaluations >= self.evaluations {
                    break 'flight;
                }
                // The best of the particle's ring neighbourhood {p − 1, p, p + 1}.
                let mut leader = p;
                for q in [(p + swarm - 1) % swarm, (p + 1) % swarm] {
                    if self.best_value[q] < self.best_value[leader] {
                        leader = q;
                    }
                }
                for t in 0..n {
                    let k = problem.candidates(t).len() as f64;
                    let i = p * n + t;
                    let x = self.position[i];
                    let (r1, r2) = (unit(rng), unit(rng));
                    let v_max = k / 2.0;
                    let v = (self.inertia * self.velocity[i]
                        + self.cognitive * r1 * (self.best_position[i] - x)
                        + self.social * r2 * (self.best_position[leader * n + t] - x))
                        .clamp(-v_max, v_max);
                    let (mut x, mut v) = (x + v, v);
                    if x < 0.0 {
                        (x, v) = (0.0, 0.0);
                    } else if x >= k {
                        (x, v) = (k - 0.5, 0.0);
                    }
                    self.position[i] = x;
                    self.velocity[i] = v;
                }
                self.decode(problem, p);
                let range = p * n..(p + 1) * n;
                if self.last[range.clone()] == self.choices[..] {
                    self.stall[p] += 1;
                    if self.stall[p] >= STALL_STEPS {
                        // Settled: scatter it again (its best position is kept).
                        self.stall[p] = 0;
                        for t in 0..n {
                            let k = problem.candidates(t).len() as f64;
                            self.position[p * n + t] = unit(rng) * k;
                            self.velocity[p * n + t] = (2.0 * unit(rng) - 1.0) * (k / 2.0);
                        }
                    }
                    if idle_steps < max_idle_steps {
                        idle_steps += 1;
                        continue;
                    }
                } else {
                    self.stall[p] = 0;
                    self.last[range.clone()].copy_from_slice(&self.choices);
                }
                let value = self.eval.evaluate(problem, objective, &self.choices);
                plan.evaluations += 1;
                if value < self.best_value[p] {
                    self.best_value[p] = value;
                    self.best_position[range.clone()].copy_from_slice(&self.position[range]);
                }
                if value < plan.objective {
                    plan.objective = value;
                    plan.choices.copy_from_slice(&self.choices);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::testkit::{against_brute_force, check_optimiser, Instance};
    use crate::batch::OptimiserConfig;

    fn config(evaluations: u64) -> OptimiserConfig {
        OptimiserConfig::ParticleSwarm {
            particles: 20,
            inertia: 0.729,
            cognitive: 1.49445,
            social: 1.49445,
            evaluations,
        }
    }

    #[test]
    fn never_worse_than_greedy_within_budget_and_reproducible() {
        let objectives = [Objective::Makespan, Objective::Balance, Objective::Weighted { makespan: 1.0, balance: 1.0 }];
        for seed in 0..6 {
            let inst = Instance::random(seed, 40, 25, seed % 2 == 0);
            for objective in &objectives {
                check_optimiser(&config(2000), 2000, &inst, objective, seed);
                check_optimiser(&config(13), 13, &inst, objective, seed);
            }
        }
    }

    #[test]
    fn nears_the_brute_force_optimum_of_small_instances() {
        // Greedy reaches the optimum in 32 of the 120 runs, worst ratio 1.26, worst CV gap 0.33.
        let result = against_brute_force(&config(2000));
        assert!(result.reached >= 85, "{result:?}");
        assert!(result.worst_ratio <= 1.05 && result.worst_balance_gap <= 0.015, "{result:?}");
    }
}
