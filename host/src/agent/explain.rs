//! Release decisions in words, for the operator who asked (`skywave decide`) and the reviewer
//! who reads the log later (`skywave audit show`).
//!
//! Both print the same text from the same [`DecisionJson`], so what an operator was told and
//! what the log says afterwards cannot read differently. The first line is the whole outcome
//! (verdict, label, audience, basis); the indented lines below it say why and what it rested
//! on, one artifact per line.

use crate::cli::time;
use skywave_protocol::policy::{
    CategoryValue, Decision, DenyReason, MAX_LABEL_CATEGORIES, Verdict,
};

use super::control::{ArtifactJson, DecisionJson, LabelJson};

/// Why `decision` came out as it did, in a sentence without the verdict (`GBR policy 1
/// defines no classification 9`).
pub fn reason(decision: &Decision) -> String {
    let label = &decision.label;
    let policy = format!("{} policy {}", label.domain, label.policy);
    let audience = decision.audience;
    let value = |c: &CategoryValue| format!("{}:{}", c.tag, c.value);
    match &decision.verdict {
        Verdict::Release if label.domain == audience => {
            "the audience is the labelling domain itself".to_owned()
        }
        Verdict::Release => format!("{policy} releases it to {audience}"),
        Verdict::Deny(why) => match why {
            DenyReason::NoHomePolicy => format!(
                "no usable {policy} is held (none admitted, revoked, or its signer is no \
                 longer in good standing)"
            ),
            DenyReason::InvalidLabel(fault) => {
                format!("the label is not valid under {policy}: {fault}")
            }
            DenyReason::UnknownClassification => format!(
                "{policy} defines no classification {}",
                label.classification
            ),
            DenyReason::UnknownCategory(c) => {
                format!("{policy} defines no category value {}", value(c))
            }
            DenyReason::TooManyCategories => {
                format!("the label carries more than {MAX_LABEL_CATEGORIES} category values")
            }
            DenyReason::NoRule => format!(
                "no rule of {policy} releases classification {} to {audience}",
                label.classification
            ),
            DenyReason::Restricted(c) => format!(
                "restrictive value {} has no rule of {policy} releasing it to {audience}",
                value(c)
            ),
            DenyReason::NotPermitted => format!(
                "none of the label's permissive values has a rule of {policy} releasing it \
                 to {audience}"
            ),
            DenyReason::UnmappedClassification => format!(
                "the translator maps classification {} to nothing {audience}'s policy defines",
                label.classification
            ),
            DenyReason::Untranslatable(c) => format!(
                "the translator cannot express {} in {audience}'s policy",
                value(c)
            ),
        },
    }
}

/// `GBR policy 1 classification 2 [2:10 3:1]`.
pub fn label_in_words(label: &LabelJson) -> String {
    let values: Vec<String> = label
        .categories
        .iter()
        .map(|(tag, value)| format!("{tag}:{value}"))
        .collect();
    format!(
        "{} policy {} classification {} [{}]",
        label.domain,
        label.policy,
        label.classification,
        values.join(" ")
    )
}

/// `GBR #1 v2`.
fn artifact_in_words(artifact: &ArtifactJson) -> String {
    format!("{} #{} v{}", artifact.domain, artifact.id, artifact.version)
}

impl DecisionJson {
    /// `release GBR policy 1 classification 1 [2:10] to USA`: the outcome on one line, as
    /// `skywave audit list` prints it.
    pub fn headline(&self) -> String {
        format!(
            "{} {} to {}",
            self.verdict,
            label_in_words(&self.label),
            self.audience
        )
    }

    /// On whose authority: `through translator GBR #1 v1 (spiral 1 -> 1)`.
    pub fn basis_in_words(&self) -> String {
        let artifact =
            |a: &Option<ArtifactJson>| a.as_ref().map_or("?".to_owned(), artifact_in_words);
        match self.basis.as_str() {
            "same_domain" => "within the labelling domain".to_owned(),
            "translated" => format!(
                "through translator {} (spiral {})",
                artifact(&self.translator),
                self.spiral_gap.as_deref().unwrap_or("?")
            ),
            "home_only_translator_revoked" => format!(
                "on the home authority alone: translator {} is revoked",
                artifact(&self.revoked_translator)
            ),
            _ => "on the home authority alone: no translator to the audience".to_owned(),
        }
    }

    /// The verdict and basis in a sentence: `deny (NoRule), within the labelling domain`.
    pub fn describe(&self) -> String {
        let verdict = match &self.deny_reason {
            Some(why) => format!("deny ({why})"),
            None => "release".to_owned(),
        };
        format!("{verdict}, {}", self.basis_in_words())
    }

    /// The whole decision for a person: the headline with its basis, then why, then each
    /// artifact of the lineage, the revocation state and the time it was decided at.
    pub fn in_words(&self) -> Vec<String> {
        let mut lines = vec![
            format!("{}, {}", self.headline(), self.basis_in_words()),
            format!("  because {}", self.reason),
        ];
        let parts = [
            ("home policy", &self.home),
            ("translator", &self.translator),
            ("revoked translator", &self.revoked_translator),
            ("target policy", &self.target),
        ];
        for (what, artifact) in parts {
            if let Some(a) = artifact {
                let digest = a.digest.get(..16).unwrap_or_default();
                lines.push(format!(
                    "  {what}: {} (digest {digest}…)",
                    artifact_in_words(a)
                ));
            }
        }
        let revocation: Vec<String> = self
            .revocation
            .iter()
            .map(|(domain, seq)| format!("{domain} #{seq}"))
            .collect();
        lines.push(format!(
            "  revocation: {}",
            if revocation.is_empty() {
                "none".to_owned()
            } else {
                revocation.join(", ")
            }
        ));
        lines.push(match self.time {
            Some(t) => format!(
                "  decided at: {}",
                time::format(skywave_protocol::policy::UnixTime(t))
            ),
            None => "  decided at: unknown (no trusted time: validity not checked)".to_owned(),
        });
        lines
    }
}
