//! From a SPIF to what Skywave carries: a signed policy (with a clearance file giving the
//! release rules), compact labels, translator drafts; and the release a SPIF and a clearance
//! file give when applied directly, which the signed policy's decisions must equal.
//!
//! The import maps a SPIF onto the policy model one to one:
//!
//! | SPIF | policy |
//! |---|---|
//! | `securityPolicyId` name | `name` |
//! | classification (LACV, hierarchy) | classification (code = LACV), ordered by hierarchy |
//! | tag set + effective tag type | category, tag = its position in the SPIF, values as a bitmap of LACVs |
//! | `singleSelection` | `single` |
//! | `excludedClass`, `requiredCategory`, `excludedCategory` on values | constraints triggered by the values (values with the same requirement share one constraint) |
//! | `requiredCategory` on a classification | a constraint triggered by that classification |
//! | clearance file entry | a baseline rule and one rule per category it names, to its domains |
//!
//! Value names and marking data stay in the SPIF: the policy carries codes, which is what a
//! decision needs and what lets a NATO-kind SPIF (5 classes, ~200 values) fit one artifact.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use skywave_protocol::policy::{
    Category, CategoryGroup, CategoryKind, CategorySet, CategoryValue, Classification, Constraint,
    Domain, KeyId, LabelRecord, Policy, ReleaseRule, RequireOp, Requirement, Trigger, ValueSet,
};

use super::source::{self, bitmap, bounded};
use super::{Group, Spif, XmlCategory, XmlLabel, kind_name};

/// One entry of a clearance file.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ClearedSource {
    /// The partner domains cleared.
    pub domains: Vec<String>,
    /// The highest classification, by name.
    pub max: String,
    /// Category values, by tag set name (`"Tag Set"`, or `"Tag Set/RESTRICTIVE"` when the tag
    /// set has tags of two types), as value names; `"*"` for every value.
    #[serde(default)]
    pub values: BTreeMap<String, Vec<String>>,
}

/// A clearance file: which partner domains are cleared to which classification and category
/// values: the release rules.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ClearanceSource {
    /// The entries.
    #[serde(rename = "cleared", default)]
    pub entries: Vec<ClearedSource>,
}

/// A clearance entry resolved against a SPIF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clearance {
    /// The domains.
    pub domains: Vec<Domain>,
    /// The highest classification's position in [`Spif::classes`].
    pub max: usize,
    /// (category index, LACVs).
    pub values: Vec<(usize, Vec<u16>)>,
}

impl ClearanceSource {
    /// Reads a clearance file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }

    /// The entries resolved against `spif`, with errors naming the entry.
    pub fn resolve(&self, spif: &Spif) -> Result<Vec<Clearance>> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let field = format!("cleared[{i}]");
                let domains = e
                    .domains
                    .iter()
                    .map(|d| source::domain(&format!("{field}.domains"), d))
                    .collect::<Result<_>>()?;
                let max = spif
                    .classes
                    .iter()
                    .position(|c| c.name == e.max)
                    .ok_or_else(|| anyhow!("{field}.max: no classification {:?}", e.max))?;
                let mut values = Vec::new();
                for (key, names) in &e.values {
                    let (set, kind) = match key.rsplit_once('/') {
                        Some((set, k))
                            if ["RESTRICTIVE", "PERMISSIVE", "INFORMATIVE"].contains(&k) =>
                        {
                            (set, Some(k))
                        }
                        _ => (key.as_str(), None),
                    };
                    let matching: Vec<usize> = (0..spif.categories.len())
                        .filter(|&c| {
                            spif.categories.get(c).is_some_and(|cat| {
                                cat.tag_set == set && kind.is_none_or(|k| kind_name(cat.kind) == k)
                            })
                        })
                        .collect();
                    let [index] = matching[..] else {
                        bail!(
                            "{field}.values: {key:?} names {} categories (add /TYPE)",
                            matching.len()
                        );
                    };
                    let category = spif
                        .categories
                        .get(index)
                        .ok_or_else(|| anyhow!("category"))?;
                    let lacvs = if names.iter().any(|n| n == "*") {
                        category.values.iter().map(|v| v.lacv).collect()
                    } else {
                        names
                            .iter()
                            .map(|n| {
                                category.value(n).map(|v| v.lacv).ok_or_else(|| {
                                    anyhow!("{field}.values.{key:?}: no value {n:?}")
                                })
                            })
                            .collect::<Result<Vec<_>>>()?
                    };
                    values.push((index, lacvs));
                }
                Ok(Clearance {
                    domains,
                    max,
                    values,
                })
            })
            .collect()
    }
}

