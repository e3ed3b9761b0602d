//! `greedy`: longest processing time first (LPT) list scheduling.
//!
//! Tasks are taken by decreasing work `w_i` (ties by batch order); each goes to the candidate
//! that would finish it earliest, `argmin_n (B_n + placed_n + w_i) / r_n`, ties broken uniformly at
//! random (a draw only when a tie is met). This is Graham's LPT rule (R. L. Graham, "Bounds on
//! multiprocessing timing anomalies", SIAM J. Appl. Math. 17(2), 1969: within 4/3 − 1/(3m) of the
//! optimal makespan on m identical machines), extended to related machines and restricted
//! candidates by placing on the earliest finish rather than the least load.
//!
//! It ignores the objective while it builds (it is a makespan heuristic) and evaluates it once at
//! the end: one evaluation. Every meta-heuristic starts from its solution. Cost:
//! O(Σ candidates + batch log batch).

use rand_core::RngCore;

use super::{Evaluator, Objective, Optimiser, Plan, Problem};
use crate::balance::uniform_index;

/// LPT list scheduling on the earliest estimated finish.
#[derive(Clone, Debug, Default)]
pub struct Greedy {
    eval: Evaluator,
}

/// Fills `choices` with the greedy assignment, leaves it placed in `eval` (reset for `problem`),
/// and returns its value (one evaluation).
pub(crate) fn greedy_into(
    problem: &Problem,
    objective: &Objective,
    eval: &mut Evaluator,
    rng: &mut dyn RngCore,
    choices: &mut Vec<u32>,
) -> f64 {
    eval.reset(problem);
    choices.clear();
    choices.resize(problem.n_tasks(), 0);
    for &t in problem.lpt_order() {
        let t = t as usize;
        let w = problem.work(t);
        let cands = problem.candidates(t);
        let (mut best, mut best_finish, mut ties) = (0usize, f64::INFINITY, 0usize);
        for (j, &n) in cands.iter().enumerate() {
            let f = eval.finish_if(problem, n, w);
            if f < best_finish {
                (best, best_finish, ties) = (j, f, 1);
            } else if f == best_finish {
                ties += 1;
                if uniform_index(rng, ties) == 0 {
                    best = j;
                }
            }
        }
        choices[t] = best as u32;
        eval.add(cands[best], w);
    }
    eval.value(problem, objective)
}

