//! The positions of a few byte values in a text, found 64 bytes at a time: one mask per block
//! (a bit per byte), then each position by counting trailing zeros. The splitting operators
//! (csv, kv) ask for the next separator dozens of times a line, mostly a few bytes on; a
//! `memchr` call per field paid its call and vector setup each time (5.9k instructions a
//! PAN-OS line), where a block's mask is computed once and then read bit by bit.

/// A block's start before the first search: `from - UNSET` wraps to `from + 64`, so the first
/// [`Finder::find`] computes the mask of its block.
const UNSET: usize = !63;

/// Finds the bytes of a set of `N` values in `hay`, for searches that move forwards.
pub(in crate::normalise::mapping) struct Finder<'h, const N: usize> {
    hay: &'h [u8],
    set: [u8; N],
    /// Start of the block whose mask is `mask` (a multiple of 64, or [`UNSET`]).
    block: usize,
    mask: u64,
}

impl<'h, const N: usize> Finder<'h, N> {
    /// A finder of the bytes `set` in `hay` (nothing is read before the first search).
    #[inline]
    pub fn new(hay: &'h [u8], set: [u8; N]) -> Self {
        Finder {
            hay,
            set,
            block: UNSET,
            mask: 0,
        }
    }

    /// The position of the first byte of the set at or after `from`. Any `from` is allowed;
    /// searches from increasing positions reuse the block masks.
    #[inline(always)]
    pub fn find(&mut self, from: usize) -> Option<usize> {
        if from.wrapping_sub(self.block) < 64 {
            let m = self.mask & (u64::MAX << (from - self.block));
            if m != 0 {
                return Some(self.block + m.trailing_zeros() as usize);
            }
        }
        self.find_past(from)
    }

    /// [`Finder::find`] when the answer is not in the current block's mask.
    #[inline(never)]
    fn find_past(&mut self, from: usize) -> Option<usize> {
        if from.wrapping_sub(self.block) >= 64 {
            if from >= self.hay.len() {
                return None;
            }
            self.block = from & !63;
            self.mask = block_mask(self.hay, self.block, &self.set);
        }
        let mut m = self.mask & (u64::MAX << (from - self.block));
        while m == 0 {
            if self.block + 64 >= self.hay.len() {
                return None;
            }
            self.block += 64;
            self.mask = block_mask(self.hay, self.block, &self.set);
            m = self.mask;
        }
        Some(self.block + m.trailing_zeros() as usize)
    }
}

/// The mask of the block of `hay` at `at` (< `hay.len()`): bit `i` set when byte `at + i` is
/// one of `set`. Past the end of `hay` the bits are clear.
#[inline]
fn block_mask<const N: usize>(hay: &[u8], at: usize, set: &[u8; N]) -> u64 {
    let rest = &hay[at..];
    match rest.first_chunk::<64>() {
        Some(block) => mask64(block, set),
        None => {
            let mut block = [0u8; 64];
            block[..rest.len()].copy_from_slice(rest);
            // rest.len() < 64: the shift is in range.
            mask64(&block, set) & ((1u64 << rest.len()) - 1)
        }
    }
}

/// Bit `i` set when `block[i]` is one of `set`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn mask64<const N: usize>(block: &[u8; 64], set: &[u8; N]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128,
    };
    let mut out = 0u64;
    for k in 0..4 {
        #[allow(unsafe_code)]
        // SAFETY: the load reads bytes 16k..16k+16 of the 64 `block` borrows (k < 4; no
        // alignment needed); the other intrinsics only need SSE2, which every x86-64 target has.
        let bits = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
            let mut eq = _mm_setzero_si128();
            for &c in set {
                eq = _mm_or_si128(eq, _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8)));
            }
            _mm_movemask_epi8(eq) as u32
        };
        out |= u64::from(bits) << (16 * k);
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn mask64<const N: usize>(block: &[u8; 64], set: &[u8; N]) -> u64 {
    mask64_portable(block, set)
}

/// [`mask64`] byte by byte.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn mask64_portable<const N: usize>(block: &[u8; 64], set: &[u8; N]) -> u64 {
    block
        .iter()
        .enumerate()
        .filter(|(_, c)| set.contains(c))
        .fold(0, |m, (i, _)| m | 1 << i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position of the set's bytes, found one search after the other from each start.
    fn all<const N: usize>(hay: &[u8], set: [u8; N], from: usize) -> Vec<usize> {
        let mut f = Finder::new(hay, set);
        let mut out = Vec::new();
        let mut at = from;
        while let Some(p) = f.find(at) {
            out.push(p);
            at = p + 1;
        }
        out
    }

    #[test]
    fn finds_what_a_byte_loop_finds_at_every_length_and_offset() {
        // Lengths around the block size, separators at every offset, bytes past 0x7f and 0.
        for len in [0usize, 1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200] {
            let hay: Vec<u8> = (0..len)
                .map(|i| match (i * 7 + len) % 11 {
                    0 => b',',
                    1 => b'"',
                    2 => 0,
                    3 => 0xe9,
                    _ => b'a' + (i % 26) as u8,
                })
                .collect();
            for from in [
                0,
                1,
                5,
                63,
                64,
                65,
                len.saturating_sub(1),
                len,
                len + 1,
                len + 70,
            ] {
                let want: Vec<usize> = (from..len)
                    .filter(|&i| hay[i] == b',' || hay[i] == b'"')
                    .collect();
                assert_eq!(all(&hay, [b',', b'"'], from), want, "len {len} from {from}");
                let zeros: Vec<usize> = (from..len).filter(|&i| hay[i] == 0).collect();
                assert_eq!(all(&hay, [0], from), zeros, "zero bytes, len {len}");
            }
        }
    }

    #[test]
    fn searches_may_jump_and_go_back() {
        let hay = b"a,b,,".repeat(40);
        let mut f = Finder::new(&hay, [b',']);
        for from in [150, 3, 199, 0, 64, 63, 128, 500, 10] {
            let want = (from..hay.len()).find(|&i| hay[i] == b',');
            assert_eq!(f.find(from), want, "from {from}");
        }
    }

    #[test]
    fn the_vector_mask_is_the_byte_loops() {
        let mut block = [0u8; 64];
        for (i, b) in block.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        for set in [[0u8, 37], [74, 255], [b'=', b' '], [128, 1]] {
            assert_eq!(
                mask64(&block, &set),
                mask64_portable(&block, &set),
                "{set:?}"
            );
        }
        assert_eq!(mask64(&[b'x'; 64], b"x"), u64::MAX);
    }
}
