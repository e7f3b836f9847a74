//! Client confirmations the driver answers ([`Station::answer_for`], [`Station::answer`]).
//!
//! The station answers a released client U_PDU's request for delivery confirmation itself
//! (CONFIRM) as it hands the U_PDU out, which is right when handing it out is delivering it.
//! A driver that may still fail to keep what it is handed (the host agent's operator inbox
//! has a bound, and its store can fail) names those SAPs instead, and answers each request
//! once it knows: CONFIRM when it kept the U_PDU, DATA DELIVERY FAIL with its reason when it
//! did not, so a sender is never confirmed for a message that was dropped. One request waits
//! at a time (one U_PDU is lent at a time), and nothing else moves between the links and the
//! node while it waits; a driver that never answers gets the station's own answer at its next
//! [`Station::poll_event`], so the links never stall on a forgotten request.

use super::{LinkId, Station, StationLink, StationNode};
use crate::link::{Answer, ConfirmRequest};

/// A request the driver answers: the link it came on, and whether its U_PDU has been lent
/// (handed out by [`Station::poll_event`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Unanswered {
    link: LinkId,
    request: ConfirmRequest,
    lent: bool,
}

/// Where the answer to a released client U_PDU's request goes: the station's own CONFIRM,
/// returned to queue in the link now, or kept in `unanswered` when `sap` is one of
/// `driver_saps` (a bit per SAP).
pub(super) fn confirm_or_keep(
    driver_saps: u16,
    unanswered: &mut Option<Unanswered>,
    link: LinkId,
    sap: u8,
    request: Option<ConfirmRequest>,
) -> Option<(ConfirmRequest, Answer)> {
    let request = request?;
    if driver_saps & (1 << (sap & 0x0F)) == 0 {
        return Some((request, Answer::Confirm));
    }
    *unanswered = Some(Unanswered {
        link,
        request,
        lent: false,
    });
    None
}

impl<N: StationNode, L: StationLink, const LINKS: usize> Station<N, L, LINKS> {
    /// The client SAPs (a bit per SAP) whose delivery confirmations the driver answers itself:
    /// a [`super::StationEvent::Received`] for one of them with `confirm` set waits for
    /// [`Station::answer`]. The station still answers its guard's refusals (DATA DELIVERY
    /// FAIL [`crate::link::pdu::fail::REFUSED`]) and the node's own SAP. None by default;
    /// call at start, and again when the SAPs change.
    pub fn answer_for(&mut self, saps: u16) {
        self.driver_saps = saps & !(1 << (self.sap & 0x0F));
    }

    /// Answers the confirmation request of the client U_PDU last reported
    /// ([`super::StationEvent::Received`] with `confirm`, on a SAP of
    /// [`Station::answer_for`]): [`Answer::Confirm`] once the driver kept it, or
    /// [`Answer::Fail`] with the reason it did not ([`crate::link::pdu::fail`]). Call before
    /// the next [`Station::poll_event`], which otherwise confirms it; then poll transmit.
    /// Returns `false` when no request waits (nothing was sent).
    pub fn answer(&mut self, answer: Answer) -> bool {
        let Some(u) = self.unanswered.take() else {
            return false;
        };
        if let Some(port) = self.ports.get_mut(usize::from(u.link.0)) {
            port.link.answer(u.request, answer);
        }
        // What waited behind the request moves at the next handle_timeout.
        self.dirty = true;
        true
    }

    /// At [`Station::poll_event`]: a request whose U_PDU was lent before and that the driver
    /// did not answer is confirmed, as the station would have.
    pub(super) fn settle_unanswered(&mut self) {
        if self.unanswered.is_some_and(|u| u.lent) {
            self.answer(Answer::Confirm);
        }
    }
}

/// At [`Station::poll_event`], lending a client U_PDU: its request (if the driver answers it)
/// now waits for the driver.
pub(super) fn mark_lent(unanswered: &mut Option<Unanswered>) {
    if let Some(u) = unanswered {
        u.lent = true;
    }
}
