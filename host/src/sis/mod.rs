//! STANAG 5066 SIS (Annex A) in the agent, both ways round.
//!
//! - [`server`]: the agent serves SIS on TCP (port 5066, localhost unless configured), so
//!   existing 5066 client applications (HMTP mail, chat, file transfer) use a Skywave node as
//!   their subnetwork. Their U_PDUs go over the same links, queues, priorities and time-to-die
//!   as Skywave's own traffic: the core submits them to the same [`HostLink`]s.
//! - [`carrier`]: the other way round: a link whose "modem" is someone else's 5066 node. The
//!   bearer (`crate::bearer::sis`) binds a SAP on that node's SIS server; the carrier stands
//!   where a [`HostLink`] stands for an HF link, turning Skywave's U_PDUs into
//!   S_UNIDATA_REQUESTs and the node's S_UNIDATA_INDICATIONs back into received U_PDUs.
//!
//! Both use the sans-IO codec in `skywave_protocol::sis`; this module only moves its bytes
//! over TCP and keeps the tables (which client holds which SAP, which request is waiting for
//! which confirmation).
//!
//! [`HostLink`]: skywave_protocol::link::HostLink

pub mod carrier;
pub mod server;

use std::net::SocketAddr;

use serde::Deserialize;
use skywave_protocol::link::MAX_UPDU_LEN;
use skywave_protocol::sis::{HEADER_LEN, Primitive};

/// The largest framed primitive the agent reads or writes: a full U_PDU with the largest
/// header (an indication) and room for an old stack's padding.
pub const MAX_FRAME: usize = HEADER_LEN + 16 + 4 + MAX_UPDU_LEN;

/// The `[sis]` section: serve SIS to client applications.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SisServerConfig {
    /// Where to listen; localhost only unless the operator says otherwise, since SIS has no
    /// authentication of its own.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// How many clients may hold a SAP at once (each holds one).
    #[serde(default = "default_max_clients")]
    pub max_clients: usize,
    /// Seconds a request with client confirmation waits for that confirmation after the far
    /// node acknowledged it before it is sent again (the far agent may have been killed
    /// between the two; docs/sis.md).
    #[serde(default = "default_confirm_wait_s")]
    pub confirm_wait_s: u64,
}

impl Default for SisServerConfig {
    fn default() -> Self {
        SisServerConfig {
            listen: default_listen(),
            max_clients: default_max_clients(),
            confirm_wait_s: default_confirm_wait_s(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], skywave_protocol::sis::PORT))
}

fn default_confirm_wait_s() -> u64 {
    server::DEFAULT_CONFIRM_WAIT.millis() / 1000
}

fn default_max_clients() -> usize {
    16
}

/// Encodes `primitive` as a framed primitive in a new buffer (the caller's values are in
/// range, so an encoding failure is a bug worth a log line, not a crash).
pub fn encode(primitive: &Primitive<'_>) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; primitive.frame_len()];
    match primitive.emit(&mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(e) => {
            tracing::error!(%e, kind = primitive.kind(), "SIS primitive not encodable");
            None
        }
    }
}
