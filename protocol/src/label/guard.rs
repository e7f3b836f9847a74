//! The guard's one call per message: is this label valid under its domain's policy, and may
//! the data go to (or be handed to) the audience domain?
//!
//! [`decide`] composes [`super::validate`] with [`TrustStore::decide`]: the home policy in
//! use (not revoked, its signer in good standing), the best usable translator to the audience,
//! and the revocation state. The result is an ordinary [`Decision`] with its [`Lineage`]
//! (policy id, version and digest, translator, target policy, revocation sequence numbers), so
//! the guard appends it to the node's hash-chained [`crate::policy::DecisionLog`] like any
//! other decision. A label that is not valid under the home policy is refused with
//! [`DenyReason::InvalidLabel`] whatever the rules say. No allocation, no clock, no signature
//! verification (admission did that): it runs on the adjunct as on the host, on the sending
//! node before the message goes on the air and again on the receiving node with its own view.
//!
//! [`Lineage`]: crate::policy::Lineage

use crate::policy::{Decision, DenyReason, Domain, Label, TrustStore, UnixTime, Verdict};

use super::compact::{self, LabelError};
use super::validate::validate;

/// Decides whether data labelled `label` may be released to `audience` now (module docs).
pub fn decide<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
>(
    store: &TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>,
    label: &Label<'_>,
    audience: Domain,
    now: Option<UnixTime>,
) -> Decision {
    let mut decision = store.decide(label, audience, now);
    if decision.lineage.home.is_none() {
        return decision;
    }
    // The home policy borrowed where it is decoded (out of line, after `decide` has returned):
    // held by value here it made this frame 10 KB, on the stack of every guarded message.
    let fault = store.with_policy_in_use(label.domain, label.policy, now, |_, policy| {
        validate(policy, label).err()
    });
    if let Some(Some(fault)) = fault {
        decision.verdict = Verdict::Deny(DenyReason::InvalidLabel(fault));
        decision.translated = None;
    }
    decision
}

/// [`decide`] for a label in compact air form.
pub fn decide_compact<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
>(
    store: &TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>,
    label: &[u8],
    audience: Domain,
    now: Option<UnixTime>,
) -> Result<Decision, LabelError> {
    let record = compact::decode(label)?;
    Ok(decide(store, &compact::as_label(&record), audience, now))
}
