//! SIS client messages kept across restarts (docs/sis.md, "What survives a crash"): the store
//! side of the SIS server, on both ends of a message with client confirmation.
//!
//! - **Sending.** A request is written to the store's `outbound` table before the client's
//!   request is taken ([`Core::store_request`]); after a start every queued row is submitted
//!   again ([`Core::restore_sis`]); its outcome is written before its sender is told, which is
//!   the client bound to its SAP then, or the next one to bind it ([`Core::settle`],
//!   [`Core::sap_bound`]).
//! - **Receiving.** A U_PDU whose sender asked for the far client's confirmation is written
//!   to the `received` table before the core confirms it (`Station::answer`, after this
//!   returns), held until a client has it, and its key kept so that the
//!   sender's resends are confirmed but not delivered twice ([`receive`]). The SAPs clients
//!   held are kept too: after a restart the links go on answering for them while the clients
//!   reconnect, instead of refusing the resends with DATA DELIVERY FAIL.

use std::time::{Duration, SystemTime};

use skywave_protocol::link::{Mode, Service, SpduHeader};
use skywave_protocol::sis::{SisAddress, confirm, rejected};
use skywave_protocol::wire::Address;

use super::Core;
use super::clients::Sis;
use crate::sis::server::{Settled, Submission, UNLIMITED_TTL};
use crate::store::{MessageKey, Outbound, Outcome, Store};

/// How long the key of a delivered U_PDU is kept: longer than the longest time-to-die a
/// request without its own limit gets, so no resend can arrive after its key is gone.
const KEEP_KEYS: Duration = Duration::from_secs(UNLIMITED_TTL.as_secs() + 3600);

/// Whether a request is kept in the store: ARQ to one node, with client confirmation.
fn stored_kind(s: &Submission) -> bool {
    s.confirm == confirm::CLIENT
        && !s.dest.group
        && matches!(s.mode, Mode::Arq { .. } | Mode::ExpeditedArq)
}

impl Core {
    /// At start, with a SIS server: expires what passed its time-to-die while the agent was
    /// down, forgets what is finished and told, queues the rest again for the station, and
    /// takes the SAPs clients held as still bound.
    pub(super) fn restore_sis(&mut self) {
        let wall = SystemTime::now();
        let now = self.now();
        let store = &self.store;
        let tidy = store
            .expire(wall)
            .and_then(|_| store.forget_finished(wall))
            .and_then(|_| store.forget_deliveries(wall - KEEP_KEYS));
        if let Err(e) = tidy {
            tracing::error!(%e, "SIS store not tidied");
        }
        let held_saps = store.bound_saps().unwrap_or_else(|e| {
            tracing::error!(%e, "SAPs held before the restart not read");
            0
        });
        let unfinished = store.unfinished().unwrap_or_else(|e| {
            tracing::error!(%e, "SIS client messages not restored");
            Vec::new()
        });
        let Some(sis) = &mut self.sis else {
            return;
        };
        sis.held_saps = held_saps & !(1 << self.sap);
        if !unfinished.is_empty() {
            tracing::info!(
                messages = unfinished.len(),
                "SIS client messages to send again"
            );
        }
        for q in unfinished {
            sis.queue.push(Submission {
                client: None,
                stored: Some(q.id),
                expedited: q.mode == Mode::ExpeditedArq,
                header: q.header,
                dest: SisAddress::node(q.neighbour),
                mode: q.mode,
                confirm: confirm::CLIENT,
                ttd: q.ttd_at(now, wall),
                data: q.data,
            });
        }
    }

    /// Writes an accepted request that must survive a restart to the store before it is
    /// queued; a request the store cannot take is rejected. Returns what to queue.
    pub(super) fn store_request(&mut self, mut s: Submission) -> Option<Submission> {
        if !stored_kind(&s) {
            return Some(s);
        }
        let wall = SystemTime::now();
        let left = s.ttd.millis().saturating_sub(self.now().millis());
        let message = Outbound {
            neighbour: s.dest.address,
            header: s.header,
            mode: s.mode,
            confirm: true,
            ttd: wall + Duration::from_millis(left),
            data: &s.data,
        };
        match self.store.enqueue(&message, wall) {
            Ok(id) => {
                s.stored = Some(id);
                Some(s)
            }
            Err(e) => {
                tracing::error!(%e, "SIS request not stored: rejected");
                if let (Some(sis), Some(client)) = (&mut self.sis, s.client) {
                    sis.hub.adjust_backlog(client, false);
                    let (sap, dest) = (s.header.dest_sap, s.dest);
                    sis.hub
                        .reject(client, s.expedited, rejected::UNKNOWN, sap, dest, &s.data);
                }
                None
            }
        }
    }

