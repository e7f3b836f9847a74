//! Whether a label is valid under a policy imported from a SPIF.
//!
//! The rules, in the order they are checked (the first fault is reported):
//!
//! 1. the classification is one the policy defines;
//! 2. every value is defined in its category (tag set), and none repeats;
//! 3. a single-selection category carries at most one value;
//! 4. each constraint whose trigger holds (the label's classification, or any of the label's
//!    values in the trigger's set) is met: `excludedClass` (the classification is not
//!    excluded), `requiredCategory` (only one / one or more / all of the groups' values),
//!    `excludedCategory` (none of the groups' values).
//!
//! Release is a separate question ([`super::guard`]).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::{
    CategoryGroup, CategoryValue, Constraint, Label, Policy, RequireOp, Requirement, Trigger,
};

/// Why a label is not valid under a policy.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LabelFault {
    /// The policy defines no such classification.
    UnknownClassification(u8),
    /// The policy defines no such category, or no such value in it.
    UnknownValue(CategoryValue),
    /// The value appears twice.
    Repeated(CategoryValue),
    /// A single-selection category carries more than one value.
    SingleSelection {
        /// The category.
        tag: u8,
    },
    /// The classification is excluded (`excludedClass`) by constraint `constraint`.
    ExcludedClass {
        /// The label value that triggered it (`None`: the classification did).
        by: Option<CategoryValue>,
        /// The constraint's index in the policy.
        constraint: u8,
    },
    /// Constraint `constraint` requires values the label lacks (`requiredCategory`).
    RequiredCategory {
        /// The label value that triggered it (`None`: the classification did).
        by: Option<CategoryValue>,
        /// The constraint's index in the policy.
        constraint: u8,
    },
    /// Constraint `constraint` excludes a value the label carries (`excludedCategory`).
    ExcludedCategory {
        /// The label value that triggered it (`None`: the classification did).
        by: Option<CategoryValue>,
        /// The constraint's index in the policy.
        constraint: u8,
    },
}

impl fmt::Display for LabelFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = |f: &mut fmt::Formatter<'_>, by: &Option<CategoryValue>| match by {
            Some(v) => write!(f, " (because of {}={})", v.tag, v.value),
            None => f.write_str(" (because of the classification)"),
        };
        match self {
            LabelFault::UnknownClassification(c) => write!(f, "unknown classification {c}"),
            LabelFault::UnknownValue(v) => write!(f, "unknown value {}={}", v.tag, v.value),
            LabelFault::Repeated(v) => write!(f, "value {}={} repeated", v.tag, v.value),
            LabelFault::SingleSelection { tag } => {
                write!(f, "category {tag} allows a single value")
            }
            LabelFault::ExcludedClass { by: b, constraint } => {
                write!(f, "classification excluded by constraint {constraint}")?;
                by(f, b)
            }
            LabelFault::RequiredCategory { by: b, constraint } => {
                write!(f, "required category missing (constraint {constraint})")?;
                by(f, b)
            }
            LabelFault::ExcludedCategory { by: b, constraint } => {
                write!(f, "excluded category present (constraint {constraint})")?;
                by(f, b)
            }
        }
    }
}

/// Whether `label` is valid under `policy` (module docs); the first fault found otherwise.
pub fn validate(policy: &Policy<'_>, label: &Label<'_>) -> Result<(), LabelFault> {
    policy
        .rank(label.classification)
        .ok_or(LabelFault::UnknownClassification(label.classification))?;
    for (i, value) in label.categories.iter().enumerate() {
        let known = policy
            .category(value.tag)
            .is_some_and(|c| c.values.contains(value.value));
        if !known {
            return Err(LabelFault::UnknownValue(*value));
        }
        if label
            .categories
            .get(..i)
            .unwrap_or_default()
            .contains(value)
        {
            return Err(LabelFault::Repeated(*value));
        }
    }
    for category in policy.categories.iter().filter(|c| c.single) {
        let count = label
            .categories
            .iter()
            .filter(|v| v.tag == category.tag)
            .count();
        if count > 1 {
            return Err(LabelFault::SingleSelection { tag: category.tag });
        }
    }
    for (index, constraint) in policy.constraints.iter().enumerate() {
        check(
            policy,
            label,
            constraint,
            u8::try_from(index).unwrap_or(u8::MAX),
        )?;
    }
    Ok(())
}

fn check(
    policy: &Policy<'_>,
    label: &Label<'_>,
    constraint: &Constraint<'_>,
    index: u8,
) -> Result<(), LabelFault> {
    let by = match constraint.when {
        Trigger::Classification(code) if code == label.classification => None,
        Trigger::Classification(_) => return Ok(()),
        Trigger::Values(set) => match label.categories.iter().find(|v| set.contains(**v)) {
            Some(v) => Some(*v),
            None => return Ok(()),
        },
    };
    let in_groups = |groups: &[CategoryGroup<'_>], value: &CategoryValue| {
        groups.iter().any(|g| in_group(policy, g, *value))
    };
    let met = match &constraint.require {
        Requirement::ExcludedClass(codes) => {
            if codes.contains(&label.classification) {
                return Err(LabelFault::ExcludedClass {
                    by,
                    constraint: index,
                });
            }
            true
        }
        Requirement::Excluded(groups) => {
            if label.categories.iter().any(|v| in_groups(groups, v)) {
                return Err(LabelFault::ExcludedCategory {
                    by,
                    constraint: index,
                });
            }
            true
        }
        Requirement::Required { op, groups } => {
            let carried = label
                .categories
                .iter()
                .filter(|v| in_groups(groups, v))
                .count();
            match op {
                RequireOp::OnlyOne => carried == 1,
                RequireOp::OneOrMore => carried >= 1,
                RequireOp::All => groups.iter().all(|g| {
                    group_values(policy, g).all(|value| label.categories.contains(&value))
                }),
            }
        }
    };
    if met {
        Ok(())
    } else {
        Err(LabelFault::RequiredCategory {
            by,
            constraint: index,
        })
    }
}

/// Whether `value` is in `group` (a group without values names every value of its category).
fn in_group(policy: &Policy<'_>, group: &CategoryGroup<'_>, value: CategoryValue) -> bool {
    value.tag == group.tag
        && match group.values {
            Some(set) => set.contains(value.value),
            None => policy
                .category(group.tag)
                .is_some_and(|c| c.values.contains(value.value)),
        }
}

/// The values a group names.
fn group_values<'p>(
    policy: &'p Policy<'_>,
    group: &CategoryGroup<'p>,
) -> impl Iterator<Item = CategoryValue> + 'p {
    let tag = group.tag;
    let set = group
        .values
        .or_else(|| policy.category(tag).map(|c| c.values))
        .unwrap_or(crate::policy::ValueSet::EMPTY);
    set.iter().map(move |value| CategoryValue { tag, value })
}
