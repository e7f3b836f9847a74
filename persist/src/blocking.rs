//! A blocking `embedded-storage` NOR flash as the async one `sequential-storage` takes, and
//! the executor that runs its futures.
//!
//! `sequential-storage` is written against `embedded-storage-async`; a board's flash (and the
//! test's simulated one) is the blocking `embedded-storage` kind, which completes every
//! operation before it returns. Its futures are therefore ready the first time they are
//! polled, so [`block_on`] needs no waker that does anything, no interrupt and no heap.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash as blocking;
use embedded_storage_async::nor_flash as nonblocking;

/// A blocking NOR flash `F`, presented with the async traits.
#[derive(Debug)]
pub struct Blocking<F>(pub F);

impl<F: blocking::ErrorType> blocking::ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: blocking::ReadNorFlash> nonblocking::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: blocking::NorFlash> nonblocking::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

impl<F: blocking::MultiwriteNorFlash> nonblocking::MultiwriteNorFlash for Blocking<F> {}

/// Runs `future` to completion by polling it. With a [`Blocking`] flash under it every await
/// is ready at once, so this returns after the first poll; the loop only guards a future that
/// yields anyway (it would spin, never block forever on a wake-up that cannot come).
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}
