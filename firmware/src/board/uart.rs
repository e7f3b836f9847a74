//! The board's serial ports, polled: the radio (the modem) and the local console.
//!
//! The register-level driver is the board's (`Port`: the CMSDK UART on the mps2-an386, the
//! USART on the STM32F405); reading and writing runs of bytes and formatting are here, once.
//! The driver polls: the node's main loop visits it every iteration, and at HF bit rates a byte
//! arrives at most every millisecond or so, far slower than the loop.

use core::fmt;

use super::selected::Port;

/// One serial port, polled.
pub struct Uart(Port);

impl Uart {
    /// The radio's port (QEMU's first `-serial`), enabled at `baud`.
    ///
    /// # Safety
    /// Call once: nothing else may use the port.
    pub unsafe fn radio(baud: u32) -> Self {
        // SAFETY: the caller's guarantee.
        Uart(unsafe { Port::radio(baud) })
    }

    /// The console's port (QEMU's second `-serial`), enabled at `baud`.
    ///
    /// # Safety
    /// As [`Uart::radio`].
    pub unsafe fn console(baud: u32) -> Self {
        // SAFETY: the caller's guarantee.
        Uart(unsafe { Port::console(baud) })
    }

    /// Reads waiting bytes into `buf` and returns how many.
    pub fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.0.read_byte() {
                Some(byte) => *slot = byte,
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Sends `bytes` as they are (binary: no newline translation), waiting for room.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0.write_byte(byte);
        }
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.0.write_byte(b'\r');
            }
            self.0.write_byte(byte);
        }
        Ok(())
    }
}
