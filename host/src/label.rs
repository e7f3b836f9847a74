//! `skywave label`: STANAG 4774 labels in the NATO XML syntax, checked against a SPIF or a
//! signed policy, shown as their display marking, and written in compact air form.
//!
//! Checking against a policy uses the protocol's own check (`skywave_protocol::label::validate`),
//! the one the guard runs; checking against a SPIF uses the tool's independent reading of the
//! SPIF ([`crate::spif`]). A policy carries codes, not value names, so with
//! `--policy` the names resolve through `--spif` when given; without it, classifications and
//! categories resolve by the names the policy carries and values must be written as LACVs.

use std::fmt::Write as _;
use std::path::Path;

use crate::spif::import;
use crate::spif::{Spif, XmlLabel, kind_name};
use anyhow::{Context, Result, anyhow, bail};
use skywave_protocol::label::{MAX_COMPACT_LABEL_LEN, compact, validate};
use skywave_protocol::policy::{Artifact, CategoryValue, Domain, LabelRecord, Policy, Signed};

/// The verdict on one label: `Ok` or the reason it is not valid.
pub type Verdict = std::result::Result<(), String>;

/// The compact record of `label` in `policy`'s terms, resolving names through `spif` or else
/// through the names the policy carries (values then as LACVs).
pub(crate) fn record(
    policy: &Policy<'_>,
    spif: Option<&Spif>,
    label: &XmlLabel,
) -> Reason<LabelRecord> {
    if let Some(spif) = spif {
        return import::to_record(spif, label, policy.domain, policy.id).map_err(|e| e.to_string());
    }
    let class = policy
        .classifications
        .iter()
        .find(|c| c.name == label.classification)
        .ok_or_else(|| format!("unknown classification {:?}", label.classification))?;
    let mut values = Vec::new();
    for c in &label.categories {
        let category = policy
            .categories
            .iter()
            .find(|p| p.name == c.tag_name && p.kind == c.kind)
            .ok_or_else(|| format!("unknown category {:?} ({})", c.tag_name, kind_name(c.kind)))?;
        for v in &c.values {
            let value: u16 = v.parse().map_err(|_| {
                format!("value {v:?}: the policy carries LACVs only; give --spif for value names")
            })?;
            values.push(CategoryValue {
                tag: category.tag,
                value,
            });
        }
    }
    Ok(LabelRecord {
        domain: policy.domain,
        policy: policy.id,
        classification: class.code,
        categories: values
            .as_slice()
            .try_into()
            .map_err(|_| "too many values".to_owned())?,
    })
}

/// A result whose error is a reason for people.
type Reason<T> = std::result::Result<T, String>;

/// Checks each label; returns one line per label and whether all were valid.
pub fn check(
    spif: Option<&Path>,
    policy: Option<&Path>,
    labels: &[&Path],
) -> Result<(String, bool)> {
    let spif = spif.map(Spif::load).transpose()?;
    let policy_bytes = policy
        .map(|p| std::fs::read(p).with_context(|| format!("{}: cannot read", p.display())))
        .transpose()?;
    let policy = match (&policy_bytes, policy) {
        (Some(bytes), Some(path)) => match Signed::decode(bytes) {
            Ok(Signed {
                artifact: Artifact::Policy(p),
                ..
            }) => Some(p),
            Ok(other) => bail!(
                "{}: a {}, not a policy",
                path.display(),
                other.artifact.kind().name()
            ),
            Err(e) => bail!("{}: {e}", path.display()),
        },
        _ => None,
    };
    if spif.is_none() && policy.is_none() {
        bail!("give --spif SPIF.xml or --policy ARTIFACT (or both)");
    }
    let mut out = String::new();
    let mut all = true;
    for path in labels {
        let verdict = match XmlLabel::load(path) {
            Err(e) => Err(format!("{e:#}")),
            Ok(label) => match &policy {
                Some(p) => record(p, spif.as_ref(), &label).and_then(|r| {
                    validate(p, &compact::as_label(&r)).map_err(|f| describe(p, spif.as_ref(), f))
                }),
                None => spif.as_ref().map_or(Ok(()), |s| s.check(&label)),
            },
        };
        all &= verdict.is_ok();
        match verdict {
            Ok(()) => writeln!(out, "{}: valid", path.display())?,
            Err(reason) => writeln!(out, "{}: invalid: {reason}", path.display())?,
        }
    }
    Ok((out, all))
}

