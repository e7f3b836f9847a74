//! Release decisions: may data labelled by domain A be released to (handled by) domain B?
//!
//! A decision composes what the trust store holds right now:
//!
//! 1. **Home policy**: the label's own policy (domain A, policy id), if admitted, not revoked,
//!    and signed by a key still in good standing. Its release rules give the verdict, with
//!    STANAG 4774 semantics: every RESTRICTIVE value on the label needs a rule releasing it to B;
//!    if the label carries PERMISSIVE values, one of them needs such a rule (and that replaces
//!    the baseline); otherwise a baseline rule (no category) must cover the classification.
//!    INFORMATIVE values do not affect release.
//! 2. **Translator**: a usable translator from (A, the home policy's spiral) to (B, spiral M)
//!    whose target policy B holds at spiral M. It maps the label into B's terms (classification,
//!    category equivalences, field bridges) so B's equipment can mark the data; a value that
//!    affects release and cannot be expressed in B's policy denies release.
//! 3. **Revocation state**: revoked artifacts and artifacts whose signer was revoked are not
//!    used. When the only translator to B is revoked, the decision degrades to the home
//!    authority alone and says so ([`Basis::HomeOnlyTranslatorRevoked`]).
//!
//! Decisions verify no signatures (admission did) and read no clock: `now` only checks that
//! the signers' credentials are still valid, as in admission, and is recorded in the lineage.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::encoding::{Artifact, Kind, Signed};
use super::model::{
    ArtifactRef, CategoryKind, CategoryValue, Domain, Policy, ReleaseRule, Scope, SpiralRef,
    Translator, UnixTime,
};
use super::store::{Held, TrustStore, held_ref};
use super::{MAX_DOMAINS, MAX_LABEL_CATEGORIES};

/// A confidentiality label as the data carries it: the labelling domain's policy, a
/// classification code and category values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Label<'a> {
    /// The labelling domain.
    pub domain: Domain,
    /// The policy (within that domain) the label is written against.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// The category values (at most [`MAX_LABEL_CATEGORIES`] are considered; more deny).
    pub categories: &'a [CategoryValue],
}

/// A label as recorded in a decision (owned, so decisions can be logged and read back).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LabelRecord {
    /// The labelling domain.
    pub domain: Domain,
    /// The policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// The category values (the first [`MAX_LABEL_CATEGORIES`] of a label that carries more,
    /// which is denied [`DenyReason::TooManyCategories`]).
    pub categories: Vec<CategoryValue, MAX_LABEL_CATEGORIES>,
}

/// The outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Verdict {
    /// Releasable to the audience.
    Release,
    /// Not releasable, and why.
    Deny(DenyReason),
}

/// Why a release was denied.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum DenyReason {
    /// No usable home policy: none admitted, revoked, or its signer no longer in good standing.
    NoHomePolicy,
    /// The home policy does not define the label's classification.
    UnknownClassification,
    /// The home policy does not define this category value.
    UnknownCategory(CategoryValue),
    /// The label carries more than [`MAX_LABEL_CATEGORIES`] category values.
    TooManyCategories,
    /// No baseline rule releases this classification to the audience.
    NoRule,
    /// A RESTRICTIVE value has no rule releasing it to the audience.
    Restricted(CategoryValue),
    /// None of the label's PERMISSIVE values has a rule releasing it to the audience.
    NotPermitted,
    /// The translator maps the classification to nothing the target policy defines.
    UnmappedClassification,
    /// The translator cannot express this RESTRICTIVE or PERMISSIVE value in the target policy.
    Untranslatable(CategoryValue),
    /// The label is not valid under the home policy (`crate::label::validate`): the guard's
    /// refusal before any rule is consulted.
    InvalidLabel(crate::label::LabelFault),
}

/// On whose authority the decision rests.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Basis {
    /// The audience is the labelling domain itself.
    SameDomain,
    /// The home policy, and a translator into the audience's policy.
    Translated,
    /// The home policy alone: no translator to the audience is held.
    HomeOnly,
    /// The home policy alone, because the translator the decision needed is revoked (or its
    /// signer is): the audience gets no label in its own terms.
    HomeOnlyTranslatorRevoked(ArtifactRef),
}

/// The spiral gap a translator bridged.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SpiralGap {
    /// The home policy's spiral.
    pub from: u8,
    /// The audience policy's spiral.
    pub to: u8,
}

/// What a decision rested on, for re-verification after the fact.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Lineage {
    /// The wall-clock time given, if any.
    pub time: Option<UnixTime>,
    /// The home policy used.
    pub home: Option<ArtifactRef>,
    /// The translator used.
    pub translator: Option<ArtifactRef>,
    /// The audience's policy the translator maps into.
    pub target: Option<ArtifactRef>,
    /// The spiral gap bridged, when a translator was used.
    pub spiral_gap: Option<SpiralGap>,
    /// The last revocation sequence number admitted, per domain.
    pub revocation_seqs: Vec<(Domain, u32), MAX_DOMAINS>,
}

