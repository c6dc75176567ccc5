//! Who may issue what, and how many must agree: the accreditation authority's record of which
//! issuers may issue which schemas, and committees that must approve each credential of a
//! schema before it enters the registry.
//!
//! The authority names itself on the ledger before any issuer registers
//! ([`Store::name_accreditor`]); from then on an issue or update of a schema its issuer is not
//! accredited for is refused here (and flagged by the audit if a store let one through). A
//! committee ([`Store::set_committee`]) makes direct issuance of its schema impossible: a
//! credential is proposed ([`Store::propose`]: its id and salt are fixed, so the members
//! approve the exact commitment), each member approves it with their own key
//! ([`Store::approve`]), and [`Store::finalize_with`] issues it, with the approvals on its
//! ledger entry, once the threshold of the committee in force is met.
//!
//! Tables: `accreditations` (issuer id, schema id) -> the entry that granted it;
//! `committees` (issuer id, schema id) -> threshold | members; `proposals` id -> a proposal
//! (JSON: the credential's opening, its Pasta commitment, the approvals so far). Proposals hold
//! credential values and salts: they live in the store file, readable by its owner only.

pub(crate) mod replay;

use crate::db::{
    append_entries, append_entry, apply_both, record_from_json, record_json, IssuerInfo, ISSUERS,
    META,
};
use crate::kv::{Readable, Reading, TableDef, WriteTxn};
use crate::{Store, StoreError};
use dossier_core::credential::{CredentialOpening, EncodedClaim};
use dossier_core::entry::{approval_statement, CommitteeApproval, Entry, EntryBody};
use dossier_core::keys::{public_from_bytes, verify_strict, KeyPair};
use dossier_core::pasta::{self, Fp};
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use serde::{Deserialize, Serialize};

/// `accreditations`: (issuer id, schema id) -> index of the entry that granted it.
pub const ACCREDITATIONS: TableDef<([u8; 32], [u8; 32]), u64> = TableDef::new("accreditations");
/// `committees`: (issuer id, schema id) -> threshold:u8 | members:[u8; 32]*.
pub const COMMITTEES: TableDef<([u8; 32], [u8; 32]), &[u8]> = TableDef::new("committees");
/// `proposals`: proposal id -> JSON [`Proposal`].
pub const PROPOSALS: TableDef<u64, &str> = TableDef::new("proposals");

/// The accreditation authority as the ledger named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accreditor {
    /// Its name.
    pub name: String,
    /// Its Ed25519 public key in force.
    pub public_key: [u8; 32],
}

/// A committee in force for one issuer's schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    /// Approvals an issue needs.
    pub threshold: u8,
    /// The members' public keys, in the order the ledger lists them.
    pub members: Vec<[u8; 32]>,
}

impl Committee {
    fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![self.threshold];
        for m in &self.members {
            b.extend_from_slice(m);
        }
        b
    }

    fn from_bytes(b: &[u8]) -> Result<Committee, StoreError> {
        let (threshold, rest) = b.split_first().ok_or_else(corrupt_committee)?;
        if rest.len() % 32 != 0 {
            return Err(corrupt_committee());
        }
        Ok(Committee {
            threshold: *threshold,
            members: rest
                .chunks_exact(32)
                .map(|c| {
                    let mut k = [0u8; 32];
                    k.copy_from_slice(c);
                    k
                })
                .collect(),
        })
    }

    /// The approvals of `proposal` that count under this committee, as ledger approvals
    /// (member index and signature), in member order.
    fn counted(&self, proposal: &Proposal) -> Result<Vec<CommitteeApproval>, StoreError> {
        let mut out = Vec::new();
        for (index, member) in self.members.iter().enumerate() {
            let Some(a) = proposal
                .approvals
                .iter()
                .find(|a| a.member == hex::encode(member))
            else {
                continue;
            };
            out.push(CommitteeApproval {
                member: index as u8,
                signature: decode_signature(&a.signature)?,
            });
        }
        Ok(out)
    }
}

