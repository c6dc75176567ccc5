//! BLAKE2b-512 (RFC 7693) whose state can be saved and resumed, as snarkjs's phase 1 records it.
//!
//! A snarkjs phase 1 contribution record keeps its response hash half done: the hasher's state
//! after the previous challenge and the new powers (`partialHash`, 216 bytes), so a verifier
//! finishes it with the contribution's public key alone instead of re-reading the file. The
//! `blake2` crate does not expose its state, so this module has the compression function
//! itself; it is checked against that crate on every length around the block boundaries and
//! against RFC 7693's vector. The saved layout is noble-hashes' (snarkjs 0.7's
//! `toPartialHash`): the 128-byte buffer, the eight state words (little-endian `u64`), the bytes
//! compressed so far (`u64`), the bytes buffered (`u64`), eight bytes of zeros.

/// Bytes of a saved state.
pub const PARTIAL_BYTES: usize = 216;
const BLOCK: usize = 128;

const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// A BLAKE2b-512 hasher (no key) that can be saved mid-stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blake2b {
    h: [u64; 8],
    /// Bytes compressed so far (every block but the buffered one).
    compressed: u64,
    buffer: [u8; BLOCK],
    /// Bytes in `buffer`: the last block is kept until more input or the end, as BLAKE2 must
    /// flag the final block.
    buffered: usize,
}

impl Default for Blake2b {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
#[allow(clippy::many_single_char_names)]
fn mix(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

fn compress(h: &mut [u64; 8], block: &[u8; BLOCK], counter: u64, last: bool) {
    let mut m = [0u64; 16];
    for (w, b) in m.iter_mut().zip(block.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(b);
        *w = u64::from_le_bytes(le);
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= counter;
    if last {
        v[14] = !v[14];
    }
    for round in 0..12 {
        let s = &SIGMA[round % 10];
        mix(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

impl Blake2b {
    /// A fresh hasher for 64-byte digests.
    pub fn new() -> Blake2b {
        let mut h = IV;
        h[0] ^= 0x0101_0000 ^ 64;
        Blake2b {
            h,
            compressed: 0,
            buffer: [0; BLOCK],
            buffered: 0,
        }
    }

    /// Hashes more bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.buffered == BLOCK {
                self.compressed += BLOCK as u64;
                compress(&mut self.h, &self.buffer, self.compressed, false);
                self.buffered = 0;
            }
            let take = (BLOCK - self.buffered).min(data.len());
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
        }
    }

    /// The digest.
    pub fn finalize(mut self) -> [u8; 64] {
        self.buffer[self.buffered..].fill(0);
        let counter = self.compressed + self.buffered as u64;
        compress(&mut self.h, &self.buffer, counter, true);
        let mut out = [0u8; 64];
        for (o, w) in out.chunks_exact_mut(8).zip(self.h) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The state, in snarkjs's `partialHash` layout (see the module doc).
    pub fn save(&self) -> [u8; PARTIAL_BYTES] {
        let mut out = [0u8; PARTIAL_BYTES];
        out[..BLOCK].copy_from_slice(&self.buffer);
        for (o, w) in out[BLOCK..BLOCK + 64].chunks_exact_mut(8).zip(self.h) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out[192..200].copy_from_slice(&self.compressed.to_le_bytes());
        out[200..208].copy_from_slice(&(self.buffered as u64).to_le_bytes());
        out
    }

    /// Resumes a saved state; `None` when it is not one this hasher could have saved (more than
    /// a block buffered, or a partial block before the buffered one).
    pub fn resume(saved: &[u8; PARTIAL_BYTES]) -> Option<Blake2b> {
        let word = |at: usize| {
            let mut le = [0u8; 8];
            le.copy_from_slice(&saved[at..at + 8]);
            u64::from_le_bytes(le)
        };
        let compressed = word(192);
        let buffered = word(200);
        if buffered > BLOCK as u64 || compressed % BLOCK as u64 != 0 {
            return None;
        }
        let mut h = [0u64; 8];
        for (i, w) in h.iter_mut().enumerate() {
            *w = word(BLOCK + 8 * i);
        }
        let mut buffer = [0u8; BLOCK];
        buffer.copy_from_slice(&saved[..BLOCK]);
        Some(Blake2b {
            h,
            compressed,
            buffer,
            buffered: buffered as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake2::Digest;

    fn reference(data: &[u8]) -> [u8; 64] {
        blake2::Blake2b512::digest(data).into()
    }

    #[test]
    fn rfc_7693_vector() {
        let mut h = Blake2b::new();
        h.update(b"abc");
        let expected = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn agrees_with_the_blake2_crate_saved_and_resumed_anywhere() {
        let data: Vec<u8> = (0..700u32).map(|i| (i * 131 + 7) as u8).collect();
        for len in (0..=300).chain([383, 384, 385, 511, 512, 513, 700]) {
            let message = &data[..len];
            let mut whole = Blake2b::new();
            whole.update(message);
            assert_eq!(whole.finalize(), reference(message), "length {len}");
            for cut in [0, 1, len / 3, len / 2, len.saturating_sub(1), len].map(|c| c.min(len)) {
                let mut first = Blake2b::new();
                first.update(&message[..cut]);
                let mut resumed = Blake2b::resume(&first.save()).expect("its own state");
                resumed.update(&message[cut..]);
                assert_eq!(resumed.finalize(), reference(message), "{len} cut at {cut}");
            }
        }
    }

    #[test]
    fn states_it_could_not_have_saved_are_refused() {
        let mut h = Blake2b::new();
        h.update(&[1; 200]);
        let mut saved = h.save();
        saved[200..208].copy_from_slice(&129u64.to_le_bytes());
        assert!(Blake2b::resume(&saved).is_none(), "more than a block");
        let mut saved = h.save();
        saved[192..200].copy_from_slice(&5u64.to_le_bytes());
        assert!(
            Blake2b::resume(&saved).is_none(),
            "a partial block compressed"
        );
    }
}
