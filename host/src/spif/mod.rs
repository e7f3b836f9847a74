//! Open XML SPIFs (`http://www.xmlspif.org/spif`) and STANAG 4774 confidentiality labels in the
//! NATO XML syntax (`urn:nato:stanag:4774:confidentialitymetadatalabel:1:0`).
//!
//! - [`Spif::parse`]: classifications (LACV, hierarchy, `equivalentClassification`, their
//!   `requiredCategory`), category tag sets and tags (restrictive, permissive, enumerated,
//!   tagType7; `singleSelection`), each value's LACV, `excludedClass`, `requiredCategory`,
//!   `excludedCategory`, `markingData` and `equivalentSecCategoryTag`, and marking qualifiers.
//! - [`XmlLabel`]: parse and emit the 4774 XML label; [`Spif::check`] says whether a label is
//!   valid under the SPIF, by names, independently of the signed policy's own check
//!   (`skywave_protocol::label::validate`), so each can be tested against the other.
//! - [`Spif::marking`]: the display marking.
//!
//! A category of a label is named by its tag set (`TagName`) and type (`Type`); within a SPIF,
//! the tags of one tag set with the same effective type are one category (their LACVs must
//! differ). XML parsing is roxmltree's: read-only, no DTDs, no external entities.
//!
//! Its submodules, read by `skywave label` and by the authority tool (`skywave-authority`):
//! [`source`], the TOML sources of policies and translators, and [`import`], a SPIF and a
//! clearance file made into a policy, labels between their XML and compact forms.

pub mod import;
pub mod source;

use anyhow::{Context, Result, anyhow, bail};
use roxmltree::{Document, Node};
use skywave_protocol::policy::{CategoryKind, RequireOp};

/// The Open XML SPIF namespace.
pub const SPIF_NS: &str = "http://www.xmlspif.org/spif";
/// The STANAG 4774 label namespace.
pub const LABEL_NS: &str = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0";

/// A classification of a SPIF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Its name (what labels carry).
    pub name: String,
    /// Its LACV (the code the compact form carries).
    pub lacv: u8,
    /// Its rank: higher is more sensitive.
    pub hierarchy: i64,
    /// Mappings to other policies: (policy name, LACV there).
    pub equivalents: Vec<(String, u8)>,
    /// `requiredCategory` on the classification.
    pub required: Vec<Required>,
}

/// A `categoryGroup`: a category (index into [`Spif::categories`]) and one value or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    /// The category.
    pub category: usize,
    /// The value's LACV, or `None` for every value.
    pub lacv: Option<u16>,
}

/// A `requiredCategory`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Required {
    /// onlyOne, oneOrMore or all.
    pub op: RequireOp,
    /// The groups.
    pub groups: Vec<Group>,
}

/// A value (`tagCategory`) of a category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// Its name (what labels carry as `GenericValue`).
    pub name: String,
    /// Its LACV.
    pub lacv: u16,
    /// A marking phrase replacing the name in markings.
    pub phrase: Option<String>,
    /// Its marking replaces the classification's name (`suppressClassName`).
    pub suppress_class: bool,
    /// `excludedClass`: classification names.
    pub excluded_class: Vec<String>,
    /// `requiredCategory`.
    pub required: Vec<Required>,
    /// `excludedCategory`.
    pub excluded: Vec<Group>,
    /// `equivalentSecCategoryTag`: (policy name, tag set id, tag type, LACV).
    pub equivalents: Vec<(String, String, String, u16)>,
}

/// A category: the tags of one tag set with one effective type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    /// The tag set's name (a label's `TagName`).
    pub tag_set: String,
    /// The tag set's OID.
    pub tag_set_id: String,
    /// Restrictive, permissive or informative (tagType7).
    pub kind: CategoryKind,
    /// The SPIF tag types it gathers (`restrictive`, `enumerated`, `tagType7`, ...).
    pub tag_types: Vec<String>,
    /// `singleSelection`.
    pub single: bool,
    /// The values.
    pub values: Vec<Value>,
    /// Marking qualifiers: prefix, separator, suffix.
    pub qualifiers: (String, String, String),
}

