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

/// The public inputs of one proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    /// Registry root per credential slot.
    pub roots: Vec<Fr>,
    /// The query hash.
    pub query_hash: Fr,
    /// The verifier's challenge.
    pub challenge: Fr,
    /// The scope's hash.
    pub scope: Fr,
    /// Today, days since 1970-01-01.
    pub today: u32,
    /// The holder's nullifier for the scope.
    pub nullifier: Fr,
    /// Revealed values, credential-major.
    pub revealed: Vec<Fr>,
}

impl PublicInputs {
    /// The inputs as field elements in [`Layout`] order.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let mut out = self.roots.clone();
        out.extend([
            self.query_hash,
            self.challenge,
            self.scope,
            Fr::from(self.today),
            self.nullifier,
        ]);
        out.extend_from_slice(&self.revealed);
        out
    }

    /// Reads field elements laid out for `shape`, refusing a wrong count or a `today` that is
    /// not a 32-bit day number.
    pub fn from_field_elements(shape: Shape, xs: &[Fr]) -> Result<PublicInputs, CoreError> {
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
        let today = ark_ff::PrimeField::into_bigint(xs[l.today()]).0;
        if today[1] != 0 || today[2] != 0 || today[3] != 0 || today[0] > u64::from(u32::MAX) {
            return Err(CoreError::Malformed {
                what: "public inputs".into(),
                reason: "today is not a day number".into(),
            });
        }
        Ok(PublicInputs {
            roots: xs[..shape.credentials].to_vec(),
            query_hash: xs[l.query_hash()],
            challenge: xs[l.challenge()],
            scope: xs[l.scope()],
            today: today[0] as u32,
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
        }
    }
}