impl Optimiser for Greedy {
    fn optimise(&mut self, problem: &Problem, objective: &Objective, rng: &mut dyn RngCore, plan: &mut Plan) {
        plan.objective = greedy_into(problem, objective, &mut self.eval, rng, &mut plan.choices);
        plan.evaluations = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::Fixture;
    use crate::batch::testkit::{against_brute_force, brute_force, Instance};
    use crate::batch::OptimiserConfig;
    use crate::{NodeId, Resources, TaskId, TaskInfo};
    use rand_core::SeedableRng;

    fn tasks(works: &[f64]) -> Vec<TaskInfo> {
        works
            .iter()
            .enumerate()
            .map(|(i, &w)| TaskInfo {
                id: TaskId(i as u64),
                class: 0,
                priority: 0,
                demand: Resources([1000, 0, 0, 0, 0, 0]),
                expected_work_s: w,
            })
            .collect()
    }

    fn run(problem: &Problem, objective: &Objective, seed: u64) -> Plan {
        let mut plan = Plan::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Greedy::default().optimise(problem, objective, &mut rng, &mut plan);
        plan
    }

    #[test]
    fn lpt_on_two_identical_nodes_is_seven_where_six_is_optimal() {
        // {3, 3, 2, 2, 2} on two idle identical nodes: 3 | 3, 2 | 2, then 2 → 7 against 6
        // ({3, 3} | {2, 2, 2}), Graham's classic example of LPT's 4/3 − 1/(3m) = 7/6 bound.
        let fx = Fixture::with_tasks(&[0, 0]);
        let all = fx.all();
        let batch = tasks(&[2.0, 3.0, 2.0, 3.0, 2.0]);
        let problem = Problem::new(&batch, &[all.as_slice(); 5], &fx.view());
        assert_eq!(problem.lpt_order(), &[1, 3, 0, 2, 4]);
        for seed in 0..10 {
            let plan = run(&problem, &Objective::Makespan, seed);
            assert_eq!(plan.objective, 7.0);
            assert_eq!(plan.evaluations, 1);
            // The two 3s land on different nodes.
            assert_ne!(problem.chosen_node(1, plan.choices[1]), problem.chosen_node(3, plan.choices[3]));
        }
        assert_eq!(brute_force(&problem, &Objective::Makespan), 6.0);
    }

    #[test]
    fn prefers_the_faster_node_and_counts_the_backlog() {
        // Node 1 runs at speed 2: a lone task finishes there in half the time.
        let mut fx = Fixture::with_tasks(&[0, 0]);
        fx.specs[1].speed = 2.0;
        let all = fx.all();
        let one = tasks(&[4.0]);
        let problem = Problem::new(&one, &[&all], &fx.view());
        let plan = run(&problem, &Objective::Makespan, 0);
        assert_eq!(problem.chosen_node(0, plan.choices[0]), NodeId(1));
        assert_eq!(plan.objective, 2.0);
        // Three tasks of 4: two on the fast node (finish 4), one on the slow one (finish 4).
        let three = tasks(&[4.0, 4.0, 4.0]);
        let problem = Problem::new(&three, &[all.as_slice(); 3], &fx.view());
        let plan = run(&problem, &Objective::Makespan, 0);
        let on_fast = (0..3).filter(|&t| problem.chosen_node(t, plan.choices[t]) == NodeId(1)).count();
        assert_eq!((on_fast, plan.objective), (2, 4.0));
        // With 3 tasks queued on the fast node (backlog 3 × 4 = 12, finish 6), the lone task goes
        // to the idle slow node (finish 4).
        fx.loads[1].queued = 3;
        let problem = Problem::new(&one, &[&all], &fx.view());
        let plan = run(&problem, &Objective::Makespan, 0);
        assert_eq!(problem.chosen_node(0, plan.choices[0]), NodeId(0));
        assert_eq!(plan.objective, 6.0, "the makespan includes the fast node's backlog");
    }

    #[test]
    fn ties_are_broken_at_random_and_reproducibly() {
        let fx = Fixture::with_tasks(&[0; 4]);
        let all = fx.all();
        let one = tasks(&[1.0]);
        let problem = Problem::new(&one, &[&all], &fx.view());
        let mut counts = [0u32; 4];
        for seed in 0..400 {
            let plan = run(&problem, &Objective::Makespan, seed);
            counts[problem.chosen_node(0, plan.choices[0]).index()] += 1;
            assert_eq!(run(&problem, &Objective::Makespan, seed), plan);
        }
        assert!(counts.iter().all(|&c| (60..=140).contains(&c)), "{counts:?}");
    }

    #[test]
    fn respects_restricted_candidates() {
        for seed in 0..5 {
            let inst = Instance::random(seed, 30, 20, true);
            let problem = inst.problem();
            let plan = run(&problem, &Objective::Balance, seed);
            for (i, node) in plan.assignments(&problem) {
                assert!(inst.candidates[i].contains(&node));
            }
            // The same value, up to the order of the floating-point sums.
            let exact = problem.evaluate(&Objective::Balance, &plan.choices);
            assert!((plan.objective - exact).abs() <= 1e-12 * exact, "{} vs {exact}", plan.objective);
        }
    }

    #[test]
    fn leaves_room_above_the_optimum_of_small_instances() {
        // The instances on which the meta-heuristics are measured are not solved by greedy.
        let result = against_brute_force(&OptimiserConfig::Greedy {});
        assert_eq!(result.runs, 120);
        assert!(result.reached <= 40, "{result:?}");
        assert!(result.worst_ratio > 1.2 && result.worst_balance_gap > 0.3, "{result:?}");
    }
}
