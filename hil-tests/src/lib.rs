//! Hardware-in-the-loop tests for Skywave.
//!
//! The tests in this crate will start the shipped binaries (`skywave`, `skywave-linkemu`, the
//! QEMU firmware) as separate processes joined by pseudo-serial ports, exactly as an operator
//! would. None exists yet: this crate is the build skeleton that reserves their place.
