//! Skywave firmware for radio adjuncts (Cortex-M4; QEMU mps2-an386 is the reference board).
//!
//! What it does today: it listens to the radio side (UART0), finds D_PDUs in the byte stream
//! with the same deframer the host agent and simulator run, and reports each frame and a
//! running tally back on UART0. When the line has been quiet for [`IDLE_FLUSH_MS`] after
//! traffic, it flushes the deframer (the end of a transmission) and prints the summary line
//! `frames: N good, M bad-header, K bad-data, B noise-bytes`, the same line `skywave frames
//! decode` prints for the same bytes. With the `exit-when-idle` behaviour used by the QEMU
//! tests, it then stops QEMU through semihosting.
//!
//! The protocol node (policy store, link state machines, relaying) joins this loop when the
//! core grows it; nothing here allocates, and all state lives on the stack or in statics.

#![no_std]
#![no_main]

mod clock;
mod uart;

use core::fmt::Write;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use panic_semihosting as _;
use skywave_protocol::time::Duration;
use skywave_protocol::wire::{Deframer, Dpdu, Event};

use clock::Clock;
use uart::{UART0_BASE, Uart};

/// How long the line must be quiet after traffic before the deframer is flushed.
const IDLE_FLUSH_MS: u64 = 300;
/// The radio-side UART's bit rate.
const RADIO_BAUD: u32 = 115_200;

#[entry]
fn main() -> ! {
    // Only `None` if taken twice, which this entry point never does.
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    };
    let mut clock = Clock::start(peripherals.SYST);
    // SAFETY: UART0_BASE is the board's UART0 and this is its only user.
    let mut radio = unsafe { Uart::new(UART0_BASE, RADIO_BAUD) };
    let _ = writeln!(
        radio,
        "skywave-firmware {} ready",
        env!("CARGO_PKG_VERSION")
    );

    let mut deframer: Deframer = Deframer::new();
    let mut good = 0u64;
    let mut unparsed = 0u64;
    let mut chunk = [0u8; 64];
    let mut last_rx = None;
    loop {
        let n = radio.read_into(&mut chunk);
        let now = clock.now();
        if n > 0 {
            last_rx = Some(now);
            let mut rest = chunk.get(..n).unwrap_or_default();
            while !rest.is_empty() {
                let taken = deframer.feed(rest);
                rest = rest.get(taken..).unwrap_or_default();
                report(&mut deframer, &mut radio, &mut good, &mut unparsed);
            }
        } else if let Some(at) = last_rx
            && now - at >= Duration::from_millis(IDLE_FLUSH_MS)
        {
            deframer.flush();
            report(&mut deframer, &mut radio, &mut good, &mut unparsed);
            let stats = deframer.stats();
            let _ = writeln!(
                radio,
                "frames: {} good, {} bad-header, {} bad-data, {} noise-bytes",
                good,
                stats.bad_header + unparsed,
                stats.bad_data,
                stats.noise_bytes
            );
            last_rx = None;
            if cfg!(feature = "exit-when-idle") {
                debug::exit(debug::EXIT_SUCCESS);
            }
        }
    }
}

/// Drains the deframer's events, printing one line per frame.
fn report(deframer: &mut Deframer, radio: &mut Uart, good: &mut u64, unparsed: &mut u64) {
    while let Some(event) = deframer.poll() {
        let _ = match event {
            Event::Good { offset, frame } => match Dpdu::parse(&frame) {
                Ok(dpdu) => {
                    *good += 1;
                    writeln!(
                        radio,
                        "@{offset} GOOD {} {} -> {} len={}",
                        dpdu.body.dpdu_type().name(),
                        dpdu.src,
                        dpdu.dest,
                        frame.frame_len()
                    )
                }
                Err(e) => {
                    *unparsed += 1;
                    writeln!(radio, "@{offset} BAD-HDR {e}")
                }
            },
            Event::BadData { offset, .. } => writeln!(radio, "@{offset} BAD-DATA"),
            Event::BadHeader { offset } => writeln!(radio, "@{offset} BAD-HDR"),
        };
    }
}
