//! Ledger entries: the one record of every registry change, in a fixed binary layout.
//!
//! ```text
//! entry   = version:u8 (=3) | kind:u8 | time:u64 (unix seconds) | body | signature:[u8; 64]
//! kind 1  IssuerRegistered  issuer_id:F | public_key:[u8; 32] | name_len:u16 | name:utf8
//! kind 2  Issue             issuer_id:F | schema_id:F | credential_id:u32 | commitment:F
//!                           | commitment_halo2:P | count:u8 | count * (member:u8 | sig:[u8; 64])
//! kind 3  Update            issuer_id:F | schema_id:F | credential_id:u32 | commitment:F
//!                           | commitment_halo2:P
//! kind 4  Revoke            issuer_id:F | credential_id:u32
//! kind 5  RegistryRoots     count:u32 | count * (issuer_id:F | root:F | root_halo2:P | live:u64)
//! kind 6  Ceremony          shape_len:u8 | shape:utf8 | vk_sha256:[u8; 32] | transcript:[u8; 64]
//!                           | count:u8 | count * contribution:[u8; 64]
//! kind 7  KeyRotated        subject | new_key:[u8; 32] | possession:[u8; 64]
//! kind 8  KeyRevoked        subject | revoked_key:[u8; 32] | from_entry:u64 | new_key:[u8; 32]
//!                           | possession:[u8; 64] | count:u8 | count * (key_id:u32 | sig:[u8; 64])
//! kind 9  AccreditorNamed   public_key:[u8; 32] | name_len:u16 | name:utf8
//! kind 10 Accredited        issuer_id:F | schema_id:F
//! kind 11 AccreditationWithdrawn issuer_id:F | schema_id:F | from_entry:u64
//! kind 12 CommitteeSet      issuer_id:F | schema_id:F | threshold:u8 | count:u8
//!                           | count * member_key:[u8; 32]
//! kind 13 BallotOpened      issuer_id:F | ballot_id:F | definition:[u8; 32] | roll:u64
//!                           | opens:u64 | closes:u64
//! kind 14 BallotTallied     issuer_id:F | ballot_id:F | ratings:[u8; 32] | appraisees:u16
//!                           | choices:u16 | appraisees * choices * count:u32
//! kind 15 RoundDeclared     issuer_id:F | round_id:F | unit:F | year:u32 | first:u32 | count:u32
//! kind 16 RuleAdopted       issuer_id:F | rule:[u8; 32] | from:u32 | name_len:u16 | name:utf8
//! kind 17 RuleFired         issuer_id:F | rule:[u8; 32] | credential_id:u32 | occasion:u64
//!                           | day:u32
//! kind 18 CampaignOpened    issuer_id:F | campaign:[u8; 32] | closes:u64 | name_len:u16 | name:utf8
//! kind 19 Applied           issuer_id:F | campaign:[u8; 32] | presentation:[u8; 32]
//!                           | nullifier:[u8; 32] | shortlisted:u8
//! subject = 0 (the ledger) | 1 issuer_id:F | 2 (the accreditation authority)
//! ```
//! Integers are big-endian; `F` is a BN254 scalar and `P` a Pallas base field element (the
//! halo2 twin tree's values, see [`crate::pasta`]), each as 32 big-endian bytes below its
//! modulus. Versions 1 (before the halo2 twin tree) and 2 (before schemas and committees) are
//! refused.
//! The signature is Ed25519 over `"dossier/ledger-entry/v1\n" || entry-without-signature`: by
//! the issuer's key (kinds 1-4; kind 1 is self-signed, proving possession) or by the ledger's key
//! (kind 5, written at every checkpoint; kind 6, a setup ceremony's record: the shape, the
//! SHA-256 of the verifying key it made, the transcript's hash and every contribution's hash,
//! as their contributors published them). Entries carry commitments, never personal data.
//!
//! **Keys rotate.** A `KeyRotated` entry is signed by the subject's key in force and names its
//! next one, which proves possession by signing [`possession_message`]; entries after it verify
//! only under the new key. A `KeyRevoked` entry retires a compromised key from entry
//! `from_entry` on (its entries from there are void) and names the replacement: the ledger's
//! key in force signs it (for the ledger's own key, the replacement does), and the witnesses
//! approve it by signing [`revocation_statement`] with their cosigning keys (key id and
//! signature); an auditor checks the approvals against its witness policy.
//!
//! **Who may issue what.** An issue or update names its credential's schema (a schema id is
//! public: a presentation names it too), so the audit can check it against the accreditation
//! authority's record. That authority names itself once, before any issuer registers
//! (`AccreditorNamed`, self-signed), and then accredits an issuer for a schema from that entry
//! on (`Accredited`) or withdraws it from an entry on (`AccreditationWithdrawn`; the issuer's
//! entries of that schema from there are unaccredited). On a ledger without an authority every
//! issuer may issue every schema (the embedded default before this round).
//!
//! **Committees.** An issuer may require k of n members' approvals for a schema
//! (`CommitteeSet`, signed by the issuer; a later one replaces it). An `Issue` of that schema
//! then carries the approvals: each member's index in the committee in force and its Ed25519
//! signature over [`approval_statement`], which names the credential's issuer, schema, id and
//! both commitments.
//!
//! **Ballots** (the anonymous peer rating, [`crate::ballot`]). An HR office opens a ballot
//! (`BallotOpened`, signed by the issuer): the SHA-256 of its published definition, the
//! checkpoint size whose roots are its roll, and its opening and closing times. When it closes
//! it publishes the tally (`BallotTallied`): the SHA-256 of the archive of accepted ratings and,
//! per appraisee, the count of each choice. Ratings themselves never reach the ledger: they
//! name no one, and anyone re-verifies them against the tally.
//!
//! **Appraisal rounds** ([`crate::round`]). An HR office declares a unit's appraisals of a
//! year (`RoundDeclared`, signed by the issuer): the unit's hash, the year, and the credential
//! ids `first .. first + count`, which must already be issued. Every appraisal the issuer issues
//! or updates must lie in one of its rounds (the audit lists those that do not), and the round's
//! quota is then proven in zero knowledge against a checkpoint's registry root.
//!
//! **Rules** (the workflow engine, `dossier-workflow`). An issuer adopts a rule file
//! (`RuleAdopted`, signed by the issuer): its SHA-256, its name and the day (days since
//! 1970-01-01) it is in force from; a later adoption of the same name replaces it from its own
//! day. Each action the engine takes is a `RuleFired` entry: the rule's hash, the credential
//! that made it due, the occasion (the due day of a date rule, the ledger index of an event
//! rule's entry) and the day the engine acted. Rule files hold no personal data, and an action
//! names a credential id, never a value.
//!
//! **Recruitment campaigns** (the seed's automatic review of application materials). A
//! recruiting office opens a campaign (`CampaignOpened`): the SHA-256 of its presentation
//! request (the requirement, challenge and scope) and its closing time. Every application
//! received before it closes is verified on arrival and recorded (`Applied`): the SHA-256 of
//! the presentation as archived, the candidate's nullifier for the campaign's scope (zero for
//! one that does not verify, whose claimed nullifier is not trusted) and whether it was
//! shortlisted. A regulator re-verifies the archive against these entries: exactly the
//! candidates who met the requirement were shortlisted, each once, none named.
//!
//! The log leaf is the whole entry (RFC 6962 leaf hash `SHA-256(0x00 || entry)`).

