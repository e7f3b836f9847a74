//! The guard at both ends of labelled client data (issue 17): what a [`Station`] releases to
//! the air, and what it hands to its client, is decided by the admitted policy of the label's
//! domain, for the domain of the node at the other end.
//!
//! - **Sending.** [`Station::submit_labelled`] takes a client's data with its compact label
//!   ([`crate::label::compact`]). The destination node's domain is the one its node credential
//!   names ([`Scope::NODE`](crate::policy::Scope::NODE)); the guard decides
//!   ([`Trust::guard_decide`]: label validity, release rules, translators, revocations) and
//!   refuses at once, or holds the message. A held message goes to its link when the link has
//!   room and no other labelled message of ours to that node is still unsettled there; it is
//!   decided again then, sealed with the binding ([`crate::label::binding`], the node key and a
//!   per-origin sequence number) and submitted. Held messages are also decided again whenever
//!   the node may have admitted something (a node message, a publish, a timer, the driver
//!   touching the node), so a refusal is reported as soon as a revocation is in, even while
//!   the link is down. One labelled message per destination in a link at a time is what makes
//!   "a revocation stops the very next message" true: what waits in a link can no longer be
//!   called back, what waits here can.
//! - **Receiving.** A U_PDU for a guarded SAP must be a labelled envelope. The binding is
//!   verified (signature by the source node's credentialed key over label, data digest,
//!   addresses and SAPs, sequence number new in the replay window) and the label decided
//!   again with this node's own view, for this node's domain; only then is the data (without
//!   the envelope) reported as [`StationEvent::Received`]. Anything else is refused.
//! - **Every decision is an event.** Release or refusal, at either end, is one
//!   [`StationEvent::Guard`] carrying a [`GuardReport`]: the message (digest, label, ends,
//!   sequence number), the typed [`GuardRefusal`] if refused, and the policy [`Decision`]
//!   with its lineage (policy id and version, translator, revocation sequence numbers). A
//!   driver appends `decision` to its [`crate::policy::DecisionLog`].
//!
//! The envelope on the air, on the client's SAP:
//!
//! ```text
//! 1 byte   binding length n
//! n bytes  the binding (crate::label::binding: label, digest prefix, sequence, signature)
//! ..       the client's data
//! ```
//!
//! Memory is fixed, by the station's last four const generics: `HELD_MSGS` messages of up to
//! `HELD_BYTES` bytes, `REPORTS` reports waiting for the driver, `ORIGINS` origins' replay
//! windows; on hosts [`HELD`], [`MAX_GUARDED_LEN`], [`GUARD_REPORTS`] and [`REPLAY_ORIGINS`]
//! (the defaults), on the adjunct far fewer (docs/firmware.md, "The guard on the adjunct"). No
//! allocation, no XML: the compact label is all a board sees.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{LinkId, Port, StationLink};
use crate::label::binding::{BindingRefusal, Endpoints, MAX_BINDING_LEN};
use crate::label::compact::{LabelError, MAX_COMPACT_LABEL_LEN};
use crate::link::pdu::ECHO_LEN;
use crate::link::{MAX_UPDU_LEN, MessageId};
use crate::policy::signer::SigningKey;
use crate::policy::{ArtifactRef, Decision, DenyReason, Digest};
use crate::wire::Address;

// The guard's state and work, with the `guard` feature (host, simulator, tests); without it (a
// board that serves no clients) a stateless stand-in that guards nothing, so the board pays
// neither the flash nor the RAM (docs/firmware.md has the figures).
#[cfg(any(test, feature = "guard"))]
mod on;
#[cfg(any(test, feature = "guard"))]
pub(super) use on::Guard;
#[cfg(not(any(test, feature = "guard")))]
mod off;
#[cfg(not(any(test, feature = "guard")))]
pub(super) use off::Guard;

/// Labelled messages a station holds before they go to a link.
pub const HELD: usize = 4;
/// Guard reports waiting for [`Station::poll_event`]. While they are all taken, nothing
/// labelled moves (no decision goes unreported).
pub const GUARD_REPORTS: usize = 4;
/// Origins whose sequence numbers a receiving station remembers.
pub const REPLAY_ORIGINS: usize = 16;
/// The most data one labelled message carries: a U_PDU less the envelope.
pub const MAX_GUARDED_LEN: usize = MAX_UPDU_LEN - 1 - MAX_BINDING_LEN;

