//! Requests and tokens per minute for each model key: token buckets that refill continuously, decided in memory on the hot path.
//!
//! A bucket holds up to one minute's allowance and refills at that allowance per minute, so a
//! key may burst up to its limit and then go on at its sustained rate. A call takes one request
//! and its estimated tokens (prompt plus max_tokens) up front; when it ends, the tokens it did
//! not use are given back. Limits are per process: with several replicas each enforces them
//! on the calls it serves.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at_ms: i64,
}

impl Bucket {
    fn refill(&mut self, per_minute: u32, now_ms: i64) {
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.level = (self.level + elapsed * per_minute as f64 / 60_000.0).min(per_minute as f64);
        self.at_ms = now_ms;
    }

    /// Ms until `amount` is available at this rate (0 if it is now).
    fn wait_ms(&self, per_minute: u32, amount: f64) -> i64 {
        if self.level >= amount { 0 } else { ((amount - self.level) * 60_000.0 / per_minute.max(1) as f64).ceil() as i64 }
    }
}

/// Why a call was refused, and when it could go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub what: &'static str,
    pub retry_after_ms: i64,
}

/// Every key's buckets.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, (Bucket, Bucket)>>,
}

impl Limiter {
    /// Takes one request and `tokens` from a key with these limits (0 = unlimited), or says
    /// how long to wait. A call larger than a whole minute's tokens is refused outright
    /// (`retry_after_ms` is then -1: waiting does not help).
    pub fn take(&self, key: &str, rpm: u32, tpm: u32, tokens: u64, now_ms: i64) -> Result<(), Refused> {
        if rpm == 0 && tpm == 0 {
            return Ok(());
        }
        if tpm > 0 && tokens > tpm as u64 {
            return Err(Refused { what: "tokens per minute", retry_after_ms: -1 });
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (r, t) = map
            .entry(key.to_string())
            .or_insert((Bucket { level: rpm as f64, at_ms: now_ms }, Bucket { level: tpm as f64, at_ms: now_ms }));
        r.refill(rpm, now_ms);
        t.refill(tpm, now_ms);
        if rpm > 0 && r.level < 1.0 {
            return Err(Refused { what: "requests per minute", retry_after_ms: r.wait_ms(rpm, 1.0) });
        }
        if tpm > 0 && t.level < tokens as f64 {
            return Err(Refused { what: "tokens per minute", retry_after_ms: t.wait_ms(tpm, tokens as f64) });
        }
        if rpm > 0 {
            r.level -= 1.0;
        }
        if tpm > 0 {
            t.level -= tokens as f64;
        }
        Ok(())
    }

    /// Gives back tokens a call took but did not use.
    pub fn give_back(&self, key: &str, tpm: u32, tokens: u64) {
        if tpm == 0 || tokens == 0 {
            return;
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, t)) = map.get_mut(key) {
            t.level = (t.level + tokens as f64).min(tpm as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_per_minute_burst_then_refill() {
        let l = Limiter::default();
        for _ in 0..3 {
            l.take("k", 3, 0, 10, 0).unwrap();
        }
        let refused = l.take("k", 3, 0, 10, 0).unwrap_err();
        assert_eq!(refused.what, "requests per minute");
        assert_eq!(refused.retry_after_ms, 20_000);
        l.take("k", 3, 0, 10, 20_000).unwrap();
        // Other keys have their own buckets.
        l.take("other", 3, 0, 10, 0).unwrap();
    }

    #[test]
    fn tokens_per_minute_count_estimates_and_take_back_the_unused() {
        let l = Limiter::default();
        l.take("k", 0, 1_000, 800, 0).unwrap();
        assert_eq!(l.take("k", 0, 1_000, 300, 0).unwrap_err().retry_after_ms, 6_000);
        l.give_back("k", 1_000, 500);
        l.take("k", 0, 1_000, 300, 0).unwrap();
        assert_eq!(l.take("k", 0, 1_000, 5_000, 0).unwrap_err().retry_after_ms, -1);
    }
}
