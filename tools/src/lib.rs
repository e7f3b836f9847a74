//! Skywave's offline and test tools.
//!
//! This crate holds the binaries that drive the protocol core from outside a node:
//! `skywave-authority`, the offline signing cell's tool, over [`authority`]; `skywave-sim`,
//! the discrete-event HF network simulator, over [`sim`]; and `skywave-linkemu`, the same
//! channel models between two real serial ports in real time, over [`linkemu`]. `skywave-sim
//! demo` (which `skywave demo` runs) is [`demo`]: six real agents on the simulator's channels.
//! The command-line conventions the binaries share with `skywave` are `skywave_host::cli`.

pub mod authority;
pub mod demo;
pub mod linkemu;
pub mod sim;