/// What a station needs to guard: its node address (the binding's source, and whose node
/// credential names its own domain), its node key, and the first sequence number to use.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// This node's address, as its node credential names it.
    pub address: Address,
    /// This node's key (the one its node credential certifies).
    pub key: SigningKey,
    /// The next binding sequence number (from 1). A driver persists
    /// [`Station::next_binding_seq`] and gives it back after a restart: receivers refuse a
    /// number they saw.
    pub next_seq: u64,
}

/// The handle [`Station::submit_labelled`] returns; [`GuardReport`]s name messages by it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Ticket(pub u32);

/// Which end decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum End {
    /// The originating station, before the message goes on the air.
    Sender,
    /// The destination station, before the data goes to its client.
    Receiver,
}

/// Why the guard refused a labelled message.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GuardRefusal {
    /// The policy decision denies release: the decision's own reason (an invalid label, no
    /// rule, a restricted value, an untranslatable one, no usable home policy).
    Denied(DenyReason),
    /// The translator into the audience's policy is revoked (or its signer is). The policy
    /// decision would fall back to the home authority alone; the guard does not, because the
    /// revocation is the label domain saying that mapping must no longer be used, and the
    /// audience could not mark the data in its own terms.
    TranslatorRevoked(ArtifactRef),
    /// No node credential in good standing names the destination node: the domain the
    /// sender decides for is unknown.
    UnknownDestination {
        /// The destination address.
        address: u32,
    },
    /// No node credential in good standing names this station: it has no domain of its own
    /// to decide for.
    UnknownSelf,
    /// The label is not a compact label.
    Label(LabelError),
    /// The envelope or its binding does not verify: malformed, forged, replayed, or the data
    /// changed.
    Binding(BindingRefusal),
}

impl core::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GuardRefusal::Denied(reason) => write!(f, "denied: {reason:?}"),
            GuardRefusal::TranslatorRevoked(t) => {
                write!(f, "translator {}/{} v{} revoked", t.domain, t.id, t.version)
            }
            GuardRefusal::UnknownDestination { address } => {
                write!(f, "no node credential for destination {address}")
            }
            GuardRefusal::UnknownSelf => f.write_str("no node credential for this node"),
            GuardRefusal::Label(e) => write!(f, "label: {e}"),
            GuardRefusal::Binding(e) => write!(f, "binding: {e}"),
        }
    }
}

/// One guard decision on one labelled message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GuardReport {
    /// Which end decided.
    pub end: End,
    /// The sender's handle ([`Station::submit_labelled`]); `None` at the receiver.
    pub ticket: Option<Ticket>,
    /// The link it went to or came from.
    pub link: LinkId,
    /// The sender's link id once released and queued (its fate follows as
    /// [`StationEvent::Delivered`], [`StationEvent::Sent`] or [`StationEvent::Failed`]).
    /// `None` when refused, at the receiver, or when the link refused it after release (a
    /// [`StationEvent::NotQueued`] follows).
    pub message: Option<MessageId>,
    /// Source and destination nodes and SAPs.
    pub ends: Endpoints,
    /// The binding's sequence number (0 when there is none: refused before sealing, or a
    /// binding that did not parse).
    pub seq: u64,
    /// SHA-256 of the client's data.
    pub digest: Digest,
    /// The compact label (empty when the envelope held none).
    pub label: Vec<u8, MAX_COMPACT_LABEL_LEN>,
    /// Why it was refused; `None`: released.
    pub refusal: Option<GuardRefusal>,
    /// The policy decision and its lineage; `None` when refused before one could be made
    /// (unknown destination or self, a label or binding that does not verify).
    pub decision: Option<Decision>,
    /// The first bytes of the U_PDU as the link carries it (the envelope: binding first; at
    /// most [`ECHO_LEN`]): what the destination's DATA DELIVERY CONFIRM or FAIL echoes, so a
    /// driver matches the answer to its client's request. Empty unless released and queued
    /// at the sender. Not logged (serde skips it): the decision log's record is unchanged.
    #[serde(skip)]
    pub head: Vec<u8, ECHO_LEN>,
}

impl GuardReport {
    /// Whether the message was released (to the air, or to the client).
    pub const fn released(&self) -> bool {
        self.refusal.is_none()
    }
}

/// Whether a client message to `dest` may go to `port` now: the room rules of
/// [`Station::submit`]. A node the link does not list may still hear it (5066 reaches any
/// node on the channel); only a listed neighbour's share is bounded.
pub(super) fn client_room<L: StationLink>(port: &Port<L>, dest: Address) -> bool {
    port.has_room() && (!port.feed.reaches(dest) || port.feed.accepts(dest, &[]))
}
