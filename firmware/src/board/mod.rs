//! The board the image runs on, chosen by cargo feature (exactly one; docs/firmware.md,
//! "Boards"):
//!
//! - `mps2-an386` (the default), the reference board: QEMU's mps2-an386, ARM's Cortex-M4 FPGA
//!   image for the MPS2, with CMSDK UARTs ([`mps2`]);
//! - `stm32f405`: an STM32F405 (QEMU's netduinoplus2), with its RCC and USARTs
//!   (`stm32f405`).
//!
//! Nothing above this module touches a register, and what it offers is the same on both: the
//! radio and console serial ports ([`uart`]), the SysTick clock ([`clock`]), the trust
//! journal's region ([`flash`]) and [`halt`]. QEMU wires each board's serial ports to its
//! `-serial` options in order: the first is the radio (mps2 UART0, STM32 USART1), the second
//! the local console (UART1, USART2).

#[cfg(all(feature = "mps2-an386", feature = "stm32f405"))]
compile_error!("choose one board: build with --no-default-features --features stm32f405");
#[cfg(not(any(feature = "mps2-an386", feature = "stm32f405")))]
compile_error!("choose a board: feature mps2-an386 (the default) or stm32f405");

pub mod clock;
pub mod flash;
#[cfg(feature = "mps2-an386")]
pub mod mps2;
#[cfg(feature = "stm32f405")]
pub mod stm32f405;
pub mod uart;

#[cfg(feature = "mps2-an386")]
use mps2 as selected;
#[cfg(feature = "stm32f405")]
use stm32f405 as selected;

/// The board's name, as the cargo feature that chose it (the self-test and the adjunct's
/// banner report it, so a test can tell which board's image it booted).
pub const NAME: &str = selected::NAME;

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

/// Sets up the board's clocks (on the STM32F405, its clock tree: see `stm32f405`), takes the
/// core peripherals and starts the SysTick clock at the core clock that results. Call once, at
/// the top of a binary's entry point, before opening a serial port (a second call halts the
/// board: the peripherals are already taken).
pub fn start_clock() -> clock::Clock {
    let core_hz = selected::start_clocks();
    match cortex_m::Peripherals::take() {
        Some(p) => clock::Clock::start(p.SYST, core_hz),
        None => halt(false),
    }
}

/// The device-specific part of the vector table: one entry, where cortex-m-rt's default (it
/// is built with its `device` feature, so the image gives its own) is 240, 960 bytes of flash.
/// Neither board enables an interrupt (the UARTs are polled; the clock is SysTick, an
/// exception, whose vector cortex-m-rt places), so no IRQ can be taken past the table's end.
/// The linker script wants at least one entry; it goes to cortex-m-rt's `DefaultHandler`.
/// `build.rs` writes the empty `device.x` the `device` feature's linker script includes.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
pub static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [{
    unsafe extern "C" {
        fn DefaultHandler();
    }
    DefaultHandler
}];
