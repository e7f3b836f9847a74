//! SIS client messages on their way in: U_PDUs whose sender asked for the far client's
//! confirmation are held here from before that confirmation goes on the air until a client has
//! them, and remembered after, so the sender's resends are confirmed but not delivered twice.
//! Also the SAPs clients held ([`Store::set_sap_bound`]), so a restarted agent keeps answering for
//! them while their clients reconnect.
//!
//! 5066 gives a U_PDU no message id, so a message is recognised by its [`MessageKey`]: the
//! sending node and SHA-256 of its SAPs and bytes. A row's life:
//!
//! ```text
//! hold (fresh: data kept) --handed--> data dropped, key kept --forget_deliveries--> gone
//! hold (key known: a resend) -> nothing changes, the caller does not deliver it again
//! ```
//!
//! The trade-off (docs/sis.md): two identical U_PDUs (same source node, SAPs and bytes) that a
//! client sends on purpose while the first one's key is remembered are taken as one, and the
//! second is confirmed to its sender without reaching the far client. A client protocol that
//! repeats identical confirmed U_PDUs must make them differ (a sequence number).

use std::time::SystemTime;

use skywave_protocol::link::{Service, SpduHeader};
use skywave_protocol::policy::Digest;
use skywave_protocol::wire::Address;

use super::{Store, StoreError, address_column, unix_ms};

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

/// A received U_PDU no client has had yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The sending node.
    pub source: Address,
    /// Its key.
    pub key: MessageKey,
    /// Priority and SAPs.
    pub header: SpduHeader,
    /// How it came.
    pub service: Service,
    /// The U_PDU.
    pub data: Vec<u8>,
}

/// The `service` column's names.
const SERVICES: [(Service, &str); 4] = [
    (Service::Arq, "arq"),
    (Service::ExpeditedArq, "expedited-arq"),
    (Service::NonArq, "non-arq"),
    (Service::ExpeditedNonArq, "expedited-non-arq"),
];

fn service_name(service: Service) -> &'static str {
    SERVICES
        .iter()
        .find(|(s, _)| *s == service)
        .map_or("arq", |(_, n)| n)
}

impl Store {
    /// Holds the U_PDU `data` from `source` unless its key is known: returns whether it is
    /// new (and must be handed to a client), false for a resend of one held or delivered
    /// before. It is on disk when this returns.
    pub fn hold(
        &self,
        source: Address,
        header: SpduHeader,
        service: Service,
        data: &[u8],
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let key = MessageKey::of(&header, data);
        self.with(|inner| {
            Ok(inner.conn.execute(
                "INSERT OR IGNORE INTO received (source, message, priority, src_sap, dest_sap,
                     service, data, received_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                (
                    source.value(),
                    &key.0[..],
                    header.priority,
                    header.src_sap,
                    header.dest_sap,
                    service_name(service),
                    data,
                    unix_ms(now),
                ),
            )? == 1)
        })
    }

    /// Records that a client has the U_PDU `key` from `source`: its bytes are dropped, its
    /// key kept to recognise resends.
    pub fn handed(&self, source: Address, key: &MessageKey) -> Result<(), StoreError> {
        self.with(|inner| {
            inner.conn.execute(
                "UPDATE received SET data = NULL WHERE source = ?1 AND message = ?2",
                (source.value(), &key.0[..]),
            )?;
            Ok(())
        })
    }

    /// The U_PDUs for SAP `dest_sap` that no client has had yet, in arrival order.
    pub fn held(&self, dest_sap: u8) -> Result<Vec<Held>, StoreError> {
        type Row = (i64, Vec<u8>, i64, i64, String, Vec<u8>);
        let rows: Vec<Row> = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT source, message, priority, src_sap, service, data FROM received
                 WHERE dest_sap = ?1 AND data IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt
                .query_map([dest_sap], |r| Row::try_from(r))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(source, key, priority, src_sap, service, data)| {
                let bad = |what: &str| StoreError::corrupt(format!("received: {what}"));
                let small = |v: i64, what: &str| u8::try_from(v).map_err(|_| bad(what));
                Ok(Held {
                    source: address_column(source, "received")?,
                    key: MessageKey(key.try_into().map_err(|_| bad("key"))?),
                    header: SpduHeader {
                        priority: small(priority, "priority")?,
                        src_sap: small(src_sap, "source SAP")?,
                        dest_sap,
                    },
                    service: SERVICES
                        .iter()
                        .find(|(_, n)| *n == service)
                        .map(|(s, _)| *s)
                        .ok_or_else(|| bad("service"))?,
                    data,
                })
            })
            .collect()
    }

    /// How many received U_PDUs no client has had yet.
    pub fn held_count(&self) -> Result<u64, StoreError> {
        self.with(|inner| {
            let n: i64 = inner.conn.query_row(
                "SELECT count(*) FROM received WHERE data IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Forgets the keys of U_PDUs handed to clients and received before `before`; returns
    /// how many. Call it with a time older than the longest time-to-die any sender uses, so
    /// no resend can still arrive. Held ones are never forgotten.
    pub fn forget_deliveries(&self, before: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "DELETE FROM received WHERE data IS NULL AND received_unix_ms < ?1",
                [unix_ms(before)],
            )?)
        })
    }

    /// Records that a client holds SAP `sap` (`bound`), or that it left it (unbound, or its
    /// connection closed while the agent ran).
    pub fn set_sap_bound(&self, sap: u8, bound: bool) -> Result<(), StoreError> {
        let sql = if bound {
            "INSERT OR IGNORE INTO sis_saps (sap) VALUES (?1)"
        } else {
            "DELETE FROM sis_saps WHERE sap = ?1"
        };
        self.with(|inner| {
            inner.conn.execute(sql, [sap])?;
            Ok(())
        })
    }

    /// The SAPs clients held when the agent last stopped, as a bit set (bit n for SAP n).
    pub fn bound_saps(&self) -> Result<u16, StoreError> {
        let saps: Vec<i64> = self.with(|inner| {
            let mut stmt = inner.conn.prepare("SELECT sap FROM sis_saps")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        Ok(saps
            .into_iter()
            .filter(|s| (0..16).contains(s))
            .fold(0, |bits, s| bits | 1 << s))
    }
}
