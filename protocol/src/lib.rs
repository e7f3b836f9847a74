//! # skywave-protocol
//!
//! The core every Skywave node runs: the simulator, the host agent and the Cortex-M4 firmware are
//! three drivers of the same code. It is written the way smoltcp and quinn-proto are:
//!
//! - **no_std, no allocator.** Every capacity is a named constant or a const generic, and every
//!   overflow is a typed error. Nothing here needs `alloc`, so the crate links on a bare
//!   `thumbv7em-none-eabihf` target.
//! - **Sans-IO.** No sockets, no serial ports, no clock. Bytes come in as slices, go out into
//!   caller-provided buffers, and time is an argument ([`time::Instant`]).
//! - **Parse, don't trust.** Wire types are checked views ([`wire::Frame`]) that cannot panic on any
//!   input, and owned representations ([`wire::Dpdu`]) built from them by `parse` and written by
//!   `emit`. Outside tests the crate denies `unwrap`, `expect`, `panic!` and slice indexing.
//!
//! Modules:
//! - [`wire`]: the STANAG 5066 Annex C air interface: CRCs, D_PDUs, the serial-stream deframer,
//!   C_PDU segmentation and reassembly.
//! - [`policy`]: signed coalition policy: credentials, policies, translators, revocation and
//!   policy deltas; admission into a bounded trust store; release decisions with lineage and a
//!   hash-chained decision log.
//! - [`label`]: STANAG 4774 labels in compact air form, their validity under an admitted
//!   policy, the guard's decision, and the origin's signed binding of label and data.
//! - [`link`]: the data transfer sublayer (Annex C ARQ, non-ARQ, expedited data, half-duplex
//!   turn-taking) with the CAS-1 link protocol (Annex B) and S_PDUs (Annex A), as one sans-IO
//!   state machine.
//! - [`node`]: store-and-forward of signed artifacts between neighbours: verify before
//!   forwarding, inventory sync that sends only what a neighbour lacks, revocation gap pulls.
//! - [`sis`]: the Subnetwork Interface Sublayer primitives (Annex A) that 5066 client
//!   applications exchange with a node over TCP, framed and parsed without allocation.
//! - [`time`]: the protocol's own notion of time, supplied by the driver.
//! - [`codec`]: the byte reader, writer, varint and hex every encoder here (and the host) shares.
//! - [`capture`]: pcap headers and a pcap reader for D_PDU captures (link type 237).

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable
    )
)]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod capture;
pub mod codec;
pub mod label;
pub mod link;
pub mod node;
pub mod policy;
pub mod sis;
pub mod station;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;
pub mod wire;
