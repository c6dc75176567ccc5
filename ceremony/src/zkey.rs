//! snarkjs's Groth16 `.zkey` (the phase 2 transcript's file form) and circom's `.r1cs` (the
//! constraint system snarkjs's `zkey new` and `zkey verify` start from), byte for byte.
//!
//! A `.zkey` is the ptau container (magic `zkey`) with sections 1 (protocol: 1 = Groth16),
//! 2 (field sizes and primes, `nVars`, `nPublic`, `domainSize`, then alpha1, beta1, beta2,
//! gamma2, delta1, delta2), 4 (the A and B coefficients the prover reads), 3 (IC), 9 (H),
//! 8 (C, the private variables' L query), 5 (A), 6 (B in G1), 7 (B in G2) and 10 (the
//! ceremony: the circuit hash and each contribution), written in snarkjs's order. Points as in
//! [`crate::ptau`]. Reading checks every length against the header before decoding, and every
//! point (canonical, on the curve, in the subgroup).

use crate::phase2::{Beacon, Contribution, Hash, Transcript, MAX_NAME};
use crate::pok::Knowledge;
use crate::ptau::{self, Sections, G1_BYTES, G2_BYTES};
use crate::{CeremonyError, Circuit};
use ark_bn254::{Fq, Fr};
use ark_ff::{BigInt, Field, PrimeField};
use ark_groth16::{ProvingKey, VerifyingKey};

/// The largest domain accepted, as a power of two (BN254's scalar field has 2-adicity 28).
pub const MAX_DOMAIN_LOG: u32 = 28;
/// Bytes of the Groth16 header section (2).
const HEADER_BYTES: usize = 4 + 32 + 4 + 32 + 12 + 3 * G1_BYTES + 3 * G2_BYTES;
/// The fewest bytes one contribution takes in section 10.
const CONTRIBUTION_MIN: usize = 3 * G1_BYTES + G2_BYTES + 64 + 8;

fn format(field: &'static str, reason: &'static str) -> CeremonyError {
    CeremonyError::Format { field, reason }
}

fn le<const N: usize>(x: &BigInt<N>) -> Vec<u8> {
    x.0.iter().flat_map(|l| l.to_le_bytes()).collect()
}

fn fr_le(x: &Fr) -> Vec<u8> {
    le(&x.into_bigint())
}

/// circom's `.r1cs` of a circuit: wire 0 the constant one, then the public inputs (circom's
/// outputs none), then the witness; every coefficient canonical little-endian; the wire map
/// the identity.
pub fn circom_r1cs(circuit: &Circuit<'_>) -> Vec<u8> {
    let mut header = Vec::with_capacity(64);
    header.extend(32u32.to_le_bytes());
    header.extend(le(&Fr::MODULUS));
    header.extend((circuit.num_variables as u32).to_le_bytes());
    header.extend(0u32.to_le_bytes()); // outputs
    header.extend(((circuit.num_instance - 1) as u32).to_le_bytes()); // public inputs
    header.extend(0u32.to_le_bytes()); // private inputs
    header.extend((circuit.num_variables as u64).to_le_bytes()); // labels
    header.extend((circuit.num_constraints() as u32).to_le_bytes());
    let mut constraints = Vec::new();
    for row in 0..circuit.num_constraints() {
        for m in circuit.matrices {
            constraints.extend((m[row].len() as u32).to_le_bytes());
            for (coeff, var) in &m[row] {
                constraints.extend((*var as u32).to_le_bytes());
                constraints.extend(fr_le(coeff));
            }
        }
    }
    let labels: Vec<u8> = (0..circuit.num_variables as u64)
        .flat_map(u64::to_le_bytes)
        .collect();
    ptau::write_container(b"r1cs", &[(1, header), (2, constraints), (3, labels)])
}

/// circom's `.wtns` (version 2) of a full assignment: the constant one, the public inputs, then
/// the witness, in the wire order of [`circom_r1cs`], each canonical little-endian. For `snarkjs
/// wtns check <shape>.r1cs` and `snarkjs groth16 prove <shape>.zkey`. It holds the prover's
/// secrets: whoever writes it keeps it private.
pub fn circom_wtns(full: &[Fr]) -> Vec<u8> {
    let mut header = Vec::with_capacity(40);
    header.extend(32u32.to_le_bytes());
    header.extend(le(&Fr::MODULUS));
    header.extend((full.len() as u32).to_le_bytes());
    let values: Vec<u8> = full.iter().flat_map(fr_le).collect();
    ptau::write_container_version(b"wtns", 2, &[(1, header), (2, values)])
}