/// A label fault in words, with the names the policy (and the SPIF, for values) give.
pub(crate) fn describe(
    policy: &Policy<'_>,
    spif: Option<&Spif>,
    fault: skywave_protocol::label::LabelFault,
) -> String {
    use skywave_protocol::label::LabelFault;
    let category = |tag: u8| {
        policy.category(tag).map_or_else(
            || format!("tag {tag}"),
            |c| format!("{} ({})", c.name, kind_name(c.kind)),
        )
    };
    let value = |v: CategoryValue| {
        let name = spif
            .and_then(|s| s.categories.get(usize::from(v.tag)))
            .and_then(|c| c.value_by_lacv(v.value))
            .map_or_else(|| format!("LACV {}", v.value), |x| x.name.clone());
        format!("{name} in {}", category(v.tag))
    };
    let by = |b: Option<CategoryValue>| match b {
        Some(v) => format!("because of {}", value(v)),
        None => "because of the classification".to_owned(),
    };
    match fault {
        LabelFault::UnknownClassification(c) => format!("unknown classification code {c}"),
        LabelFault::UnknownValue(v) => format!("unknown value {}", value(v)),
        LabelFault::Repeated(v) => format!("{} repeated", value(v)),
        LabelFault::SingleSelection { tag } => format!("{} allows a single value", category(tag)),
        LabelFault::ExcludedClass { by: b, constraint } => {
            format!(
                "classification excluded ({}, constraint {constraint})",
                by(b)
            )
        }
        LabelFault::RequiredCategory { by: b, constraint } => {
            format!(
                "a required category is missing ({}, constraint {constraint})",
                by(b)
            )
        }
        LabelFault::ExcludedCategory { by: b, constraint } => {
            format!(
                "an excluded category is present ({}, constraint {constraint})",
                by(b)
            )
        }
    }
}

/// The display marking of the label at `path` (with the SPIF's qualifiers when given).
pub fn show(spif: Option<&Path>, path: &Path) -> Result<String> {
    let label = XmlLabel::load(path)?;
    let marking = match spif.map(Spif::load).transpose()? {
        Some(s) => {
            if let Err(reason) = s.check(&label) {
                bail!("{}: not valid under the SPIF: {reason}", path.display());
            }
            s.marking(&label)
        }
        None => {
            let mut parts = vec![label.policy_name.clone(), label.classification.clone()];
            for c in &label.categories {
                parts.push(format!("{}: {}", c.tag_name, c.values.join(", ")));
            }
            parts.join(" ")
        }
    };
    Ok(format!("{marking}\n"))
}

/// The compact air form (hex) of the label at `path` under `spif`, as policy `id` of `domain`.
pub fn compact_hex(spif: &Path, domain: &str, id: u32, path: &Path) -> Result<String> {
    let spif = Spif::load(spif)?;
    let label = XmlLabel::load(path)?;
    spif.check(&label)
        .map_err(|r| anyhow!("{}: not valid under the SPIF: {r}", path.display()))?;
    let domain = Domain::new(domain)
        .ok_or_else(|| anyhow!("--domain {domain:?}: not a three-letter code"))?;
    let record = import::to_record(&spif, &label, domain, id)?;
    let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
    let len = compact::encode(&compact::as_label(&record), &mut out)?;
    let hex: String = out.iter().take(len).map(|b| format!("{b:02x}")).collect();
    Ok(format!("{hex}\n"))
}
