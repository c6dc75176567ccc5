//! The snarkjs binary file container and its point encoding, read and written byte for byte.
//!
//! A file is a 4-byte magic (`ptau`), a version (`u32`, 1), a section count (`u32`) and
//! sections of `id: u32, length: u64, bytes`. Points are affine, uncompressed, each coordinate
//! 32 bytes little-endian in Montgomery form (`x, y` for G1; `x.c0, x.c1, y.c0, y.c1` for G2),
//! the point at infinity all zeros. Every length is checked against the bytes actually present
//! before anything is allocated, every coordinate against the modulus, every point against the
//! curve and (G2) the subgroup.

use crate::CeremonyError;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Bytes of one G1 point.
pub const G1_BYTES: usize = 64;
/// Bytes of one G2 point.
pub const G2_BYTES: usize = 128;

/// A parsed container: each section's bytes, borrowed from the file.
pub struct Sections<'a> {
    sections: BTreeMap<u32, &'a [u8]>,
}

fn take<'a>(b: &mut &'a [u8], n: usize, field: &'static str) -> Result<&'a [u8], CeremonyError> {
    if b.len() < n {
        return Err(CeremonyError::Format {
            field,
            reason: "truncated",
        });
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

/// Reads a little-endian `u32`.
pub fn read_u32(b: &mut &[u8], field: &'static str) -> Result<u32, CeremonyError> {
    let mut w = [0u8; 4];
    w.copy_from_slice(take(b, 4, field)?);
    Ok(u32::from_le_bytes(w))
}

/// Reads a little-endian `u64`.
pub fn read_u64(b: &mut &[u8], field: &'static str) -> Result<u64, CeremonyError> {
    let mut w = [0u8; 8];
    w.copy_from_slice(take(b, 8, field)?);
    Ok(u64::from_le_bytes(w))
}

/// Takes `n` bytes.
pub fn read_bytes<'a>(
    b: &mut &'a [u8],
    n: usize,
    field: &'static str,
) -> Result<&'a [u8], CeremonyError> {
    take(b, n, field)
}

impl<'a> Sections<'a> {
    /// Parses a container with the given magic.
    pub fn parse(mut bytes: &'a [u8], magic: &[u8; 4]) -> Result<Sections<'a>, CeremonyError> {
        let b = &mut bytes;
        if take(b, 4, "magic")? != magic {
            return Err(CeremonyError::Format {
                field: "magic",
                reason: "not a file of this kind",
            });
        }
        if read_u32(b, "version")? != 1 {
            return Err(CeremonyError::Format {
                field: "version",
                reason: "unsupported version",
            });
        }
        let count = read_u32(b, "section count")?;
        let mut sections = BTreeMap::new();
        for _ in 0..count {
            let id = read_u32(b, "section id")?;
            let len = read_u64(b, "section length")?;
            let len = usize::try_from(len).map_err(|_| CeremonyError::Format {
                field: "section length",
                reason: "truncated",
            })?;
            let body = take(b, len, "section")?;
            if sections.insert(id, body).is_some() {
                return Err(CeremonyError::Format {
                    field: "section id",
                    reason: "a section appears twice",
                });
            }
        }
        if !b.is_empty() {
            return Err(CeremonyError::Format {
                field: "sections",
                reason: "trailing bytes after the last section",
            });
        }
        Ok(Sections { sections })
    }

    /// A section's bytes, if present.
    pub fn get(&self, id: u32) -> Option<&'a [u8]> {
        self.sections.get(&id).copied()
    }

    /// A section's bytes, which must be present.
    pub fn require(&self, id: u32, field: &'static str) -> Result<&'a [u8], CeremonyError> {
        self.get(id).ok_or(CeremonyError::Format {
            field,
            reason: "section missing",
        })
    }
}

/// Writes a container.
pub fn write_container(magic: &[u8; 4], sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
    write_container_version(magic, 1, sections)
}

/// [`write_container`] with another format version (circom's `.wtns` is version 2).
pub fn write_container_version(
    magic: &[u8; 4],
    version: u32,
    sections: &[(u32, Vec<u8>)],
) -> Vec<u8> {
    let total: usize = sections.iter().map(|(_, s)| s.len() + 12).sum();
    let mut out = Vec::with_capacity(12 + total);
    out.extend(magic);
    out.extend(version.to_le_bytes());
    out.extend((sections.len() as u32).to_le_bytes());
    for (id, body) in sections {
        out.extend(id.to_le_bytes());
        out.extend((body.len() as u64).to_le_bytes());
        out.extend(body);
    }
    out
}

fn fq(bytes: &[u8], field: &'static str) -> Result<Fq, CeremonyError> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(w);
    }
    let repr = BigInt(limbs);
    if repr >= Fq::MODULUS {
        return Err(CeremonyError::NonCanonical { field });
    }
    // The file holds the Montgomery form, which is arkworks' own representation.
    Ok(Fq::new_unchecked(repr))
}

fn put_fq(x: &Fq, out: &mut Vec<u8>) {
    for limb in x.0 .0 {
        out.extend(limb.to_le_bytes());
    }
}

/// Decodes one G1 point (on-curve checked; G1 has cofactor one).
pub fn g1(bytes: &[u8], field: &'static str) -> Result<G1Affine, CeremonyError> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(fq(&bytes[..32], field)?, fq(&bytes[32..64], field)?);
    if !p.is_on_curve() {
        return Err(CeremonyError::NotOnCurve { field });
    }
    Ok(p)
}

