//! The Skywave host agent for expeditionary laptops, as a library the `skywave` binary drives.
//!
//! - [`agent`]: `skywave run`: configuration, the core that drives the protocol state
//!   machines, and the operator's control socket.
//! - [`audit`]: the decision log read back (`skywave audit list / show / export`) and checked
//!   offline against an anchor the operator kept (`audit anchor`, `audit verify`).
//! - [`cli`]: what every Skywave command line shares: stdout into closed pipes, times and
//!   category values as people type them, the agent's thread.
//! - [`compress`]: zstd BATCH compression of node messages between agents, negotiated per
//!   neighbour with CAPS.
//! - [`demo`]: `skywave demo`, handed to the simulator's `skywave-sim demo`.
//! - [`evidence`]: evidence of equivocations and rollbacks, persisted by the agent and
//!   listed or exported by `skywave evidence`.
//! - [`frames`]: the `skywave frames` commands (sample and decode D_PDU captures).
//! - [`label`]: `skywave label check / show / compact`: STANAG 4774 XML labels against a SPIF
//!   or a signed policy.
//! - [`labelled`]: `skywave send / receive`: the operator's labelled messages through a running
//!   agent's guard.
//! - [`bearer`]: the links to the air: serial HF modems (tokio-serial) and UDP for software
//!   modems, each a task that turns bytes into D_PDUs with the protocol's deframer, writes the
//!   D_PDUs it is given, and reconnects with backoff when its port goes away.
//! - [`sis`]: STANAG 5066 SIS over TCP: a server for 5066 client applications, and the
//!   carrier for links through an installed 5066 node.
//! - [`store`]: the SQLite store (artifacts, outbound queues, receiver dedup, decision log)
//!   that survives crashes and power loss.
//!
//! All protocol logic lives in `skywave-protocol`; this crate only moves bytes, keeps time and
//! stores state.

pub mod agent;
pub mod audit;
pub mod bearer;
pub mod cli;
pub mod compress;
pub mod demo;
pub mod evidence;
pub mod frames;
pub mod label;
pub mod labelled;
pub mod sis;
pub mod spif;
pub mod store;
