//! [`FlashJournal`]: the [`Journal`] on NOR flash, laid out by `sequential-storage`'s map.
//!
//! Why that crate: it is written for exactly this (a key-value store on bare NOR through the
//! `embedded-storage` traits, no allocator), is used in production, and states its power-fail
//! guarantee: every item's header and data carry a CRC, a page's state is kept in its first
//! and last words, an interrupted write or erase leaves an item or page that the next
//! operation recognises and repairs, so a store either happened or did not. It also does the
//! compaction a journal needs: a new value for a key makes the old one garbage, and when the
//! region fills, the oldest page's live items are copied forward and the page erased (pages
//! are used in turn, which levels wear). We test that guarantee ourselves against our own
//! power-cut model (`tests/power_cut.rs`) rather than take it on trust.
//!
//! Records are the artifacts as admitted, filed under [`key_of`]; the value is the signed
//! bytes. No cache: the map's optional caches cost RAM per page and key, and a journal is read
//! once per boot and written once per admission.

use core::cell::{Cell, RefCell};
use core::ops::Range;

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use sequential_storage::Error;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};
use skywave_protocol::policy::{ArtifactRef, MAX_ARTIFACT_LEN};

use crate::blocking::{Blocking, block_on};
use crate::{Journal, JournalError, KEY_LEN, ReplayStats, Replayed, SEQ_KEY, key_of};

/// The record buffer: the longest key and value, rounded up to a flash word (the map's rule).
pub const RECORD_BUFFER: usize = (KEY_LEN + MAX_ARTIFACT_LEN).next_multiple_of(16);

/// Keys one scan of [`Journal::forget`] collects before removing them (a key's bytes each, on
/// the stack); more are found by the next scan.
const FORGET_BATCH: usize = 16;

/// Records a replay remembers as done, so a later pass does not admit them again; records
/// beyond this are offered again in every pass (and come back as duplicates).
const DONE_RECORDS: usize = 256;

type Key = [u8; KEY_LEN];
type Map<F> = MapStorage<Key, Blocking<F>, Cache<Uncached, Uncached, Uncached, Key>>;

struct State<F: NorFlash> {
    map: Map<F>,
    buffer: [u8; RECORD_BUFFER],
}

/// A [`Journal`] in the part `range` of the NOR flash `F`: at least two erase pages (the map
/// needs a free one to compact into), page-aligned.
pub struct FlashJournal<F: NorFlash> {
    state: RefCell<State<F>>,
    /// Set while replaying: what admission records then is already on flash.
    replaying: Cell<bool>,
}

impl<F: NorFlash> FlashJournal<F> {
    /// The journal in `range` of `flash`. `const`, so a board's journal is a static; a range
    /// the map cannot use (unaligned, under two pages) fails to compile in a static, and panics
    /// elsewhere.
    pub const fn new(flash: F, range: Range<u32>) -> Self {
        FlashJournal {
            state: RefCell::new(State {
                map: MapStorage::new(
                    Blocking(flash),
                    MapConfig::new(range),
                    Cache::new_uncached(),
                ),
                buffer: [0; RECORD_BUFFER],
            }),
            replaying: Cell::new(false),
        }
    }

    /// Erases the whole region: for a part whose region holds something that was never a
    /// journal (a new board; QEMU's zeroed RAM). Everything recorded is lost.
    pub fn format(&self) -> Result<(), JournalError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        block_on(state.map.erase_all()).map_err(error)
    }

    /// Runs `f` on the flash under the journal (the test's power switch; a board's driver).
    pub fn with_flash<T>(&self, f: impl FnOnce(&mut F) -> T) -> Result<T, JournalError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        Ok(f(&mut state.map.flash().0))
    }
}

// Removing a record (`MultiwriteNorFlash`) clears its header's CRC in place: a second program
// of a written word, which NOR allows only as clearing more bits.
impl<F: MultiwriteNorFlash> Journal for FlashJournal<F> {
    fn record(&self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), JournalError> {
        if self.replaying.get() {
            return Ok(());
        }
        self.store(&key_of(artifact), bytes)
    }

    fn forget(&self, obsolete: &dyn Fn(&[u8; KEY_LEN]) -> bool) -> Result<u32, JournalError> {
        if self.replaying.get() {
            return Ok(0);
        }
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        let State { map, buffer } = &mut *state;
        let mut removed = 0;
        loop {
            // The map's iterator cannot remove, and removing a key is a scan of its own: collect
            // a batch of keys, then remove them one by one (each removal is whole or not at all
            // across a power cut).
            let mut batch = [[0u8; KEY_LEN]; FORGET_BATCH];
            let mut found = 0;
            let mut items = block_on(map.fetch_all_items(buffer)).map_err(error)?;
            while let Some((key, _)) = block_on(items.next::<&[u8]>(buffer)).map_err(error)? {
                // The sequence reservation is never obsolete, whatever `obsolete` picks.
                if key != SEQ_KEY && obsolete(&key) && !batch[..found].contains(&key) {
                    batch[found] = key;
                    found += 1;
                    if found == FORGET_BATCH {
                        break;
                    }
                }
            }
            for key in &batch[..found] {
                block_on(map.remove_item(buffer, key)).map_err(error)?;
            }
            removed += found as u32;
            if found < FORGET_BATCH {
                return Ok(removed);
            }
        }
    }

