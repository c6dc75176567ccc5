//! The public inputs of a statement, laid out once for prover, verifier and circuit alike, and
//! the witness both backends' circuits are given, built once ([`StatementWitness::build`]).
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

use crate::credential::{Credential, Offered, SLOTS};
use crate::holder::HolderSecret;
use crate::pasta;
use crate::query::{EncodedQuery, Shape, Unsatisfied};
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

/// The private inputs of one credential slot, in the backend's field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialWitness<F = Fr> {
    /// Schema id in the commitment.
    pub schema_id: F,
    /// Issuer id in the commitment.
    pub issuer_id: F,
    /// The holder commitment in the commitment (the halo2 one for halo2).
    pub holder: F,
    /// Packed `id | issued_at << 32 | expires_at << 64`.
    pub validity: F,
    /// The salt.
    pub salt: F,
    /// The seven slots.
    pub slots: [F; SLOTS],
    /// The membership path's siblings in the backend's tree, leaf level first.
    pub siblings: Vec<F>,
}

impl<F: InputField> CredentialWitness<F> {
    /// An all-zero credential (unused slots, and key generation).
    pub fn blank() -> CredentialWitness<F> {
        let zero = F::from(0u64);
        CredentialWitness {
            schema_id: zero,
            issuer_id: zero,
            holder: zero,
            validity: zero,
            salt: zero,
            slots: [zero; SLOTS],
            siblings: vec![zero; crate::REGISTRY_DEPTH],
        }
    }
}

/// Everything a statement's circuit is given, in the backend's field: one definition for both
/// backends, built by one [`StatementWitness::build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementWitness<F = Fr> {
    /// The holder's secret.
    pub secret: F,
    /// The encoded query (`EncodedQuery::to_field_elements`, in this field).
    pub query: Vec<F>,
    /// Exactly M credential slots.
    pub credentials: Vec<CredentialWitness<F>>,
    /// The public inputs.
    pub public: PublicInputs<F>,
}

/// What building a witness needs of a backend beyond its field: the holder commitment a
/// credential carries for it, its membership tree and its hashes. Implemented for BN254
/// (Groth16: circomlib Poseidon) and Pallas (halo2: Pasta Poseidon).
pub trait WitnessField: InputField {
    /// The holder's commitment in this backend.
    fn holder_commitment(secret: &HolderSecret) -> Self;
    /// The holder commitment a credential carries for this backend.
    fn holder_of(credential: &Credential) -> Self;
    /// Why a credential's holder commitment does not match (names no value).
    const OTHER_HOLDER: &'static str;
    /// The credential's membership path (siblings, root) in this backend's tree, checked to
    /// lead from the credential's commitment to the root.
    fn membership(offered: &Offered) -> Result<(Vec<Self>, Self), &'static str>;
    /// The query hash in this backend.
    fn query_hash(query: &EncodedQuery) -> Result<Self, CoreError>;
    /// The encoded query's elements in this field.
    fn query_elements(query: &EncodedQuery) -> Vec<Self>;
    /// The holder's nullifier for a scope in this backend.
    fn nullifier(secret: &HolderSecret, scope: Fr) -> Self;
}

impl WitnessField for Fr {
    fn holder_commitment(secret: &HolderSecret) -> Fr {
        secret.commitment()
    }
    fn holder_of(credential: &Credential) -> Fr {
        credential.holder
    }
    const OTHER_HOLDER: &'static str = "it is bound to another holder";
    fn membership(o: &Offered) -> Result<(Vec<Fr>, Fr), &'static str> {
        if o.siblings.len() != crate::REGISTRY_DEPTH {
            return Err("its membership path is malformed");
        }
        let id = o.credential.credential_id;
        let reached =
            o.siblings
                .iter()
                .enumerate()
                .fold(o.credential.commitment(), |cur, (level, sib)| {
                    if (id >> level) & 1 == 1 {
                        crate::poseidon::hash2(*sib, cur)
                    } else {
                        crate::poseidon::hash2(cur, *sib)
                    }
                });
        if reached != o.root {
            return Err("its membership path does not lead to the registry root");
        }
        Ok((o.siblings.clone(), o.root))
    }
    fn query_hash(query: &EncodedQuery) -> Result<Fr, CoreError> {
        query.hash()
    }
    fn query_elements(query: &EncodedQuery) -> Vec<Fr> {
        query.to_field_elements()
    }
    fn nullifier(secret: &HolderSecret, scope: Fr) -> Fr {
        secret.nullifier(scope)
    }
}