/// A release decision and its lineage.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Decision {
    /// The label decided on.
    pub label: LabelRecord,
    /// The audience domain.
    pub audience: Domain,
    /// The outcome.
    pub verdict: Verdict,
    /// Whose authority it rests on.
    pub basis: Basis,
    /// The label in the audience's terms, when a translator was used and release is allowed.
    pub translated: Option<LabelRecord>,
    /// What it rested on.
    pub lineage: Lineage,
}

/// What a decision keeps of its home policy after the verdict: the spiral translators start
/// from, and the kind of each of the label's values (what translation needs), instead of the
/// decoded policy.
struct HomeFacts {
    spiral: u8,
    kinds: [Option<CategoryKind>; MAX_LABEL_CATEGORIES],
}

/// The translator a decision uses: where it and its target policy are held, and what ranks it
/// (the target's spiral, then the translator's version).
#[derive(Clone, Copy)]
struct Choice {
    translator: usize,
    target: usize,
    spiral: u8,
    version: u32,
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    /// Decides whether data labelled `label` may be released to `audience`, from what the store
    /// holds now. Verifies no signatures. Append the result to a [`super::DecisionLog`] to make
    /// it reviewable.
    pub fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision {
        let mut decision = Decision {
            label: LabelRecord {
                domain: label.domain,
                policy: label.policy,
                classification: label.classification,
                // A label with too many values is denied below; the record keeps the first
                // ones, so a reviewer still sees what was asked instead of no categories.
                categories: label
                    .categories
                    .iter()
                    .take(MAX_LABEL_CATEGORIES)
                    .copied()
                    .collect(),
            },
            audience,
            verdict: Verdict::Deny(DenyReason::NoHomePolicy),
            basis: if audience == label.domain {
                Basis::SameDomain
            } else {
                Basis::HomeOnly
            },
            translated: None,
            lineage: Lineage {
                time: now,
                home: None,
                translator: None,
                target: None,
                spiral_gap: None,
                revocation_seqs: self.revocation_seqs().collect(),
            },
        };
        if label.categories.len() > MAX_LABEL_CATEGORIES {
            decision.verdict = Verdict::Deny(DenyReason::TooManyCategories);
            return decision;
        }
        let Some(home) = self.home_verdict_of(label, audience, now, &mut decision) else {
            return decision;
        };
        if audience == label.domain {
            return decision;
        }
        let (best, revoked) = self.pick_translator(label, audience, home.spiral, now);
        let Some(choice) = best else {
            if let Some(reference) = revoked {
                decision.basis = Basis::HomeOnlyTranslatorRevoked(reference);
            }
            return decision;
        };
        self.translate_with(choice, &home, label, now, &mut decision);
        decision
    }

    /// Step 1 of [`Self::decide`]: the home policy's verdict and lineage, written into
    /// `decision`. Returns what the later steps need of the home policy (`None`: no usable
    /// home policy), so the decoded policy (3 KB) is gone before a translator is decoded.
    // Out of line, as are the other steps: each step's decoded artifacts live in its own
    // frame, one step at a time, instead of all of them in the caller's (the adjunct's stack).
    #[inline(never)]
    fn home_verdict_of(
        &self,
        label: &Label<'_>,
        audience: Domain,
        now: Option<UnixTime>,
        decision: &mut Decision,
    ) -> Option<HomeFacts> {
        self.with_policy_in_use(label.domain, label.policy, now, |reference, home| {
            decision.lineage.home = Some(reference);
            decision.verdict = match home_verdict(home, label, audience) {
                Ok(()) => Verdict::Release,
                Err(reason) => Verdict::Deny(reason),
            };
            let mut kinds = [None; MAX_LABEL_CATEGORIES];
            for (kind, value) in kinds.iter_mut().zip(label.categories) {
                *kind = category_kind(home, *value);
            }
            HomeFacts {
                spiral: home.spiral,
                kinds,
            }
        })
    }

