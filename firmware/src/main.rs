//! The Skywave radio adjunct: UART0 is the modem, UART1 the local console.
//!
//! Boot: paint the stack (for the high-water mark), start SysTick, build the station in its
//! static from the provisioned roots and address, and bring the radio link up (the node sends
//! its neighbours a SUMMARY: a rebooted adjunct is caught up by the inventory exchange). Then
//! poll forever: radio bytes to the station, console lines to the request handler, the
//! station's timer, its transmissions to the radio and its events to the console.
//!
//! A start failure (an image built with a bad provisioning file that build.rs somehow let
//! through) is reported on the console and through semihosting, which stops QEMU with a
//! failure status.

#![no_std]
#![no_main]

use core::fmt::Write;
use core::mem::MaybeUninit;

use cortex_m_semihosting::hprintln;
use panic_semihosting as _;

use skywave_firmware::adjunct::{Adjunct, Radio};
use skywave_firmware::board::uart::{UART0_BASE, UART1_BASE, Uart};
use skywave_firmware::{board, provision, stack};

/// The console UART's bit rate.
const CONSOLE_BAUD: u32 = 115_200;

/// The adjunct's one home: a static, so its size is static RAM, counted by the budget check.
static mut ADJUNCT: MaybeUninit<Adjunct> = MaybeUninit::uninit();

/// The radio UART as the adjunct's modem.
struct Modem(Uart);

impl Radio for Modem {
    fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes);
    }
}

skywave_firmware::entry!(run);

#[inline(never)]
fn run() -> ! {
    let mut clock = board::start_clock();
    // SAFETY: these are the board's UART0 and UART1, and each has only this user.
    let mut radio = Modem(unsafe { Uart::new(UART0_BASE, provision::RADIO_BAUD) });
    let mut console = unsafe { Uart::new(UART1_BASE, CONSOLE_BAUD) };

    // SAFETY: `main` runs once and is the only code that names ADJUNCT, so this is the only
    // reference to it ever made.
    let slot = unsafe { &mut *core::ptr::addr_of_mut!(ADJUNCT) };
    let adjunct = match Adjunct::start(slot, clock.now()) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(console, "error start: {e}");
            hprintln!("skywave-firmware: start failed: {}", e);
            board::halt(false)
        }
    };
    stack::restart();
    let _ = writeln!(
        console,
        "skywave-firmware {} ready address={} provision={}",
        env!("CARGO_PKG_VERSION"),
        provision::ADDRESS,
        provision::SOURCE
    );

    let mut chunk = [0u8; 64];
    loop {
        let now = clock.now();
        let n = radio.0.read_into(&mut chunk);
        if n > 0 {
            adjunct.radio_input(now, chunk.get(..n).unwrap_or_default());
        }
        let n = console.read_into(&mut chunk);
        if n > 0 {
            adjunct.console_input(now, chunk.get(..n).unwrap_or_default(), &mut console);
        }
        adjunct.poll(now, &mut radio, &mut console);
    }
}
