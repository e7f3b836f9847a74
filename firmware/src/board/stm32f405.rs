//! The STM32F405 (QEMU's netduinoplus2): its clock tree and its USARTs, through the `stm32f4`
//! peripheral access crate's registers.
//!
//! **Clocks.** Out of reset the core runs from the 16 MHz HSI oscillator; [`start_clocks`]
//! runs it at 168 MHz from the PLL (HSI / 16 x 336 / 2; APB1 at 42 MHz, APB2 at 84 MHz) after
//! setting the flash's five wait states. It never waits for a ready bit without a bound: a PLL
//! that does not lock leaves the core on the HSI, and the clocks it reports say so.
//!
//! **What QEMU 7.2 does not model**, and how this tolerates it (docs/firmware.md, "Boards"):
//!
//! - the RCC and the flash interface are unimplemented devices: writes are ignored and every
//!   register reads 0, so no ready bit ever sets. A running STM32F405 never reads RCC_CR as 0
//!   (the HSI that clocks the core has HSION and HSIRDY set), so a zero RCC_CR is taken as the
//!   model, whose core clock is fixed at 168 MHz: [`start_clocks`] touches nothing and says so;
//! - the USART ignores BRR (bytes move at the chardev's pace) and needs no clock enable; it
//!   takes a received byte only while RXNE is clear and UE and RE are set, so nothing is lost
//!   to polling;
//! - core-coupled RAM (64 KiB at 0x1000_0000) is absent: nothing here uses it.
//!
//! The USARTs: USART1 (0x4001_1000, on APB2; TX PA9, RX PA10) is the radio and USART2
//! (0x4000_4400, on APB1; TX PA2, RX PA3) the console: QEMU's netduinoplus2 wires its USARTs to
//! `-serial` in that order. The pins are put in alternate function 7 (the USARTs'); QEMU does
//! not model the GPIO ports either (writes dropped), and its USARTs need no pins.

use core::sync::atomic::{AtomicU32, Ordering};

use stm32f4::stm32f405::{FLASH, GPIOA, RCC, USART1, USART2, usart1};

/// The board feature's name.
pub const NAME: &str = "stm32f405";

/// The HSI oscillator: the core clock out of reset, and the PLL's input.
const HSI_HZ: u32 = 16_000_000;
/// The core clock from the PLL: HSI / M 16 x N 336 / P 2 (Q 7 gives USB its 48 MHz).
const PLL_HZ: u32 = 168_000_000;
/// Ready-bit reads before the set-up gives up on one. The PLL locks in about 100 us (1,600
/// cycles at 16 MHz); this many reads take well over sixty times that.
const READY_POLLS: u32 = 100_000;

/// The APB1 (USART2) and APB2 (USART1) clocks [`start_clocks`] left, for the baud rates.
static PCLK1_HZ: AtomicU32 = AtomicU32::new(HSI_HZ);
static PCLK2_HZ: AtomicU32 = AtomicU32::new(HSI_HZ);

/// Whether `ready` holds within [`READY_POLLS`] tries.
fn within_polls(ready: impl Fn() -> bool) -> bool {
    (0..READY_POLLS).any(|_| ready())
}

/// Runs the core from the PLL at 168 MHz and returns the core clock, for SysTick: 168 MHz, or
/// the HSI's 16 MHz if the PLL did not lock or the switch did not take. Under QEMU (RCC_CR
/// reads 0: see the module's notes) it changes nothing and returns the model's 168 MHz. Call
/// once, before opening a USART.
pub fn start_clocks() -> u32 {
    // SAFETY: called once, from `board::start_clock`, before any USART is opened: the only
    // user of RCC and the flash interface.
    let (rcc, flash) = unsafe { (&*RCC::ptr(), &*FLASH::ptr()) };
    if rcc.cr().read().bits() == 0 {
        return PLL_HZ;
    }
    // Five wait states and the caches before the clock rises (RM0090 3.5.1: 150 to 168 MHz at
    // 2.7 to 3.6 V); harmless if the PLL then fails.
    flash.acr().write(|w| {
        w.latency().ws5();
        w.prften().enabled();
        w.icen().enabled();
        w.dcen().enabled()
    });
    // SAFETY: M 16, N 336 and Q 7 are within the fields' ranges (RM0090 6.3.2: M 2..=63,
    // N 50..=432, Q 2..=15); VCO in 1 MHz, out 336 MHz.
    rcc.pllcfgr().write(|w| unsafe {
        w.pllsrc().hsi();
        w.pllm().bits(16);
        w.plln().bits(336);
        w.pllp().div2();
        w.pllq().bits(7)
    });
    rcc.cr().modify(|_, w| w.pllon().on());
    if !within_polls(|| rcc.cr().read().pllrdy().is_ready()) {
        return HSI_HZ;
    }
    // APB1 at most 42 MHz, APB2 at most 84 MHz.
    rcc.cfgr().modify(|_, w| {
        w.hpre().div1();
        w.ppre1().div4();
        w.ppre2().div2()
    });
    rcc.cfgr().modify(|_, w| w.sw().pll());
    let (core, pclk1, pclk2) = if within_polls(|| rcc.cfgr().read().sws().is_pll()) {
        (PLL_HZ, PLL_HZ / 4, PLL_HZ / 2)
    } else {
        (HSI_HZ, HSI_HZ / 4, HSI_HZ / 2)
    };
    PCLK1_HZ.store(pclk1, Ordering::Relaxed);
    PCLK2_HZ.store(pclk2, Ordering::Relaxed);
    core
}