/// Decodes one G2 point (on-curve and subgroup checked).
pub fn g2(bytes: &[u8], field: &'static str) -> Result<G2Affine, CeremonyError> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G2Affine::zero());
    }
    let x = Fq2::new(fq(&bytes[..32], field)?, fq(&bytes[32..64], field)?);
    let y = Fq2::new(fq(&bytes[64..96], field)?, fq(&bytes[96..128], field)?);
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(CeremonyError::NotOnCurve { field });
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(CeremonyError::NotInSubgroup { field });
    }
    Ok(p)
}

/// Appends one G1 point.
pub fn put_g1(p: &G1Affine, out: &mut Vec<u8>) {
    match p.xy() {
        Some((x, y)) => {
            put_fq(&x, out);
            put_fq(&y, out);
        }
        None => out.extend([0u8; G1_BYTES]),
    }
}

/// Appends one G2 point.
pub fn put_g2(p: &G2Affine, out: &mut Vec<u8>) {
    match p.xy() {
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                put_fq(&c, out);
            }
        }
        None => out.extend([0u8; G2_BYTES]),
    }
}

/// Decodes `n` points of `each` bytes from the start of `bytes`, in parallel, with `decode`;
/// the length is checked before anything is decoded.
fn points<T: Send>(
    bytes: &[u8],
    n: usize,
    each: usize,
    field: &'static str,
    decode: fn(&[u8], &'static str) -> Result<T, CeremonyError>,
) -> Result<Vec<T>, CeremonyError> {
    let truncated = CeremonyError::Format {
        field,
        reason: "truncated",
    };
    let need = n.checked_mul(each).ok_or(truncated)?;
    let body = bytes.get(..need).ok_or(CeremonyError::Format {
        field,
        reason: "truncated",
    })?;
    body.par_chunks_exact(each)
        .map(|c| decode(c, field))
        .collect()
}

/// Decodes `n` G1 points from the start of `bytes`, in parallel.
pub fn g1s(bytes: &[u8], n: usize, field: &'static str) -> Result<Vec<G1Affine>, CeremonyError> {
    points(bytes, n, G1_BYTES, field, g1)
}

/// Decodes `n` G2 points from the start of `bytes`, in parallel.
pub fn g2s(bytes: &[u8], n: usize, field: &'static str) -> Result<Vec<G2Affine>, CeremonyError> {
    points(bytes, n, G2_BYTES, field, g2)
}

/// Encodes G1 points.
pub fn put_g1s(points: &[G1Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * G1_BYTES);
    for p in points {
        put_g1(p, &mut out);
    }
    out
}

/// Encodes G2 points.
pub fn put_g2s(points: &[G2Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * G2_BYTES);
    for p in points {
        put_g2(p, &mut out);
    }
    out
}

/// The BN254 base field modulus, 32 bytes little-endian (the header's `prime`).
pub fn modulus_le() -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    for limb in Fq::MODULUS.0 {
        out.extend(limb.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::Zero;

    #[test]
    fn points_round_trip_and_bad_points_are_refused() {
        let p = (ark_bn254::G1Projective::generator() * ark_bn254::Fr::from(7u64)).into_affine();
        let mut b = Vec::new();
        put_g1(&p, &mut b);
        assert_eq!(g1(&b, "t").expect("g1"), p);
        put_g1(&G1Affine::zero(), &mut b);
        assert!(g1(&b[64..], "t").expect("zero").is_zero());
        // y + 1 is off the curve.
        let mut off = b[..64].to_vec();
        off[32] ^= 1;
        assert!(matches!(
            g1(&off, "t"),
            Err(CeremonyError::NotOnCurve { .. })
        ));
        // x = the modulus is not canonical.
        let mut big = b[..64].to_vec();
        big[..32].copy_from_slice(&modulus_le());
        assert!(matches!(
            g1(&big, "t"),
            Err(CeremonyError::NonCanonical { .. })
        ));
        let q = (ark_bn254::G2Projective::generator() * ark_bn254::Fr::from(9u64)).into_affine();
        let mut b2 = Vec::new();
        put_g2(&q, &mut b2);
        assert_eq!(g2(&b2, "t").expect("g2"), q);
    }

    #[test]
    fn a_g2_point_outside_the_subgroup_is_refused() {
        // A point on the twist found by trying x = 1, 2, ... (the twist's cofactor is not 1).
        let mut x = Fq2::new(Fq::from(1u64), Fq::zero());
        let p = loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                break p;
            }
            x += Fq2::new(Fq::from(1u64), Fq::zero());
        };
        assert!(!p.is_in_correct_subgroup_assuming_on_curve());
        let mut b = Vec::new();
        put_g2(&p, &mut b);
        assert!(matches!(
            g2(&b, "t"),
            Err(CeremonyError::NotInSubgroup { .. })
        ));
    }

    #[test]
    fn containers_refuse_truncation_duplicates_and_oversized_lengths() {
        let file = write_container(b"ptau", &[(1, vec![1, 2, 3]), (2, vec![4])]);
        let s = Sections::parse(&file, b"ptau").expect("parse");
        assert_eq!(s.get(1), Some(&[1u8, 2, 3][..]));
        assert!(Sections::parse(&file[..file.len() - 1], b"ptau").is_err());
        assert!(Sections::parse(&file, b"zkey").is_err());
        let dup = write_container(b"ptau", &[(1, vec![1]), (1, vec![2])]);
        assert!(Sections::parse(&dup, b"ptau").is_err());
        let mut huge = write_container(b"ptau", &[(1, vec![])]);
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Sections::parse(&huge, b"ptau").is_err());
    }
}