/// Section 4 for a circuit: every A and B entry as `(matrix, row, variable, value)`, the
/// value times `R^2` as snarkjs's prover expects it, then one A entry per instance variable
/// (its copy row).
pub fn coefficients(circuit: &Circuit<'_>) -> Vec<u8> {
    let r2 = Fr::from(2u64).pow([512]);
    let mut entries = Vec::new();
    let mut put = |matrix: u32, row: usize, var: usize, value: &Fr| {
        entries.extend(matrix.to_le_bytes());
        entries.extend((row as u32).to_le_bytes());
        entries.extend((var as u32).to_le_bytes());
        entries.extend(fr_le(&(*value * r2)));
    };
    for row in 0..circuit.num_constraints() {
        for (matrix, m) in circuit.matrices.iter().take(2).enumerate() {
            for (coeff, var) in &m[row] {
                put(matrix as u32, row, *var, coeff);
            }
        }
    }
    for i in 0..circuit.num_instance {
        put(0, circuit.num_constraints() + i, i, &Fr::from(1u64));
    }
    let count = (entries.len() / (12 + 32)) as u32;
    let mut out = count.to_le_bytes().to_vec();
    out.extend(entries);
    out
}

/// The `.zkey` bytes of a transcript.
pub fn encode(t: &Transcript) -> Vec<u8> {
    let k = &t.key;
    let n_vars = k.a_query.len();
    let n_public = k.vk.gamma_abc_g1.len() - 1;
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend(32u32.to_le_bytes());
    header.extend(le(&Fq::MODULUS));
    header.extend(32u32.to_le_bytes());
    header.extend(le(&Fr::MODULUS));
    header.extend((n_vars as u32).to_le_bytes());
    header.extend((n_public as u32).to_le_bytes());
    header.extend((k.h_query.len() as u32).to_le_bytes());
    ptau::put_g1(&k.vk.alpha_g1, &mut header);
    ptau::put_g1(&k.beta_g1, &mut header);
    ptau::put_g2(&k.vk.beta_g2, &mut header);
    ptau::put_g2(&k.vk.gamma_g2, &mut header);
    ptau::put_g1(&k.delta_g1, &mut header);
    ptau::put_g2(&k.vk.delta_g2, &mut header);
    ptau::write_container(
        b"zkey",
        &[
            (1, 1u32.to_le_bytes().to_vec()),
            (2, header),
            (4, t.coefficients.clone()),
            (3, ptau::put_g1s(&k.vk.gamma_abc_g1)),
            (9, ptau::put_g1s(&k.h_query)),
            (8, ptau::put_g1s(&k.l_query)),
            (5, ptau::put_g1s(&k.a_query)),
            (6, ptau::put_g1s(&k.b_g1_query)),
            (7, ptau::put_g2s(&k.b_g2_query)),
            (10, ceremony_section(t)),
        ],
    )
}

fn ceremony_section(t: &Transcript) -> Vec<u8> {
    let mut out = t.cs_hash.to_vec();
    out.extend((t.contributions.len() as u32).to_le_bytes());
    for c in &t.contributions {
        ptau::put_g1(&c.delta_after, &mut out);
        ptau::put_g1(&c.knowledge.s, &mut out);
        ptau::put_g1(&c.knowledge.sx, &mut out);
        ptau::put_g2(&c.knowledge.rx, &mut out);
        out.extend(c.transcript);
        put_params(&mut out, &c.name, c.beacon.as_ref());
    }
    out
}