    /// Step 2: the best usable translator from the label's domain at the home policy's
    /// `spiral` to `audience` whose target policy is in force (highest target spiral, then
    /// version), and the last unusable (revoked) one met on the way. Decodes one artifact at a
    /// time and keeps only where the winner is held.
    #[inline(never)]
    fn pick_translator(
        &self,
        label: &Label<'_>,
        audience: Domain,
        spiral: u8,
        now: Option<UnixTime>,
    ) -> (Option<Choice>, Option<ArtifactRef>) {
        let mut revoked = None;
        let mut best: Option<Choice> = None;
        let candidates =
            self.translators.iter().enumerate().filter(|(_, h)| {
                h.domain == label.domain && h.peer == audience && h.spiral == spiral
            });
        for (index, held) in candidates {
            let Some((to, version, usable)) = self.translator_facts(held, now) else {
                continue;
            };
            if !usable {
                revoked = Some(held_ref(Kind::Translator, held));
                continue;
            }
            let Some(target) = self.policy_index_in_force(to, now) else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|b| (to.spiral, version) > (b.spiral, b.version));
            if better {
                best = Some(Choice {
                    translator: index,
                    target,
                    spiral: to.spiral,
                    version,
                });
            }
        }
        (best, revoked)
    }

    /// A held translator's target, version and whether it is usable now (`None`: it does not
    /// decode).
    #[inline(never)]
    fn translator_facts(
        &self,
        held: &Held<HELD>,
        now: Option<UnixTime>,
    ) -> Option<(SpiralRef, u32, bool)> {
        let translator = decode_translator(held)?;
        let usable = self.translator_usable(held, &translator, now);
        Some((translator.to, translator.version, usable))
    }

    /// Where the first policy in force for the spiral `to` is held.
    #[inline(never)]
    fn policy_index_in_force(&self, to: SpiralRef, now: Option<UnixTime>) -> Option<usize> {
        self.policies.iter().position(|h| {
            h.domain == to.domain
                && h.spiral == to.spiral
                && self.with_usable(h, now, |_, _| ()).is_some()
        })
    }

    /// Step 3: the chosen translator and its target policy, decoded once more, give the basis,
    /// the lineage and (if the home policy releases) the label in the audience's terms.
    #[inline(never)]
    fn translate_with(
        &self,
        choice: Choice,
        home: &HomeFacts,
        label: &Label<'_>,
        now: Option<UnixTime>,
        decision: &mut Decision,
    ) {
        // Both decoded and found usable in step 2, from the same bytes, so neither lookup
        // fails; if one did, the decision stays on the home policy alone.
        let Some(held) = self.translators.get(choice.translator) else {
            return;
        };
        // Borrowed where it was returned: `let Some(x) = ...` by value would copy it into a
        // second place on the stack. The target policy (3 KB) is borrowed inside
        // `with_usable`'s frame, where it was decoded, and never copied here.
        let translator = decode_translator(held);
        let Some(translator) = &translator else {
            return;
        };
        let Some(target) = self.policies.get(choice.target) else {
            return;
        };
        self.with_usable(target, now, |target, policy| {
            decision.basis = Basis::Translated;
            decision.lineage.translator = Some(held_ref(Kind::Translator, held));
            decision.lineage.target = Some(target);
            decision.lineage.spiral_gap = Some(SpiralGap {
                from: translator.from.spiral,
                to: translator.to.spiral,
            });
            if decision.verdict == Verdict::Release {
                match translate(translator, &home.kinds, policy, label) {
                    Ok(translated) => decision.translated = Some(translated),
                    Err(reason) => decision.verdict = Verdict::Deny(reason),
                }
            }
        });
    }

    /// Runs `f` on the policy `id` of `domain` if it is held and usable now (not revoked,
    /// signed by a key in good standing at `now`): the policy a label of that domain and id is
    /// checked against. `None`: there is none.
    ///
    /// A borrow, not a returned copy: a decoded policy is 3 KB, and returned by value it was
    /// copied into each caller's frame on the way up (the guarded adjunct's stack).
    pub fn with_policy_in_use<R>(
        &self,
        domain: Domain,
        id: u32,
        now: Option<UnixTime>,
        f: impl FnOnce(ArtifactRef, &Policy<'_>) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        let candidates = self
            .policies
            .iter()
            .filter(|h| h.domain == domain && h.id == id);
        for held in candidates {
            // `f` is taken by the first usable policy, which also ends the search.
            if let Some(result) = self.with_usable(held, now, |r, p| f.take().map(|f| f(r, p))) {
                return result;
            }
        }
        None
    }

    /// Runs `f` on `held`, decoded, if it is a policy that is not revoked and whose signer is in
    /// good standing (`None` otherwise). The policy is borrowed in this frame, where it was
    /// decoded: out of line, so it is here only while `f` runs.
    #[inline(never)]
    fn with_usable<R>(
        &self,
        held: &Held<HELD>,
        now: Option<UnixTime>,
        f: impl FnOnce(ArtifactRef, &Policy<'_>) -> R,
    ) -> Option<R> {
        match &Signed::decode(&held.bytes) {
            Ok(Signed {
                artifact: Artifact::Policy(body),
                ..
            }) if self.policy_usable(held, body, now) => {
                Some(f(held_ref(Kind::Policy, held), body))
            }
            _ => None,
        }
    }

    /// Whether `policy`, decoded from `held`, is not revoked and its signer in good standing.
    fn policy_usable(&self, held: &Held<HELD>, policy: &Policy<'_>, now: Option<UnixTime>) -> bool {
        let entry = super::model::Revoked::Policy {
            id: held.id,
            version: held.version,
        };
        !self.is_revoked(held.domain, &entry)
            && self.in_good_standing(policy.signer, held.domain, Scope::POLICY, now)
    }

    fn translator_usable(
        &self,
        held: &Held<HELD>,
        translator: &Translator<'_>,
        now: Option<UnixTime>,
    ) -> bool {
        !self.translator_revoked(held)
            && [held.domain, held.peer].iter().all(|domain| {
                self.in_good_standing(translator.signer, *domain, Scope::TRANSLATOR, now)
            })
    }
}

fn decode_translator<const N: usize>(held: &Held<N>) -> Option<Translator<'_>> {
    match Signed::decode(&held.bytes) {
        Ok(Signed {
            artifact: Artifact::Translator(t),
            ..
        }) => Some(t),
        _ => None,
    }
}