impl Category {
    /// The value named `name`.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.name == name)
    }

    /// The value with LACV `lacv`.
    pub fn value_by_lacv(&self, lacv: u16) -> Option<&Value> {
        self.values.iter().find(|v| v.lacv == lacv)
    }
}

/// An Open XML SPIF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spif {
    /// `securityPolicyId` name.
    pub policy_name: String,
    /// `securityPolicyId` id (an OID).
    pub policy_id: String,
    /// Classifications, lowest hierarchy first.
    pub classes: Vec<Class>,
    /// Categories, in document order (a category's index is its tag in an imported policy).
    pub categories: Vec<Category>,
    /// `equivalentPolicies`: (name, id).
    pub equivalent_policies: Vec<(String, String)>,
    /// Policy marking qualifiers: prefix, separator, suffix.
    pub qualifiers: (String, String, String),
    /// Whether the policy's name is left out of markings (`replacePolicy`).
    pub replace_policy: bool,
}

fn kind_of(tag_type: &str, enum_type: Option<&str>) -> Result<CategoryKind> {
    Ok(match (tag_type, enum_type) {
        ("restrictive", _) | ("enumerated", Some("restrictive")) => CategoryKind::Restrictive,
        ("permissive", _) | ("enumerated", Some("permissive")) => CategoryKind::Permissive,
        ("tagType7", _) => CategoryKind::Informative,
        (t, e) => bail!("unknown tag type {t:?} (enumType {e:?})"),
    })
}

/// The name 4774 labels use for a kind.
pub fn kind_name(kind: CategoryKind) -> &'static str {
    match kind {
        CategoryKind::Restrictive => "RESTRICTIVE",
        CategoryKind::Permissive => "PERMISSIVE",
        CategoryKind::Informative => "INFORMATIVE",
    }
}

fn parse_kind_name(name: &str) -> Result<CategoryKind> {
    Ok(match name {
        "RESTRICTIVE" => CategoryKind::Restrictive,
        "PERMISSIVE" => CategoryKind::Permissive,
        "INFORMATIVE" => CategoryKind::Informative,
        other => bail!("unknown category Type {other:?}"),
    })
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(node, name).next()
}

fn attr(node: Node<'_, '_>, name: &str) -> Result<String> {
    node.attribute(name)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("<{}> without {name}", node.tag_name().name()))
}

fn number<T: std::str::FromStr>(node: Node<'_, '_>, name: &str) -> Result<T> {
    let text = attr(node, name)?;
    text.trim().parse().map_err(|_| {
        anyhow!(
            "<{}> {name}={text:?} is not a number in range",
            node.tag_name().name()
        )
    })
}

fn qualifiers(node: Node<'_, '_>) -> (String, String, String) {
    let mut q = (String::new(), String::new(), String::new());
    if let Some(mq) = child(node, "markingQualifier") {
        for item in children(mq, "qualifier") {
            let text = item
                .attribute("markingQualifier")
                .unwrap_or_default()
                .to_owned();
            match item.attribute("qualifierCode") {
                Some("prefix") => q.0 = text,
                Some("separator") => q.1 = text,
                Some("suffix") => q.2 = text,
                _ => {}
            }
        }
    }
    q
}

/// A categoryGroup before its tag set is resolved.
struct RawGroup {
    tag_set: String,
    tag_type: String,
    lacv: Option<u16>,
}

fn raw_group(node: Node<'_, '_>) -> Result<RawGroup> {
    let all = node.attribute("all") == Some("true");
    let lacv = match node.attribute("lacv") {
        Some(text) if !all && !text.is_empty() => Some(
            text.parse()
                .map_err(|_| anyhow!("categoryGroup lacv={text:?} is not a number"))?,
        ),
        _ => None,
    };
    Ok(RawGroup {
        tag_set: attr(node, "tagSetRef")?,
        tag_type: attr(node, "tagType")?,
        lacv,
    })
}

