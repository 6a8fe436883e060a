//! The simulator's source of variety: the pure crates' SplitMix64 (from suanli-core), so a seed reproduces a run, and a stable string hash.

pub use suanli_core::rng::SplitMix;

/// A stable 64-bit hash of a string (FNV-1a), for deterministic per-job choices.
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}
