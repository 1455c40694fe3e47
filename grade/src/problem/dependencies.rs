//! Group dependencies (`depends_on`): checked when a problem is read, ordered for the grader.

use std::collections::BTreeMap;

use super::Group;

/// Why a problem's group dependencies cannot be graded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DependencyError {
    /// `groups[group].depends_on[index]` names no group of the problem.
    Unknown {
        group: usize,
        index: usize,
        name: String,
    },
    /// `groups[group].depends_on[index]` closes a cycle; `cycle` lists it by name, first
    /// and last the same.
    Cycle {
        group: usize,
        index: usize,
        cycle: Vec<String>,
    },
}

impl DependencyError {
    /// The key in subrun's `problem.yaml` (`groups[2].depends_on[0]`).
    pub(crate) fn key(&self) -> String {
        let (Self::Unknown { group, index, .. } | Self::Cycle { group, index, .. }) = self;
        format!("groups[{group}].depends_on[{index}]")
    }

    /// What is wrong, in one line.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Unknown { name, .. } => format!("no group is named `{name}`"),
            Self::Cycle { cycle, .. } => {
                let shown: Vec<String> = cycle.iter().map(|n| format!("`{n}`")).collect();
                format!("groups depend on each other: {}", shown.join(" -> "))
            }
        }
    }
}

/// The indices of the groups each group depends on (`depends_on` resolved by name).
///
/// # Errors
/// [`DependencyError::Unknown`] for a name no group has.
pub(crate) fn resolve(groups: &[Group]) -> Result<Vec<Vec<usize>>, DependencyError> {
    let by_name: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    groups
        .iter()
        .enumerate()
        .map(|(group, g)| {
            let mut deps = Vec::with_capacity(g.depends_on.len());
            for (index, name) in g.depends_on.iter().enumerate() {
                let Some(&d) = by_name.get(name.as_str()) else {
                    return Err(DependencyError::Unknown {
                        group,
                        index,
                        name: name.clone(),
                    });
                };
                if !deps.contains(&d) {
                    deps.push(d);
                }
            }
            Ok(deps)
        })
        .collect()
}

/// The group indices in the order the grader queues them: every group after the groups it
/// depends on, otherwise in problem order (without dependencies: `0, 1, 2, ...`).
///
/// # Errors
/// [`DependencyError::Unknown`]; [`DependencyError::Cycle`] naming the entry that closes a
/// cycle (a group depending on itself is one).
pub(crate) fn order(groups: &[Group]) -> Result<Vec<usize>, DependencyError> {
    let deps = resolve(groups)?;
    if let Some(error) = find_cycle(groups, &deps) {
        return Err(error);
    }
    // Kahn's algorithm, taking the first ready group each time: stable, and with no cycle
    // every round places one group.
    let mut placed = vec![false; groups.len()];
    let mut out = Vec::with_capacity(groups.len());
    while out.len() < groups.len() {
        let next = (0..groups.len())
            .find(|&g| !placed[g] && deps[g].iter().all(|&d| placed[d]))
            .expect("an acyclic graph always has a ready group");
        placed[next] = true;
        out.push(next);
    }
    Ok(out)
}

/// The first cycle a depth-first walk meets, as the entry that closes it.
fn find_cycle(groups: &[Group], deps: &[Vec<usize>]) -> Option<DependencyError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        g: usize,
        groups: &[Group],
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<DependencyError> {
        marks[g] = Mark::OnPath;
        path.push(g);
        for &d in &deps[g] {
            match marks[d] {
                Mark::Done => {}
                Mark::OnPath => {
                    let start = path.iter().position(|&p| p == d).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..]
                        .iter()
                        .map(|&p| groups[p].name.clone())
                        .collect();
                    cycle.push(groups[d].name.clone());
                    let index = groups[g]
                        .depends_on
                        .iter()
                        .position(|n| *n == groups[d].name)
                        .unwrap_or(0);
                    return Some(DependencyError::Cycle {
                        group: g,
                        index,
                        cycle,
                    });
                }
                Mark::New => {
                    if let Some(e) = visit(d, groups, deps, marks, path) {
                        return Some(e);
                    }
                }
            }
        }
        path.pop();
        marks[g] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; groups.len()];
    let mut path = Vec::new();
    (0..groups.len()).find_map(|g| {
        (marks[g] == Mark::New)
            .then(|| visit(g, groups, deps, &mut marks, &mut path))
            .flatten()
    })
}
