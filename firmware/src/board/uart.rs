//! Driver for the ARM CMSDK APB UART, the serial port of the MPS2 boards.
//!
//! Register map (ARM DDI 0479, CMSDK APB UART): DATA at 0x00, STATE at 0x04 (bit 0 TX buffer
//! full, bit 1 RX buffer full), CTRL at 0x08 (bit 0 TX enable, bit 1 RX enable), BAUDDIV at
//! 0x10. The driver polls: the node's main loop visits it every iteration, and at HF bit rates
//! a byte arrives at most every millisecond or so, far slower than the loop.

use core::fmt;
use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;

/// Base address of UART0 on mps2-an385/an386: the radio side (QEMU's first `-serial`).
pub const UART0_BASE: usize = 0x4000_4000;
/// Base address of UART1 on mps2-an385/an386: the local console (QEMU's second `-serial`).
pub const UART1_BASE: usize = 0x4000_5000;

/// The MPS2 peripheral clock, which BAUDDIV divides.
const PCLK_HZ: u32 = 25_000_000;

/// One CMSDK UART, polled.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Takes the UART at `base` and enables it at `baud`.
    ///
    /// # Safety
    /// `base` must be the address of a CMSDK APB UART, and nothing else may use it.
    pub unsafe fn new(base: usize, baud: u32) -> Self {
        let uart = Uart { base };
        uart.write_reg(BAUDDIV, PCLK_HZ / baud.max(1));
        uart.write_reg(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s caller guaranteed `base` maps a CMSDK UART, whose registers at these
        // offsets are 32-bit and side-effect free to read, except DATA, read only when RX is full.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as for `read_reg`; these registers accept 32-bit writes.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// The next received byte, if one is waiting.
    pub fn read_byte(&mut self) -> Option<u8> {
        if self.read_reg(STATE) & STATE_RX_FULL == 0 {
            return None;
        }
        Some(self.read_reg(DATA) as u8)
    }

    /// Reads waiting bytes into `buf` and returns how many.
    pub fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.read_byte() {
                Some(byte) => *slot = byte,
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
        self.write_reg(DATA, u32::from(byte));
    }

    /// Sends `bytes` as they are (binary: no newline translation), waiting for room.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_byte(byte);
        }
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}
