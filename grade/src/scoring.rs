//! Scoring: how a group's cases make its points.

use serde::{Deserialize, Serialize};

use crate::verdict::Verdict;

/// How a group's points are earned. The default is [`Scoring::Sum`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scoring {
    /// Each accepted case earns `points / cases` of the group's points.
    #[default]
    Sum,
    /// All or nothing: the group's points when every case is accepted, else 0.
    Min,
}

impl Scoring {
    /// The points a group worth `points` earns with these verdicts (one per case).
    pub fn score(self, points: f64, verdicts: &[Verdict]) -> f64 {
        if verdicts.is_empty() {
            return 0.0;
        }
        let accepted = verdicts.iter().filter(|v| v.is_accepted()).count();
        match self {
            Scoring::Sum => points * accepted as f64 / verdicts.len() as f64,
            Scoring::Min if accepted == verdicts.len() => points,
            Scoring::Min => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Accepted as AC, Skipped as SKIP, WrongAnswer as WA};

    #[test]
    fn sum_is_proportional_and_min_is_all_or_nothing() {
        assert_eq!(Scoring::Sum.score(30.0, &[AC, WA, AC]), 20.0);
        assert_eq!(Scoring::Min.score(30.0, &[AC, WA, AC]), 0.0);
        assert_eq!(Scoring::Min.score(30.0, &[AC, AC, AC]), 30.0);
        assert_eq!(Scoring::Sum.score(10.0, &[AC, SKIP]), 5.0);
        assert_eq!(Scoring::Sum.score(10.0, &[]), 0.0);
    }
}
