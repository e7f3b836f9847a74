//! The human-readable sources a signing cell writes: policies and translators in TOML.
//!
//! Unknown keys are errors (a typo must not silently drop a rule), and every error names the
//! file and the field, e.g. `gbr.toml: rule[1].max: no classification named "SECERT"`.
//! examples/coalition/ holds a commented source of each kind.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use skywave_protocol::policy::{
    Category, CategoryKind, CategorySet, CategoryValue, ClassMap, Classification, Domain,
    Equivalence, FieldBridge, KeyId, Policy, ReleaseRule, SpiralRef, Translator, ValueSet,
};

/// Parses a three-letter domain code.
pub fn domain(field: &str, code: &str) -> Result<Domain> {
    Domain::new(code)
        .ok_or_else(|| anyhow!("{field}: {code:?} is not a three-letter upper-case code"))
}

/// Fits `items` into a bounded list, or says which field overflowed.
pub fn bounded<T, const N: usize>(
    field: &str,
    items: impl IntoIterator<Item = T>,
) -> Result<heapless::Vec<T, N>> {
    let mut out = heapless::Vec::new();
    for item in items {
        out.push(item)
            .map_err(|_| anyhow!("{field}: more than {N} entries (the protocol's capacity)"))?;
    }
    Ok(out)
}

/// Reads and parses a TOML source, naming the file on failure.
fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// A category's semantics, as written in a source.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum KindSource {
    /// PERMISSIVE.
    Permissive,
    /// RESTRICTIVE.
    Restrictive,
    /// INFORMATIVE.
    Informative,
}

/// One classification level.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationSource {
    /// The numeric code.
    pub code: u8,
    /// The marking.
    pub name: String,
}

/// One category.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySource {
    /// The numeric tag.
    pub tag: u8,
    /// The name.
    pub name: String,
    /// permissive, restrictive or informative.
    pub kind: KindSource,
    /// The value codes.
    pub values: Vec<u16>,
    /// Whether a label may carry at most one of them.
    #[serde(default)]
    pub single: bool,
    /// The codes as the policy's bitmap, built on first use.
    #[serde(skip)]
    bits: std::sync::OnceLock<(u16, Vec<u8>)>,
}

/// The bitmap of `codes` ([`ValueSet`]): its base and bytes.
pub fn bitmap(codes: &[u16]) -> (u16, Vec<u8>) {
    let span = codes.iter().max().zip(codes.iter().min());
    let mut bits = vec![0; span.map_or(0, |(hi, lo)| usize::from(hi - lo) / 8 + 1)];
    let (base, len) = ValueSet::build(codes, &mut bits).unwrap_or((0, 0));
    bits.truncate(len);
    (base, bits)
}

/// One release rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSource {
    /// The highest classification covered, by name.
    pub max: String,
    /// The category tag the rule is about (absent: the baseline rule).
    pub category: Option<u8>,
    /// The category value (required with `category`).
    pub value: Option<u16>,
    /// The audience domains.
    pub to: Vec<String>,
}

/// A policy source.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySource {
    /// The domain.
    pub domain: String,
    /// The policy id.
    pub id: u32,
    /// The version.
    pub version: u32,
    /// The FMN spiral.
    pub spiral: u8,
    /// The name.
    pub name: String,
    /// The hierarchy, lowest first.
    #[serde(rename = "classification")]
    pub classifications: Vec<ClassificationSource>,
    /// The categories.
    #[serde(rename = "category", default)]
    pub categories: Vec<CategorySource>,
    /// The release rules.
    #[serde(rename = "rule", default)]
    pub rules: Vec<RuleSource>,
}

impl PolicySource {
    /// Reads a policy source.
    pub fn load(path: &Path) -> Result<Self> {
        load(path)
    }