    /// Writes the outcomes the queue settled, then tells each to the client holding the
    /// sending SAP (if none does, the next to bind it is told).
    pub(super) fn settle(&mut self) {
        let Some(sis) = &mut self.sis else {
            return;
        };
        for Settled {
            submission: s,
            outcome,
        } in sis.queue.take_settled()
        {
            let Some(id) = s.stored else {
                continue;
            };
            let client = sis.hub.bound(s.header.src_sap);
            match self
                .store
                .finish(id, outcome, client.is_some(), SystemTime::now())
            {
                Ok(true) => {}
                // Settled before (a late second answer): its sender was told then.
                Ok(false) => continue,
                Err(e) => {
                    // Told anyway: the row stays queued and is sent again after a restart,
                    // which the far node confirms without delivering it twice.
                    tracing::error!(%e, "SIS outcome not stored");
                }
            }
            if let Some(client) = client {
                tell(sis, client, &s.header, s.dest, s.mode, outcome, &s.data);
            }
        }
    }

    /// Client `client` now holds `sap`: recorded, and it gets what waited for that SAP, the
    /// U_PDUs held for it and the outcomes of its messages nobody was told.
    pub(super) fn sap_bound(&mut self, client: u64, sap: u8) {
        let Some(sis) = &mut self.sis else {
            return;
        };
        sis.held_saps &= !(1 << sap);
        let store = &self.store;
        if let Err(e) = store.set_sap_bound(sap, true) {
            tracing::error!(%e, sap, "bound SAP not stored");
        }
        for h in store.held(sap).unwrap_or_default() {
            if sis.hub.indicate(h.source, h.service, h.header, &h.data)
                && let Err(e) = store.handed(h.source, &h.key)
            {
                tracing::error!(%e, "held U_PDU handed but not recorded");
            }
        }
        for q in store.untold(sap).unwrap_or_default() {
            let outcome = match q.state {
                crate::store::DeliveryState::Delivered => Outcome::Confirmed,
                crate::store::DeliveryState::Failed => {
                    Outcome::Failed(q.reason.unwrap_or(rejected::UNKNOWN))
                }
                _ => Outcome::Expired,
            };
            // Recorded first: a kill between the two loses this answer, never repeats it.
            if let Err(e) = store.mark_told(q.id, SystemTime::now()) {
                tracing::error!(%e, "SIS outcome told but not recorded");
            }
            let dest = SisAddress::node(q.neighbour);
            tell(sis, client, &q.header, dest, q.mode, outcome, &q.data);
        }
    }

    /// The SAPs the links deliver to and confirm for: those clients hold, the node's, and
    /// those held since before a restart until their clients are back.
    pub(super) fn answered_saps(&self) -> u16 {
        self.sis
            .as_ref()
            .map_or(u16::MAX, |s| s.hub.bound_saps() | s.held_saps)
    }
}

/// Tells `client` how its message ended.
fn tell(
    sis: &Sis,
    client: u64,
    header: &SpduHeader,
    dest: SisAddress,
    mode: Mode,
    outcome: Outcome,
    data: &[u8],
) {
    let expedited = mode == Mode::ExpeditedArq;
    let sap = header.dest_sap;
    match outcome {
        Outcome::Confirmed => sis.hub.confirm(client, expedited, sap, dest, data),
        Outcome::Expired => {
            sis.hub
                .reject(client, expedited, rejected::TTL_EXPIRED, sap, dest, data)
        }
        Outcome::Failed(reason) => sis.hub.reject(client, expedited, reason, sap, dest, data),
    }
}

/// A received U_PDU for a client. One whose sender asked for the far client's confirmation is
/// written to the store first (the core confirms it only after this returns) and handed over
/// only if its key is new; a resend of one held or delivered before is not handed again (its
/// confirmation stops the sender).
///
/// Returns whether a SIS client took it or it is held for one (then nobody else may take it).
/// Only a SAP a client holds, or held before a restart, is a client's: on a guarded SAP that
/// no client holds the U_PDU is the operator's (messages.rs), and holding it here would keep
/// it from the operator's inbox for a client that may never bind.
pub(super) fn receive(
    store: &Store,
    sis: Option<&Sis>,
    src: Address,
    header: SpduHeader,
    service: Service,
    confirmed: bool,
    payload: &[u8],
) -> bool {
    let Some(sis) = sis else {
        return false;
    };
    if (sis.hub.bound_saps() | sis.held_saps) & (1 << (header.dest_sap & 0x0F)) == 0 {
        return false;
    }
    if !confirmed {
        return sis.hub.indicate(src, service, header, payload);
    }
    match store.hold(src, header, service, payload, SystemTime::now()) {
        Ok(true) => {
            if sis.hub.indicate(src, service, header, payload) {
                let key = MessageKey::of(&header, payload);
                if let Err(e) = store.handed(src, &key) {
                    tracing::error!(%e, "U_PDU handed but not recorded");
                }
            } else {
                tracing::info!(%src, sap = header.dest_sap, "U_PDU held until a client binds its SAP");
            }
            true
        }
        Ok(false) => {
            tracing::info!(%src, sap = header.dest_sap, "resent U_PDU confirmed, not delivered again");
            true
        }
        Err(e) => {
            // Its confirmation is queued already: hand it over rather than lose it.
            tracing::error!(%e, "received U_PDU not stored");
            sis.hub.indicate(src, service, header, payload)
        }
    }
}
