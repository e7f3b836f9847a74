//! With the `driver-answers` feature: the driver may answer for its SAPs.

use super::super::{LinkId, Station, StationLink, StationNode};
use crate::link::{Answer, ConfirmRequest};

/// A request the driver answers: the link it came on, and whether its U_PDU has been lent
/// (handed out by [`Station::poll_event`]).
#[derive(Clone, Copy, Debug)]
struct Unanswered {
    link: LinkId,
    request: ConfirmRequest,
    lent: bool,
}

/// The SAPs the driver answers for, and the request waiting for it.
#[derive(Clone, Copy, Debug)]
pub(in crate::station) struct Answers {
    /// A bit per client SAP whose confirmation requests the driver answers.
    driver_saps: u16,
    /// The request of the client U_PDU on one of those SAPs, until the driver answers.
    unanswered: Option<Unanswered>,
}

impl Answers {
    pub(in crate::station) const fn new() -> Self {
        Answers {
            driver_saps: 0,
            unanswered: None,
        }
    }

    /// Whether a request waits for the driver (then nothing else moves).
    pub(in crate::station) fn waiting(&self) -> bool {
        self.unanswered.is_some()
    }

    /// Where the station's answer `verdict` to `request` goes: returned, to queue in the
    /// link now, unless it confirms a U_PDU for a SAP the driver answers for (never the
    /// node's): then the request is kept for the driver.
    pub(in crate::station) fn give_or_keep(
        &mut self,
        link: LinkId,
        request: ConfirmRequest,
        verdict: Answer,
    ) -> Option<(ConfirmRequest, Answer)> {
        let sap = request.header().dest_sap;
        if verdict != Answer::Confirm || self.driver_saps & (1 << (sap & 0x0F)) == 0 {
            return Some((request, verdict));
        }
        self.unanswered = Some(Unanswered {
            link,
            request,
            lent: false,
        });
        None
    }

    /// At [`Station::poll_event`], lending a client U_PDU: its request (if the driver answers
    /// it) now waits for the driver.
    pub(in crate::station) fn mark_lent(&mut self) {
        if let Some(u) = &mut self.unanswered {
            u.lent = true;
        }
    }
}

impl<
    N: StationNode,
    L: StationLink,
    const LINKS: usize,
    const HELD_MSGS: usize,
    const HELD_BYTES: usize,
    const REPORTS: usize,
    const ORIGINS: usize,
> Station<N, L, LINKS, HELD_MSGS, HELD_BYTES, REPORTS, ORIGINS>
{
    /// The client SAPs (a bit per SAP) whose delivery confirmations the driver answers itself:
    /// a [`crate::station::StationEvent::Received`] for one of them with `confirm` set waits
    /// for [`Station::answer`]. The station still answers its guard's refusals (DATA
    /// DELIVERY FAIL [`crate::link::pdu::fail::REFUSED`]) and the node's own SAP. None by
    /// default; call at start, and again when the SAPs change.
    pub fn answer_for(&mut self, saps: u16) {
        self.answers.driver_saps = saps & !(1 << (self.sap & 0x0F));
    }

    /// Answers the confirmation request of the client U_PDU last reported
    /// ([`crate::station::StationEvent::Received`] with `confirm`, on a SAP of
    /// [`Station::answer_for`]): [`Answer::Confirm`] once the driver kept it, or
    /// [`Answer::Fail`] with the reason it did not ([`crate::link::pdu::fail`]). Call before
    /// the next [`Station::poll_event`], which otherwise confirms it; then poll transmit.
    /// Returns `false` when no request waits (nothing was sent).
    pub fn answer(&mut self, answer: Answer) -> bool {
        let Some(u) = self.answers.unanswered.take() else {
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
    pub(in crate::station) fn settle_unanswered(&mut self) {
        if self.answers.unanswered.is_some_and(|u| u.lent) {
            self.answer(Answer::Confirm);
        }
    }
}