use crate::keys::{verify_strict, KeyPair};
use crate::pasta::{self, Fp};
use crate::{field, CoreError};
use ark_bn254::Fr;
use ed25519_dalek::VerifyingKey;

const VERSION: u8 = 3;
const SIGNING_CONTEXT: &[u8] = b"dossier/ledger-entry/v1\n";
/// The longest shape name a `Ceremony` entry carries.
pub const MAX_CEREMONY_SHAPE: usize = 64;
/// The most contributions a `Ceremony` entry carries.
pub const MAX_CEREMONY_CONTRIBUTIONS: usize = 64;
/// The most members a committee has (and the most approvals an issue carries).
pub const MAX_COMMITTEE: usize = 32;
/// The longest accreditation authority's name.
pub const MAX_NAME: usize = 100;
/// The most appraisees a ballot names.
pub const MAX_APPRAISEES: usize = 256;
/// The most choices a ballot offers (a score range 0-100 is 101).
pub const MAX_CHOICES: usize = 101;
/// The largest entry decoded (a RegistryRoots entry of 10,000 registries).
pub const MAX_ENTRY_BYTES: usize = 10 + 4 + 10_000 * 104 + 64;

/// A registry's root at a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryRoot {
    /// The issuer whose registry it is.
    pub issuer_id: Fr,
    /// The sparse Merkle root.
    pub root: Fr,
    /// The root of the registry's halo2 twin tree (same positions, Pasta commitments).
    pub root_halo2: Fp,
    /// How many credentials are live (issued and not revoked).
    pub live: u64,
}

/// Whose key a rotation or revocation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySubject {
    /// The ledger's own key (checkpoints, registry roots, ceremony records).
    Ledger,
    /// An issuer's key, by issuer id.
    Issuer(Fr),
    /// The accreditation authority's key (which issuers may issue which schemas).
    Accreditor,
}

impl KeySubject {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            KeySubject::Ledger => out.push(0),
            KeySubject::Issuer(id) => {
                out.push(1);
                out.extend_from_slice(&field::to_be_bytes(id));
            }
            KeySubject::Accreditor => out.push(2),
        }
    }
}

/// A witness's approval of a revocation: its cosigning key's id and its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The C2SP key id of the witness's cosigning key.
    pub key_id: u32,
    /// Ed25519 over [`revocation_statement`].
    pub signature: [u8; 64],
}

/// The most approvals a revocation carries.
pub const MAX_APPROVALS: usize = 32;

/// What a subject's next key signs to prove it holds it.
pub fn possession_message(subject: &KeySubject, new_key: &[u8; 32]) -> Vec<u8> {
    let mut out = b"dossier/key-possession/v1\n".to_vec();
    subject.put(&mut out);
    out.extend_from_slice(new_key);
    out
}

/// What witnesses sign to approve a revocation (domain-separated from their cosignatures,
/// which start `cosignature/v1`).
pub fn revocation_statement(
    subject: &KeySubject,
    revoked_key: &[u8; 32],
    from_entry: u64,
    new_key: &[u8; 32],
) -> Vec<u8> {
    let mut out = b"dossier/key-revocation/v1\n".to_vec();
    subject.put(&mut out);
    out.extend_from_slice(revoked_key);
    out.extend_from_slice(&from_entry.to_be_bytes());
    out.extend_from_slice(new_key);
    out
}

/// A committee member's approval of a credential: the member's index in the committee in force
/// and its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitteeApproval {
    /// The member's index in the committee's member list.
    pub member: u8,
    /// Ed25519 over [`approval_statement`].
    pub signature: [u8; 64],
}

