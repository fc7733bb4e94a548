//! A hybrid logical clock: physical milliseconds in the high bits, a counter in
//! the low 16, so versions made on one device are strictly ordered and a device
//! that has seen a later version never makes an earlier one.

/// Bits of the counter.
const COUNTER_BITS: u32 = 16;

/// How far ahead of the merging machine's clock a merged version may be: one
/// day. A device whose clock is further ahead would win every conflict and,
/// through every database that merged it, push every clock forward.
pub const MAX_AHEAD_MS: i64 = 86_400_000;

/// The largest clock value a database whose wall clock reads `now_ms`
/// accepts from elsewhere, or moves its own clock to.
pub fn latest_accepted(now_ms: i64) -> i64 {
    ((now_ms + MAX_AHEAD_MS) << COUNTER_BITS) | ((1 << COUNTER_BITS) - 1)
}

/// The next clock value after `last` (the largest this device has seen), at
/// physical time `now_ms`.
pub fn tick(last: i64, now_ms: i64) -> i64 {
    let physical = now_ms << COUNTER_BITS;
    if physical > last { physical } else { last + 1 }
}

/// The physical milliseconds of a clock value.
pub fn millis(hlc: i64) -> i64 {
    hlc >> COUNTER_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_never_goes_back() {
        let a = tick(0, 1000);
        let b = tick(a, 999); // the wall clock stepped back
        let c = tick(b, 1000);
        assert!(a < b && b < c);
        assert_eq!(millis(a), 1000);
    }

    #[test]
    fn one_day_ahead_is_the_latest_accepted() {
        let l = latest_accepted(1000);
        assert_eq!(millis(l), 1000 + MAX_AHEAD_MS);
        assert!(tick(0, 1000 + MAX_AHEAD_MS) <= l);
        assert!(tick(0, 1001 + MAX_AHEAD_MS) > l);
    }
}
