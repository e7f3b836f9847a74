//! The Skywave radio adjunct: the board's first serial port is the modem (UART0 on the
//! mps2-an386, USART1 on the STM32F405), its second the local console (UART1, USART2).
//!
//! Boot: paint the stack (for the high-water mark), start SysTick, build the station in its
//! static from the provisioned roots and address, admit again what the trust journal holds
//! (every artifact admitted before the reset or power loss), and bring the radio link up (the node sends
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
use skywave_firmware::board::flash::{self, RamNor};
use skywave_firmware::board::uart::Uart;
use skywave_firmware::{board, provision, stack};
use skywave_persist::{FlashJournal, Journal};

/// The console UART's bit rate.
const CONSOLE_BAUD: u32 = 115_200;

/// The adjunct's one home: a static, so its size is static RAM, counted by the budget check.
static mut ADJUNCT: MaybeUninit<Adjunct> = MaybeUninit::uninit();

/// The trust journal, in the board's flash region. A `static mut` because the journal is
/// shared by reference (its cell is not `Sync`); `run` takes the one reference to it. Written
/// at boot rather than initialised: its 1 KiB record buffer would otherwise make the whole
/// journal `.data`, 1,060 bytes of flash to copy zeros from.
static mut JOURNAL: MaybeUninit<FlashJournal<RamNor>> = MaybeUninit::uninit();

/// The journal `run` writes into [`JOURNAL`], a `const fn` evaluated here at compile time too,
/// so a region the map cannot use still fails the build.
// SAFETY (of `RamNor::new`): this is the only `RamNor`, and nothing else uses the region.
const fn journal() -> FlashJournal<RamNor> {
    FlashJournal::new(unsafe { RamNor::new() }, 0..flash::SIZE as u32)
}
const _: FlashJournal<RamNor> = journal();

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
    // SAFETY: the board's radio and console ports, and each has only this user.
    let mut radio = Modem(unsafe { Uart::radio(provision::RADIO_BAUD) });
    let mut console = unsafe { Uart::console(CONSOLE_BAUD) };

    // SAFETY: `main` runs once and is the only code that names ADJUNCT, so this is the only
    // reference to it ever made.
    let slot = unsafe { &mut *core::ptr::addr_of_mut!(ADJUNCT) };
    // SAFETY: as ADJUNCT; the journal is only ever used through this shared reference.
    let journal: &'static FlashJournal<RamNor> =
        unsafe { (*core::ptr::addr_of_mut!(JOURNAL)).write(journal()) };
    // A region that was never a journal (QEMU zeroes it when it starts) is erased once.
    let blank = journal.with_flash(|f| f.blank()).unwrap_or(false);
    if blank && journal.format().is_err() {
        let _ = writeln!(console, "error trust journal: cannot erase");
    }
    let adjunct = match Adjunct::start(slot, clock.now(), Some(journal as &dyn Journal)) {
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
        "skywave-firmware {} ready address={} provision={} board={}",
        env!("CARGO_PKG_VERSION"),
        provision::ADDRESS,
        provision::SOURCE,
        board::NAME
    );
    // After the banner (the first line a console reader waits for), as an event (which may
    // come at any time between answers): what the journal gave back.
    match adjunct.restored() {
        Some(Ok(r)) => {
            let _ = writeln!(
                console,
                "event restored admitted={} refused={} records={} passes={}",
                r.admitted, r.refused, r.read, r.passes
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(console, "event restore-failed error={e}");
        }
        None => {}
    }

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