impl WitnessField for pasta::Fp {
    fn holder_commitment(secret: &HolderSecret) -> pasta::Fp {
        secret.commitment_halo2()
    }
    fn holder_of(credential: &Credential) -> pasta::Fp {
        credential.holder_halo2
    }
    const OTHER_HOLDER: &'static str = "it carries no halo2 holder commitment of this holder \
        (issued without one, or to another holder)";
    fn membership(o: &Offered) -> Result<(Vec<pasta::Fp>, pasta::Fp), &'static str> {
        let path = o
            .halo2
            .as_ref()
            .filter(|p| p.siblings.len() == crate::REGISTRY_DEPTH)
            .ok_or("its halo2 membership path is missing or malformed")?;
        let c = &o.credential;
        if pasta::root_from_path(c.commitment_halo2(), c.credential_id, &path.siblings) != path.root
        {
            return Err("its halo2 membership path does not lead to the twin registry root");
        }
        Ok((path.siblings.clone(), path.root))
    }
    fn query_hash(query: &EncodedQuery) -> Result<pasta::Fp, CoreError> {
        Ok(query.hash_halo2())
    }
    fn query_elements(query: &EncodedQuery) -> Vec<pasta::Fp> {
        query.to_pasta_elements()
    }
    fn nullifier(secret: &HolderSecret, scope: Fr) -> pasta::Fp {
        secret.nullifier_halo2(scope)
    }
}

impl<F: WitnessField> StatementWitness<F> {
    /// A witness of the right shape with every value zero: for key generation, where values
    /// are never read.
    pub fn blank(shape: Shape) -> StatementWitness<F> {
        let zero = F::from(0u64);
        StatementWitness {
            secret: zero,
            query: vec![zero; shape.query_len()],
            credentials: vec![CredentialWitness::blank(); shape.credentials],
            public: PublicInputs {
                roots: vec![zero; shape.credentials],
                query_hash: zero,
                challenge: zero,
                scope: zero,
                today: 0,
                nullifier: zero,
                revealed: vec![zero; shape.credentials * shape.reveals],
            },
        }
    }

    /// Builds the witness for a query from the holder's secret and credentials (in query
    /// order), checking natively everything the circuit will check: the query's predicates,
    /// expiry, issue day, sum and distinctness ([`EncodedQuery::check_offered`]), then, in this
    /// backend, each credential's holder binding and membership path.
    pub fn build(
        query: &EncodedQuery,
        secret: &HolderSecret,
        offered: &[Offered],
        challenge: Fr,
        scope: Fr,
        today: u32,
    ) -> Result<StatementWitness<F>, CoreError> {
        query.check_offered(offered, today)?;
        let holder = F::holder_commitment(secret);
        let mut credentials = Vec::with_capacity(query.shape.credentials);
        let mut roots = Vec::with_capacity(query.shape.credentials);
        for (m, qc) in query.credentials.iter().enumerate() {
            let Some(o) = offered.get(m).filter(|_| qc.active) else {
                credentials.push(CredentialWitness::blank());
                roots.push(F::from(0u64));
                continue;
            };
            let (credential, root) =
                Self::slot(o, holder).map_err(|reason| Unsatisfied::Credential {
                    index: m,
                    reason: reason.to_string(),
                })?;
            credentials.push(credential);
            roots.push(root);
        }
        let public = PublicInputs {
            roots,
            query_hash: F::query_hash(query)?,
            challenge: F::from_bn254(&challenge),
            scope: F::from_bn254(&scope),
            today,
            nullifier: F::nullifier(secret, scope),
            revealed: query.revealed(offered).iter().map(F::from_bn254).collect(),
        };
        Ok(StatementWitness {
            secret: F::from_bn254(&secret.expose()),
            query: F::query_elements(query),
            credentials,
            public,
        })
    }

    /// One active slot: the credential bound to this holder, its path, its root.
    fn slot(o: &Offered, holder: F) -> Result<(CredentialWitness<F>, F), &'static str> {
        let c = &o.credential;
        if F::holder_of(c) != holder {
            return Err(F::OTHER_HOLDER);
        }
        let (siblings, root) = F::membership(o)?;
        let credential = CredentialWitness {
            schema_id: F::from_bn254(&c.schema_id),
            issuer_id: F::from_bn254(&c.issuer_id),
            holder: F::holder_of(c),
            validity: F::from_bn254(&c.validity()),
            salt: F::from_bn254(&c.salt),
            slots: c.slots.map(|s| F::from_bn254(&s)),
            siblings,
        };
        Ok((credential, root))
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