    /// The policy this source describes, to be signed by `signer`.
    pub fn to_policy(&self, signer: KeyId) -> Result<Policy<'_>> {
        let classifications = bounded(
            "classification",
            self.classifications.iter().map(|c| Classification {
                code: c.code,
                name: &c.name,
            }),
        )?;
        let mut categories = heapless::Vec::new();
        for c in &self.categories {
            let category = Category {
                tag: c.tag,
                name: &c.name,
                kind: match c.kind {
                    KindSource::Permissive => CategoryKind::Permissive,
                    KindSource::Restrictive => CategoryKind::Restrictive,
                    KindSource::Informative => CategoryKind::Informative,
                },
                values: {
                    let (base, bits) = c.bits.get_or_init(|| bitmap(&c.values));
                    ValueSet { base: *base, bits }
                },
                single: c.single,
            };
            categories
                .push(category)
                .map_err(|_| anyhow!("category: more than {} entries", categories.capacity()))?;
        }
        let mut rules = heapless::Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let rule = self.rule(i, r, &categories)?;
            rules
                .push(rule)
                .map_err(|_| anyhow!("rule: more than {} entries", rules.capacity()))?;
        }
        Ok(Policy {
            domain: domain("domain", &self.domain)?,
            signer,
            id: self.id,
            version: self.version,
            spiral: self.spiral,
            name: &self.name,
            classifications,
            categories,
            rules,
            constraints: heapless::Vec::new(),
        })
    }

    fn rule(
        &self,
        i: usize,
        r: &RuleSource,
        categories: &[Category<'_>],
    ) -> Result<ReleaseRule<'static>> {
        let max = self
            .classifications
            .iter()
            .find(|c| c.name == r.max)
            .ok_or_else(|| anyhow!("rule[{i}].max: no classification named {:?}", r.max))?;
        let category = match (r.category, r.value) {
            (None, None) => None,
            (Some(tag), Some(value)) => {
                let known = categories
                    .iter()
                    .any(|c| c.tag == tag && c.values.contains(value));
                if !known {
                    bail!("rule[{i}].category: no category {tag} with value {value}");
                }
                Some(CategorySet::single(CategoryValue { tag, value }))
            }
            _ => bail!("rule[{i}]: category and value go together"),
        };
        let to =
            r.to.iter()
                .enumerate()
                .map(|(j, code)| domain(&format!("rule[{i}].to[{j}]"), code))
                .collect::<Result<Vec<_>>>()?;
        Ok(ReleaseRule {
            max_classification: max.code,
            category,
            to: bounded(&format!("rule[{i}].to"), to)?,
        })
    }
}

/// One side of a translator.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpiralSource {
    /// The domain.
    pub domain: String,
    /// The FMN spiral.
    pub spiral: u8,
}

/// A translator source.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslatorSource {
    /// The translator id.
    pub id: u32,
    /// The version.
    pub version: u32,
    /// The name.
    pub name: String,
    /// The source side.
    pub from: SpiralSource,
    /// The target side.
    pub to: SpiralSource,
    /// Classification mappings (`from`, `to` codes).
    #[serde(rename = "classification", default)]
    pub classifications: Vec<ClassMap>,
    /// Category value equivalences.
    #[serde(rename = "equivalence", default)]
    pub equivalences: Vec<Equivalence>,
    /// Field bridges.
    #[serde(rename = "bridge", default)]
    pub bridges: Vec<FieldBridge>,
}

impl TranslatorSource {
    /// Reads a translator source.
    pub fn load(path: &Path) -> Result<Self> {
        load(path)
    }

    /// The translator this source describes, to be signed by `signer`.
    pub fn to_translator(&self, signer: KeyId) -> Result<Translator<'_>> {
        let side = |field: &str, s: &SpiralSource| -> Result<SpiralRef> {
            Ok(SpiralRef {
                domain: domain(&format!("{field}.domain"), &s.domain)?,
                spiral: s.spiral,
            })
        };
        Ok(Translator {
            from: side("from", &self.from)?,
            signer,
            to: side("to", &self.to)?,
            id: self.id,
            version: self.version,
            name: &self.name,
            classifications: bounded("classification", self.classifications.iter().copied())?,
            equivalences: bounded("equivalence", self.equivalences.iter().copied())?,
            bridges: bounded("bridge", self.bridges.iter().copied())?,
        })
    }
}
