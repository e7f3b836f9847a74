//! The adjunct image's memory budgets on each board (the mps2-an386 and the STM32F405, the
//! same limits), measured from the release ELF that `scripts/test.sh` builds, failing the run
//! when exceeded:
//!
//! - flash (everything loaded: vector table, code, read-only data, the initial values of
//!   .data) at most [`FLASH_BUDGET`], the part's, and at most [`FLASH_BOUND`], a ratchet on the
//!   way to issue 19's 96 KiB;
//! - flash with the trust journal's region (its size read from the image's
//!   `_skywave_journal_bytes` symbol, which the board's linker script sets to its `JOURNAL`
//!   region): on a real part those are sectors of the same flash, so the sum is held to the
//!   part's [`FLASH_BUDGET`], which the linker itself enforces too (`memory-*.x`: FLASH is the
//!   part less JOURNAL), and the region to [`JOURNAL_BYTES`];
//! - static RAM (.data, .bss, .uninit) at most [`RAM_BUDGET`];
//! - no heap: no allocator symbol is linked and no `.heap` section exists;
//! - the layout flip-link makes: the stack's top at or below the statics, so an overflow runs
//!   off the start of RAM and faults instead of overwriting them;
//! - the stack's high-water mark, by painting, read from the running image's `status`: at
//!   boot (while the station is built) and in steady state after handling traffic-free
//!   requests, against [`STACK_BUDGET`].
//!
//! It prints the figures (docs/firmware-ram.md records them), with the whole RAM the 64 KiB
//! part needs: the statics and the deeper of the two stack peaks (the boot's and the steady
//! state's are never on the stack together: the painter starts again after the boot). The
//! adjunct's is held to the part's [`RAM_BUDGET`] ([`WHOLE_RAM_BOUND`]). The deepest path of
//! all, an admission from the radio, is measured and bounded by `firmware_e2e`, and the board's
//! `memory-*.x` (64 KiB, the part's) makes QEMU fault on any image whose statics and stack do not fit it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use skywave_hil_tests::{Board, Process, require_or_skip, tool_available};

const FLASH_BUDGET: u64 = 128 * 1024;
/// The trust journal's region on both boards: four 4 KiB pages, what a full storage arena needs
/// with one page free for compaction (docs/firmware-flash.md, "The flash map"). 32 KiB on the
/// mps2-an386 until wave 9, which left the image and its journal 14 KiB over the part.
const JOURNAL_BYTES: u64 = 16 * 1024;
/// Flash as measured: 112,756 B (mps2-an386) and 113,328 B (STM32F405) at wave 9's start, which
/// the linker now also holds to the part less the journal (114,688 B); 113,752 B and 114,324 B
/// in wave 8, once the board's refusals read as their kind, its CRCs needed no tables
/// (`small-flash`, -4,896 B), its interrupt table had one entry (-956 B) and its journal was
/// written at boot instead of copied from `.data` (-1,052 B); 120,656 B before. A ratchet, so a
/// regression fails here; issue 19's target is 96 KiB, not met yet (docs/firmware-flash.md).
const FLASH_BOUND: u64 = 111 * 1024;
const RAM_BUDGET: u64 = 64 * 1024;
/// The steady-state stack after the decisions this test asks (11.3 KB measured since a decision
/// decodes one artifact at a time; the whole end-to-end exchange, with admissions and decisions
/// over held policies, is held by `firmware_e2e`).
const STACK_BUDGET: u64 = 16 * 1024;
/// Static RAM + the deeper stack peak, held to the part's 64 KiB since wave 9 (the link's own
/// C_PDUs in control places of their own, artifact bodies decoded in place:
/// docs/firmware-ram.md has the figures); 66,808 B before (47,736 B of statics, a boot peak of
/// 19,072 B), 75,840 B when both peaks were summed (wave 6), 110,184 B before the link's
/// transmit windows were sized to its receive slots and decisions went step by step.
const WHOLE_RAM_BOUND: u64 = RAM_BUDGET;

/// The bounds one image is held to, besides the part's [`FLASH_BUDGET`] and [`RAM_BUDGET`].
struct Bounds {
    /// Flash (a ratchet).
    flash: u64,
    /// Flash + the trust journal's region (the part's, but for the guarded image).
    with_journal: u64,
    /// Static RAM + the deeper of the boot and steady peaks.
    whole_ram: u64,
    /// Static RAM + the boot peak + the steady peak, as issue 19 sums them (the two peaks are
    /// never on the stack together, so this is stricter than what a part needs).
    summed: u64,
}

/// The default adjunct's.
const ADJUNCT: Bounds = Bounds {
    flash: FLASH_BOUND,
    with_journal: FLASH_BUDGET,
    whole_ram: WHOLE_RAM_BOUND,
    summed: RAM_BUDGET,
};

