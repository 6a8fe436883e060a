//! Writes of a round grouped into transactions of a few hundred jobs.

use suanli_store::StoreError;

/// A round's writes in transactions of at most [`Chunked::SIZE`] jobs each: few commits (one
/// fsync each on SQLite), yet no transaction holds the store's writer for long, so submissions
/// and the ledger's commits interleave with a big round.
pub(super) struct Chunked<'s> {
    store: &'s suanli_store::Store,
    open: Option<suanli_store::WriteTx<'s>>,
    n: usize,
}

impl<'s> Chunked<'s> {
    const SIZE: usize = 256;

    pub(super) fn new(store: &'s suanli_store::Store) -> Chunked<'s> {
        Chunked { store, open: None, n: 0 }
    }

    /// The open transaction, begun if there is none.
    pub(super) async fn tx(&mut self) -> Result<&mut suanli_store::WriteTx<'s>, StoreError> {
        if self.open.is_none() {
            self.open = Some(self.store.begin().await?);
        }
        Ok(self.open.as_mut().expect("begun above"))
    }

    /// Counts one job written; commits when the transaction holds enough.
    pub(super) async fn done_one(&mut self) -> Result<(), StoreError> {
        self.n += 1;
        if self.n >= Self::SIZE {
            self.commit().await?;
        }
        Ok(())
    }

    pub(super) async fn commit(&mut self) -> Result<(), StoreError> {
        self.n = 0;
        match self.open.take() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}
