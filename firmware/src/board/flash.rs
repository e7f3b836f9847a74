//! The trust journal's flash: a region of the board's RAM presented as NOR flash through the
//! `embedded-storage` traits, on both boards (neither QEMU model has a flash controller the
//! guest can program).
//!
//! QEMU's mps2-an386 has no flash controller (its "flash" is the code SSRAM the image is
//! loaded into). The journal takes the first 16 KiB of the board's 16 MiB PSRAM at
//! `0x2100_0000`, which no image section covers and which is QEMU's machine RAM: by default
//! plain RAM, or a file with `-object memory-backend-file,id=j,size=16M,mem-path=FILE,share=on
//! -machine mps2-an386,memory-backend=j`. QEMU's STM32F405 models the flash interface as an
//! unimplemented device and the flash as ROM, so there the journal takes the 16 KiB of SRAM2
//! at `0x2001_C000`, above the image's RAM (memory-stm32f405.x): RAM on the silicon too, so on
//! a real STM32F405 it survives a reset but not a power cycle until this module drives the
//! flash interface over sectors kept out of the image (docs/firmware.md, "Boards"). So under
//! QEMU:
//!
//! - a guest system reset (SYSRESETREQ) reloads the image's own sections and leaves this RAM
//!   as it was: the journal survives a reset as flash would;
//! - on the mps2-an386, with the file backend it also survives QEMU being stopped and started
//!   again, which is what a power cycle does to flash; without it, a new QEMU process starts
//!   with the region zeroed (a new part, not a power cycle);
//! - every word is written as NOR programs it (a bit once cleared stays cleared until its page
//!   is erased), so a layout that relied on overwriting would show it here;
//! - a zeroed region is not a state flash is ever in (a new part's flash is erased, all ones):
//!   [`RamNor::blank`] tells it apart, and the boot erases it once.
//!
//! On a real part this module is the flash controller's driver (erase a sector, program
//! words) over sectors the board's `memory-*.x` keeps out of the image (its `JOURNAL` region).

use core::ptr::{read_volatile, write_volatile};

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

// The region, `BASE` and `SIZE`, as the board's linker script declares it (its `JOURNAL`
// region; build.rs reads it from there and checks that FLASH + JOURNAL is the part's 128 KiB).
// On a 128 KiB part the region is flash sectors the image cannot have, so the linker holds
// the image to what the journal leaves, and the script puts the region's size in the image as
// the absolute symbol `_skywave_journal_bytes`, which `hil-tests/tests/firmware_budget.rs`
// reads.
include!(concat!(env!("OUT_DIR"), "/journal.rs"));

/// An erase page.
pub const PAGE: usize = 4096;
/// The program unit.
const WORD: usize = 4;

/// Where the region is in this build: [`BASE`] on the board; a static of the region's size in
/// the host build of the unit tests (src/drivers.rs runs the adjunct with its journal there,
/// and the host has nothing at `BASE`).
#[cfg(not(test))]
const fn base() -> usize {
    BASE
}
#[cfg(test)]
fn base() -> usize {
    static mut REGION: [u32; SIZE / WORD] = [0; SIZE / WORD];
    (&raw mut REGION) as usize
}

/// Why an operation was refused: an argument outside the region or not aligned (the journal
/// never makes one; a board driver also reports program and erase failures here).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlashError(NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

/// The region, as NOR flash. Zero-sized: the region is fixed.
#[derive(Debug)]
pub struct RamNor(());

impl RamNor {
    /// The region.
    ///
    /// # Safety
    /// Only one `RamNor` may exist, and nothing else may use the region.
    pub const unsafe fn new() -> Self {
        RamNor(())
    }

    /// Whether the region is all zeros: QEMU's RAM (or a new backing file) at start, never a
    /// state the journal leaves flash in (an erased word is all ones).
    pub fn blank(&self) -> bool {
        (0..SIZE / WORD).all(|i| self.word(i * WORD) == 0)
    }

    fn word(&self, offset: usize) -> u32 {
        // SAFETY: `offset` is word-aligned and within the region, which `new`'s caller gave us.
        unsafe { read_volatile((base() + offset) as *const u32) }
    }

    fn check(offset: u32, len: usize, align: usize) -> Result<usize, FlashError> {
        let offset = offset as usize;
        if !offset.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(FlashError(NorFlashErrorKind::NotAligned));
        }
        if offset.checked_add(len).is_none_or(|end| end > SIZE) {
            return Err(FlashError(NorFlashErrorKind::OutOfBounds));
        }
        Ok(offset)
    }
}

impl ErrorType for RamNor {
    type Error = FlashError;
}

impl ReadNorFlash for RamNor {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let offset = Self::check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: within the region (checked above).
            *b = unsafe { read_volatile((base() + offset + i) as *const u8) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl NorFlash for RamNor {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = (to as usize).saturating_sub(from as usize);
        let from = Self::check(from, len, PAGE)?;
        for at in (from..from + len).step_by(WORD) {
            // SAFETY: word-aligned, within the region (checked above).
            unsafe { write_volatile((base() + at) as *mut u32, u32::MAX) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let offset = Self::check(offset, bytes.len(), WORD)?;
        for (i, chunk) in bytes.chunks_exact(WORD).enumerate() {
            let at = offset + i * WORD;
            let mut word = [0u8; WORD];
            word.copy_from_slice(chunk);
            let new = u32::from_le_bytes(word);
            // NOR programming only clears bits.
            let value = self.word(at) & new;
            // SAFETY: word-aligned, within the region (checked above).
            unsafe { write_volatile((base() + at) as *mut u32, value) };
        }
        Ok(())
    }
}

/// `write` stores the AND of the word and the new value, so programming a written word again
/// only clears more bits, as NOR that allows a second program does: what the journal's removal
/// does to a record's header.
impl MultiwriteNorFlash for RamNor {}