fn corrupt_committee() -> StoreError {
    StoreError::Ledger {
        reason: "a committee record is corrupt".into(),
    }
}

/// A credential waiting for its committee's approvals.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The proposal's id.
    pub id: u64,
    /// The credential, fixed (id and salt included), as its holder will receive it.
    pub opening: CredentialOpening,
    /// Its Pasta commitment (the halo2 twin leaf), hex.
    pub commitment_halo2: String,
    /// When it was proposed, unix seconds.
    pub proposed_at: u64,
    /// The approvals so far.
    pub approvals: Vec<ProposalApproval>,
}

/// One member's approval of a proposal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalApproval {
    /// The member's public key, hex.
    pub member: String,
    /// Ed25519 over the approval statement, hex.
    pub signature: String,
}

impl Proposal {
    fn twin(&self) -> Result<Fp, StoreError> {
        Ok(pasta::parse("commitment_halo2", &self.commitment_halo2)?)
    }

    /// What each member signs: the credential's issuer, schema, id and both commitments.
    pub fn statement(&self) -> Result<Vec<u8>, StoreError> {
        let o = &self.opening;
        Ok(approval_statement(
            &o.issuer_id,
            &o.schema_id,
            o.credential_id,
            &o.commitment,
            &self.twin()?,
        ))
    }
}

fn decode_signature(hex_sig: &str) -> Result<[u8; 64], StoreError> {
    let mut s = [0u8; 64];
    hex::decode_to_slice(hex_sig, &mut s).map_err(|_| StoreError::Ledger {
        reason: "a stored approval is corrupt".into(),
    })?;
    Ok(s)
}