/// The guarded adjunct's (feature `guard`, docs/firmware-guard.md), both boards: the part's
/// flash (about 130 KB measured); with its 16 KiB journal about 146.8 KB, past the part, which
/// is why build.rs links it against the whole part instead of FLASH (docs/firmware-flash.md),
/// held to 144 KiB; the whole RAM (static 47,152 B + the boot peak 15,608 B, deeper than the
/// steady peak of decisions; wave 9) held to the part's 64 KiB, and with the steady peak
/// (9,408 B) 72,312 B, held to the 72 KiB build.rs links it with. Its labelled traffic's peak
/// is firmware_guard_e2e's to hold.
const GUARDED: Bounds = Bounds {
    flash: FLASH_BUDGET,
    with_journal: 144 * 1024,
    whole_ram: RAM_BUDGET,
    summed: 72 * 1024,
};

const SHF_WRITE: u32 = 0x1;
const SHF_ALLOC: u32 = 0x2;
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;

/// One section header of an ELF32 little-endian file.
struct Section {
    name: String,
    kind: u32,
    flags: u32,
    offset: usize,
    size: u64,
    link: usize,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn c_str(b: &[u8], at: usize) -> String {
    let end = b[at..]
        .iter()
        .position(|&c| c == 0)
        .map_or(b.len(), |n| at + n);
    String::from_utf8_lossy(&b[at..end]).into_owned()
}

/// The section headers of an ELF32 little-endian image, with their names.
fn sections(elf: &[u8]) -> Vec<Section> {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 1, "not ELF32");
    assert_eq!(elf[5], 1, "not little-endian");
    let (shoff, shentsize) = (u32_at(elf, 0x20) as usize, u16_at(elf, 0x2E));
    let (shnum, shstrndx) = (u16_at(elf, 0x30), u16_at(elf, 0x32));
    let raw: Vec<(u32, Section)> = (0..shnum)
        .map(|i| {
            let h = shoff + i * shentsize;
            let name = u32_at(elf, h);
            let section = Section {
                name: String::new(),
                kind: u32_at(elf, h + 4),
                flags: u32_at(elf, h + 8),
                offset: u32_at(elf, h + 16) as usize,
                size: u64::from(u32_at(elf, h + 20)),
                link: u32_at(elf, h + 24) as usize,
            };
            (name, section)
        })
        .collect();
    let names_at = raw[shstrndx].1.offset;
    raw.into_iter()
        .map(|(name, mut s)| {
            s.name = c_str(elf, names_at + name as usize);
            s
        })
        .collect()
}

/// Every symbol in the image's symbol table: (name, value).
fn symbols(elf: &[u8], sections: &[Section]) -> Vec<(String, u32)> {
    let Some(symtab) = sections.iter().find(|s| s.kind == SHT_SYMTAB) else {
        return Vec::new();
    };
    let strtab = &sections[symtab.link];
    (0..symtab.size as usize / 16)
        .map(|i| {
            let entry = symtab.offset + i * 16;
            let name = c_str(elf, strtab.offset + u32_at(elf, entry) as usize);
            (name, u32_at(elf, entry + 4))
        })
        .collect()
}

/// Boots `image` on `board`, asks `status` twice (after boot, and after a few hundred
/// decisions) and returns its stack figures: (boot peak, steady-state peak).
fn stack_peaks(board: Board, image: &Path) -> (u64, u64) {
    let mut qemu = board.qemu();
    qemu.args(["-serial", "null", "-serial", "stdio", "-kernel"])
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = Process(qemu.spawn().expect("start qemu-system-arm"));
    let mut console = child.0.stdin.take().expect("qemu stdin");
    let stdout = child.0.stdout.take().expect("qemu stdout");
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
        }
    });
    let mut requests = String::new();
    for class in 0..200 {
        requests += &format!("decide GBR {} USA 2:11 1:1 3:20\n", class % 6);
    }
    requests += "status\n";
    console.write_all(requests.as_bytes()).expect("console");
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a status line from the adjunct");
        if let Some(rest) = line.strip_prefix("status ") {
            let figure = |key: &str| -> u64 {
                rest.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{key}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("no {key} in {line:?}"))
            };
            return (figure("boot_stack_peak"), figure("stack_peak"));
        }
    }
}

#[test]
fn the_adjunct_image_meets_its_flash_ram_heap_and_stack_budgets() {
    let board = Board::Mps2An386;
    budgets_on(board, &board.image("skywave-firmware"), &ADJUNCT);
}

/// Issue 17: the guarded adjunct (firmware feature `guard`) fits the part's flash, and its
/// static RAM and stack are measured like the default image's.
#[test]
fn the_guarded_adjunct_image_fits_the_part() {
    let board = Board::Mps2An386;
    budgets_on(board, &board.guard_image(), &GUARDED);
}

/// The STM32F405's guarded adjunct: its board code is larger than the mps2-an386's, and it
/// fits the same part all the same.
#[test]
fn the_stm32f405_guarded_adjunct_image_fits_the_part() {
    let board = Board::Stm32f405;
    budgets_on(board, &board.guard_image(), &GUARDED);
}

/// Issue 19 item 4: the STM32F405's image within the same budgets.
#[test]
fn the_stm32f405_adjunct_image_meets_its_flash_ram_heap_and_stack_budgets() {
    let board = Board::Stm32f405;
    budgets_on(board, &board.image("skywave-firmware"), &ADJUNCT);
}