/// What a committee member signs to approve a credential before it is issued: its issuer,
/// schema, id and both commitments (the commitment binds every field, the holder and the salt).
pub fn approval_statement(
    issuer_id: &Fr,
    schema_id: &Fr,
    credential_id: u32,
    commitment: &Fr,
    commitment_halo2: &Fp,
) -> Vec<u8> {
    let mut out = b"dossier/committee-approval/v1\n".to_vec();
    out.extend_from_slice(&field::to_be_bytes(issuer_id));
    out.extend_from_slice(&field::to_be_bytes(schema_id));
    out.extend_from_slice(&credential_id.to_be_bytes());
    out.extend_from_slice(&field::to_be_bytes(commitment));
    out.extend_from_slice(&pasta::to_be_bytes(commitment_halo2));
    out
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    /// A new issuer and its public key.
    IssuerRegistered {
        /// `string_hash(name)`.
        issuer_id: Fr,
        /// The issuer's Ed25519 public key.
        public_key: [u8; 32],
        /// The issuer's name.
        name: String,
    },
    /// A credential was issued.
    Issue {
        /// The issuer.
        issuer_id: Fr,
        /// Its schema.
        schema_id: Fr,
        /// Its id in the issuer's registry.
        credential_id: u32,
        /// Its commitment.
        commitment: Fr,
        /// Its Pasta commitment (the halo2 twin tree's leaf).
        commitment_halo2: Fp,
        /// The approvals of the schema's committee (empty when it has none).
        approvals: Vec<CommitteeApproval>,
    },
    /// A credential was replaced by a new version under the same id.
    Update {
        /// The issuer.
        issuer_id: Fr,
        /// Its (new version's) schema.
        schema_id: Fr,
        /// Its id in the issuer's registry.
        credential_id: u32,
        /// The new commitment.
        commitment: Fr,
        /// The new Pasta commitment.
        commitment_halo2: Fp,
    },
    /// A credential was revoked: its leaf is empty again.
    Revoke {
        /// The issuer.
        issuer_id: Fr,
        /// Its id in the issuer's registry.
        credential_id: u32,
    },
    /// Every registry's root at a checkpoint, signed by the ledger.
    RegistryRoots {
        /// The roots, ordered by issuer id.
        roots: Vec<RegistryRoot>,
    },
    /// A subject's key is replaced by the next one, signed by the key in force.
    KeyRotated {
        /// Whose key.
        subject: KeySubject,
        /// The next key (Ed25519 public key).
        new_key: [u8; 32],
        /// The next key's signature over [`possession_message`].
        possession: [u8; 64],
    },
    /// A compromised key is retired from an entry on, by the ledger with witnesses' approval.
    KeyRevoked {
        /// Whose key.
        subject: KeySubject,
        /// The compromised key.
        revoked_key: [u8; 32],
        /// The first entry no longer trusted under it.
        from_entry: u64,
        /// The replacement.
        new_key: [u8; 32],
        /// The replacement's signature over [`possession_message`].
        possession: [u8; 64],
        /// Witnesses' signatures over [`revocation_statement`].
        approvals: Vec<Approval>,
    },
    /// A Groth16 setup ceremony's result for one shape, signed by the ledger: what a verifier
    /// pinning that key checks by inclusion proof.
    Ceremony {
        /// The shape's name.
        shape: String,
        /// SHA-256 of the verifying key the ceremony made (as the params manifest pins it).
        vk_sha256: [u8; 32],
        /// The transcript's hash (BLAKE2b-512 of the circuit hash and every contribution, as
        /// snarkjs chains them).
        transcript: [u8; 64],
        /// Every contribution's hash (BLAKE2b-512, as snarkjs prints it), in order.
        contributions: Vec<[u8; 64]>,
    },
    /// The accreditation authority names itself (self-signed), once, before any issuer.
    AccreditorNamed {
        /// Its Ed25519 public key.
        public_key: [u8; 32],
        /// Its name.
        name: String,
    },
    /// The authority accredits an issuer for a schema from this entry on.
    Accredited {
        /// The issuer.
        issuer_id: Fr,
        /// The schema.
        schema_id: Fr,
    },
    /// The authority withdraws an accreditation from an entry on.
    AccreditationWithdrawn {
        /// The issuer.
        issuer_id: Fr,
        /// The schema.
        schema_id: Fr,
        /// The first entry no longer accredited (not after this one).
        from_entry: u64,
    },
    /// An issuer requires `threshold` of `members`' approvals for each credential of a schema.
    CommitteeSet {
        /// The issuer.
        issuer_id: Fr,
        /// The schema.
        schema_id: Fr,
        /// How many approvals an issue needs (1 to the number of members).
        threshold: u8,
        /// The members' Ed25519 public keys, distinct.
        members: Vec<[u8; 32]>,
    },
    /// An HR office opens a ballot of anonymous peer rating.
    BallotOpened {
        /// The HR office (the issuer of the raters' employment credentials).
        issuer_id: Fr,
        /// `string_hash(name)`.
        ballot_id: Fr,
        /// SHA-256 of the ballot's canonical definition (`Ballot::definition_hash`).
        definition: [u8; 32],
        /// The checkpoint size whose registry roots are the roll (who may rate).
        roll: u64,
        /// Ratings are accepted from this time (unix seconds) ...
        opens: u64,
        /// ... until this one (excluded).
        closes: u64,
    },
    /// A closed ballot's tally.
    BallotTallied {
        /// The HR office.
        issuer_id: Fr,
        /// The ballot.
        ballot_id: Fr,
        /// SHA-256 of the archive of accepted ratings (`ballot::ratings_hash`).
        ratings: [u8; 32],
        /// Per appraisee (the definition's order), the count of each choice (lowest first);
        /// every row has the same length.
        counts: Vec<Vec<u32>>,
    },
    /// An HR office declares an appraisal round: a unit's appraisals of one year.
    RoundDeclared {
        /// The HR office.
        issuer_id: Fr,
        /// `Round::id`.
        round_id: Fr,
        /// The unit's hash (the appraisal's `unit` slot).
        unit: Fr,
        /// The year.
        year: u32,
        /// The round's first credential id.
        first: u32,
        /// How many appraisals.
        count: u32,
    },
    /// An issuer adopts a rule: from `from` on, its engine acts by it.
    RuleAdopted {
        /// The issuer whose engine runs the rule.
        issuer_id: Fr,
        /// SHA-256 of the rule file.
        rule: [u8; 32],
        /// The first day it is in force (days since 1970-01-01).
        from: u32,
        /// The rule's name: a later adoption of the same name replaces it.
        name: String,
    },
    /// An action the engine took by a rule.
    RuleFired {
        /// The issuer whose engine acted.
        issuer_id: Fr,
        /// SHA-256 of the rule file it acted by.
        rule: [u8; 32],
        /// The credential that made it due.
        credential_id: u32,
        /// The due day of a date rule, or the ledger index of an event rule's entry.
        occasion: u64,
        /// The day the engine acted (days since 1970-01-01).
        day: u32,
    },
    /// A recruiting office opens a campaign.
    CampaignOpened {
        /// The recruiting office.
        issuer_id: Fr,
        /// SHA-256 of the campaign's presentation request (its id).
        campaign: [u8; 32],
        /// Applications are taken until this time (unix seconds, excluded).
        closes: u64,
        /// The campaign's name.
        name: String,
    },
    /// An application received and verified.
    Applied {
        /// The recruiting office.
        issuer_id: Fr,
        /// The campaign.
        campaign: [u8; 32],
        /// SHA-256 of the presentation, as archived.
        presentation: [u8; 32],
        /// The candidate's nullifier in the campaign's scope; zero when it did not verify.
        nullifier: [u8; 32],
        /// Whether it verified and was shortlisted.
        shortlisted: bool,
    },
}

impl EntryBody {
    fn kind(&self) -> u8 {
        match self {
            EntryBody::IssuerRegistered { .. } => 1,
            EntryBody::Issue { .. } => 2,
            EntryBody::Update { .. } => 3,
            EntryBody::Revoke { .. } => 4,
            EntryBody::RegistryRoots { .. } => 5,
            EntryBody::Ceremony { .. } => 6,
            EntryBody::KeyRotated { .. } => 7,
            EntryBody::KeyRevoked { .. } => 8,
            EntryBody::AccreditorNamed { .. } => 9,
            EntryBody::Accredited { .. } => 10,
            EntryBody::AccreditationWithdrawn { .. } => 11,
            EntryBody::CommitteeSet { .. } => 12,
            EntryBody::BallotOpened { .. } => 13,
            EntryBody::BallotTallied { .. } => 14,
            EntryBody::RoundDeclared { .. } => 15,
            EntryBody::RuleAdopted { .. } => 16,
            EntryBody::RuleFired { .. } => 17,
            EntryBody::CampaignOpened { .. } => 18,
            EntryBody::Applied { .. } => 19,
        }
    }

