//! Skywave's offline and test tools.
//!
//! This crate holds the binaries that drive the protocol core from outside a node. Built so far:
//! `skywave-authority`, the offline signing cell's tool, over [`authority`]. Still to come:
//! `skywave-sim` (the discrete-event HF network simulator) and `skywave-linkemu` (a real-time
//! serial link emulator).

pub mod authority;