/// Reads a `.zkey` (snarkjs's or ours) as a transcript.
pub fn decode(bytes: &[u8]) -> Result<Transcript, CeremonyError> {
    let s = Sections::parse(bytes, b"zkey")?;
    if s.require(1, "protocol")? != 1u32.to_le_bytes() {
        return Err(format("protocol", "not a Groth16 key"));
    }
    let h = s.require(2, "header")?;
    if h.len() != HEADER_BYTES {
        return Err(format("header", "wrong length"));
    }
    let mut r = h;
    let field_ok = ptau::read_u32(&mut r, "header")? == 32
        && ptau::read_bytes(&mut r, 32, "header")? == le(&Fq::MODULUS).as_slice()
        && ptau::read_u32(&mut r, "header")? == 32
        && ptau::read_bytes(&mut r, 32, "header")? == le(&Fr::MODULUS).as_slice();
    if !field_ok {
        return Err(format("header", "not a BN254 key"));
    }
    let n_vars = ptau::read_u32(&mut r, "header")? as usize;
    let n_public = ptau::read_u32(&mut r, "header")? as usize;
    let domain = ptau::read_u32(&mut r, "header")?;
    if !domain.is_power_of_two() || domain.trailing_zeros() > MAX_DOMAIN_LOG {
        return Err(format(
            "header",
            "the domain size is not a power of two up to 2^28",
        ));
    }
    if n_vars <= n_public {
        return Err(format("header", "fewer variables than public inputs"));
    }
    let point = |at: usize, g2: bool| -> Result<&[u8], CeremonyError> {
        let len = if g2 { G2_BYTES } else { G1_BYTES };
        Ok(&r[at..at + len])
    };
    let g1 = |at| ptau::g1(point(at, false)?, "header");
    let g2 = |at| ptau::g2(point(at, true)?, "header");
    let (alpha_g1, beta_g1, beta_g2) = (g1(0)?, g1(64)?, g2(128)?);
    let (gamma_g2, delta_g1, delta_g2) = (g2(256)?, g1(384)?, g2(448)?);
    let section = |id: u32, n: usize, each: usize, field: &'static str| {
        let body = s.require(id, field)?;
        if Some(body.len()) != n.checked_mul(each) {
            return Err(format(field, "section length does not match the header"));
        }
        Ok(body)
    };
    let g1s = |id, n, field| ptau::g1s(section(id, n, G1_BYTES, field)?, n, field);
    let n_private = n_vars - n_public - 1;
    let key = ProvingKey {
        vk: VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1: g1s(3, n_public + 1, "IC")?,
        },
        beta_g1,
        delta_g1,
        a_query: g1s(5, n_vars, "A")?,
        b_g1_query: g1s(6, n_vars, "B1")?,
        b_g2_query: ptau::g2s(section(7, n_vars, G2_BYTES, "B2")?, n_vars, "B2")?,
        h_query: g1s(9, domain as usize, "H")?,
        l_query: g1s(8, n_private, "C")?,
    };
    let (cs_hash, contributions) = read_ceremony(s.require(10, "contributions")?)?;
    Ok(Transcript {
        cs_hash,
        coefficients: s.require(4, "coefficients")?.to_vec(),
        key,
        contributions,
    })
}

fn read_ceremony(mut b: &[u8]) -> Result<(Hash, Vec<Contribution>), CeremonyError> {
    let cs_hash = hash(&mut b, "circuit hash")?;
    let count = ptau::read_u32(&mut b, "contributions")? as usize;
    if count > b.len() / CONTRIBUTION_MIN {
        return Err(format("contributions", "more contributions than bytes"));
    }
    let mut contributions = Vec::with_capacity(count);
    for _ in 0..count {
        contributions.push(read_contribution(&mut b)?);
    }
    if !b.is_empty() {
        return Err(format("contributions", "trailing bytes"));
    }
    Ok((cs_hash, contributions))
}

fn hash(b: &mut &[u8], field: &'static str) -> Result<Hash, CeremonyError> {
    let bytes = ptau::read_bytes(b, 64, field)?;
    let mut h = [0u8; 64];
    h.copy_from_slice(bytes);
    Ok(h)
}

fn read_contribution(b: &mut &[u8]) -> Result<Contribution, CeremonyError> {
    let field = "contribution";
    let g1 = |b: &mut &[u8]| ptau::g1(ptau::read_bytes(b, G1_BYTES, field)?, field);
    let delta_after = g1(b)?;
    let s = g1(b)?;
    let sx = g1(b)?;
    let rx = ptau::g2(ptau::read_bytes(b, G2_BYTES, field)?, field)?;
    let transcript = hash(b, field)?;
    let (name, beacon) = read_params(b)?;
    Ok(Contribution {
        name,
        beacon,
        delta_after,
        knowledge: Knowledge { s, sx, rx },
        transcript,
    })
}