    /// The kind's name, for reports.
    pub fn kind_name(&self) -> &'static str {
        match self {
            EntryBody::IssuerRegistered { .. } => "issuer_registered",
            EntryBody::Issue { .. } => "issue",
            EntryBody::Update { .. } => "update",
            EntryBody::Revoke { .. } => "revoke",
            EntryBody::RegistryRoots { .. } => "registry_roots",
            EntryBody::Ceremony { .. } => "ceremony",
            EntryBody::KeyRotated { .. } => "key_rotated",
            EntryBody::KeyRevoked { .. } => "key_revoked",
            EntryBody::AccreditorNamed { .. } => "accreditor_named",
            EntryBody::Accredited { .. } => "accredited",
            EntryBody::AccreditationWithdrawn { .. } => "accreditation_withdrawn",
            EntryBody::CommitteeSet { .. } => "committee_set",
            EntryBody::BallotOpened { .. } => "ballot_opened",
            EntryBody::BallotTallied { .. } => "ballot_tallied",
            EntryBody::RoundDeclared { .. } => "round_declared",
            EntryBody::RuleAdopted { .. } => "rule_adopted",
            EntryBody::RuleFired { .. } => "rule_fired",
            EntryBody::CampaignOpened { .. } => "campaign_opened",
            EntryBody::Applied { .. } => "applied",
        }
    }

    /// The issuer an entry of kinds 1-4 and 12-19 belongs to (and whose key signs it).
    pub fn issuer_id(&self) -> Option<Fr> {
        match self {
            EntryBody::IssuerRegistered { issuer_id, .. }
            | EntryBody::Issue { issuer_id, .. }
            | EntryBody::Update { issuer_id, .. }
            | EntryBody::Revoke { issuer_id, .. }
            | EntryBody::CommitteeSet { issuer_id, .. }
            | EntryBody::BallotOpened { issuer_id, .. }
            | EntryBody::BallotTallied { issuer_id, .. }
            | EntryBody::RoundDeclared { issuer_id, .. }
            | EntryBody::RuleAdopted { issuer_id, .. }
            | EntryBody::RuleFired { issuer_id, .. }
            | EntryBody::CampaignOpened { issuer_id, .. }
            | EntryBody::Applied { issuer_id, .. } => Some(*issuer_id),
            EntryBody::RegistryRoots { .. }
            | EntryBody::Ceremony { .. }
            | EntryBody::KeyRotated { .. }
            | EntryBody::KeyRevoked { .. }
            | EntryBody::AccreditorNamed { .. }
            | EntryBody::Accredited { .. }
            | EntryBody::AccreditationWithdrawn { .. } => None,
        }
    }

    /// A committee, refused unless its members are 1 to [`MAX_COMMITTEE`] distinct keys and the
    /// threshold is 1 to their number.
    pub fn committee(
        issuer_id: Fr,
        schema_id: Fr,
        threshold: u8,
        members: Vec<[u8; 32]>,
    ) -> Result<EntryBody, CoreError> {
        check_committee(threshold, &members)?;
        Ok(EntryBody::CommitteeSet {
            issuer_id,
            schema_id,
            threshold,
            members,
        })
    }
}

/// A signed ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When it was written, unix seconds.
    pub time: u64,
    /// What changed.
    pub body: EntryBody,
    /// Ed25519 signature (see the module doc).
    pub signature: [u8; 64],
}

