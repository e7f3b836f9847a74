//! A simulated NOR flash that loses power: the medium of the power-cut tests.
//!
//! It behaves as NOR does: erase sets a page to all ones, programming can only clear bits (a
//! word programmed twice holds the AND of both), and writes must be word-aligned. Power fails
//! after a budget of word operations: the word being programmed when it fails gets only some
//! of its bits cleared, the page being erased only some of its bits set (chosen by a seeded
//! generator), nothing after it is touched, and the part then refuses everything until it is
//! powered up again ([`SimFlash::power_up`]).

#![allow(dead_code)]

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Bytes a write must be aligned to and a multiple of.
pub const WORD: usize = 4;
/// Bytes in an erase page.
pub const PAGE: usize = 2048;

/// Why the simulated part refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// The power failed (during this operation or before it).
    PowerLost,
    /// Not word- or page-aligned, or out of range.
    Misaligned,
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SimError::PowerLost => NorFlashErrorKind::Other,
            SimError::Misaligned => NorFlashErrorKind::NotAligned,
        }
    }
}

/// The part: its bytes, and how many word operations are left before the power fails.
#[derive(Debug, Clone)]
pub struct SimFlash {
    pub bytes: Vec<u8>,
    /// Word operations (a word programmed, a word erased) until the power fails; `None` for a
    /// supply that never fails.
    pub budget: Option<u64>,
    /// Whether the power has failed.
    pub dead: bool,
    /// Word operations done since power-up.
    pub done: u64,
    rng: u64,
}

impl SimFlash {
    /// An erased part of `pages` pages.
    pub fn new(pages: usize, seed: u64) -> Self {
        SimFlash {
            bytes: vec![0xFF; pages * PAGE],
            budget: None,
            dead: false,
            done: 0,
            rng: seed | 1,
        }
    }

    /// The same part after the power came back: contents as the failure left them.
    pub fn power_up(&self, budget: Option<u64>) -> Self {
        SimFlash {
            bytes: self.bytes.clone(),
            budget,
            dead: false,
            done: 0,
            rng: self.rng,
        }
    }

    fn random(&mut self) -> u32 {
        // xorshift64: the torn word's bits, reproducible from the case's seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng as u32
    }

    /// Spends one word operation; `false` when the power fails on it.
    fn spend(&mut self) -> bool {
        if self.budget.is_some_and(|b| self.done >= b) {
            self.dead = true;
            return false;
        }
        self.done += 1;
        true
    }

    fn word(&self, at: usize) -> u32 {
        let mut w = [0u8; WORD];
        w.copy_from_slice(&self.bytes[at..at + WORD]);
        u32::from_le_bytes(w)
    }

    fn set_word(&mut self, at: usize, value: u32) {
        self.bytes[at..at + WORD].copy_from_slice(&value.to_le_bytes());
    }
}

impl ErrorType for SimFlash {
    type Error = SimError;
}

impl ReadNorFlash for SimFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        if self.dead {
            return Err(SimError::PowerLost);
        }
        let at = offset as usize;
        let src = self
            .bytes
            .get(at..at + bytes.len())
            .ok_or(SimError::Misaligned)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for SimFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        let (from, to) = (from as usize, to as usize);
        if self.dead {
            return Err(SimError::PowerLost);
        }
        if !from.is_multiple_of(PAGE)
            || !to.is_multiple_of(PAGE)
            || to > self.bytes.len()
            || from > to
        {
            return Err(SimError::Misaligned);
        }
        for at in (from..to).step_by(WORD) {
            if !self.spend() {
                // Torn erase: this word gets some of its bits set; the rest of the page and
                // the pages after it keep what they held.
                let torn = self.word(at) | self.random();
                self.set_word(at, torn);
                return Err(SimError::PowerLost);
            }
            self.set_word(at, u32::MAX);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        let at = offset as usize;
        if self.dead {
            return Err(SimError::PowerLost);
        }
        if !at.is_multiple_of(WORD)
            || !bytes.len().is_multiple_of(WORD)
            || at + bytes.len() > self.bytes.len()
        {
            return Err(SimError::Misaligned);
        }
        for (i, chunk) in bytes.chunks_exact(WORD).enumerate() {
            let mut w = [0u8; WORD];
            w.copy_from_slice(chunk);
            let new = u32::from_le_bytes(w);
            let addr = at + i * WORD;
            let old = self.word(addr);
            if !self.spend() {
                // Torn program: only some of the bits to clear are cleared.
                let torn = old & (new | self.random());
                self.set_word(addr, torn);
                return Err(SimError::PowerLost);
            }
            self.set_word(addr, old & new);
        }
        Ok(())
    }
}

/// A word may be programmed again, which (as on NOR that allows it) clears only the bits the
/// new value clears: `write` stores the AND of old and new, never setting a bit. This is what
/// the journal's removal relies on (it clears a written header's CRC in place).
impl MultiwriteNorFlash for SimFlash {}