/// The home policy's verdict, with the semantics in the module docs.
fn home_verdict(
    policy: &Policy<'_>,
    label: &Label<'_>,
    audience: Domain,
) -> Result<(), DenyReason> {
    let rank = policy
        .rank(label.classification)
        .ok_or(DenyReason::UnknownClassification)?;
    let same_domain = audience == policy.domain;
    let releases = |rule: &ReleaseRule<'_>, category: Option<CategoryValue>| {
        let about = match (rule.category, category) {
            (None, None) => true,
            (Some(set), Some(value)) => set.contains(value),
            _ => false,
        };
        about
            && rule.to.contains(&audience)
            && policy
                .rank(rule.max_classification)
                .is_some_and(|max| rank <= max)
    };
    let released = |category| policy.rules.iter().any(|r| releases(r, category));
    let mut permissive = None;
    for value in label.categories {
        let kind = category_kind(policy, *value).ok_or(DenyReason::UnknownCategory(*value))?;
        if same_domain {
            continue;
        }
        match kind {
            CategoryKind::Restrictive if !released(Some(*value)) => {
                return Err(DenyReason::Restricted(*value));
            }
            CategoryKind::Permissive => {
                permissive = Some(permissive.unwrap_or(false) || released(Some(*value)));
            }
            _ => {}
        }
    }
    match permissive {
        _ if same_domain => Ok(()),
        Some(true) => Ok(()),
        Some(false) => Err(DenyReason::NotPermitted),
        None if released(None) => Ok(()),
        None => Err(DenyReason::NoRule),
    }
}

/// The kind of the category `value` belongs to, if the policy defines that value.
fn category_kind(policy: &Policy<'_>, value: CategoryValue) -> Option<CategoryKind> {
    policy
        .category(value.tag)
        .filter(|c| c.values.contains(value.value))
        .map(|c| c.kind)
}

/// The label in the target policy's terms; `home_kinds` holds the kind of each of the label's
/// values in the home policy.
fn translate(
    translator: &Translator<'_>,
    home_kinds: &[Option<CategoryKind>],
    target: &Policy<'_>,
    label: &Label<'_>,
) -> Result<LabelRecord, DenyReason> {
    let classification = translator
        .classifications
        .iter()
        .find(|m| m.from == label.classification)
        .map(|m| m.to)
        .filter(|code| target.rank(*code).is_some())
        .ok_or(DenyReason::UnmappedClassification)?;
    let mut categories = Vec::new();
    for (i, value) in label.categories.iter().enumerate() {
        let mapped = translator
            .equivalences
            .iter()
            .find(|e| e.from == *value)
            .map(|e| e.to)
            .or_else(|| {
                translator
                    .bridges
                    .iter()
                    .find(|b| b.from_tag == value.tag)
                    .map(|b| CategoryValue {
                        tag: b.to_tag,
                        value: value.value,
                    })
            })
            .filter(|m| category_kind(target, *m).is_some());
        match (mapped, home_kinds.get(i).copied().flatten()) {
            // Capacity is the label's, already checked, so the push cannot fail.
            (Some(m), _) => {
                let _ = categories.push(m);
            }
            (None, Some(CategoryKind::Informative)) => {}
            (None, _) => return Err(DenyReason::Untranslatable(*value)),
        }
    }
    Ok(LabelRecord {
        domain: target.domain,
        policy: target.id,
        classification,
        categories,
    })
}