fn unsigned_bytes(time: u64, body: &EntryBody) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    out.push(VERSION);
    out.push(body.kind());
    out.extend_from_slice(&time.to_be_bytes());
    match body {
        EntryBody::IssuerRegistered {
            issuer_id,
            public_key,
            name,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(public_key);
            put_name(&mut out, name);
        }
        EntryBody::Issue {
            issuer_id,
            schema_id,
            credential_id,
            commitment,
            commitment_halo2,
            approvals,
        } => {
            put_leaf(
                &mut out,
                [issuer_id, schema_id],
                *credential_id,
                commitment,
                commitment_halo2,
            );
            out.push(approvals.len() as u8);
            for a in approvals {
                out.push(a.member);
                out.extend_from_slice(&a.signature);
            }
        }
        EntryBody::Update {
            issuer_id,
            schema_id,
            credential_id,
            commitment,
            commitment_halo2,
        } => put_leaf(
            &mut out,
            [issuer_id, schema_id],
            *credential_id,
            commitment,
            commitment_halo2,
        ),
        EntryBody::Revoke {
            issuer_id,
            credential_id,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&credential_id.to_be_bytes());
        }
        EntryBody::RegistryRoots { roots } => {
            out.extend_from_slice(&(roots.len() as u32).to_be_bytes());
            for r in roots {
                out.extend_from_slice(&field::to_be_bytes(&r.issuer_id));
                out.extend_from_slice(&field::to_be_bytes(&r.root));
                out.extend_from_slice(&pasta::to_be_bytes(&r.root_halo2));
                out.extend_from_slice(&r.live.to_be_bytes());
            }
        }
        EntryBody::Ceremony {
            shape,
            vk_sha256,
            transcript,
            contributions,
        } => {
            out.push(shape.len() as u8);
            out.extend_from_slice(shape.as_bytes());
            out.extend_from_slice(vk_sha256);
            out.extend_from_slice(transcript);
            out.push(contributions.len() as u8);
            for c in contributions {
                out.extend_from_slice(c);
            }
        }
        EntryBody::KeyRotated {
            subject,
            new_key,
            possession,
        } => {
            subject.put(&mut out);
            out.extend_from_slice(new_key);
            out.extend_from_slice(possession);
        }
        EntryBody::KeyRevoked {
            subject,
            revoked_key,
            from_entry,
            new_key,
            possession,
            approvals,
        } => {
            subject.put(&mut out);
            out.extend_from_slice(revoked_key);
            out.extend_from_slice(&from_entry.to_be_bytes());
            out.extend_from_slice(new_key);
            out.extend_from_slice(possession);
            out.push(approvals.len() as u8);
            for a in approvals {
                out.extend_from_slice(&a.key_id.to_be_bytes());
                out.extend_from_slice(&a.signature);
            }
        }
        EntryBody::AccreditorNamed { public_key, name } => {
            out.extend_from_slice(public_key);
            put_name(&mut out, name);
        }
        EntryBody::Accredited {
            issuer_id,
            schema_id,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&field::to_be_bytes(schema_id));
        }
        EntryBody::AccreditationWithdrawn {
            issuer_id,
            schema_id,
            from_entry,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&field::to_be_bytes(schema_id));
            out.extend_from_slice(&from_entry.to_be_bytes());
        }
        EntryBody::CommitteeSet {
            issuer_id,
            schema_id,
            threshold,
            members,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&field::to_be_bytes(schema_id));
            out.push(*threshold);
            out.push(members.len() as u8);
            for m in members {
                out.extend_from_slice(m);
            }
        }
        EntryBody::BallotOpened {
            issuer_id,
            ballot_id,
            definition,
            roll,
            opens,
            closes,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&field::to_be_bytes(ballot_id));
            out.extend_from_slice(definition);
            for n in [roll, opens, closes] {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        EntryBody::BallotTallied {
            issuer_id,
            ballot_id,
            ratings,
            counts,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(&field::to_be_bytes(ballot_id));
            out.extend_from_slice(ratings);
            let choices = counts.first().map_or(0, Vec::len);
            out.extend_from_slice(&(counts.len() as u16).to_be_bytes());
            out.extend_from_slice(&(choices as u16).to_be_bytes());
            for n in counts.iter().flatten() {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        EntryBody::RoundDeclared {
            issuer_id,
            round_id,
            unit,
            year,
            first,
            count,
        } => {
            for f in [issuer_id, round_id, unit] {
                out.extend_from_slice(&field::to_be_bytes(f));
            }
            for n in [year, first, count] {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        EntryBody::RuleAdopted {
            issuer_id,
            rule,
            from,
            name,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(rule);
            out.extend_from_slice(&from.to_be_bytes());
            put_name(&mut out, name);
        }
        EntryBody::RuleFired {
            issuer_id,
            rule,
            credential_id,
            occasion,
            day,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(rule);
            out.extend_from_slice(&credential_id.to_be_bytes());
            out.extend_from_slice(&occasion.to_be_bytes());
            out.extend_from_slice(&day.to_be_bytes());
        }
        EntryBody::CampaignOpened {
            issuer_id,
            campaign,
            closes,
            name,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(campaign);
            out.extend_from_slice(&closes.to_be_bytes());
            put_name(&mut out, name);
        }
        EntryBody::Applied {
            issuer_id,
            campaign,
            presentation,
            nullifier,
            shortlisted,
        } => {
            out.extend_from_slice(&field::to_be_bytes(issuer_id));
            out.extend_from_slice(campaign);
            out.extend_from_slice(presentation);
            out.extend_from_slice(nullifier);
            out.push(u8::from(*shortlisted));
        }
    }
    out
}

/// A name as entries carry it: `name_len:u16 | name:utf8` (bounded by its kind when made).
fn put_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
}

fn check_tally(counts: &[Vec<u32>]) -> Result<(), CoreError> {
    let choices = counts.first().map_or(0, Vec::len);
    if counts.is_empty() || counts.len() > MAX_APPRAISEES {
        return Err(malformed("a tally has 1 to 256 appraisees"));
    }
    if !(2..=MAX_CHOICES).contains(&choices) || counts.iter().any(|row| row.len() != choices) {
        return Err(malformed(
            "a tally has 2 to 101 choices, as many for every appraisee",
        ));
    }
    Ok(())
}

/// A registry leaf's fields, as issues and updates write them.
fn put_leaf(
    out: &mut Vec<u8>,
    ids: [&Fr; 2],
    credential_id: u32,
    commitment: &Fr,
    commitment_halo2: &Fp,
) {
    for id in ids {
        out.extend_from_slice(&field::to_be_bytes(id));
    }
    out.extend_from_slice(&credential_id.to_be_bytes());
    out.extend_from_slice(&field::to_be_bytes(commitment));
    out.extend_from_slice(&pasta::to_be_bytes(commitment_halo2));
}

fn check_committee(threshold: u8, members: &[[u8; 32]]) -> Result<(), CoreError> {
    if members.is_empty() || members.len() > MAX_COMMITTEE {
        return Err(malformed("a committee has 1 to 32 members"));
    }
    if threshold == 0 || threshold as usize > members.len() {
        return Err(malformed(
            "a committee's threshold is 1 to its number of members",
        ));
    }
    if (0..members.len()).any(|i| members[..i].contains(&members[i])) {
        return Err(malformed("a committee names a member twice"));
    }
    Ok(())
}

fn signing_message(unsigned: &[u8]) -> Vec<u8> {
    [SIGNING_CONTEXT, unsigned].concat()
}

/// A cursor over entry bytes that refuses to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CoreError> {
        if self.bytes.len() < n {
            return Err(malformed("truncated"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CoreError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn field(&mut self, what: &str) -> Result<Fr, CoreError> {
        field::from_be_bytes(what, &self.array::<32>()?)
    }
    fn pasta(&mut self, what: &str) -> Result<Fp, CoreError> {
        pasta::from_be_bytes(what, &self.array::<32>()?)
    }
    fn subject(&mut self) -> Result<KeySubject, CoreError> {
        match self.array::<1>()?[0] {
            0 => Ok(KeySubject::Ledger),
            1 => Ok(KeySubject::Issuer(self.field("issuer id")?)),
            2 => Ok(KeySubject::Accreditor),
            _ => Err(malformed("unknown key subject")),
        }
    }
    fn byte(&mut self) -> Result<u8, CoreError> {
        Ok(self.array::<1>()?[0])
    }
    fn name(&mut self, max: usize) -> Result<String, CoreError> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        if len > max {
            return Err(malformed("name too long"));
        }
        Ok(std::str::from_utf8(self.take(len)?)
            .map_err(|_| malformed("name is not UTF-8"))?
            .to_string())
    }
}

fn malformed(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "ledger entry".into(),
        reason: reason.to_string(),
    }
}

impl EntryBody {
    /// A ballot's tally, refused unless it has 1 to [`MAX_APPRAISEES`] rows of 2 to
    /// [`MAX_CHOICES`] counts each, all of one length.
    pub fn ballot_tallied(
        issuer_id: Fr,
        ballot_id: Fr,
        ratings: [u8; 32],
        counts: Vec<Vec<u32>>,
    ) -> Result<EntryBody, CoreError> {
        check_tally(&counts)?;
        Ok(EntryBody::BallotTallied {
            issuer_id,
            ballot_id,
            ratings,
            counts,
        })
    }

    /// A ceremony record, refused when the shape name or the contribution list is longer than
    /// an entry carries.
    pub fn ceremony(
        shape: &str,
        vk_sha256: [u8; 32],
        transcript: [u8; 64],
        contributions: Vec<[u8; 64]>,
    ) -> Result<EntryBody, CoreError> {
        if shape.len() > MAX_CEREMONY_SHAPE || contributions.len() > MAX_CEREMONY_CONTRIBUTIONS {
            return Err(malformed("ceremony record too large"));
        }
        Ok(EntryBody::Ceremony {
            shape: shape.to_string(),
            vk_sha256,
            transcript,
            contributions,
        })
    }
}

impl Entry {
    /// Builds and signs an entry.
    pub fn sign(time: u64, body: EntryBody, key: &KeyPair) -> Entry {
        let signature = key.sign_bytes(&signing_message(&unsigned_bytes(time, &body)));
        Entry {
            time,
            body,
            signature,
        }
    }

    /// The entry's bytes, the log's leaf data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = unsigned_bytes(self.time, &self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes an entry strictly: known version and kind, canonical field elements, exact length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, CoreError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(malformed("too large"));
        }
        let mut r = Reader { bytes };
        let [version, kind] = r.array::<2>()?;
        if version != VERSION {
            return Err(malformed("unknown version"));
        }
        let time = u64::from_be_bytes(r.array()?);
        let body = match kind {
            1 => EntryBody::IssuerRegistered {
                issuer_id: r.field("issuer id")?,
                public_key: r.array::<32>()?,
                name: r.name(usize::from(u16::MAX))?,
            },
            2 | 3 => {
                let issuer_id = r.field("issuer id")?;
                let schema_id = r.field("schema id")?;
                let credential_id = u32::from_be_bytes(r.array()?);
                let commitment = r.field("commitment")?;
                let commitment_halo2 = r.pasta("commitment_halo2")?;
                if kind == 2 {
                    let count = r.byte()? as usize;
                    if count > MAX_COMMITTEE {
                        return Err(malformed("too many approvals"));
                    }
                    let mut approvals = Vec::with_capacity(count);
                    for _ in 0..count {
                        approvals.push(CommitteeApproval {
                            member: r.byte()?,
                            signature: r.array()?,
                        });
                    }
                    EntryBody::Issue {
                        issuer_id,
                        schema_id,
                        credential_id,
                        commitment,
                        commitment_halo2,
                        approvals,
                    }
                } else {
                    EntryBody::Update {
                        issuer_id,
                        schema_id,
                        credential_id,
                        commitment,
                        commitment_halo2,
                    }
                }
            }
            4 => EntryBody::Revoke {
                issuer_id: r.field("issuer id")?,
                credential_id: u32::from_be_bytes(r.array()?),
            },
            5 => {
                let count = u32::from_be_bytes(r.array()?) as usize;
                if count > 10_000 {
                    return Err(malformed("too many registries"));
                }
                let mut roots = Vec::with_capacity(count);
                for _ in 0..count {
                    roots.push(RegistryRoot {
                        issuer_id: r.field("issuer id")?,
                        root: r.field("registry root")?,
                        root_halo2: r.pasta("registry root (halo2)")?,
                        live: u64::from_be_bytes(r.array()?),
                    });
                }
                EntryBody::RegistryRoots { roots }
            }
            6 => {
                let len = r.array::<1>()?[0] as usize;
                if len > MAX_CEREMONY_SHAPE {
                    return Err(malformed("shape name too long"));
                }
                let shape = std::str::from_utf8(r.take(len)?)
                    .map_err(|_| malformed("shape name is not UTF-8"))?
                    .to_string();
                let vk_sha256 = r.array::<32>()?;
                let transcript = r.array::<64>()?;
                let count = r.array::<1>()?[0] as usize;
                if count > MAX_CEREMONY_CONTRIBUTIONS {
                    return Err(malformed("too many contributions"));
                }
                let mut contributions = Vec::with_capacity(count);
                for _ in 0..count {
                    contributions.push(r.array::<64>()?);
                }
                EntryBody::Ceremony {
                    shape,
                    vk_sha256,
                    transcript,
                    contributions,
                }
            }
            7 => EntryBody::KeyRotated {
                subject: r.subject()?,
                new_key: r.array()?,
                possession: r.array()?,
            },
            8 => {
                let subject = r.subject()?;
                let revoked_key = r.array()?;
                let from_entry = u64::from_be_bytes(r.array()?);
                let new_key = r.array()?;
                let possession = r.array()?;
                let count = r.array::<1>()?[0] as usize;
                if count > MAX_APPROVALS {
                    return Err(malformed("too many approvals"));
                }
                let mut approvals = Vec::with_capacity(count);
                for _ in 0..count {
                    approvals.push(Approval {
                        key_id: u32::from_be_bytes(r.array()?),
                        signature: r.array()?,
                    });
                }
                EntryBody::KeyRevoked {
                    subject,
                    revoked_key,
                    from_entry,
                    new_key,
                    possession,
                    approvals,
                }
            }
            9 => EntryBody::AccreditorNamed {
                public_key: r.array()?,
                name: r.name(MAX_NAME)?,
            },
            10 => EntryBody::Accredited {
                issuer_id: r.field("issuer id")?,
                schema_id: r.field("schema id")?,
            },
            11 => EntryBody::AccreditationWithdrawn {
                issuer_id: r.field("issuer id")?,
                schema_id: r.field("schema id")?,
                from_entry: u64::from_be_bytes(r.array()?),
            },
            12 => {
                let issuer_id = r.field("issuer id")?;
                let schema_id = r.field("schema id")?;
                let threshold = r.byte()?;
                let count = r.byte()? as usize;
                if count > MAX_COMMITTEE {
                    return Err(malformed("too many committee members"));
                }
                let mut members = Vec::with_capacity(count);
                for _ in 0..count {
                    members.push(r.array()?);
                }
                check_committee(threshold, &members)?;
                EntryBody::CommitteeSet {
                    issuer_id,
                    schema_id,
                    threshold,
                    members,
                }
            }
            13 => EntryBody::BallotOpened {
                issuer_id: r.field("issuer id")?,
                ballot_id: r.field("ballot id")?,
                definition: r.array()?,
                roll: u64::from_be_bytes(r.array()?),
                opens: u64::from_be_bytes(r.array()?),
                closes: u64::from_be_bytes(r.array()?),
            },
            14 => {
                let issuer_id = r.field("issuer id")?;
                let ballot_id = r.field("ballot id")?;
                let ratings = r.array()?;
                let rows = u16::from_be_bytes(r.array()?) as usize;
                let choices = u16::from_be_bytes(r.array()?) as usize;
                // Bounded before anything is allocated from them.
                if rows == 0 || rows > MAX_APPRAISEES || !(2..=MAX_CHOICES).contains(&choices) {
                    return Err(malformed("a tally's dimensions are out of bounds"));
                }
                let mut counts = Vec::with_capacity(rows);
                for _ in 0..rows {
                    let mut row = Vec::with_capacity(choices);
                    for _ in 0..choices {
                        row.push(u32::from_be_bytes(r.array()?));
                    }
                    counts.push(row);
                }
                EntryBody::BallotTallied {
                    issuer_id,
                    ballot_id,
                    ratings,
                    counts,
                }
            }
            15 => EntryBody::RoundDeclared {
                issuer_id: r.field("issuer id")?,
                round_id: r.field("round id")?,
                unit: r.field("unit")?,
                year: u32::from_be_bytes(r.array()?),
                first: u32::from_be_bytes(r.array()?),
                count: u32::from_be_bytes(r.array()?),
            },
            16 => EntryBody::RuleAdopted {
                issuer_id: r.field("issuer id")?,
                rule: r.array()?,
                from: u32::from_be_bytes(r.array()?),
                name: r.name(MAX_NAME)?,
            },
            17 => EntryBody::RuleFired {
                issuer_id: r.field("issuer id")?,
                rule: r.array()?,
                credential_id: u32::from_be_bytes(r.array()?),
                occasion: u64::from_be_bytes(r.array()?),
                day: u32::from_be_bytes(r.array()?),
            },
            18 => EntryBody::CampaignOpened {
                issuer_id: r.field("issuer id")?,
                campaign: r.array()?,
                closes: u64::from_be_bytes(r.array()?),
                name: r.name(MAX_NAME)?,
            },
            19 => EntryBody::Applied {
                issuer_id: r.field("issuer id")?,
                campaign: r.array()?,
                presentation: r.array()?,
                nullifier: r.array()?,
                shortlisted: match r.byte()? {
                    0 => false,
                    1 => true,
                    _ => return Err(malformed("shortlisted is 0 or 1")),
                },
            },
            _ => return Err(malformed("unknown kind")),
        };
        let signature = r.array::<64>()?;
        if !r.bytes.is_empty() {
            return Err(malformed("trailing bytes"));
        }
        Ok(Entry {
            time,
            body,
            signature,
        })
    }

    /// Checks the signature against the key that should have made it.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CoreError> {
        let msg = signing_message(&unsigned_bytes(self.time, &self.body));
        verify_strict(key, &msg, &self.signature, self.body.kind_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> KeyPair {
        KeyPair::generate("hr.example", &mut rand::thread_rng()).expect("key")
    }

    fn arb_field() -> impl Strategy<Value = Fr> {
        any::<[u8; 32]>().prop_map(|b| field::from_digest(&b))
    }

    fn arb_body() -> impl Strategy<Value = EntryBody> {
        prop_oneof![
            (arb_field(), any::<[u8; 32]>(), "[a-z.]{1,40}").prop_map(
                |(issuer_id, public_key, name)| {
                    EntryBody::IssuerRegistered {
                        issuer_id,
                        public_key,
                        name,
                    }
                }
            ),
            (
                arb_field(),
                any::<u32>(),
                arb_field(),
                arb_field(),
                proptest::collection::vec(any::<u8>(), 0..4)
            )
                .prop_map(|(issuer_id, credential_id, commitment, c2, members)| {
                    EntryBody::Issue {
                        issuer_id,
                        schema_id: c2,
                        credential_id,
                        commitment,
                        commitment_halo2: pasta::hash([pasta::from_fr(&c2)]),
                        approvals: members
                            .into_iter()
                            .map(|member| CommitteeApproval {
                                member,
                                signature: [member ^ 0x5a; 64],
                            })
                            .collect(),
                    }
                }),
            (arb_field(), any::<u32>(), arb_field(), arb_field()).prop_map(
                |(issuer_id, credential_id, commitment, c2)| {
                    EntryBody::Update {
                        issuer_id,
                        schema_id: commitment,
                        credential_id,
                        commitment,
                        commitment_halo2: pasta::hash([pasta::from_fr(&c2)]),
                    }
                }
            ),
            (any::<[u8; 32]>(), "[a-z.]{1,40}")
                .prop_map(|(public_key, name)| EntryBody::AccreditorNamed { public_key, name }),
            (
                arb_field(),
                arb_field(),
                any::<[u8; 32]>(),
                any::<[u64; 3]>()
            )
                .prop_map(
                    |(issuer_id, ballot_id, definition, [roll, opens, closes])| {
                        EntryBody::BallotOpened {
                            issuer_id,
                            ballot_id,
                            definition,
                            roll,
                            opens,
                            closes,
                        }
                    }
                ),
            (
                arb_field(),
                arb_field(),
                any::<[u8; 32]>(),
                1usize..4,
                2usize..6,
                any::<u32>()
            )
                .prop_map(|(issuer_id, ballot_id, ratings, rows, choices, seed)| {
                    EntryBody::BallotTallied {
                        issuer_id,
                        ballot_id,
                        ratings,
                        counts: (0..rows)
                            .map(|r| {
                                (0..choices)
                                    .map(|c| seed.wrapping_mul(r as u32 + 1) ^ c as u32)
                                    .collect()
                            })
                            .collect(),
                    }
                }),
            (arb_field(), arb_field(), arb_field(), any::<[u32; 3]>()).prop_map(
                |(issuer_id, round_id, unit, [year, first, count])| EntryBody::RoundDeclared {
                    issuer_id,
                    round_id,
                    unit,
                    year,
                    first,
                    count,
                }
            ),
            (
                arb_field(),
                any::<[u8; 32]>(),
                any::<u64>(),
                "[a-z0-9-]{1,40}"
            )
                .prop_map(|(issuer_id, campaign, closes, name)| {
                    EntryBody::CampaignOpened {
                        issuer_id,
                        campaign,
                        closes,
                        name,
                    }
                }),
            (
                arb_field(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                any::<bool>()
            )
                .prop_map(
                    |(issuer_id, campaign, presentation, nullifier, shortlisted)| {
                        EntryBody::Applied {
                            issuer_id,
                            campaign,
                            presentation,
                            nullifier,
                            shortlisted,
                        }
                    }
                ),
            (arb_field(), any::<[u8; 32]>(), any::<u32>(), "[a-z-]{1,40}").prop_map(
                |(issuer_id, rule, from, name)| EntryBody::RuleAdopted {
                    issuer_id,
                    rule,
                    from,
                    name,
                }
            ),
            (
                arb_field(),
                any::<[u8; 32]>(),
                any::<u32>(),
                any::<u64>(),
                any::<u32>()
            )
                .prop_map(|(issuer_id, rule, credential_id, occasion, day)| {
                    EntryBody::RuleFired {
                        issuer_id,
                        rule,
                        credential_id,
                        occasion,
                        day,
                    }
                }),
            (arb_field(), arb_field()).prop_map(|(issuer_id, schema_id)| EntryBody::Accredited {
                issuer_id,
                schema_id
            }),
            (arb_field(), arb_field(), any::<u64>()).prop_map(
                |(issuer_id, schema_id, from_entry)| EntryBody::AccreditationWithdrawn {
                    issuer_id,
                    schema_id,
                    from_entry
                }
            ),
            (arb_field(), arb_field(), 1usize..6, any::<u8>()).prop_map(
                |(issuer_id, schema_id, n, t)| EntryBody::committee(
                    issuer_id,
                    schema_id,
                    1 + t % n as u8,
                    (0..n).map(|i| [i as u8 + 1; 32]).collect()
                )
                .expect("a valid committee")
            ),
            (arb_field(), any::<u32>()).prop_map(|(issuer_id, credential_id)| {
                EntryBody::Revoke {
                    issuer_id,
                    credential_id,
                }
            }),
            proptest::collection::vec((arb_field(), arb_field(), any::<u64>()), 0..5).prop_map(
                |v| {
                    EntryBody::RegistryRoots {
                        roots: v
                            .into_iter()
                            .map(|(issuer_id, root, live)| RegistryRoot {
                                issuer_id,
                                root,
                                root_halo2: pasta::hash([pasta::from_fr(&root)]),
                                live,
                            })
                            .collect(),
                    }
                }
            ),
            (
                "[a-z0-9]{0,64}",
                any::<[u8; 32]>(),
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..8)
            )
                .prop_map(|(shape, vk_sha256, transcript, contributions)| {
                    let wide = |h: [u8; 32]| {
                        let mut w = [0u8; 64];
                        w[..32].copy_from_slice(&h);
                        w[32..].copy_from_slice(&h.map(|b| b ^ 0xa5));
                        w
                    };
                    EntryBody::Ceremony {
                        shape,
                        vk_sha256,
                        transcript: wide(transcript),
                        contributions: contributions.into_iter().map(wide).collect(),
                    }
                }),
            (
                arb_field(),
                any::<bool>(),
                any::<[u8; 32]>(),
                any::<[u8; 32]>()
            )
                .prop_map(|(id, ledger, new_key, sig)| {
                    EntryBody::KeyRotated {
                        subject: if ledger {
                            KeySubject::Ledger
                        } else {
                            KeySubject::Issuer(id)
                        },
                        new_key,
                        possession: [sig, new_key].concat().try_into().expect("64 bytes"),
                    }
                }),
            (
                arb_field(),
                any::<[u8; 32]>(),
                any::<u64>(),
                proptest::collection::vec(any::<u32>(), 0..4)
            )
                .prop_map(|(id, key, from_entry, ids)| EntryBody::KeyRevoked {
                    subject: KeySubject::Issuer(id),
                    revoked_key: key,
                    from_entry,
                    new_key: key.map(|b| b ^ 1),
                    possession: [7; 64],
                    approvals: ids
                        .into_iter()
                        .map(|key_id| Approval {
                            key_id,
                            signature: [key_id as u8; 64],
                        })
                        .collect(),
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip_and_any_flipped_bit_is_caught(body in arb_body(), time in any::<u64>(), bit in any::<usize>()) {
            let k = key();
            let e = Entry::sign(time, body, &k);
            let bytes = e.to_bytes();
            let back = Entry::from_bytes(&bytes).expect("decodes");
            prop_assert_eq!(&back, &e);
            prop_assert!(back.verify(&k.public()).is_ok());
            let mut flipped = bytes.clone();
            let i = bit % (flipped.len() * 8);
            flipped[i / 8] ^= 1 << (i % 8);
            if let Ok(t) = Entry::from_bytes(&flipped) {
                prop_assert!(t.verify(&k.public()).is_err());
            }
        }
    }

    #[test]
    fn tallies_are_bounded_when_made_and_when_read() {
        let (i, b) = (Fr::from(1u64), Fr::from(2u64));
        let tally = |rows: usize, choices: usize| {
            EntryBody::ballot_tallied(i, b, [0; 32], vec![vec![0; choices]; rows])
        };
        assert!(tally(0, 4).is_err(), "no appraisee");
        assert!(tally(1, 1).is_err(), "one choice");
        assert!(
            tally(MAX_APPRAISEES + 1, 4).is_err(),
            "one appraisee too many"
        );
        assert!(tally(1, MAX_CHOICES + 1).is_err(), "one choice too many");
        let ragged = EntryBody::ballot_tallied(i, b, [0; 32], vec![vec![0; 4], vec![0; 3]]);
        assert!(ragged.is_err(), "rows of different lengths");
        // The largest tally fits an entry and reads back.
        let largest = tally(MAX_APPRAISEES, MAX_CHOICES).expect("largest");
        let e = Entry::sign(7, largest, &key());
        assert_eq!(Entry::from_bytes(&e.to_bytes()).expect("decodes"), e);
        // Dimensions read from bytes are bounded before any allocation: a forged header of
        // 65,535 x 65,535 counts is refused, not allocated.
        let mut bytes = Entry::sign(7, tally(1, 2).expect("small"), &key()).to_bytes();
        let dims = 2 + 8 + 32 + 32 + 32;
        bytes[dims..dims + 4].copy_from_slice(&[0xff; 4]);
        assert!(Entry::from_bytes(&bytes).is_err());
    }

    #[test]
    fn committees_are_checked_when_made_and_when_read() {
        let (i, s) = (Fr::from(1u64), Fr::from(2u64));
        assert!(EntryBody::committee(i, s, 1, vec![]).is_err(), "no member");
        assert!(
            EntryBody::committee(i, s, 0, vec![[1; 32]]).is_err(),
            "threshold 0"
        );
        assert!(
            EntryBody::committee(i, s, 3, vec![[1; 32], [2; 32]]).is_err(),
            "threshold above the members"
        );
        assert!(
            EntryBody::committee(i, s, 1, vec![[1; 32], [1; 32]]).is_err(),
            "a member twice"
        );
        assert!(EntryBody::committee(i, s, 1, vec![[1; 32]; 33]).is_err());
        let k = key();
        let e = Entry::sign(
            1,
            EntryBody::committee(i, s, 2, vec![[1; 32], [2; 32], [3; 32]]).expect("valid"),
            &k,
        );
        let b = e.to_bytes();
        assert_eq!(Entry::from_bytes(&b).expect("decodes"), e);
        // A threshold byte of 0, or above the members, is refused on reading too.
        let threshold_at = 2 + 8 + 32 + 32;
        for bad in [0u8, 4, 255] {
            let mut t = b.clone();
            t[threshold_at] = bad;
            assert!(Entry::from_bytes(&t).is_err(), "threshold {bad}");
        }
        // Two members alike.
        let mut t = b.clone();
        let first = threshold_at + 2;
        t.copy_within(first..first + 32, first + 32);
        assert!(Entry::from_bytes(&t).is_err(), "a repeated member");
    }

    #[test]
    fn approval_statements_differ_in_every_field() {
        let (i, s, c, h) = (Fr::from(1u64), Fr::from(2u64), Fr::from(3u64), Fp::from(4));
        let base = approval_statement(&i, &s, 7, &c, &h);
        assert!(base.starts_with(b"dossier/committee-approval/v1\n"));
        for other in [
            approval_statement(&s, &i, 7, &c, &h),
            approval_statement(&i, &c, 7, &c, &h),
            approval_statement(&i, &s, 8, &c, &h),
            approval_statement(&i, &s, 7, &s, &h),
            approval_statement(&i, &s, 7, &c, &Fp::from(5)),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn ceremony_records_are_bounded() {
        assert!(EntryBody::ceremony(&"s".repeat(65), [0; 32], [0; 64], vec![]).is_err());
        assert!(EntryBody::ceremony("m1", [0; 32], [0; 64], vec![[1; 64]; 65]).is_err());
        let k = key();
        let e = Entry::sign(
            1,
            EntryBody::ceremony("m1p4k4r2", [2; 32], [3; 64], vec![[4; 64]; 3]).expect("fits"),
            &k,
        );
        let mut b = e.to_bytes();
        assert_eq!(Entry::from_bytes(&b).expect("decodes"), e);
        // A count byte claiming more contributions than the entry holds, or more than allowed.
        let count_at = 2 + 8 + 1 + 8 + 32 + 64;
        b[count_at] = 4;
        assert!(Entry::from_bytes(&b).is_err(), "truncated list");
        b[count_at] = 200;
        assert!(Entry::from_bytes(&b).is_err(), "over the limit");
    }

    #[test]
    fn strict_decoding() {
        let k = key();
        let e = Entry::sign(
            1,
            EntryBody::Revoke {
                issuer_id: Fr::from(1u64),
                credential_id: 2,
            },
            &k,
        );
        let mut b = e.to_bytes();
        b.push(0);
        assert!(Entry::from_bytes(&b).is_err(), "trailing byte");
        let b = e.to_bytes();
        assert!(Entry::from_bytes(&b[..b.len() - 1]).is_err(), "truncated");
        let mut b = e.to_bytes();
        b[10..42].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            Entry::from_bytes(&b),
            Err(CoreError::NonCanonical { .. })
        ));
        let other = key();
        assert!(e.verify(&other.public()).is_err());
        let mut b = e.to_bytes();
        b[0] = 1;
        assert!(
            Entry::from_bytes(&b).is_err(),
            "version 1 (before the halo2 twin)"
        );
        b[0] = 2;
        assert!(
            Entry::from_bytes(&b).is_err(),
            "version 2 (before schemas and committees)"
        );
        // A Pasta commitment >= the Pallas modulus is refused, not reduced.
        let issue = Entry::sign(
            1,
            EntryBody::Issue {
                issuer_id: Fr::from(1u64),
                schema_id: Fr::from(5u64),
                credential_id: 2,
                commitment: Fr::from(3u64),
                commitment_halo2: Fp::from(4),
                approvals: Vec::new(),
            },
            &k,
        );
        let mut b = issue.to_bytes();
        b[110..142].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            Entry::from_bytes(&b),
            Err(CoreError::NonCanonical { .. })
        ));
    }
}
