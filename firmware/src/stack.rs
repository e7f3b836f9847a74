//! Stack high-water mark by painting: at boot, the free stack below the current stack pointer
//! is filled with a known word; later, the lowest word that no longer holds it is as deep as
//! the stack has ever gone. The main stack grows down from cortex-m-rt's `_stack_start`
//! (flip-link sets it just below the statics) towards the start of RAM, and only a window of
//! [`PAINTED`] bytes below the boot-time stack pointer is painted: more than the firmware
//! needs, and enough to see a runaway (a peak equal to [`limit`] means "at least this").

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The word painted.
const PAINT: u32 = 0x5354_4B21;
/// Bytes painted below the stack pointer at boot (and so the deepest peak this can report).
pub const PAINTED: usize = 192 * 1024;
/// Bytes left unpainted just below the stack pointer of [`paint`]'s caller, for `paint` itself.
const MARGIN: usize = 256;

unsafe extern "C" {
    /// The top of the stack (cortex-m-rt's linker script).
    static _stack_start: u32;
    /// Where RAM starts (the board's memory-*.x). flip-link puts the stack at the bottom of RAM, below the
    /// statics, so this is as deep as the stack can go.
    static _ram_base: u32;
}

/// The peak recorded by [`restart`] (the boot phase's), 0 before it.
static BOOT_PEAK: AtomicUsize = AtomicUsize::new(0);
/// The painted window `[LOW, HIGH)`; both 0 until [`paint`] runs.
static LOW: AtomicUsize = AtomicUsize::new(0);
static HIGH: AtomicUsize = AtomicUsize::new(0);

fn top() -> usize {
    core::ptr::addr_of!(_stack_start) as usize
}

/// Paints the free stack. Call once, first thing in `main`, before anything deep runs.
pub fn paint() {
    let ram_base = core::ptr::addr_of!(_ram_base) as usize;
    let sp = cortex_m::register::msp::read() as usize;
    let high = (sp - MARGIN) & !3;
    let low = high.saturating_sub(PAINTED).max(ram_base);
    let mut at = low;
    while at < high {
        // SAFETY: [low, high) lies in RAM below the live stack (with a margin for this
        // function's own frame) and so below the statics too: nothing uses these words.
        unsafe { write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
    LOW.store(low, Ordering::Relaxed);
    HIGH.store(high, Ordering::Relaxed);
}

/// The deepest the stack has been since [`paint`], in bytes below its top (0 before `paint`).
pub fn peak() -> usize {
    let (low, high) = (LOW.load(Ordering::Relaxed), HIGH.load(Ordering::Relaxed));
    if high == 0 {
        return 0;
    }
    let mut at = low;
    while at < high {
        // SAFETY: a word of the painted window, which stays mapped RAM.
        if unsafe { read_volatile(at as *const u32) } != PAINT {
            break;
        }
        at += 4;
    }
    top() - at
}

/// Records the peak so far as the boot phase's ([`boot_peak`]) and paints the free stack
/// again, so that [`peak`] from now on is the steady state's: call once the node is built.
/// (Construction moves the node and the link by value through a few frames; running it
/// never comes close.)
pub fn restart() {
    BOOT_PEAK.store(peak(), Ordering::Relaxed);
    paint();
}

/// The peak recorded by [`restart`]: the deepest the stack went while booting.
pub fn boot_peak() -> usize {
    BOOT_PEAK.load(Ordering::Relaxed)
}

/// The most [`peak`] can report: the painted window's bottom, measured from the top.
pub fn limit() -> usize {
    top() - LOW.load(Ordering::Relaxed)
}

/// Defines the binary's entry point: paint the stack, then call `$run` (a `fn() -> !` marked
/// `#[inline(never)]`). `$run` gets a frame of its own so that its locals, and everything
/// inlined into it, are below the painted line and count in the high-water mark.
#[macro_export]
macro_rules! entry {
    ($run:path) => {
        #[cortex_m_rt::entry]
        fn main() -> ! {
            $crate::stack::paint();
            $run()
        }
    };
}