/// Appends a contribution record's tail as both snarkjs formats (`.ptau` section 7, `.zkey`
/// section 10) write it: its type (`u32`: 0 random, 1 beacon) and its parameters (`u32` length,
/// then 1 name, 2 beacon iterations log, 3 beacon value, each with a one-byte length).
pub(crate) fn put_params(out: &mut Vec<u8>, name: &str, beacon: Option<&Beacon>) {
    out.extend(u32::from(beacon.is_some()).to_le_bytes());
    let mut params = Vec::new();
    if !name.is_empty() {
        params.push(1);
        params.push(name.len() as u8);
        params.extend(name.as_bytes());
    }
    if let Some(b) = beacon {
        params.extend([2, b.iterations_log, 3, b.value.len() as u8]);
        params.extend(&b.value);
    }
    out.extend((params.len() as u32).to_le_bytes());
    out.extend(params);
}

/// Reads what [`put_params`] writes: the contributor's name and, for type 1, its beacon.
pub(crate) fn read_params(b: &mut &[u8]) -> Result<(String, Option<Beacon>), CeremonyError> {
    let field = "contribution parameters";
    let kind = ptau::read_u32(b, field)?;
    let len = ptau::read_u32(b, field)? as usize;
    let mut params = ptau::read_bytes(b, len, field)?;
    let (mut name, mut iterations, mut value) = (String::new(), None, None);
    let mut last = 0u8;
    while let Some((&tag, rest)) = params.split_first() {
        params = rest;
        if tag <= last {
            return Err(format(field, "parameters out of order"));
        }
        last = tag;
        match tag {
            1 => {
                let n = ptau::read_bytes(&mut params, 1, field)?[0] as usize;
                let bytes = ptau::read_bytes(&mut params, n, field)?;
                name = String::from_utf8(bytes.to_vec())
                    .map_err(|_| format(field, "the name is not UTF-8"))?;
            }
            2 => iterations = Some(ptau::read_bytes(&mut params, 1, field)?[0]),
            3 => {
                let n = ptau::read_bytes(&mut params, 1, field)?[0] as usize;
                value = Some(ptau::read_bytes(&mut params, n, field)?.to_vec());
            }
            _ => return Err(format(field, "unknown parameter")),
        }
    }
    let beacon = match (kind, iterations, value) {
        (0, None, None) => None,
        (1, Some(iterations_log), Some(value)) if !value.is_empty() => Some(Beacon {
            value,
            iterations_log,
        }),
        _ => {
            return Err(format(
                field,
                "a beacon's parameters are missing or misplaced",
            ))
        }
    };
    Ok((name, beacon))
}

/// Checks a contribution's name fits the file (at most [`MAX_NAME`] bytes).
pub fn check_name(name: &str) -> Result<(), CeremonyError> {
    if name.len() > MAX_NAME {
        return Err(CeremonyError::TooLarge {
            field: "contributor name (bytes)",
            found: name.len() as u64,
            max: MAX_NAME as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_file_is_circoms_layout() {
        let full = [Fr::from(1u64), Fr::from(0u64), -Fr::from(1u64)];
        let bytes = circom_wtns(&full);
        assert_eq!(&bytes[..4], b"wtns");
        assert_eq!(bytes[4..8], 2u32.to_le_bytes(), "version 2");
        assert_eq!(bytes[8..12], 2u32.to_le_bytes(), "two sections");
        // Section 1: id, length 40, n8 = 32, the prime, the count.
        assert_eq!(bytes[12..16], 1u32.to_le_bytes());
        assert_eq!(bytes[16..24], 40u64.to_le_bytes());
        assert_eq!(bytes[24..28], 32u32.to_le_bytes());
        assert_eq!(bytes[28..60], le(&Fr::MODULUS)[..]);
        assert_eq!(bytes[60..64], 3u32.to_le_bytes());
        // Section 2: the values, canonical (p - 1 is the modulus minus one, not Montgomery).
        assert_eq!(bytes[64..68], 2u32.to_le_bytes());
        assert_eq!(bytes[68..76], 96u64.to_le_bytes());
        let values = &bytes[76..];
        assert_eq!(values.len(), 96);
        assert_eq!(values[0], 1);
        assert!(values[1..64].iter().all(|b| *b == 0));
        let mut p_minus_one = le(&Fr::MODULUS);
        p_minus_one[0] -= 1;
        assert_eq!(&values[64..], &p_minus_one[..]);
    }
}
