//! Skywave's offline and test tools.
//!
//! This crate holds the binaries that drive the protocol core from outside a node. Built so far:
//! `skywave-authority`, the offline signing cell's tool, over [`authority`], and `skywave-sim`,
//! the discrete-event HF network simulator, over [`sim`]. Still to come: `skywave-linkemu` (a
//! real-time serial link emulator).

pub mod authority;
pub mod sim;
