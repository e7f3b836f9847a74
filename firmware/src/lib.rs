//! Skywave firmware for radio adjuncts: the protocol core on a Cortex-M4, with QEMU's
//! mps2-an386 as the reference board and an STM32F405 (QEMU's netduinoplus2) as the second.
//!
//! An adjunct sits beside a tactical radio. It holds the coalition's trust roots (provisioned
//! at build time), admits what arrives over the radio only if it verifies, relays it, and
//! answers release decisions for the equipment next to it over a local serial console. No
//! operating system, no heap: everything lives in statics sized at compile time.
//!
//! - [`board`]: the board's serial ports, clock and journal region (the MPS2's CMSDK UARTs,
//!   or the STM32F405's RCC and USARTs; cargo feature `mps2-an386` or `stm32f405`);
//! - [`adjunct`]: the protocol station (node, trust store, storage, link) and its driver;
//! - [`console`]: the line protocol on UART1;
//! - [`storage`]: artifacts packed in one arena, for forwarding;
//! - [`provision`]: what build.rs read from the provisioning file;
//! - [`stack`], [`measure`]: stack painting and a stopwatch, for the budgets.
//!
//! The binaries: `skywave-firmware` (src/main.rs) is the adjunct; `selftest` checks the core
//! on the target and measures it, then exits QEMU with a pass/fail status.

// `no_std` on the board; the host build of the unit tests (src/drivers.rs) has std.
#![cfg_attr(not(test), no_std)]

pub mod adjunct;
pub mod board;
pub mod console;
#[cfg(test)]
mod drivers;
pub mod measure;
pub mod stack;

/// What build.rs read from the provisioning file (see docs/firmware.md for the format).
pub mod provision {
    include!(concat!(env!("OUT_DIR"), "/provision.rs"));
}