fn budgets_on(board: Board, image: &Path, bounds: &Bounds) {
    let name = board.name();
    if !require_or_skip(
        image.exists(),
        "the firmware image (built by scripts/test.sh)",
    ) {
        return;
    }
    eprintln!("{name} image {}", image.display());
    let elf = std::fs::read(image).expect("read the firmware image");
    let sections = sections(&elf);
    let alloc = |s: &&Section| s.flags & SHF_ALLOC != 0;
    let flash: u64 = sections
        .iter()
        .filter(alloc)
        .filter(|s| s.kind == SHT_PROGBITS)
        .map(|s| s.size)
        .sum();
    let ram: u64 = sections
        .iter()
        .filter(alloc)
        .filter(|s| s.flags & SHF_WRITE != 0)
        .map(|s| s.size)
        .sum();
    let table: Vec<String> = sections
        .iter()
        .filter(alloc)
        .map(|s| format!("{} {}", s.name, s.size))
        .collect();
    eprintln!("{name} firmware sections: {}", table.join(", "));
    eprintln!(
        "{name} firmware budgets: flash {flash} B of {FLASH_BUDGET} ({:.1} KiB), static RAM {ram} B of \
         {RAM_BUDGET} ({:.1} KiB)",
        flash as f64 / 1024.0,
        ram as f64 / 1024.0
    );
    assert!(flash <= FLASH_BUDGET, "flash {flash} B > {FLASH_BUDGET} B");
    assert!(
        flash <= bounds.flash,
        "flash {flash} B > the ratchet {} B",
        bounds.flash
    );
    assert!(ram <= RAM_BUDGET, "static RAM {ram} B > {RAM_BUDGET} B");

    assert!(
        !sections.iter().any(|s| s.name.contains("heap")),
        "a heap section is linked"
    );
    let symbols = symbols(&elf, &sections);
    assert!(
        symbols.len() > 100,
        "the image has no symbol table to check"
    );
    let allocator: Vec<&String> = symbols
        .iter()
        .map(|(name, _)| name)
        .filter(|s| s.contains("__rust_alloc") || s.contains("__rg_alloc") || *s == "malloc")
        .collect();
    assert!(
        allocator.is_empty(),
        "allocator symbols linked: {allocator:?}"
    );

    // flip-link's layout: the stack's top is at or below the lowest static, so the stack grows
    // away from them and an overflow leaves RAM (a fault) instead of overwriting them.
    let symbol = |wanted: &str| {
        symbols
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| *value)
            .unwrap_or_else(|| panic!("no {wanted} symbol in the image"))
    };
    // The journal's sectors come out of the same flash on a part.
    let journal = u64::from(symbol("_skywave_journal_bytes"));
    let with_journal = flash + journal;
    eprintln!(
        "firmware flash with the trust journal: image {flash} B + journal {journal} B = \
         {with_journal} B ({:.1} KiB; bound {} B, the part's {FLASH_BUDGET} B)",
        with_journal as f64 / 1024.0,
        bounds.with_journal
    );
    assert_eq!(
        journal, JOURNAL_BYTES,
        "the image's trust journal region is not the board's {JOURNAL_BYTES} B"
    );
    assert!(
        with_journal <= bounds.with_journal,
        "image + journal {with_journal} B > {} B",
        bounds.with_journal
    );
    let (stack_top, statics) = (
        symbol("_stack_start"),
        symbol("__sdata").min(symbol("__sbss")),
    );
    eprintln!("{name} firmware layout: stack top {stack_top:#010x}, statics from {statics:#010x}");
    assert!(
        stack_top <= statics,
        "the stack (top {stack_top:#x}) grows towards the statics (from {statics:#x}): not linked \
         with flip-link"
    );

    if !tool_available("qemu-system-arm", "the firmware's boards") {
        return;
    }
    let (boot, steady) = stack_peaks(board, image);
    eprintln!(
        "{name} firmware stack: boot peak {boot} B, steady-state peak {steady} B (budget {STACK_BUDGET} B)"
    );
    let whole = ram + boot.max(steady);
    eprintln!(
        "{name} firmware whole RAM: static {ram} B + the deeper of boot peak {boot} B and \
         steady-state peak {steady} B = {whole} B ({:.1} KiB; bound {} B, the part's {RAM_BUDGET} B)",
        whole as f64 / 1024.0,
        bounds.whole_ram
    );
    assert!(
        whole <= bounds.whole_ram,
        "whole RAM {whole} B > {} B",
        bounds.whole_ram
    );
    let summed = ram + boot + steady;
    eprintln!(
        "{name} firmware static + boot peak + steady-state peak = {summed} B (bound {} B)",
        bounds.summed
    );
    assert!(
        summed <= bounds.summed,
        "static + boot + steady {summed} B > {} B",
        bounds.summed
    );
    assert!(
        steady > 0 && steady <= STACK_BUDGET,
        "steady stack {steady} B"
    );
    assert!(boot >= steady, "boot {boot} B, steady {steady} B");
}
