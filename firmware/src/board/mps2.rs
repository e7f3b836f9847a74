//! The reference board, QEMU's mps2-an386: a 25 MHz core clock that needs no set-up, and the
//! ARM CMSDK APB UART as its serial ports.
//!
//! Register map (ARM DDI 0479, CMSDK APB UART): DATA at 0x00, STATE at 0x04 (bit 0 TX buffer
//! full, bit 1 RX buffer full), CTRL at 0x08 (bit 0 TX enable, bit 1 RX enable), BAUDDIV at
//! 0x10. The driver polls (see [`super::uart`]).

use core::ptr::{read_volatile, write_volatile};

/// The board feature's name.
pub const NAME: &str = "mps2-an386";

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;

/// Base address of UART0 on mps2-an385/an386: the radio side (QEMU's first `-serial`).
const UART0_BASE: usize = 0x4000_4000;
/// Base address of UART1 on mps2-an385/an386: the local console (QEMU's second `-serial`).
const UART1_BASE: usize = 0x4000_5000;

/// The MPS2 core and peripheral clock (SysTick counts it, BAUDDIV divides it). Fixed by the
/// FPGA image: nothing to configure.
const CLOCK_HZ: u32 = 25_000_000;

/// The core clock, for SysTick: the board's fixed 25 MHz.
pub fn start_clocks() -> u32 {
    CLOCK_HZ
}

/// One CMSDK UART.
pub struct Port {
    base: usize,
}

impl Port {
    /// UART0, the radio, enabled at `baud`.
    ///
    /// # Safety
    /// Only one `Port` for each UART may exist.
    pub unsafe fn radio(baud: u32) -> Self {
        // SAFETY: UART0 is a CMSDK UART; the caller makes this its only user.
        unsafe { Self::new(UART0_BASE, baud) }
    }

    /// UART1, the console, enabled at `baud`.
    ///
    /// # Safety
    /// As [`Port::radio`].
    pub unsafe fn console(baud: u32) -> Self {
        // SAFETY: as in `radio`.
        unsafe { Self::new(UART1_BASE, baud) }
    }

    /// # Safety
    /// `base` must be the address of a CMSDK APB UART, and nothing else may use it.
    unsafe fn new(base: usize, baud: u32) -> Self {
        let uart = Port { base };
        uart.write_reg(BAUDDIV, CLOCK_HZ / baud.max(1));
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

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
        self.write_reg(DATA, u32::from(byte));
    }
}