fn pair(issuer_id: &Fr, schema_id: &Fr) -> ([u8; 32], [u8; 32]) {
    (field::to_be_bytes(issuer_id), field::to_be_bytes(schema_id))
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

/// What the write transactions of issuance check first: the issuer is accredited for the
/// schema (when the ledger has an authority) and, unless the credential comes through its
/// committee, the schema has no committee. Returns the committee, if any.
pub(crate) fn check_may_issue(
    txn: &WriteTxn,
    info: &IssuerInfo,
    schema_id: &Fr,
    schema: &str,
    through_committee: bool,
) -> Result<Option<Committee>, StoreError> {
    let has_authority = txn.open_table(META)?.get("accreditor_key")?.is_some();
    let key = pair(&info.issuer_id, schema_id);
    if has_authority && txn.open_table(ACCREDITATIONS)?.get(key)?.is_none() {
        return Err(StoreError::NotAccredited {
            issuer: info.name.clone(),
            schema: schema.to_string(),
        });
    }
    let committee = match txn.open_table(COMMITTEES)?.get(key)? {
        Some(v) => Some(Committee::from_bytes(v.value())?),
        None => None,
    };
    if committee.is_some() && !through_committee {
        return Err(StoreError::CommitteeRequired {
            issuer: info.name.clone(),
            schema: schema.to_string(),
        });
    }
    Ok(committee)
}

impl Store {
    /// Names the accreditation authority (its key's name is its name): a self-signed entry,
    /// refused once any issuer is registered or an authority is named.
    pub fn name_accreditor(&self, key: &KeyPair, time: u64) -> Result<u64, StoreError> {
        let txn = self.raw().begin_write()?;
        if txn.open_table(META)?.get("accreditor_key")?.is_some() {
            return Err(refused(
                "this ledger already has an accreditation authority",
            ));
        }
        if txn.open_table(ISSUERS)?.len()? > 0 {
            return Err(refused(
                "the accreditation authority is named before any issuer registers",
            ));
        }
        let public_key = key.public().to_bytes();
        let entry = Entry::sign(
            time,
            EntryBody::AccreditorNamed {
                public_key,
                name: key.name().to_string(),
            },
            key,
        );
        let size = append_entries(&txn, &[entry.to_bytes()])?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("accreditor_key", hex::encode(public_key).as_str())?;
            meta.insert("accreditor_name", key.name())?;
        }
        txn.commit()?;
        Ok(size - 1)
    }

    /// A write transaction on behalf of the accreditation authority, and the issuer concerned.
    fn write_as_accreditor(
        &self,
        key: &KeyPair,
        issuer: &str,
    ) -> Result<(WriteTxn, IssuerInfo), StoreError> {
        let txn = self.raw().begin_write()?;
        let current = txn
            .open_table(META)?
            .get("accreditor_key")?
            .map(|v| v.value().to_string());
        match current {
            None => return Err(refused("this ledger has no accreditation authority")),
            Some(k) if k != hex::encode(key.public().to_bytes()) => {
                return Err(refused(
                    "the key given is not the accreditation authority's key",
                ))
            }
            Some(_) => {}
        }
        let info = Self::issuer_in(&txn.open_table(ISSUERS)?, issuer)?.ok_or_else(|| {
            StoreError::UnknownIssuer {
                name: issuer.to_string(),
            }
        })?;
        Ok((txn, info))
    }

    /// Accredits an issuer for a schema from the new entry on. Returns its index.
    pub fn accredit(
        &self,
        key: &KeyPair,
        issuer: &str,
        schema_id: Fr,
        time: u64,
    ) -> Result<u64, StoreError> {
        let (txn, info) = self.write_as_accreditor(key, issuer)?;
        let k = pair(&info.issuer_id, &schema_id);
        if txn.open_table(ACCREDITATIONS)?.get(k)?.is_some() {
            return Err(refused(format!(
                "issuer `{issuer}` is already accredited for this schema"
            )));
        }
        let entry = Entry::sign(
            time,
            EntryBody::Accredited {
                issuer_id: info.issuer_id,
                schema_id,
            },
            key,
        );
        let index = append_entry(&txn, &entry)?;
        txn.open_table(ACCREDITATIONS)?.insert(k, index)?;
        txn.commit()?;
        Ok(index)
    }

    /// Withdraws an accreditation from `from_entry` on (default: the new entry itself; not
    /// before the entry that granted it). The issuer's entries of that schema from there are
    /// unaccredited (the audit lists them). Returns the new entry's index.
    pub fn withdraw_accreditation(
        &self,
        key: &KeyPair,
        issuer: &str,
        schema_id: Fr,
        from_entry: Option<u64>,
        time: u64,
    ) -> Result<u64, StoreError> {
        let (txn, info) = self.write_as_accreditor(key, issuer)?;
        let k = pair(&info.issuer_id, &schema_id);
        let granted = txn
            .open_table(ACCREDITATIONS)?
            .get(k)?
            .map(|v| v.value())
            .ok_or_else(|| {
                refused(format!(
                    "issuer `{issuer}` is not accredited for this schema"
                ))
            })?;
        let index = txn.open_table(crate::db::ENTRIES)?.len()?;
        let from = from_entry.unwrap_or(index);
        if from < granted || from > index {
            return Err(refused(
                "a withdrawal starts between the accreditation's entry and its own",
            ));
        }
        let entry = Entry::sign(
            time,
            EntryBody::AccreditationWithdrawn {
                issuer_id: info.issuer_id,
                schema_id,
                from_entry: from,
            },
            key,
        );
        append_entries(&txn, &[entry.to_bytes()])?;
        txn.open_table(ACCREDITATIONS)?.remove(k)?;
        txn.commit()?;
        Ok(index)
    }

    /// Requires `threshold` of `members`' approvals for every credential of one of the
    /// issuer's schemas (replacing the committee in force; pending proposals then count only
    /// the new members' approvals). Returns the entry's index.
    pub fn set_committee(
        &self,
        key: &KeyPair,
        schema_id: Fr,
        threshold: u8,
        members: Vec<[u8; 32]>,
        time: u64,
    ) -> Result<u64, StoreError> {
        let (txn, info) = self.write_as(key)?;
        for m in &members {
            public_from_bytes(m).map_err(|_| refused("a committee member's key is malformed"))?;
        }
        let committee = Committee {
            threshold,
            members: members.clone(),
        };
        let body = EntryBody::committee(info.issuer_id, schema_id, threshold, members)?;
        let entry = Entry::sign(time, body, key);
        let index = append_entry(&txn, &entry)?;
        txn.open_table(COMMITTEES)?.insert(
            pair(&info.issuer_id, &schema_id),
            committee.to_bytes().as_slice(),
        )?;
        txn.commit()?;
        Ok(index)
    }

    /// Proposes a credential of a schema under a committee: its id is reserved and its salt
    /// drawn now, so that members approve the exact commitment. Nothing reaches the registry
    /// or the ledger yet.
    pub fn propose(
        &self,
        key: &KeyPair,
        claim: &EncodedClaim,
        issued_at: u32,
        time: u64,
    ) -> Result<Proposal, StoreError> {
        self.propose_with(key, claim, issued_at, time, |_, _| Ok(()))
    }

    /// [`Store::propose`], with `keep` run in its transaction (a rule's task records the
    /// proposal it opened).
    pub fn propose_with(
        &self,
        key: &KeyPair,
        claim: &EncodedClaim,
        issued_at: u32,
        time: u64,
        keep: impl FnOnce(&WriteTxn, &Proposal) -> Result<(), StoreError>,
    ) -> Result<Proposal, StoreError> {
        let (txn, mut info) = self.write_as(key)?;
        if check_may_issue(&txn, &info, &claim.schema_id, &claim.schema, true)?.is_none() {
            return Err(refused(format!(
                "schema `{}` of issuer `{}` has no committee: issue it directly",
                claim.schema, info.name
            )));
        }
        if info.next_id >= 1u64 << 32 {
            return Err(StoreError::RegistryFull { issuer: info.name });
        }
        let credential = info.credential(claim, info.next_id as u32, issued_at);
        // Ids are never reused (a member's "approve 3" always means one credential).
        let id = {
            let mut meta = txn.open_table(META)?;
            let next = meta
                .get("next_proposal")?
                .and_then(|v| v.value().parse::<u64>().ok())
                .unwrap_or(0);
            meta.insert("next_proposal", (next + 1).to_string().as_str())?;
            next
        };
        let proposal = Proposal {
            id,
            opening: CredentialOpening::new(claim, &info.name, &credential),
            commitment_halo2: pasta::to_hex(&credential.commitment_halo2()),
            proposed_at: time,
            approvals: Vec::new(),
        };
        put_proposal(&txn, &proposal)?;
        info.next_id += 1;
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        keep(&txn, &proposal)?;
        txn.commit()?;
        Ok(proposal)
    }

    /// A member approves a proposal with their own key: refused for a key outside the
    /// committee in force or one that approved it already. Returns the proposal and whether
    /// its threshold is now met.
    pub fn approve(&self, id: u64, member: &KeyPair) -> Result<(Proposal, bool), StoreError> {
        let txn = self.raw().begin_write()?;
        let mut proposal = get_proposal(&txn, id)?;
        let committee = committee_of(&txn, &proposal)?;
        let me = member.public().to_bytes();
        if !committee.members.contains(&me) {
            return Err(StoreError::NotAMember { proposal: id });
        }
        if proposal
            .approvals
            .iter()
            .any(|a| a.member == hex::encode(me))
        {
            return Err(StoreError::AlreadyApproved { proposal: id });
        }
        let signature = member.sign_bytes(&proposal.statement()?);
        proposal.approvals.push(ProposalApproval {
            member: hex::encode(me),
            signature: hex::encode(signature),
        });
        put_proposal(&txn, &proposal)?;
        let met = committee.counted(&proposal)?.len() >= committee.threshold as usize;
        txn.commit()?;
        Ok((proposal, met))
    }

    /// Adds an approval a member made elsewhere (their signature over the proposal's
    /// statement): checked like [`Store::approve`], and the signature verified.
    pub fn add_approval(
        &self,
        id: u64,
        member_key: [u8; 32],
        signature: [u8; 64],
    ) -> Result<(Proposal, bool), StoreError> {
        let txn = self.raw().begin_write()?;
        let mut proposal = get_proposal(&txn, id)?;
        let committee = committee_of(&txn, &proposal)?;
        if !committee.members.contains(&member_key) {
            return Err(StoreError::NotAMember { proposal: id });
        }
        if proposal
            .approvals
            .iter()
            .any(|a| a.member == hex::encode(member_key))
        {
            return Err(StoreError::AlreadyApproved { proposal: id });
        }
        let key = public_from_bytes(&member_key)?;
        verify_strict(&key, &proposal.statement()?, &signature, "approval")?;
        proposal.approvals.push(ProposalApproval {
            member: hex::encode(member_key),
            signature: hex::encode(signature),
        });
        put_proposal(&txn, &proposal)?;
        let met = committee.counted(&proposal)?.len() >= committee.threshold as usize;
        txn.commit()?;
        Ok((proposal, met))
    }

    /// Issues a proposed credential once the committee in force has approved it: the leaf,
    /// its ledger entry with the approvals, and `keep` (the caller's copy of the opening) in
    /// one transaction. Refused, with nothing written, below the threshold, or if the
    /// issuer's accreditation was withdrawn meanwhile.
    pub fn finalize_with(
        &self,
        key: &KeyPair,
        id: u64,
        schemas: &SchemaSet,
        time: u64,
        keep: impl FnOnce(&WriteTxn, &CredentialOpening) -> Result<(), StoreError>,
    ) -> Result<CredentialOpening, StoreError> {
        let (txn, mut info) = self.write_as(key)?;
        let proposal = get_proposal(&txn, id)?;
        let o = &proposal.opening;
        if o.issuer_id != info.issuer_id {
            return Err(StoreError::UnknownProposal { proposal: id });
        }
        let committee = check_may_issue(&txn, &info, &o.schema_id, &o.schema, true)?
            .ok_or_else(|| refused("the proposal's schema no longer has a committee"))?;
        let approvals = committee.counted(&proposal)?;
        if approvals.len() < committee.threshold as usize {
            return Err(StoreError::ThresholdNotMet {
                proposal: id,
                approvals: approvals.len(),
                threshold: committee.threshold as usize,
            });
        }
        let credential = o.credential(schemas)?;
        let commitment_halo2 = proposal.twin()?;
        if credential.commitment() != o.commitment
            || credential.commitment_halo2() != commitment_halo2
        {
            return Err(StoreError::Ledger {
                reason: format!("proposal {id} does not open its commitments"),
            });
        }
        apply_both(
            &txn,
            info.registry,
            &[(o.credential_id, o.commitment, commitment_halo2)],
        )?;
        let entry = Entry::sign(
            time,
            EntryBody::Issue {
                issuer_id: info.issuer_id,
                schema_id: o.schema_id,
                credential_id: o.credential_id,
                commitment: o.commitment,
                commitment_halo2,
                approvals,
            },
            key,
        );
        append_entries(&txn, &[entry.to_bytes()])?;
        info.live += 1;
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        txn.open_table(PROPOSALS)?.remove(id)?;
        keep(&txn, o)?;
        txn.commit()?;
        Ok(proposal.opening)
    }
}

