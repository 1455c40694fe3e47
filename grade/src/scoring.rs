//! Scoring: how a group's cases make its points.

use serde::{Deserialize, Serialize};

/// How a group's points are earned from its cases' fractions (1 for AC, the checker's
/// fraction for PA, 0 otherwise). The default is [`Scoring::Sum`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scoring {
    /// Each case earns its fraction of `points / cases` (an AC case its whole share).
    #[default]
    Sum,
    /// The weakest case decides: the group's points times the smallest fraction (all or
    /// nothing when no checker gives partial points).
    Min,
}

impl Scoring {
    /// The points a group worth `points` earns with these fractions (one per case, each in
    /// `[0, 1]`). An empty group earns 0.
    pub fn score(self, points: f64, fractions: &[f64]) -> f64 {
        if fractions.is_empty() {
            return 0.0;
        }
        match self {
            Scoring::Sum => points * fractions.iter().sum::<f64>() / fractions.len() as f64,
            Scoring::Min => points * fractions.iter().copied().fold(1.0, f64::min),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_proportional_and_min_is_all_or_nothing() {
        assert_eq!(Scoring::Sum.score(30.0, &[1.0, 0.0, 1.0]), 20.0);
        assert_eq!(Scoring::Min.score(30.0, &[1.0, 0.0, 1.0]), 0.0);
        assert_eq!(Scoring::Min.score(30.0, &[1.0, 1.0, 1.0]), 30.0);
        assert_eq!(Scoring::Sum.score(10.0, &[1.0, 0.0]), 5.0);
        assert_eq!(Scoring::Sum.score(10.0, &[]), 0.0);
        assert_eq!(Scoring::Min.score(10.0, &[]), 0.0);
    }

    #[test]
    fn partial_fractions_sum_by_share_and_min_takes_the_smallest() {
        assert_eq!(Scoring::Sum.score(40.0, &[1.0, 0.5, 0.25, 0.25]), 20.0);
        assert_eq!(Scoring::Min.score(40.0, &[1.0, 0.5, 0.25]), 10.0);
        assert_eq!(Scoring::Min.score(40.0, &[0.75, 0.5]), 20.0);
    }
}
