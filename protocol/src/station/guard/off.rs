//! Without the `guard` feature: a stand-in with no state that guards no SAP, so a board that
//! serves no clients pays for none of it.

use super::super::{Station, StationLink, StationNode, StationStats};
use super::{GuardReport, LinkId};
use crate::link::{MessageId, SpduHeader};
use crate::policy::{Trust, UnixTime};
use crate::time::Instant;
use crate::wire::Address;

/// No guard (the sizes are the station's, and unused).
pub(in crate::station) struct Guard<
    const HELD_MSGS: usize,
    const HELD_BYTES: usize,
    const REPORTS: usize,
    const ORIGINS: usize,
>;

impl<const HELD_MSGS: usize, const HELD_BYTES: usize, const REPORTS: usize, const ORIGINS: usize>
    Guard<HELD_MSGS, HELD_BYTES, REPORTS, ORIGINS>
{
    pub(in crate::station) const fn new() -> Self {
        Guard
    }

    pub(in crate::station) fn touch(&mut self) {}

    pub(in crate::station) fn guards(&self, _: u8) -> bool {
        false
    }

    pub(in crate::station) fn has_report_room(&self) -> bool {
        true
    }

    pub(in crate::station) fn settled(&mut self, _: LinkId, _: MessageId) {}

    pub(in crate::station) fn return_lent(&mut self) {}

    pub(in crate::station) fn lend_next(&mut self) -> Option<&GuardReport> {
        None
    }

    /// Never called: no SAP is guarded.
    #[allow(clippy::too_many_arguments, reason = "the guard's signature")]
    pub(in crate::station) fn receive<'u, T: Trust>(
        &mut self,
        _: &T,
        _: &mut StationStats,
        _: LinkId,
        _: Address,
        _: SpduHeader,
        _: &'u [u8],
        _: Option<UnixTime>,
    ) -> Option<&'u [u8]> {
        None
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
    pub(in crate::station) fn recheck_held(&mut self) -> bool {
        false
    }

    pub(in crate::station) fn feed_guarded(&mut self, _: Instant) -> bool {
        false
    }
}
