//! Rooms: how much of each table one domain may fill, set at provisioning, so a partner that
//! fills its own room has taken nothing from anyone else's.

use super::{Domain, Table};
use core::fmt;

/// How many entries of each table one domain may fill: its room, set at provisioning. The
/// rooms of all domains never add up to more than a table holds, so a partner that fills its
/// own room has taken nothing from anyone else's.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Room {
    /// Credentials (the domain's root included).
    pub credentials: usize,
    /// Policies.
    pub policies: usize,
    /// Translators from the domain (a translator is charged to its source domain, whose
    /// credential its signer needs first).
    pub translators: usize,
    /// Revocation entries in force.
    pub revoked: usize,
}

impl Room {
    /// The room in `table`.
    pub fn of(&self, table: Table) -> usize {
        match table {
            Table::Credentials => self.credentials,
            Table::Policies => self.policies,
            Table::Translators => self.translators,
            Table::Revoked => self.revoked,
            Table::Domains => 0,
        }
    }
}

/// Why [`TrustStore::set_room`] refused a room.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RoomError {
    /// The domain has no root in this store: provision its root first.
    UnknownDomain(Domain),
    /// The rooms set would add up to more than this table holds.
    Exceeds(Table),
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomError::UnknownDomain(d) => write!(f, "no root for {d}: provision it first"),
            RoomError::Exceeds(t) => write!(f, "the rooms set exceed the {t:?} table"),
        }
    }
}

impl core::error::Error for RoomError {}
