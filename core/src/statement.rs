//! The public inputs of a statement, laid out once for prover, verifier and circuit alike.
//!
//! For a shape with M credentials and R reveals per credential, the public inputs are, in order:
//!
//! | offset | input |
//! |---|---|
//! | `0..M` | registry root of each credential slot (0 for an unused slot) |
//! | `M` | query hash |
//! | `M+1` | challenge |
//! | `M+2` | scope (`string_hash` of the scope text) |
//! | `M+3` | today (days since 1970-01-01) |
//! | `M+4` | nullifier `Poseidon(secret, scope)` |
//! | `M+5..M+5+M*R` | revealed values, credential-major (0 where nothing is revealed) |

use crate::query::Shape;
use crate::{CoreError, Fr};

/// Offsets of the public inputs for a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The shape.
    pub shape: Shape,
}

impl Layout {
    /// Offset of credential slot `m`'s registry root.
    pub const fn root(&self, m: usize) -> usize {
        m
    }
    /// Offset of the query hash.
    pub const fn query_hash(&self) -> usize {
        self.shape.credentials
    }
    /// Offset of the challenge.
    pub const fn challenge(&self) -> usize {
        self.shape.credentials + 1
    }
    /// Offset of the scope.
    pub const fn scope(&self) -> usize {
        self.shape.credentials + 2
    }
    /// Offset of today.
    pub const fn today(&self) -> usize {
        self.shape.credentials + 3
    }
    /// Offset of the nullifier.
    pub const fn nullifier(&self) -> usize {
        self.shape.credentials + 4
    }
    /// Offset of credential `m`'s reveal `r`.
    pub const fn revealed(&self, m: usize, r: usize) -> usize {
        self.shape.credentials + 5 + m * self.shape.reveals + r
    }
    /// How many public inputs.
    pub const fn len(&self) -> usize {
        self.shape.credentials + 5 + self.shape.credentials * self.shape.reveals
    }
    /// Never empty.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// A field the public inputs of a backend live in: BN254's scalar field for Groth16, the Pallas
/// base field for halo2. Values that come from the request (challenge, scope, today, revealed
/// values) are BN254 elements, carried over unchanged (BN254's r is below Pallas' p).
pub trait InputField: Copy + PartialEq + std::fmt::Debug + From<u64> {
    /// The value, if it is below 2^64.
    fn to_u64(&self) -> Option<u64>;
    /// A BN254 value in this field.
    fn from_bn254(x: &Fr) -> Self;
}

impl InputField for Fr {
    fn to_u64(&self) -> Option<u64> {
        let limbs = ark_ff::PrimeField::into_bigint(*self).0;
        (limbs[1] == 0 && limbs[2] == 0 && limbs[3] == 0).then_some(limbs[0])
    }
    fn from_bn254(x: &Fr) -> Fr {
        *x
    }
}

impl InputField for crate::pasta::Fp {
    fn to_u64(&self) -> Option<u64> {
        let bytes = crate::pasta::to_be_bytes(self);
        bytes[..24].iter().all(|b| *b == 0).then(|| {
            let mut low = [0u8; 8];
            low.copy_from_slice(&bytes[24..]);
            u64::from_be_bytes(low)
        })
    }
    fn from_bn254(x: &Fr) -> crate::pasta::Fp {
        crate::pasta::from_fr(x)
    }
}

/// The public inputs of one proof, in the backend's field (one definition for both backends,
/// their circuits, provers and verifiers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs<F = Fr> {
    /// Registry root per credential slot (the halo2 twin tree's root for halo2).
    pub roots: Vec<F>,
    /// The query hash.
    pub query_hash: F,
    /// The verifier's challenge.
    pub challenge: F,
    /// The scope's hash.
    pub scope: F,
    /// Today, days since 1970-01-01.
    pub today: u32,
    /// The holder's nullifier for the scope.
    pub nullifier: F,
    /// Revealed values, credential-major.
    pub revealed: Vec<F>,
}

impl<F: InputField> PublicInputs<F> {
    /// The inputs as field elements in [`Layout`] order.
    pub fn to_field_elements(&self) -> Vec<F> {
        let mut out = self.roots.clone();
        out.extend([
            self.query_hash,
            self.challenge,
            self.scope,
            F::from(u64::from(self.today)),
            self.nullifier,
        ]);
        out.extend_from_slice(&self.revealed);
        out
    }

    /// Reads field elements laid out for `shape`, refusing a wrong count or a `today` that is
    /// not a 32-bit day number.
    pub fn from_field_elements(shape: Shape, xs: &[F]) -> Result<PublicInputs<F>, CoreError> {
        let l = Layout { shape };
        if xs.len() != l.len() {
            return Err(CoreError::Malformed {
                what: "public inputs".into(),
                reason: format!(
                    "expected {} for shape {}, got {}",
                    l.len(),
                    shape.name(),
                    xs.len()
                ),
            });
        }
        let today = xs[l.today()]
            .to_u64()
            .and_then(|d| u32::try_from(d).ok())
            .ok_or_else(|| CoreError::Malformed {
                what: "public inputs".into(),
                reason: "today is not a day number".into(),
            })?;
        Ok(PublicInputs {
            roots: xs[..shape.credentials].to_vec(),
            query_hash: xs[l.query_hash()],
            challenge: xs[l.challenge()],
            scope: xs[l.scope()],
            today,
            nullifier: xs[l.nullifier()],
            revealed: xs[l.revealed(0, 0)..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::SHAPES;

    #[test]
    fn layout_round_trips() {
        for shape in SHAPES {
            let p = PublicInputs {
                roots: (0..shape.credentials as u64).map(Fr::from).collect(),
                query_hash: Fr::from(100u64),
                challenge: Fr::from(101u64),
                scope: Fr::from(102u64),
                today: 20_000,
                nullifier: Fr::from(103u64),
                revealed: (0..(shape.credentials * shape.reveals) as u64)
                    .map(|i| Fr::from(200 + i))
                    .collect(),
            };
            let xs = p.to_field_elements();
            let l = Layout { shape };
            assert_eq!(xs.len(), l.len());
            assert_eq!(xs[l.nullifier()], Fr::from(103u64));
            assert_eq!(
                PublicInputs::from_field_elements(shape, &xs).expect("valid"),
                p
            );
            assert!(PublicInputs::from_field_elements(shape, &xs[1..]).is_err());
            let mut late = xs.clone();
            late[l.today()] = Fr::from(1u64 << 32);
            assert!(PublicInputs::from_field_elements(shape, &late).is_err());
            // The same layout in the Pallas field.
            let ys: Vec<crate::pasta::Fp> = xs.iter().map(crate::pasta::from_fr).collect();
            let q = PublicInputs::from_field_elements(shape, &ys).expect("valid");
            assert_eq!(q.today, 20_000);
            assert_eq!(q.to_field_elements(), ys);
        }
    }
}
