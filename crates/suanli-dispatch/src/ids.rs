//! Id generation at the edge: the injected clock for the time part, a seeded or OS-seeded generator for the entropy.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use suanli_core::time::Clock;

/// Makes typed ids (`JobId::generate(...)`) from a clock and a random source.
#[derive(Clone)]
pub struct Ids {
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<StdRng>>,
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ids")
    }
}

impl Ids {
    /// Entropy from the operating system.
    pub fn new(clock: Arc<dyn Clock>) -> Ids {
        Ids { clock, rng: Arc::new(Mutex::new(StdRng::from_os_rng())) }
    }

    /// Deterministic entropy, for tests and simulation.
    pub fn seeded(clock: Arc<dyn Clock>, seed: u64) -> Ids {
        Ids { clock, rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))) }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// (time, entropy) for an id's `generate`.
    pub fn parts(&self) -> (i64, u64) {
        let entropy = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random::<u64>();
        (self.clock.now_ms(), entropy)
    }

    /// Fills a buffer with random bytes (for bearer tokens).
    pub fn fill(&self, buf: &mut [u8]) {
        self.rng.lock().unwrap_or_else(|e| e.into_inner()).fill(buf);
    }
}
