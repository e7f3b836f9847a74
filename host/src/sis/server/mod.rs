//! The SIS server: 5066 client applications bind SAPs on this node over TCP.
//!
//! Three parts, so that every protocol decision is made in one place, in the core's task:
//!
//! - a **connection task** per client ([`serve`]) owns the socket: it frames and parses what
//!   the client sends, answers what needs no node state (S_KEEP_ALIVE, hard-link requests,
//!   which this node refuses), honours the client's S_DATAFLOW_OFF by holding indications, and
//!   closes the connection after an S_UNBIND_INDICATION when the client breaks the framing or
//!   sends too many invalid primitives. Everything else goes to the core as a [`ToCore`];
//! - the [`Hub`], owned by the core, keeps the bindings (one SAP per connection, Skywave's own
//!   SAP never given out), checks each S_UNIDATA_REQUEST and answers it, hands received U_PDUs
//!   to the client bound to their SAP, and turns S_DATAFLOW_ON/OFF on as a client's backlog
//!   fills and drains;
//! - the [`ClientQueue`], also the core's, holds accepted requests until the link they go on
//!   has room (the same room check as Skywave's own traffic) and remembers which link message
//!   answers which request, so the link's DELIVERED, FAILED and CONFIRMED events become
//!   S_UNIDATA_REQUEST_CONFIRM and _REJECTED.
//!
//! Each part has its file (`connection`, `hub`, `queue`); this one holds what they exchange.
//!
//! **What is persisted** is the core's business (`agent/core/persist.rs`): requests with client
//! confirmation (ARQ to one node) are stored before they are queued here, carry their store id
//! ([`Submission::stored`]), outlive their connection, and are answered through the core
//! ([`Settled`]); received U_PDUs whose sender asked for client confirmation are held in the
//! store until a client has them. Other requests die with the TCP connection, which the client
//! sees, as with any 5066 node, and other received U_PDUs are handed straight to the bound
//! client: 5066 clients may legitimately send identical unconfirmed U_PDUs (keep-alives,
//! repeated chat lines), and ARQ already drops duplicates within a link session. docs/sis.md
//! ("What survives a crash") says the same for operators.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use skywave_protocol::link::{self, Event as LinkEvent, MAX_UPDU_LEN, MessageId, Mode, SpduHeader};
use skywave_protocol::sis::{
    HEADER_LEN, HardLink, Primitive, ServiceType, SisAddress, UnidataIndication, UnidataReport,
    availability, bind_rejected, confirm, frame_len, kind, rejected, tx_mode, unbind,
};
use skywave_protocol::time::Instant;
use skywave_protocol::wire::Address;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use super::{SisServerConfig, encode};

mod connection;
mod hub;
mod queue;

pub use connection::{bind, serve};
pub use hub::{Hub, Submission};
pub use queue::{ClientQueue, DEFAULT_CONFIRM_WAIT, Settled};

/// A client connection's number, unique for the life of the agent.
pub type ClientId = u64;

/// Invalid primitives a client may send before it is unbound and disconnected.
pub const MAX_INVALID: u32 = 8;
/// Frames waiting to be written to one client.
const TO_CLIENT_CAPACITY: usize = 512;
/// Indications held for a client that sent S_DATAFLOW_OFF; beyond this the oldest is dropped.
const HELD_INDICATIONS: usize = 256;
/// A client's accepted requests waiting for link room at which it is told S_DATAFLOW_OFF...
const BACKLOG_OFF: usize = 16;
/// ...and at which S_DATAFLOW_ON again.
const BACKLOG_ON: usize = 4;
/// A client that keeps sending past S_DATAFLOW_OFF has requests refused beyond this.
const BACKLOG_MAX: usize = 64;
/// The time-to-live used when a request says 0 ("no limit").
pub const UNLIMITED_TTL: Duration = Duration::from_secs(24 * 3600);
/// The time-to-live field counts in units of this.
const TTL_UNIT: Duration = Duration::from_secs(2);

/// What a connection task tells the core.
#[derive(Debug)]
pub enum ToCore {
    /// A client connected; frames for it go to `tx`.
    Connected {
        /// The connection.
        id: ClientId,
        /// Where from.
        peer: SocketAddr,
        /// The connection task's queue.
        tx: mpsc::Sender<ToClient>,
    },
    /// S_BIND_REQUEST.
    Bind {
        /// The connection.
        id: ClientId,
        /// The SAP asked for.
        sap: u8,
        /// The client's rank.
        rank: u8,
        /// Its default service.
        service: ServiceType,
    },
    /// S_UNBIND_REQUEST.
    Unbind {
        /// The connection.
        id: ClientId,
    },
    /// S_UNIDATA_REQUEST or S_EXPEDITED_UNIDATA_REQUEST.
    Unidata {
        /// The connection.
        id: ClientId,
        /// The expedited form.
        expedited: bool,
        /// The request, owned.
        request: Request,
    },
    /// The connection is gone.
    Closed {
        /// The connection.
        id: ClientId,
    },
}

/// An S_UNIDATA_REQUEST's fields, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Priority 0..=15.
    pub priority: u8,
    /// The destination SAP.
    pub dest_sap: u8,
    /// The destination.
    pub dest: SisAddress,
    /// The service asked for (mode 0: the bind's).
    pub service: ServiceType,
    /// Time-to-live in 2 s units, 0 for no limit.
    pub ttl: u32,
    /// The U_PDU.
    pub data: Vec<u8>,
}

/// What the core gives a connection task.
#[derive(Debug)]
pub enum ToClient {
    /// A framed primitive to write.
    Frame(Vec<u8>),
    /// A framed S_UNIDATA_INDICATION: held while the client has said S_DATAFLOW_OFF.
    Indication(Vec<u8>),
}

#[cfg(test)]
mod tests;
