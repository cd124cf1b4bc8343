//! Stable draws for settlement: ids and the processor's mistakes derive from (seed, what is
//! settled), never from arrival order or a process-keyed hasher, so the books can be rebuilt
//! from the ledger and come out the same. SplitMix64's finaliser, written out so no library
//! release can change it.

/// Mixes `words` into one well-spread 64-bit value.
pub(super) fn mix(words: &[u64]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for &w in words {
        h = splitmix(h ^ w);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 128-bit id number from `words` (two finalisations of one mix: no allocation, as
/// booking a million transactions makes millions of ids).
pub(super) fn id128(words: &[u64]) -> u128 {
    let h = mix(words);
    (u128::from(splitmix(h ^ 1)) << 64) | u128::from(splitmix(h ^ 2))
}

/// A uniform draw in [0, 1) from `words`.
pub(super) fn unit(words: &[u64]) -> f64 {
    (mix(words) >> 11) as f64 / (1u64 << 53) as f64
}

/// Hashes text (an order reference, an API key) into a word for [`mix`].
pub(super) fn text(s: &str) -> u64 {
    let mut h = mix(&[s.len() as u64]);
    for chunk in s.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(&[h, u64::from_le_bytes(word)]);
    }
    h
}

/// A 128-bit number as two words.
pub(super) fn words(n: u128) -> [u64; 2] {
    [(n >> 64) as u64, n as u64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pinned() {
        // Golden values: a change here changes every simulator's settlement.
        assert_eq!(mix(&[]), 0x243f_6a88_85a3_08d3);
        assert_eq!(mix(&[1, 2]), mix(&[1, 2]));
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        assert_ne!(text("ab"), text("ab\0"));
        let u = unit(&[7]);
        assert!((0.0..1.0).contains(&u));
    }
}