/// A bitmap of codes, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bits {
    base: u16,
    bits: Vec<u8>,
}

impl Bits {
    fn of(codes: &[u16]) -> Bits {
        let (base, bits) = bitmap(codes);
        Bits { base, bits }
    }

    fn set(&self) -> ValueSet<'_> {
        ValueSet {
            base: self.base,
            bits: &self.bits,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedRequirement {
    ExcludedClass(Vec<u8>),
    Required(RequireOp, Vec<(u8, Option<Bits>)>),
    Excluded(Vec<(u8, Option<Bits>)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedTrigger {
    Class(u8),
    Values(u8, Bits),
}

/// A release rule: max classification code, the category values (tag, bitmap), the domains.
type OwnedRule = (u8, Option<(u8, Bits)>, Vec<Domain>);

/// A policy imported from a SPIF, owning what the signed [`Policy`] borrows.
#[derive(Clone, Debug)]
pub struct Imported {
    domain: Domain,
    id: u32,
    version: u32,
    spiral: u8,
    name: String,
    classes: Vec<(u8, String)>,
    categories: Vec<(String, CategoryKind, Bits, bool)>,
    rules: Vec<OwnedRule>,
    constraints: Vec<(OwnedTrigger, OwnedRequirement)>,
}

fn tag(index: usize) -> Result<u8> {
    u8::try_from(index).map_err(|_| anyhow!("more than 256 categories"))
}

fn groups(spif: &Spif, groups: &[Group]) -> Result<Vec<(u8, Option<Bits>)>> {
    let _ = spif;
    groups
        .iter()
        .map(|g| Ok((tag(g.category)?, g.lacv.map(|l| Bits::of(&[l])))))
        .collect()
}

impl Imported {
    /// Imports `spif` with the release rules of `clearances` as policy `id` version `version`
    /// of `domain` at FMN spiral `spiral`.
    pub fn new(
        spif: &Spif,
        clearances: &[Clearance],
        domain: Domain,
        id: u32,
        version: u32,
        spiral: u8,
    ) -> Result<Imported> {
        let classes = spif
            .classes
            .iter()
            .map(|c| (c.lacv, c.name.clone()))
            .collect();
        let categories = spif
            .categories
            .iter()
            .map(|c| {
                let lacvs: Vec<u16> = c.values.iter().map(|v| v.lacv).collect();
                (c.tag_set.clone(), c.kind, Bits::of(&lacvs), c.single)
            })
            .collect();
        let mut rules = Vec::new();
        for c in clearances {
            let max = spif
                .classes
                .get(c.max)
                .map(|c| c.lacv)
                .ok_or_else(|| anyhow!("clearance max"))?;
            rules.push((max, None, c.domains.clone()));
            for (index, lacvs) in &c.values {
                if !lacvs.is_empty() {
                    rules.push((
                        max,
                        Some((tag(*index)?, Bits::of(lacvs))),
                        c.domains.clone(),
                    ));
                }
            }
        }
        // Per-value constraints, merged: values of one category with the same requirement
        // share one constraint.
        let mut merged: Vec<(u8, OwnedRequirement, Vec<u16>)> = Vec::new();
        let mut add = |t: u8, req: OwnedRequirement, lacv: u16| match merged
            .iter_mut()
            .find(|(mt, mr, _)| *mt == t && *mr == req)
        {
            Some((_, _, values)) => values.push(lacv),
            None => merged.push((t, req, vec![lacv])),
        };
        for (index, category) in spif.categories.iter().enumerate() {
            let t = tag(index)?;
            for value in &category.values {
                if !value.excluded_class.is_empty() {
                    let mut codes: Vec<u8> = value
                        .excluded_class
                        .iter()
                        .filter_map(|n| spif.class(n).map(|c| c.lacv))
                        .collect();
                    codes.sort_unstable();
                    add(t, OwnedRequirement::ExcludedClass(codes), value.lacv);
                }
                for r in &value.required {
                    add(
                        t,
                        OwnedRequirement::Required(r.op, groups(spif, &r.groups)?),
                        value.lacv,
                    );
                }
                if !value.excluded.is_empty() {
                    add(
                        t,
                        OwnedRequirement::Excluded(groups(spif, &value.excluded)?),
                        value.lacv,
                    );
                }
            }
        }
        let mut constraints = Vec::new();
        for class in &spif.classes {
            for r in &class.required {
                constraints.push((
                    OwnedTrigger::Class(class.lacv),
                    OwnedRequirement::Required(r.op, groups(spif, &r.groups)?),
                ));
            }
        }
        for (t, req, values) in merged {
            constraints.push((OwnedTrigger::Values(t, Bits::of(&values)), req));
        }
        Ok(Imported {
            domain,
            id,
            version,
            spiral,
            name: spif.policy_name.clone(),
            classes,
            categories,
            rules,
            constraints,
        })
    }

    /// The policy, to be signed by `signer`; an error names the capacity a SPIF exceeds.
    pub fn policy(&self, signer: KeyId) -> Result<Policy<'_>> {
        fn group_of((tag, bits): &(u8, Option<Bits>)) -> CategoryGroup<'_> {
            CategoryGroup {
                tag: *tag,
                values: bits.as_ref().map(Bits::set),
            }
        }
        let mut constraints = heapless::Vec::new();
        for (when, req) in &self.constraints {
            let when = match when {
                OwnedTrigger::Class(code) => Trigger::Classification(*code),
                OwnedTrigger::Values(tag, bits) => Trigger::Values(CategorySet {
                    tag: *tag,
                    values: bits.set(),
                }),
            };
            let require = match req {
                OwnedRequirement::ExcludedClass(codes) => Requirement::ExcludedClass(codes),
                OwnedRequirement::Required(op, g) => Requirement::Required {
                    op: *op,
                    groups: bounded("requiredCategory groups", g.iter().map(group_of))?,
                },
                OwnedRequirement::Excluded(g) => Requirement::Excluded(bounded(
                    "excludedCategory groups",
                    g.iter().map(group_of),
                )?),
            };
            constraints
                .push(Constraint { when, require })
                .map_err(|_| {
                    anyhow!(
                        "constraints: more than {} (the protocol's capacity)",
                        constraints.capacity()
                    )
                })?;
        }
        let mut rules = heapless::Vec::new();
        for (max, category, to) in &self.rules {
            rules
                .push(ReleaseRule {
                    max_classification: *max,
                    category: category.as_ref().map(|(tag, bits)| CategorySet {
                        tag: *tag,
                        values: bits.set(),
                    }),
                    to: bounded("rule domains", to.iter().copied())?,
                })
                .map_err(|_| {
                    anyhow!(
                        "rules: more than {} (the protocol's capacity)",
                        rules.capacity()
                    )
                })?;
        }
        Ok(Policy {
            domain: self.domain,
            signer,
            id: self.id,
            version: self.version,
            spiral: self.spiral,
            name: &self.name,
            classifications: bounded(
                "classifications",
                self.classes
                    .iter()
                    .map(|(code, name)| Classification { code: *code, name }),
            )?,
            categories: bounded(
                "categories",
                self.categories
                    .iter()
                    .enumerate()
                    .map(|(i, (name, kind, bits, single))| -> Result<Category<'_>> {
                        Ok(Category {
                            tag: tag(i)?,
                            name,
                            kind: *kind,
                            values: bits.set(),
                            single: *single,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            )?,
            rules,
            constraints,
        })
    }
}

/// The compact label of `label` under `spif`, as policy `id` of `domain` (the import's).
pub fn to_record(spif: &Spif, label: &XmlLabel, domain: Domain, id: u32) -> Result<LabelRecord> {
    let class = spif
        .class(&label.classification)
        .ok_or_else(|| anyhow!("unknown classification {:?}", label.classification))?;
    let mut categories = heapless::Vec::new();
    for c in &label.categories {
        let index = spif
            .category(&c.tag_name, c.kind)
            .ok_or_else(|| anyhow!("unknown category {:?} ({})", c.tag_name, kind_name(c.kind)))?;
        let category = spif
            .categories
            .get(index)
            .ok_or_else(|| anyhow!("category"))?;
        for name in &c.values {
            let value = category
                .value(name)
                .ok_or_else(|| anyhow!("unknown value {name:?} in {}", c.tag_name))?;
            categories
                .push(CategoryValue {
                    tag: tag(index)?,
                    value: value.lacv,
                })
                .map_err(|_| anyhow!("more than {} values", categories.capacity()))?;
        }
    }
    Ok(LabelRecord {
        domain,
        policy: id,
        classification: class.lacv,
        categories,
    })
}

/// The XML label of a compact `record` under `spif`: categories in the SPIF's order, values in
/// LACV order.
pub fn from_record(spif: &Spif, record: &LabelRecord) -> Result<XmlLabel> {
    let class = spif
        .classes
        .iter()
        .find(|c| c.lacv == record.classification)
        .ok_or_else(|| anyhow!("unknown classification code {}", record.classification))?;
    let mut categories: Vec<(usize, XmlCategory, Vec<u16>)> = Vec::new();
    for v in &record.categories {
        let index = usize::from(v.tag);
        let category = spif
            .categories
            .get(index)
            .ok_or_else(|| anyhow!("unknown category tag {}", v.tag))?;
        if category.value_by_lacv(v.value).is_none() {
            bail!("unknown value {} in {}", v.value, category.tag_set);
        }
        match categories.iter_mut().find(|(i, _, _)| *i == index) {
            Some((_, _, lacvs)) => lacvs.push(v.value),
            None => categories.push((
                index,
                XmlCategory {
                    tag_name: category.tag_set.clone(),
                    kind: category.kind,
                    values: Vec::new(),
                },
                vec![v.value],
            )),
        }
    }
    categories.sort_by_key(|(i, _, _)| *i);
    let categories = categories
        .into_iter()
        .map(|(index, mut c, mut lacvs)| {
            lacvs.sort_unstable();
            c.values = lacvs
                .iter()
                .filter_map(|l| spif.categories.get(index)?.value_by_lacv(*l))
                .map(|v| v.name.clone())
                .collect();
            c
        })
        .collect();
    Ok(XmlLabel {
        policy_name: spif.policy_name.clone(),
        policy_id: Some(spif.policy_id.clone()),
        classification: class.name.clone(),
        categories,
    })
}

/// Whether data with `label` (of `home`'s SPIF) may go to `audience`, applying the SPIF and
/// the clearances directly (STANAG 4774 semantics: every restrictive value cleared, one
/// permissive value cleared if any, else the classification cleared; informative values do
/// not count; the home domain itself gets every valid label). `Err` with the reason when the
/// label is not valid.
pub fn release_by_spif(
    spif: &Spif,
    clearances: &[Clearance],
    home: Domain,
    label: &XmlLabel,
    audience: Domain,
) -> std::result::Result<bool, String> {
    spif.check(label)?;
    if audience == home {
        return Ok(true);
    }
    let rank = spif
        .classes
        .iter()
        .position(|c| c.name == label.classification)
        .ok_or("classification")?;
    let cleared = |value: Option<(usize, u16)>| {
        clearances.iter().any(|c| {
            c.domains.contains(&audience)
                && rank <= c.max
                && value.is_none_or(|(index, lacv)| {
                    c.values
                        .iter()
                        .any(|(i, lacvs)| *i == index && lacvs.contains(&lacv))
                })
        })
    };
    let mut permissive = None;
    for cat in &label.categories {
        let index = spif.category(&cat.tag_name, cat.kind).ok_or("category")?;
        let category = spif.categories.get(index).ok_or("category")?;
        for name in &cat.values {
            let lacv = category.value(name).ok_or("value")?.lacv;
            match cat.kind {
                CategoryKind::Restrictive if !cleared(Some((index, lacv))) => return Ok(false),
                CategoryKind::Permissive => {
                    permissive = Some(permissive.unwrap_or(false) || cleared(Some((index, lacv))));
                }
                _ => {}
            }
        }
    }
    Ok(permissive.unwrap_or_else(|| cleared(None)))
}

/// A translator source (TOML, for `skywave-authority sign-translator`) drafted from the
/// `equivalentClassification` and `equivalentSecCategoryTag` mappings of `from` towards `to`
/// (matched by `to`'s policy id in `from`'s `equivalentPolicies`). Category tags are the
/// positions an import gives. Review it before signing: a value mapped to several target
/// values keeps the first, and the others are listed as comments.
pub fn draft_translator(
    from: &Spif,
    to: &Spif,
    sides: [(Domain, u8); 2],
    id: u32,
) -> Result<String> {
    let reference = from
        .equivalent_policies
        .iter()
        .find(|(_, oid)| *oid == to.policy_id)
        .map(|(name, _)| name.clone())
        .ok_or_else(|| {
            anyhow!(
                "{} names no equivalent policy with id {} ({})",
                from.policy_name,
                to.policy_id,
                to.policy_name
            )
        })?;
    let [(from_domain, from_spiral), (to_domain, to_spiral)] = sides;
    let mut out = format!(
        "# Drafted from {} ({}) towards {} ({}) by `skywave-authority translator from-spif`.\n\
         # Review before signing.\nid = {id}\nversion = 1\nname = \"{} to {}\"\n\n\
         [from]\ndomain = \"{from_domain}\"\nspiral = {from_spiral}\n\n\
         [to]\ndomain = \"{to_domain}\"\nspiral = {to_spiral}\n",
        from.policy_name,
        from.policy_id,
        to.policy_name,
        to.policy_id,
        from.policy_name,
        to.policy_name
    );
    for class in &from.classes {
        for (policy, lacv) in class.equivalents.iter().filter(|(p, _)| *p == reference) {
            let _ = policy;
            out.push_str(&format!(
                "\n[[classification]]  # {} -> {}\nfrom = {}\nto = {lacv}\n",
                class.name,
                to.classes
                    .iter()
                    .find(|c| c.lacv == *lacv)
                    .map_or("?", |c| c.name.as_str()),
                class.lacv
            ));
        }
    }
    for (index, category) in from.categories.iter().enumerate() {
        for value in &category.values {
            let targets: Vec<(usize, u16)> = value
                .equivalents
                .iter()
                .filter(|(p, ..)| *p == reference)
                .filter_map(|(_, set_id, tag_type, lacv)| {
                    let target = to
                        .categories
                        .iter()
                        .position(|c| c.tag_set_id == *set_id && c.tag_types.contains(tag_type))?;
                    Some((target, *lacv))
                })
                .collect();
            for (n, (target, lacv)) in targets.iter().enumerate() {
                let prefix = if n == 0 { "" } else { "# also: " };
                out.push_str(&format!(
                    "\n{prefix}[[equivalence]]  # {} {} -> {}\n{prefix}from = {{ tag = {index}, value = {} }}\n{prefix}to = {{ tag = {target}, value = {lacv} }}\n",
                    category.tag_set, value.name, to.categories.get(*target).map_or("?", |c| c.tag_set.as_str()), value.lacv
                ));
            }
        }
    }
    Ok(out)
}