/// Puts port A's `pins` in alternate function 7, the USARTs' (RM0090 8.4.9, 8.4.10), with
/// port A's clock enabled first.
fn pins_to_usart(pins: &[u8]) {
    // SAFETY: RCC as in `Port::radio`; port A is used by nothing else, and each call changes
    // only its own pins' fields.
    let (rcc, gpioa) = unsafe { (&*RCC::ptr(), &*GPIOA::ptr()) };
    rcc.ahb1enr().modify(|_, w| w.gpioaen().enabled());
    let _ = rcc.ahb1enr().read();
    for &pin in pins {
        if pin < 8 {
            gpioa.afrl().modify(|_, w| w.afr(pin).af7());
        } else {
            gpioa.afrh().modify(|_, w| w.afr(pin - 8).af7());
        }
        gpioa.moder().modify(|_, w| w.moder(pin).alternate());
    }
}

/// One USART (8 data bits, no parity, 1 stop bit).
pub struct Port {
    regs: &'static usart1::RegisterBlock,
}

impl Port {
    /// USART1, the radio, enabled at `baud`.
    ///
    /// # Safety
    /// Only one `Port` for each USART may exist.
    pub unsafe fn radio(baud: u32) -> Self {
        // SAFETY: RCC is only modified here and in `start_clocks`, which ran before.
        let rcc = unsafe { &*RCC::ptr() };
        rcc.apb2enr().modify(|_, w| w.usart1en().enabled());
        // The part's errata sheet (ES0182, "Delay after an RCC peripheral clock enabling"): a
        // peripheral answers two cycles after its clock is enabled; a read-back waits them out.
        let _ = rcc.apb2enr().read();
        pins_to_usart(&[9, 10]);
        // SAFETY: USART1's registers, and the caller makes this its only user.
        Self::open(
            unsafe { &*USART1::ptr() },
            PCLK2_HZ.load(Ordering::Relaxed),
            baud,
        )
    }

    /// USART2, the console, enabled at `baud`.
    ///
    /// # Safety
    /// As [`Port::radio`].
    pub unsafe fn console(baud: u32) -> Self {
        // SAFETY: as in `radio`.
        let rcc = unsafe { &*RCC::ptr() };
        rcc.apb1enr().modify(|_, w| w.usart2en().enabled());
        let _ = rcc.apb1enr().read();
        pins_to_usart(&[2, 3]);
        // SAFETY: as in `radio`, USART2's.
        Self::open(
            unsafe { &*USART2::ptr() },
            PCLK1_HZ.load(Ordering::Relaxed),
            baud,
        )
    }

    fn open(regs: &'static usart1::RegisterBlock, pclk: u32, baud: u32) -> Self {
        // USARTDIV in 12.4 fixed point at 16x oversampling is pclk / baud, rounded; at 84 MHz
        // the slowest rate the 12-bit mantissa reaches is 1,282 bit/s, so slower ones are
        // clamped to it.
        let div = ((pclk + baud.max(1) / 2) / baud.max(1)).clamp(16, 0xFFFF);
        regs.brr().write(|w| {
            w.div_mantissa().set((div >> 4) as u16);
            w.div_fraction().set((div & 0xF) as u8)
        });
        regs.cr1().write(|w| {
            w.ue().enabled();
            w.te().enabled();
            w.re().enabled()
        });
        Port { regs }
    }

    /// The next received byte, if one is waiting (reading SR then DR also clears an overrun).
    pub fn read_byte(&mut self) -> Option<u8> {
        if self.regs.sr().read().rxne().is_no_data() {
            return None;
        }
        Some(self.regs.dr().read().dr().bits() as u8)
    }

    /// Sends one byte, waiting while the transmit data register is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.regs.sr().read().txe().is_tx_not_empty() {}
        self.regs.dr().write(|w| w.dr().set(u16::from(byte)));
    }
}
