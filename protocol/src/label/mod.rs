//! STANAG 4774 confidentiality labels on the air, checked against admitted policy, and bound to
//! the data they label (after ADatP-4778).
//!
//! Everything here is `no_std` and allocation-free, so the same code runs in the host agent
//! and on the adjunct:
//!
//! - [`compact`]: the compact air form of a label (a few dozen bytes; the NATO XML syntax lives
//!   in `skywave-tools`, never on the adjunct).
//! - [`validate`]: a label's validity under a policy imported from a SPIF (classification and
//!   values known, `excludedClass`, `requiredCategory`, `excludedCategory`, single selection),
//!   with a typed [`LabelFault`].
//! - [`guard`]: the one call a guard makes per message: validity, then the release decision
//!   (home policy, translators, revocations) with its lineage.
//! - [`envelope`]: the labelled envelope a SIS client on a guarded SAP sends and receives
//!   (version, label form, label, data).
//! - [`binding`]: the originating node's signature over the label, the data's digest, the
//!   addresses and SAPs and a per-origin sequence number, and the receiver's checks (bad
//!   signature, replay, data mismatch).
//! - [`sequence`]: binding sequence numbers reserved ahead in a driver's store, so a restart
//!   never reuses one.
//!
//! docs/labels.md explains the formats and shows the commands.

pub mod binding;
pub mod compact;
pub mod envelope;
pub mod guard;
pub mod sequence;
pub mod validate;

pub use binding::{BindingRefusal, Endpoints, OriginState, ReplayWindow, Verified};
pub use compact::{LabelError, MAX_COMPACT_LABEL_LEN};
pub use guard::{decide, decide_compact};
pub use validate::{LabelFault, validate};

#[cfg(test)]
mod tests;