fn put_proposal(txn: &WriteTxn, p: &Proposal) -> Result<(), StoreError> {
    let json = record_json("proposal", p)?;
    txn.open_table(PROPOSALS)?.insert(p.id, json.as_str())?;
    Ok(())
}

fn parse_proposal(json: &str) -> Result<Proposal, StoreError> {
    record_from_json("proposal", json)
}

fn get_proposal(txn: &WriteTxn, id: u64) -> Result<Proposal, StoreError> {
    let t = txn.open_table(PROPOSALS)?;
    let json = t
        .get(id)?
        .ok_or(StoreError::UnknownProposal { proposal: id })?;
    parse_proposal(json.value())
}

fn committee_of(txn: &WriteTxn, p: &Proposal) -> Result<Committee, StoreError> {
    let t = txn.open_table(COMMITTEES)?;
    let v = t
        .get(pair(&p.opening.issuer_id, &p.opening.schema_id))?
        .ok_or_else(|| refused("the proposal's schema no longer has a committee"))?;
    Committee::from_bytes(v.value())
}

impl<D: Reading> Store<D> {
    /// The accreditation authority, if the ledger named one.
    pub fn accreditor(&self) -> Result<Option<Accreditor>, StoreError> {
        let txn = self.raw().begin_read()?;
        let meta = txn.open_table(META)?;
        let key = meta.get("accreditor_key")?.map(|v| v.value().to_string());
        let name = meta.get("accreditor_name")?.map(|v| v.value().to_string());
        let (Some(key), Some(name)) = (key, name) else {
            return Ok(None);
        };
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(&key, &mut public_key).map_err(|_| StoreError::Ledger {
            reason: "the accreditation authority's stored key is corrupt".into(),
        })?;
        Ok(Some(Accreditor { name, public_key }))
    }

