//! Why a balancer chose what it chose: per candidate node, the filter that rejected it or the
//! terms that scored it, as kube-scheduler-simulator annotates each plugin's filter and score.

use serde::Serialize;

use crate::NodeId;

/// How a balancer ranks the candidates it scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rank {
    /// No per-node ranking (random, round robin, ...): the notes only describe the view.
    #[default]
    None,
    /// The lowest `score` wins.
    Lowest,
    /// The highest `score` wins.
    Highest,
}

/// One candidate node as a decision saw it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Note {
    /// The node.
    pub node: u32,
    /// The filter that rejected the node, or `None` if it passed every filter.
    pub rejected_by: Option<&'static str>,
    /// Named inputs and score terms (before weighting), in the balancer's own order.
    pub terms: Vec<(&'static str, f64)>,
    /// The figure the balancer ranks by, if it ranks and the node passed its filters.
    pub score: Option<f64>,
}

/// What a decision considered. Filled by [`Balancer::pick_explained`](super::Balancer::pick_explained).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Explanation {
    /// How `score` is ranked.
    pub rank: Rank,
    /// The candidates considered (for sampling balancers, only those sampled).
    pub notes: Vec<Note>,
}

impl Explanation {
    /// Empties the explanation for reuse.
    pub fn clear(&mut self) {
        self.rank = Rank::None;
        self.notes.clear();
    }

    /// Adds a note for `node`.
    pub fn note(
        &mut self,
        node: NodeId,
        rejected_by: Option<&'static str>,
        terms: &[(&'static str, f64)],
        score: Option<f64>,
    ) {
        self.notes.push(Note { node: node.0, rejected_by, terms: terms.to_vec(), score });
    }
}
