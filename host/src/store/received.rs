//! Receiver-side dedup: which U_PDUs were delivered to local clients, so that after a crash
//! none is delivered twice.
//!
//! ARQ delivers each U_PDU once per link session, but a sender that restarts resends what it
//! had not seen acknowledged ([`Store::requeue_sent`]), and the receiver may itself have
//! restarted between delivering a U_PDU and acknowledging it. Each delivery is therefore
//! recorded as (source node, [`MessageKey`]) in the `received` table, and
//! [`Store::deliver_once`] delivers only what is not recorded yet.
//!
//! The key is a digest of the U_PDU and its SAPs: the same bytes from the same node count as
//! the same message. A client protocol that legitimately sends identical U_PDUs again must
//! make them differ (a sequence number), or the agent must forget deliveries once no resend of
//! them can still arrive ([`Store::forget_deliveries`], after the longest time-to-die).

use std::time::SystemTime;

use rusqlite::{OptionalExtension, TransactionBehavior};
use skywave_protocol::link::SpduHeader;
use skywave_protocol::policy::Digest;
use skywave_protocol::wire::Address;

use super::{Store, StoreError, unix_ms};

/// What identifies one U_PDU from one node: SHA-256 of its SAPs and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageKey(pub [u8; 32]);

impl MessageKey {
    /// The key of the U_PDU `data` sent between the SAPs in `header`. Priority is left out:
    /// the same message resent at another priority is still the same message.
    pub fn of(header: &SpduHeader, data: &[u8]) -> MessageKey {
        let mut bytes = Vec::with_capacity(2 + data.len());
        bytes.extend([header.src_sap, header.dest_sap]);
        bytes.extend_from_slice(data);
        MessageKey(Digest::of(&bytes).0)
    }
}

impl Store {
    /// Whether the U_PDU `key` from `source` was delivered already.
    pub fn already_delivered(&self, source: Address, key: &MessageKey) -> Result<bool, StoreError> {
        self.with(|inner| {
            Ok(inner
                .conn
                .query_row(
                    "SELECT 1 FROM received WHERE source = ?1 AND message = ?2",
                    (source.value(), &key.0[..]),
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    /// Delivers the U_PDU `key` from `source` with `deliver`, unless it was delivered before:
    /// returns `Ok(None)` for a duplicate (and `deliver` is not called), `Ok(Some(..))` with
    /// what `deliver` returned once the delivery is recorded.
    ///
    /// The record is written in a transaction that commits only if `deliver` succeeded: a
    /// failed delivery is tried again when the U_PDU comes again, and a store that cannot
    /// write (a full disk) refuses before anything is delivered. Call it when the link reports
    /// the U_PDU, before the link's next transmission (which carries the acknowledgement), so
    /// a crash before the commit leaves the U_PDU unacknowledged and the sender resends it.
    /// What remains is the commit itself (one fsync) after `deliver` returned: a crash exactly
    /// there delivers again. The store is locked while `deliver` runs, so `deliver` must not
    /// use it.
    pub fn deliver_once<T, E: From<StoreError>>(
        &self,
        source: Address,
        key: &MessageKey,
        now: SystemTime,
        deliver: impl FnOnce() -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        let outcome = self.with(|inner| {
            let tx = inner
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let fresh = tx.execute(
                "INSERT OR IGNORE INTO received (source, message, delivered_unix_ms)
                 VALUES (?1, ?2, ?3)",
                (source.value(), &key.0[..], unix_ms(now)),
            )? == 1;
            if !fresh {
                return Ok(None);
            }
            // Dropping the transaction without a commit rolls the record back.
            let delivered = deliver();
            if delivered.is_ok() {
                tx.commit()?;
            }
            Ok(Some(delivered))
        })?;
        outcome.transpose()
    }

    /// Forgets deliveries recorded before `before`; returns how many. Call it with a time
    /// older than the longest time-to-die any sender uses, so no resend can still arrive.
    pub fn forget_deliveries(&self, before: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "DELETE FROM received WHERE delivered_unix_ms < ?1",
                [unix_ms(before)],
            )?)
        })
    }
}