    /// Whether `issuer` may issue `schema_id` now (always, on a ledger without an authority).
    pub fn is_accredited(&self, issuer: &IssuerInfo, schema_id: &Fr) -> Result<bool, StoreError> {
        if self.accreditor()?.is_none() {
            return Ok(true);
        }
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(ACCREDITATIONS)?;
        let accredited = t.get(pair(&issuer.issuer_id, schema_id))?.is_some();
        Ok(accredited)
    }

    /// Every accreditation in force: (issuer id, schema id, the entry that granted it).
    pub fn accreditations(&self) -> Result<Vec<(Fr, Fr, u64)>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(ACCREDITATIONS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let (i, s) = k.value();
            out.push((
                field::from_be_bytes("issuer id", &i)?,
                field::from_be_bytes("schema id", &s)?,
                v.value(),
            ));
        }
        Ok(out)
    }

    /// The names of the issuers accredited for a schema now, sorted: what a query's "any
    /// accredited issuer" resolves to. Refused on a ledger without an authority.
    pub fn accredited_issuers(&self, schema_id: &Fr) -> Result<Vec<String>, StoreError> {
        if self.accreditor()?.is_none() {
            return Err(refused(
                "this ledger has no accreditation authority: name the accepted issuers",
            ));
        }
        let issuers = self.issuers()?;
        let mut names: Vec<String> = self
            .accreditations()?
            .into_iter()
            .filter(|(_, s, _)| s == schema_id)
            .filter_map(|(i, _, _)| {
                issuers
                    .iter()
                    .find(|x| x.issuer_id == i)
                    .map(|x| x.name.clone())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The committee in force for an issuer's schema.
    pub fn committee(
        &self,
        issuer: &IssuerInfo,
        schema_id: &Fr,
    ) -> Result<Option<Committee>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(COMMITTEES)?;
        let committee = match t.get(pair(&issuer.issuer_id, schema_id))? {
            Some(v) => Some(Committee::from_bytes(v.value())?),
            None => None,
        };
        Ok(committee)
    }

    /// One pending proposal.
    pub fn proposal(&self, id: u64) -> Result<Proposal, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(PROPOSALS)?;
        let json = t
            .get(id)?
            .ok_or(StoreError::UnknownProposal { proposal: id })?;
        parse_proposal(json.value())
    }

    /// An issuer's pending proposals, oldest first.
    pub fn proposals(&self, issuer: &IssuerInfo) -> Result<Vec<Proposal>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(PROPOSALS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            let p = parse_proposal(v.value())?;
            if p.opening.issuer_id == issuer.issuer_id {
                out.push(p);
            }
        }
        Ok(out)
    }
}
