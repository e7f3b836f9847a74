//! The guarded adjunct (feature `guard`, issue 17): the board serves one local client over its
//! console, and every labelled message it sends or receives goes through the protocol's guard
//! (`Station::submit_labelled`, docs/labels.md). Only the compact label is seen here: no XML.
//!
//! - At start the station's guard is enabled with the provisioned node key for the provisioned
//!   SAP, and the provisioned node credential (which names this node's domain, the one the
//!   guard decides for) is admitted like an operator's publish, so neighbours learn it by
//!   inventory sync and can address labelled data to us.
//! - `send <address> <sap> <label hex> <data hex>` submits labelled data: `ok` once the guard
//!   holds it, or `error refused <why>` at once.
//! - Every guard decision is an `event guard ...` line with its lineage; released data for
//!   the client is an `event received ...` line. docs/firmware-guard.md has the formats.

use core::fmt::Write;

use skywave_protocol::codec::Hex;
use skywave_protocol::label::sequence::SeqReservation;
use skywave_protocol::link::pdu::SpduHeader;
use skywave_protocol::link::{Message, Mode};
use skywave_protocol::policy::signer;
use skywave_protocol::station::{End, GuardConfig, GuardRefusal, GuardReport, StationError};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::Address;

use super::{Adjunct, StartError};
use crate::console::{self, SendRequest};
use crate::provision;

/// Priority of the client's labelled messages (the host agent's `skywave send` uses the same).
const PRIORITY: u8 = 5;
/// How long a labelled message is worth sending.
const TTD: Duration = Duration::from_secs(600);
/// Binding sequence numbers reserved in the trust journal at a time: one journal write per
/// 32 messages sent (reserved again at half a block), and a reset skips at most 64 numbers,
/// which receivers accept (only a number at or below one seen is a replay).
const SEQ_BLOCK: u64 = 64;

/// No reservation to keep: every number may be used (the adjunct before its journal is read,
/// or without one).
pub(super) const fn unbounded_seq() -> SeqReservation {
    SeqReservation::new(SEQ_BLOCK, u64::MAX)
}

impl Adjunct {
    /// Turns the guard on with the provisioned identity and admits the node credential.
    pub(super) fn enable_guard(&mut self, now: Instant) -> Result<(), StartError> {
        let address = Address::new(provision::ADDRESS).map_err(|_| StartError::Address)?;
        let key = signer::signing_key(&provision::NODE_KEY).ok_or(StartError::NodeKey)?;
        // From where the last boot's reservations end; the main loop reserves the first
        // block before any frame leaves (`reserve_seq`; docs/firmware-guard.md, "Sequence
        // numbers across a reset"). No journal (nothing survives a reset): from 1, unbounded.
        let next_seq = match self.station.node().storage().journal() {
            Some(j) => {
                let next = j.seq_reserved().map_err(StartError::Sequence)?;
                // Every number below `next` is reserved, and none from it yet.
                self.seq = SeqReservation::new(SEQ_BLOCK, next);
                next
            }
            None => 1,
        };
        let config = GuardConfig {
            address,
            key,
            next_seq,
        };
        self.station.enable_guard(config, &[provision::GUARD_SAP]);
        // Its `event admitted ... from=local` is the console's first event after the banner.
        self.station
            .publish(now, None, provision::NODE_CREDENTIAL)
            .map(|_| ())
            .map_err(StartError::NodeCredential)
    }

    /// Reserves binding sequence numbers a block ahead in the trust journal once half the
    /// last block is used; whether every number the station has used is reserved, so that a
    /// frame that may carry one can leave.
    pub(super) fn reserve_seq(&mut self) -> bool {
        let next = self.station.next_binding_seq();
        if let Some(until) = self.seq.due(next)
            && let Some(journal) = self.station.node().storage().journal()
        {
            // On failure the old reservation stands, and so does the check below.
            if journal.reserve_seq(until).is_ok() {
                self.seq.stored(until);
            }
        }
        self.seq.covers(next)
    }

    /// Answers `send`: the client's labelled data to the guard.
    // Out of line: `answer`'s other requests' locals are not on the stack under the station's
    // pump, which this runs.
    #[inline(never)]
    pub(super) fn send(
        &mut self,
        now: Instant,
        request: &SendRequest,
        out: &mut impl Write,
    ) -> core::fmt::Result {
        let Ok(dest) = Address::new(request.dest) else {
            return writeln!(out, "error bad address");
        };
        let message = Message {
            dest,
            header: SpduHeader {
                priority: PRIORITY,
                src_sap: request.sap,
                dest_sap: request.sap,
            },
            mode: Mode::Arq { in_order: false },
            confirm: false,
            ttd: now + TTD,
            data: &request.data,
        };
        match self
            .station
            .submit_labelled(now, self.link, &message, &request.label)
        {
            Ok(_) => writeln!(out, "ok"),
            Err(StationError::Guard(refusal)) => {
                writeln!(out, "error refused {}", refusal_keyword(&refusal))
            }
            // The held message's slot (or its report's) still taken (try again after its
            // `event guard` line), the SAP the node's, the address broadcast: one answer, as
            // the board's flash is short (the station's `Display` would be a second copy).
            Err(_) => writeln!(out, "error not accepted"),
        }
    }
}

/// The keyword of a refusal's kind: the host's (`skywave send --json`'s `refusal`).
const fn refusal_keyword(refusal: &GuardRefusal) -> &'static str {
    match refusal {
        GuardRefusal::Denied(_) => "denied",
        GuardRefusal::TranslatorRevoked(_) => "translator_revoked",
        GuardRefusal::UnknownDestination { .. } => "unknown_destination",
        GuardRefusal::UnknownSelf => "unknown_self",
        GuardRefusal::Label(_) => "label",
        GuardRefusal::Binding(_) => "binding",
    }
}

/// Writes a guard decision as one `event guard ...` line: the end, the outcome and why, the
/// message (ends, data digest), then the policy decision with
/// its lineage as the `decide` request words it (`decision verdict=...`). No ticket: `send`
/// answers none, and the client knows its message by the digest of its data.
pub(super) fn write_report(out: &mut impl Write, r: &GuardReport) -> core::fmt::Result {
    let end = match r.end {
        End::Sender => "sender",
        End::Receiver => "receiver",
    };
    write!(out, "event guard end={end} outcome=")?;
    match &r.refusal {
        None => out.write_str("released")?,
        Some(refusal) => write!(out, "refused refusal={}", refusal_keyword(refusal))?,
    }
    // No SAPs (the guarded SAP is the provisioned one, at both ends), no label (the
    // decision's words name its policy, and its verdict) and no binding sequence number: the
    // board's flash is short.
    write!(
        out,
        " src={} dst={} digest={}",
        r.ends.source, r.ends.destination, r.digest
    )?;
    match &r.decision {
        Some(d) => {
            out.write_char(' ')?;
            console::write_decision(out, d)
        }
        None => writeln!(out),
    }
}

/// Writes released client data as an `event received ...` line.
pub(super) fn write_received(
    out: &mut impl Write,
    src: Address,
    sap: u8,
    data: &[u8],
) -> core::fmt::Result {
    writeln!(
        out,
        "event received from={} sap={sap} data={}",
        src.value(),
        Hex(data)
    )
}
