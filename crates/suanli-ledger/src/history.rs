//! The ledger's history and its id indexes, grown without pauses: fixed-size chunks and sharded maps instead of one vector and one map that double (copying or rehashing everything) as they fill.
//!
//! A vector of a million transfers that doubles copies every one of them at once, and a map of
//! a million ids that fills rehashes them all: on the ledger's one writer, that stopped every
//! decision for a few hundred milliseconds (`suanli bench gateway`, a busy minute of model
//! calls). Here a full chunk is simply followed by a new one, and a shard that fills rehashes
//! only its part of the ids.

use crate::transfer::{Transfer, TransferId};
use std::collections::HashMap;

/// Transfers per chunk of history.
const CHUNK: usize = 16_384;
/// Shards of an id index (a power of two).
const SHARDS: usize = 64;

/// The append-only history, in apply order.
#[derive(Debug, Clone, Default)]
pub struct History {
    chunks: Vec<Vec<Transfer>>,
    len: usize,
}

impl History {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The transfer at `index` in apply order.
    pub fn get(&self, index: usize) -> Option<&Transfer> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Transfer> + '_ {
        self.chunks.iter().flatten()
    }

    /// The transfers from `index` on (none when `index` is past the end).
    pub fn since(&self, index: usize) -> impl Iterator<Item = &Transfer> + '_ {
        let (chunk, offset) = (index / CHUNK, index % CHUNK);
        self.chunks
            .get(chunk..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(k, c)| c.get(if k == 0 { offset } else { 0 }..).unwrap_or_default())
    }

    pub fn to_vec(&self) -> Vec<Transfer> {
        self.iter().cloned().collect()
    }

    pub(crate) fn push(&mut self, t: Transfer) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(t),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(t);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Takes the last transfer off (undoing a linked batch's member).
    pub(crate) fn pop(&mut self) -> Option<Transfer> {
        let t = self.chunks.last_mut()?.pop()?;
        self.len -= 1;
        if self.chunks.last().is_some_and(Vec::is_empty) {
            self.chunks.pop();
        }
        Some(t)
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a Transfer;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<Transfer>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.chunks.iter().flatten()
    }
}

/// A map from transfer ids, in shards by the id's low bits.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<V> {
    shards: Vec<HashMap<TransferId, V>>,
}

impl<V> Default for IdMap<V> {
    fn default() -> IdMap<V> {
        IdMap { shards: (0..SHARDS).map(|_| HashMap::new()).collect() }
    }
}

impl<V> IdMap<V> {
    fn shard(&self, id: &TransferId) -> &HashMap<TransferId, V> {
        &self.shards[(id.0 as usize) & (SHARDS - 1)]
    }

    fn shard_mut(&mut self, id: &TransferId) -> &mut HashMap<TransferId, V> {
        &mut self.shards[(id.0 as usize) & (SHARDS - 1)]
    }

    pub(crate) fn get(&self, id: &TransferId) -> Option<&V> {
        self.shard(id).get(id)
    }

    pub(crate) fn insert(&mut self, id: TransferId, v: V) -> Option<V> {
        self.shard_mut(&id).insert(id, v)
    }

    pub(crate) fn remove(&mut self, id: &TransferId) -> Option<V> {
        self.shard_mut(id).remove(id)
    }

    /// Inserts `v` unless `id` is there already.
    pub(crate) fn insert_if_absent(&mut self, id: TransferId, v: V) {
        self.shard_mut(&id).entry(id).or_insert(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountId;
    use crate::transfer::ReasonCode;
    use suanli_core::money::Fen;

    fn t(i: u128) -> Transfer {
        Transfer::single(TransferId(i), AccountId(1), AccountId(2), Fen(1), ReasonCode::JobCharge, "r", 0)
    }

    #[test]
    fn history_reads_across_chunks_as_one_sequence() {
        let mut h = History::default();
        let n = CHUNK * 2 + 5;
        for i in 1..=n as u128 {
            h.push(t(i));
        }
        assert_eq!(h.len(), n);
        assert_eq!(h.iter().count(), n);
        assert_eq!(h.get(CHUNK).map(|x| x.id), Some(TransferId(CHUNK as u128 + 1)));
        assert!(h.get(n).is_none());
        for from in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1, n, n + 10] {
            let ids: Vec<u128> = h.since(from).map(|x| x.id.0).collect();
            let want: Vec<u128> = ((from + 1) as u128..=n as u128).collect();
            assert_eq!(ids, want, "since({from})");
        }
        // Popping back over a chunk boundary and pushing again keeps the order.
        for _ in 0..6 {
            h.pop();
        }
        assert_eq!(h.len(), 2 * CHUNK - 1);
        h.push(t(999_999));
        assert_eq!(h.get(2 * CHUNK - 1).map(|x| x.id.0), Some(999_999));
        assert_eq!(h.since(2 * CHUNK - 1).count(), 1);
        assert_eq!((&h).into_iter().count(), 2 * CHUNK);
    }

    #[test]
    fn id_map_finds_what_it_holds_in_any_shard() {
        let mut m = IdMap::default();
        for i in 0..1_000u128 {
            assert_eq!(m.insert(TransferId(i * 7), i), None);
        }
        m.insert_if_absent(TransferId(7), 99);
        assert_eq!(m.get(&TransferId(7)), Some(&1));
        assert_eq!(m.remove(&TransferId(14)), Some(2));
        assert_eq!(m.get(&TransferId(14)), None);
        assert_eq!(m.get(&TransferId(7 * 999)), Some(&999));
    }
}
