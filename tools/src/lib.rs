//! Skywave's offline and test tools.
//!
//! This crate will hold three binaries that drive the protocol core from outside a node:
//! `skywave-authority` (the offline signing cell's tool), `skywave-sim` (the discrete-event HF
//! network simulator) and `skywave-linkemu` (a real-time serial link emulator). None exists yet:
//! this crate is the build skeleton that reserves their place in the workspace.
