//! Groth16 verifying keys, proofs and public inputs in snarkjs's JSON formats
//! (`verification_key.json`, `proof.json`, `public.json`), so that anyone can check a dossier
//! proof with the tools this ecosystem already uses (`snarkjs groth16 verify`), and import back.
//!
//! Numbers are decimal strings; G1 points are `[x, y, "1"]` (affine, projective z = 1); G2
//! points are `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`. Imported points are validated (on the
//! curve and in the subgroup) like any untrusted input.

use crate::VerifyError;
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_groth16::{Proof, VerifyingKey};
use serde_json::{json, Value};

fn dec<F: PrimeField>(x: &F) -> String {
    x.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([dec(&x), dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([
            [dec(&x.c0), dec(&x.c1)],
            [dec(&y.c0), dec(&y.c1)],
            ["1", "0"]
        ]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

fn bad(what: &str) -> VerifyError {
    VerifyError::Malformed {
        what: format!("snarkjs {what}"),
        reason: "not a valid value".into(),
    }
}

fn fq(v: &Value) -> Result<Fq, VerifyError> {
    let s = v.as_str().ok_or_else(|| bad("number"))?;
    let n: num_bigint::BigUint = s.parse().map_err(|_| bad("number"))?;
    if n >= Fq::MODULUS.into() {
        return Err(VerifyError::Malformed {
            what: "snarkjs number".into(),
            reason: "not below the base field modulus".into(),
        });
    }
    Ok(Fq::from(n))
}

fn g1_from(v: &Value) -> Result<G1Affine, VerifyError> {
    let p = G1Affine::new_unchecked(fq(&v[0])?, fq(&v[1])?);
    if v[2] != "1" || !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(VerifyError::ProofEncoding(
            "a G1 point is not on the curve".into(),
        ));
    }
    Ok(p)
}

fn g2_from(v: &Value) -> Result<G2Affine, VerifyError> {
    let p = G2Affine::new_unchecked(
        Fq2::new(fq(&v[0][0])?, fq(&v[0][1])?),
        Fq2::new(fq(&v[1][0])?, fq(&v[1][1])?),
    );
    if v[2] != json!(["1", "0"])
        || !p.is_on_curve()
        || !p.is_in_correct_subgroup_assuming_on_curve()
    {
        return Err(VerifyError::ProofEncoding(
            "a G2 point is not on the curve or not in the subgroup".into(),
        ));
    }
    Ok(p)
}

/// `verification_key.json`.
pub fn verifying_key(vk: &VerifyingKey<Bn254>) -> Value {
    let alphabeta = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq12 = |x: &ark_bn254::Fq12| {
        json!([
            [
                [dec(&x.c0.c0.c0), dec(&x.c0.c0.c1)],
                [dec(&x.c0.c1.c0), dec(&x.c0.c1.c1)],
                [dec(&x.c0.c2.c0), dec(&x.c0.c2.c1)]
            ],
            [
                [dec(&x.c1.c0.c0), dec(&x.c1.c0.c1)],
                [dec(&x.c1.c1.c0), dec(&x.c1.c1.c1)],
                [dec(&x.c1.c2.c0), dec(&x.c1.c2.c1)]
            ]
        ])
    };
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "vk_alphabeta_12": fq12(&alphabeta),
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json`.
pub fn proof(p: &Proof<Bn254>) -> Value {
    json!({"pi_a": g1(&p.a), "pi_b": g2(&p.b), "pi_c": g1(&p.c), "protocol": "groth16", "curve": "bn128"})
}

/// `public.json`.
pub fn public(inputs: &[Fr]) -> Value {
    Value::Array(inputs.iter().map(|x| Value::String(dec(x))).collect())
}

/// Reads a snarkjs `proof.json`, validating its points.
pub fn proof_from(v: &Value) -> Result<Proof<Bn254>, VerifyError> {
    if v["protocol"] != "groth16" || v["curve"] != "bn128" {
        return Err(bad("proof (protocol or curve)"));
    }
    Ok(Proof {
        a: g1_from(&v["pi_a"])?,
        b: g2_from(&v["pi_b"])?,
        c: g1_from(&v["pi_c"])?,
    })
}

/// Reads a snarkjs `verification_key.json`, validating its points.
pub fn verifying_key_from(v: &Value) -> Result<VerifyingKey<Bn254>, VerifyError> {
    if v["protocol"] != "groth16" || v["curve"] != "bn128" {
        return Err(bad("verifying key (protocol or curve)"));
    }
    let ic = v["IC"]
        .as_array()
        .ok_or_else(|| bad("IC"))?
        .iter()
        .map(g1_from)
        .collect::<Result<Vec<_>, _>>()?;
    if ic.is_empty() || v["nPublic"].as_u64() != Some(ic.len() as u64 - 1) {
        return Err(bad("nPublic"));
    }
    Ok(VerifyingKey {
        alpha_g1: g1_from(&v["vk_alpha_1"])?,
        beta_g2: g2_from(&v["vk_beta_2"])?,
        gamma_g2: g2_from(&v["vk_gamma_2"])?,
        delta_g2: g2_from(&v["vk_delta_2"])?,
        gamma_abc_g1: ic,
    })
}

/// Reads a snarkjs `public.json`, refusing values at or above the scalar modulus.
pub fn public_from(v: &Value) -> Result<Vec<Fr>, VerifyError> {
    v.as_array()
        .ok_or_else(|| bad("public inputs"))?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            dossier_core::field::parse(&format!("public input {i}"), x.as_str().unwrap_or("-"))
                .map_err(|e| VerifyError::Malformed {
                    what: "snarkjs public inputs".into(),
                    reason: e.to_string(),
                })
        })
        .collect()
}
