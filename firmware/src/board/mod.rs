//! The reference board, QEMU's mps2-an386 (ARM's Cortex-M4 FPGA image for the MPS2 board):
//! its CMSDK UARTs and the core's SysTick timer. Nothing above this module touches a register.
//!
//! QEMU wires the board's UARTs to its `-serial` options in order: the first is UART0 (the
//! radio), the second UART1 (the local console).

pub mod clock;
pub mod flash;
pub mod uart;

use cortex_m_semihosting::debug;

/// Stops the board: through semihosting, QEMU exits with status 0 (`passed`) or 1; on
/// hardware without a debugger, the core sleeps for good.
pub fn halt(passed: bool) -> ! {
    debug::exit(if passed {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

/// Takes the core peripherals and starts the SysTick clock. Call once, at the top of a
/// binary's entry point (a second call halts the board: the peripherals are already taken).
pub fn start_clock() -> clock::Clock {
    match cortex_m::Peripherals::take() {
        Some(p) => clock::Clock::start(p.SYST),
        None => halt(false),
    }
}