fn raw_required(node: Node<'_, '_>) -> Result<(RequireOp, Vec<RawGroup>)> {
    let op = match node.attribute("operation") {
        Some("onlyOne") => RequireOp::OnlyOne,
        Some("oneOrMore") => RequireOp::OneOrMore,
        Some("all") => RequireOp::All,
        other => bail!("requiredCategory operation {other:?}"),
    };
    let groups = children(node, "categoryGroup")
        .map(raw_group)
        .collect::<Result<_>>()?;
    Ok((op, groups))
}

impl Spif {
    /// Parses a SPIF document.
    pub fn parse(text: &str) -> Result<Spif> {
        let doc = Document::parse(text).context("not well-formed XML")?;
        let root = doc.root_element();
        if root.tag_name().name() != "SPIF" || root.tag_name().namespace() != Some(SPIF_NS) {
            bail!("not an Open XML SPIF (root <SPIF> in {SPIF_NS})");
        }
        let id = child(root, "securityPolicyId").ok_or_else(|| anyhow!("no securityPolicyId"))?;
        let equivalent_policies = child(root, "equivalentPolicies")
            .map(|e| {
                children(e, "equivalentPolicy")
                    .map(|p| Ok((attr(p, "name")?, attr(p, "id")?)))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let mut classes = Vec::new();
        let mut class_required = Vec::new();
        let list = child(root, "securityClassifications")
            .ok_or_else(|| anyhow!("no securityClassifications"))?;
        for c in children(list, "securityClassification") {
            let name = attr(c, "name")?;
            let equivalents = children(c, "equivalentClassification")
                .map(|e| Ok((attr(e, "policyRef")?, number(e, "lacv")?)))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("classification {name}"))?;
            let required = children(c, "requiredCategory")
                .map(raw_required)
                .collect::<Result<Vec<_>>>()?;
            class_required.push(required);
            classes.push(Class {
                lacv: number(c, "lacv").with_context(|| format!("classification {name}"))?,
                hierarchy: number(c, "hierarchy")
                    .with_context(|| format!("classification {name}"))?,
                name,
                equivalents,
                required: Vec::new(),
            });
        }
        // Categories first (groups refer to them by tag set and type), constraints after.
        let mut categories: Vec<Category> = Vec::new();
        let mut raw_values = Vec::new();
        if let Some(sets) = child(root, "securityCategoryTagSets") {
            for set in children(sets, "securityCategoryTagSet") {
                let tag_set = attr(set, "name")?;
                let tag_set_id = attr(set, "id")?;
                for tag in children(set, "securityCategoryTag") {
                    let tag_type = attr(tag, "tagType")?;
                    let kind = kind_of(&tag_type, tag.attribute("enumType"))
                        .with_context(|| format!("tag set {tag_set}"))?;
                    let index = match categories
                        .iter()
                        .position(|c| c.tag_set == tag_set && c.kind == kind)
                    {
                        Some(i) => i,
                        None => {
                            categories.push(Category {
                                tag_set: tag_set.clone(),
                                tag_set_id: tag_set_id.clone(),
                                kind,
                                tag_types: Vec::new(),
                                single: false,
                                values: Vec::new(),
                                qualifiers: qualifiers(tag),
                            });
                            categories.len() - 1
                        }
                    };
                    let category = categories
                        .get_mut(index)
                        .ok_or_else(|| anyhow!("category index"))?;
                    if !category.tag_types.contains(&tag_type) {
                        category.tag_types.push(tag_type.clone());
                    }
                    category.single |= tag.attribute("singleSelection") == Some("true");
                    for value in children(tag, "tagCategory") {
                        let name = attr(value, "name")?;
                        let lacv: u16 = number(value, "lacv")
                            .with_context(|| format!("{tag_set} value {name}"))?;
                        if category
                            .values
                            .iter()
                            .any(|v| v.lacv == lacv || v.name == name)
                        {
                            bail!("{tag_set}: value {name} (LACV {lacv}) is defined twice");
                        }
                        let marking = child(value, "markingData");
                        let phrase = marking
                            .and_then(|m| m.attribute("phrase"))
                            .map(str::to_owned);
                        let suppress_class = marking.is_some_and(|m| {
                            children(m, "code")
                                .any(|c| c.text().map(str::trim) == Some("suppressClassName"))
                        });
                        let excluded_class = children(value, "excludedClass")
                            .map(|e| e.text().unwrap_or_default().trim().to_owned())
                            .collect();
                        let required = children(value, "requiredCategory")
                            .map(raw_required)
                            .collect::<Result<Vec<_>>>()?;
                        let excluded = children(value, "excludedCategory")
                            .map(raw_group)
                            .collect::<Result<Vec<_>>>()?;
                        let equivalents = children(value, "equivalentSecCategoryTag")
                            .filter_map(|e| {
                                let lacv = e.attribute("lacv")?.parse().ok()?;
                                Some((
                                    e.attribute("policyRef")?.to_owned(),
                                    e.attribute("tagSetId")?.to_owned(),
                                    e.attribute("tagType")?.to_owned(),
                                    lacv,
                                ))
                            })
                            .collect();
                        raw_values.push((index, category.values.len(), required, excluded));
                        category.values.push(Value {
                            name,
                            lacv,
                            phrase,
                            suppress_class,
                            excluded_class,
                            required: Vec::new(),
                            excluded: Vec::new(),
                            equivalents,
                        });
                    }
                }
            }
        }
        let resolve = |g: &RawGroup| -> Result<Group> {
            let category = categories
                .iter()
                .position(|c| c.tag_set == g.tag_set && c.tag_types.contains(&g.tag_type))
                .ok_or_else(|| {
                    anyhow!(
                        "categoryGroup names no tag {:?} in tag set {:?}",
                        g.tag_type,
                        g.tag_set
                    )
                })?;
            Ok(Group {
                category,
                lacv: g.lacv,
            })
        };
        let resolve_required = |(op, groups): &(RequireOp, Vec<RawGroup>)| -> Result<Required> {
            Ok(Required {
                op: *op,
                groups: groups.iter().map(resolve).collect::<Result<_>>()?,
            })
        };
        let mut resolved = Vec::new();
        for (category, value, required, excluded) in &raw_values {
            resolved.push((
                *category,
                *value,
                required
                    .iter()
                    .map(resolve_required)
                    .collect::<Result<Vec<_>>>()?,
                excluded.iter().map(resolve).collect::<Result<Vec<_>>>()?,
            ));
        }
        let class_resolved = class_required
            .iter()
            .map(|r| r.iter().map(resolve_required).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        for (class, required) in classes.iter_mut().zip(class_resolved) {
            class.required = required;
        }
        for (category, value, required, excluded) in resolved {
            if let Some(v) = categories
                .get_mut(category)
                .and_then(|c| c.values.get_mut(value))
            {
                v.required = required;
                v.excluded = excluded;
            }
        }
        for class in &classes {
            for value in categories.iter().flat_map(|c| &c.values) {
                for name in &value.excluded_class {
                    if !classes.iter().any(|c| &c.name == name) {
                        bail!(
                            "value {}: excludedClass {name:?} is no classification",
                            value.name
                        );
                    }
                }
            }
            if classes.iter().filter(|c| c.lacv == class.lacv).count() > 1 {
                bail!("classification LACV {} is used twice", class.lacv);
            }
        }
        classes.sort_by_key(|c| c.hierarchy);
        Ok(Spif {
            policy_name: attr(id, "name")?,
            policy_id: attr(id, "id")?,
            classes,
            categories,
            equivalent_policies,
            qualifiers: qualifiers(root),
            replace_policy: children(root, "markingData")
                .flat_map(|m| children(m, "code"))
                .any(|c| c.text().map(str::trim) == Some("replacePolicy")),
        })
    }

    /// Reads and parses a SPIF file.
    pub fn load(path: &std::path::Path) -> Result<Spif> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Spif::parse(&text).with_context(|| path.display().to_string())
    }

    /// The classification named `name`.
    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The index of the category a label names by tag set and type.
    pub fn category(&self, tag_set: &str, kind: CategoryKind) -> Option<usize> {
        self.categories
            .iter()
            .position(|c| c.tag_set == tag_set && c.kind == kind)
    }

    /// Whether `label` is valid under this SPIF; the reason otherwise. Independent of the
    /// signed policy's check (same rules, over names).
    pub fn check(&self, label: &XmlLabel) -> std::result::Result<(), String> {
        if let Some(id) = &label.policy_id
            && id != &self.policy_id
        {
            return Err(format!(
                "policy {id} is not this SPIF's ({} {})",
                self.policy_name, self.policy_id
            ));
        }
        let class = self
            .class(&label.classification)
            .ok_or_else(|| format!("unknown classification {:?}", label.classification))?;
        // (category index, value) pairs on the label.
        let mut carried: Vec<(usize, &Value)> = Vec::new();
        for cat in &label.categories {
            let index = self.category(&cat.tag_name, cat.kind).ok_or_else(|| {
                format!(
                    "unknown category {:?} ({})",
                    cat.tag_name,
                    kind_name(cat.kind)
                )
            })?;
            let category = self.categories.get(index).ok_or("category")?;
            for name in &cat.values {
                let value = category
                    .value(name)
                    .ok_or_else(|| format!("unknown value {name:?} in {}", cat.tag_name))?;
                if carried
                    .iter()
                    .any(|(i, v)| *i == index && v.lacv == value.lacv)
                {
                    return Err(format!("value {name:?} repeated in {}", cat.tag_name));
                }
                carried.push((index, value));
            }
        }
        for (index, category) in self.categories.iter().enumerate() {
            if category.single && carried.iter().filter(|(i, _)| *i == index).count() > 1 {
                return Err(format!("{} allows a single value", category.tag_set));
            }
        }
        let in_group = |g: &Group, (i, v): &(usize, &Value)| {
            g.category == *i && g.lacv.is_none_or(|l| l == v.lacv)
        };
        let required_met = |r: &Required| {
            let count = carried
                .iter()
                .filter(|c| r.groups.iter().any(|g| in_group(g, c)))
                .count();
            match r.op {
                RequireOp::OnlyOne => count == 1,
                RequireOp::OneOrMore => count >= 1,
                RequireOp::All => r.groups.iter().all(|g| {
                    self.categories.get(g.category).is_some_and(|c| {
                        c.values
                            .iter()
                            .filter(|v| g.lacv.is_none_or(|l| l == v.lacv))
                            .all(|v| {
                                carried
                                    .iter()
                                    .any(|(i, w)| *i == g.category && w.lacv == v.lacv)
                            })
                    })
                }),
            }
        };
        for r in &class.required {
            if !required_met(r) {
                return Err(format!(
                    "{} requires a category the label lacks",
                    class.name
                ));
            }
        }
        for (_, value) in &carried {
            if value.excluded_class.contains(&class.name) {
                return Err(format!("{} is excluded at {}", value.name, class.name));
            }
            for r in &value.required {
                if !required_met(r) {
                    return Err(format!(
                        "{} requires a category the label lacks",
                        value.name
                    ));
                }
            }
            for g in &value.excluded {
                if carried.iter().any(|c| in_group(g, c)) {
                    return Err(format!(
                        "{} excludes a category the label carries",
                        value.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The display marking of `label` (assumed valid): the policy prefix, the policy name
    /// (unless the SPIF replaces it), the classification, then each category with its
    /// qualifiers and its values' marking phrases.
    pub fn marking(&self, label: &XmlLabel) -> String {
        let (prefix, separator, suffix) = &self.qualifiers;
        let separator = if separator.is_empty() { " " } else { separator };
        let mut parts = Vec::new();
        if !self.replace_policy {
            parts.push(label.policy_name.clone());
        }
        let mut suppress = false;
        let mut cats = Vec::new();
        for cat in &label.categories {
            let category = self
                .category(&cat.tag_name, cat.kind)
                .and_then(|i| self.categories.get(i));
            let (p, s, x) = category
                .map(|c| c.qualifiers.clone())
                .unwrap_or_else(|| (format!("{} ", cat.tag_name), ", ".into(), String::new()));
            let s = if s.is_empty() { ", ".to_owned() } else { s };
            let names: Vec<String> = cat
                .values
                .iter()
                .map(|n| {
                    let value = category.and_then(|c| c.value(n));
                    suppress |= value.is_some_and(|v| v.suppress_class);
                    value
                        .and_then(|v| v.phrase.clone())
                        .unwrap_or_else(|| n.clone())
                })
                .collect();
            cats.push(format!("{p}{}{x}", names.join(&s)));
        }
        if !suppress {
            parts.push(label.classification.clone());
        }
        parts.extend(cats);
        format!("{prefix}{}{suffix}", parts.join(separator))
    }
}

/// One category of an XML label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlCategory {
    /// `TagName`: the tag set's name.
    pub tag_name: String,
    /// `Type`.
    pub kind: CategoryKind,
    /// The `GenericValue`s.
    pub values: Vec<String>,
}

/// A STANAG 4774 confidentiality label in the NATO XML syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlLabel {
    /// `PolicyIdentifier` text.
    pub policy_name: String,
    /// `PolicyIdentifier` URL as an OID (`urn:oid:` removed), when given.
    pub policy_id: Option<String>,
    /// `Classification`.
    pub classification: String,
    /// `Category` elements.
    pub categories: Vec<XmlCategory>,
}

impl XmlLabel {
    /// Parses a label (root `originatorConfidentialityLabel`, `ConfidentialityLabel` or any
    /// element holding a `ConfidentialityInformation` in the 4774 namespace).
    pub fn parse(text: &str) -> Result<XmlLabel> {
        let doc = Document::parse(text).context("not well-formed XML")?;
        let info = doc
            .descendants()
            .find(|n| {
                n.is_element()
                    && n.tag_name().name() == "ConfidentialityInformation"
                    && n.tag_name().namespace() == Some(LABEL_NS)
            })
            .ok_or_else(|| anyhow!("no ConfidentialityInformation in {LABEL_NS}"))?;
        let policy =
            child(info, "PolicyIdentifier").ok_or_else(|| anyhow!("no PolicyIdentifier"))?;
        let classification = child(info, "Classification")
            .and_then(|c| c.text())
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| anyhow!("no Classification"))?;
        let categories = children(info, "Category")
            .map(|c| {
                Ok(XmlCategory {
                    tag_name: attr(c, "TagName")?,
                    kind: parse_kind_name(&attr(c, "Type")?)?,
                    values: children(c, "GenericValue")
                        .map(|v| v.text().unwrap_or_default().trim().to_owned())
                        .collect(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(XmlLabel {
            policy_name: policy.text().unwrap_or_default().trim().to_owned(),
            policy_id: policy
                .attribute("URL")
                .map(|u| u.strip_prefix("urn:oid:").unwrap_or(u).to_owned()),
            classification,
            categories,
        })
    }

    /// Reads and parses a label file.
    pub fn load(path: &std::path::Path) -> Result<XmlLabel> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        XmlLabel::parse(&text).with_context(|| path.display().to_string())
    }

    /// The label in the NATO XML syntax (`originatorConfidentialityLabel`).
    pub fn to_xml(&self) -> String {
        let mut out = format!("<originatorConfidentialityLabel xmlns=\"{LABEL_NS}\">\n");
        out.push_str("<ConfidentialityInformation>\n");
        match &self.policy_id {
            Some(id) => out.push_str(&format!(
                "<PolicyIdentifier URL=\"urn:oid:{}\">{}</PolicyIdentifier>\n",
                escape(id),
                escape(&self.policy_name)
            )),
            None => out.push_str(&format!(
                "<PolicyIdentifier>{}</PolicyIdentifier>\n",
                escape(&self.policy_name)
            )),
        }
        out.push_str(&format!(
            "<Classification>{}</Classification>\n",
            escape(&self.classification)
        ));
        for c in &self.categories {
            out.push_str(&format!(
                "<Category TagName=\"{}\" Type=\"{}\">\n",
                escape(&c.tag_name),
                kind_name(c.kind)
            ));
            for v in &c.values {
                out.push_str(&format!("<GenericValue>{}</GenericValue>\n", escape(v)));
            }
            out.push_str("</Category>\n");
        }
        out.push_str("</ConfidentialityInformation>\n</originatorConfidentialityLabel>\n");
        out
    }
}

/// XML text and attribute escaping.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