    fn forget_if(
        &self,
        key: &[u8; KEY_LEN],
        obsolete: &dyn Fn(&[u8]) -> bool,
    ) -> Result<bool, JournalError> {
        if self.replaying.get() {
            return Ok(false);
        }
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        let State { map, buffer } = &mut *state;
        // The current value only: the map may still hold older values under the key, and
        // removing the key removes them all.
        let current = block_on(map.fetch_item::<&[u8]>(buffer, key)).map_err(error)?;
        if !current.is_some_and(obsolete) {
            return Ok(false);
        }
        block_on(map.remove_item(buffer, key)).map_err(error)?;
        Ok(true)
    }

    fn replay(
        &self,
        admit: &mut dyn FnMut(&[u8]) -> Replayed,
    ) -> Result<ReplayStats, JournalError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        let State { map, buffer } = &mut *state;
        self.replaying.set(true);
        let result = passes(map, buffer, admit);
        self.replaying.set(false);
        result
    }

    fn seq_reserved(&self) -> Result<u64, JournalError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        let State { map, buffer } = &mut *state;
        // Fetched as bytes, as records are: one monomorph of the map's code, not two.
        match block_on(map.fetch_item::<&[u8]>(buffer, &SEQ_KEY)).map_err(error)? {
            None => Ok(1),
            Some(value) => value
                .try_into()
                .map(u64::from_le_bytes)
                .map_err(|_| JournalError::Corrupt),
        }
    }

    fn reserve_seq(&self, until: u64) -> Result<(), JournalError> {
        // The map appends a key's new value and reads back the newest whole one: a cut
        // leaves the old value or the new, never less than was reserved before.
        self.store(&SEQ_KEY, &until.to_le_bytes())
    }
}

impl<F: MultiwriteNorFlash> FlashJournal<F> {
    /// Stores `bytes` under `key`: records and the sequence reservation through one copy of
    /// the map's store (the board's flash is short).
    fn store(&self, key: &Key, bytes: &[u8]) -> Result<(), JournalError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| JournalError::Busy)?;
        let State { map, buffer } = &mut *state;
        if KEY_LEN + bytes.len() > buffer.len() {
            return Err(JournalError::TooLarge);
        }
        block_on(map.store_item(buffer, key, &bytes)).map_err(error)
    }
}

/// Offers every record to `admit`, pass after pass, until a pass admits nothing new or
/// nothing is left refused. The map returns records in the order they were written (a value
/// moved forward by compaction comes later), which is mostly an order they admit in; what
/// needs a record written later (a policy whose signer's credential was compacted forward)
/// admits in the next pass. Passes are bounded by the records: each but the last admits one.
fn passes<F: NorFlash>(
    map: &mut Map<F>,
    buffer: &mut [u8; RECORD_BUFFER],
    admit: &mut dyn FnMut(&[u8]) -> Replayed,
) -> Result<ReplayStats, JournalError> {
    // A search runs the map's repair if a cut left it mid-operation (an interrupted compaction
    // is redone, a torn item skipped); iterating does not repair, so it comes first. No record
    // has this key: the search's answer is not wanted.
    block_on(map.fetch_item::<&[u8]>(buffer, &[0xFF; KEY_LEN])).map_err(error)?;
    let mut done = [0u32; DONE_RECORDS / 32];
    let mut stats = ReplayStats::default();
    loop {
        stats.passes += 1;
        let mut progress = false;
        let mut refused = 0;
        let mut items = block_on(map.fetch_all_items(buffer)).map_err(error)?;
        let mut index = 0usize;
        while let Some((key, value)) = block_on(items.next::<&[u8]>(buffer)).map_err(error)? {
            // The sequence reservation is no artifact: nothing to admit.
            if key == SEQ_KEY {
                continue;
            }
            let word = done.get_mut(index / 32);
            let bit = 1u32 << (index % 32);
            index += 1;
            if word.as_ref().is_some_and(|w| **w & bit != 0) {
                continue;
            }
            stats.read += 1;
            let outcome = admit(value);
            if outcome == Replayed::Refused {
                refused += 1;
                continue;
            }
            if outcome == Replayed::Admitted {
                stats.admitted += 1;
                progress = true;
            }
            if let Some(w) = word {
                *w |= bit;
            }
        }
        stats.refused = refused;
        if !progress || refused == 0 {
            return Ok(stats);
        }
    }
}

fn error<E>(e: Error<E>) -> JournalError {
    match e {
        Error::Storage { .. } => JournalError::Flash,
        Error::FullStorage => JournalError::Full,
        Error::ItemTooBig | Error::BufferTooBig | Error::BufferTooSmall(_) => {
            JournalError::TooLarge
        }
        _ => JournalError::Corrupt,
    }
}
