//! Recruitment campaigns in the store: a recruiting office opens a campaign (its presentation
//! request, hashed on the ledger with its closing time) and records each application it
//! received: the presentation archived, an `Applied` entry with its hash, the nullifier (for one
//! that verified) and whether it was shortlisted. Verification is the caller's (the verifier
//! crate); this crate keeps the record and its constraints:
//!
//! - nothing is taken once the campaign has closed;
//! - a candidate (a nullifier) is shortlisted once per campaign: a key of the
//!   `campaign_nullifiers` table, written in the application's transaction, not a check followed
//!   by an insert;
//! - a refused application reserves no nullifier (its claimed nullifier is not trusted: anyone
//!   could send a broken presentation carrying another candidate's).
//!
//! Tables: `campaigns` campaign id -> JSON [`Campaign`]; `applications` (campaign id, sequence)
//! -> JSON [`Application`]; `campaign_nullifiers` (campaign id, nullifier) -> the application's
//! entry.

use crate::db::{append_entry, record_from_json, record_json};
use crate::kv::{Readable, Reading, TableDef};
use crate::{Store, StoreError};
use dossier_core::entry::{Entry, EntryBody, MAX_NAME};
use dossier_core::keys::KeyPair;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `campaigns`: campaign id -> JSON [`Campaign`].
pub const CAMPAIGNS: TableDef<[u8; 32], &str> = TableDef::new("campaigns");
/// `applications`: (campaign id, sequence) -> JSON [`Application`].
pub const APPLICATIONS: TableDef<([u8; 32], u64), &str> = TableDef::new("applications");
/// `campaign_nullifiers`: (campaign id, nullifier) -> the shortlisting entry.
pub const CAMPAIGN_NULLIFIERS: TableDef<([u8; 32], [u8; 32]), u64> =
    TableDef::new("campaign_nullifiers");

/// The largest presentation or request kept, in bytes.
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// A campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// The recruiting office.
    pub issuer: String,
    /// Its name.
    pub name: String,
    /// Its id: SHA-256 of the request (hex).
    pub id: String,
    /// The presentation request, as published.
    pub request: String,
    /// Applications are taken until this time (unix seconds, excluded).
    pub closes: u64,
    /// Its `CampaignOpened` entry.
    pub entry: u64,
}

/// An application, as archived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The presentation, as received.
    pub presentation: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// The nullifier (hex) when it verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullifier: Option<String>,
    /// Whether it was shortlisted.
    pub shortlisted: bool,
    /// Why it was refused (the verifier's words: no values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Its `Applied` entry.
    pub entry: u64,
    /// When it was received (unix seconds).
    pub time: u64,
}

/// A campaign's id: SHA-256 of its request.
pub fn campaign_id(request: &str) -> [u8; 32] {
    Sha256::digest(request.as_bytes()).into()
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

impl Store {
    /// Opens a campaign for the key's issuer; returns its id.
    pub fn open_campaign(
        &self,
        key: &KeyPair,
        name: &str,
        request: &str,
        closes: u64,
        time: u64,
    ) -> Result<[u8; 32], StoreError> {
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(refused("a campaign's name has 1 to 100 bytes"));
        }
        if request.len() > MAX_DOCUMENT {
            return Err(refused("the request is larger than 256 KiB"));
        }
        if closes <= time {
            return Err(refused("the campaign closes before it opens"));
        }
        let id = campaign_id(request);
        let (txn, info) = self.write_as(key)?;
        {
            let t = txn.open_table(CAMPAIGNS)?;
            if t.get(id)?.is_some() {
                return Err(refused("a campaign of this request exists"));
            }
            for row in t.iter()? {
                let c: Campaign = record_from_json("campaign", row?.1.value())?;
                if c.name == name {
                    return Err(refused("a campaign of this name exists"));
                }
            }
        }
        let entry = Entry::sign(
            time,
            EntryBody::CampaignOpened {
                issuer_id: info.issuer_id,
                campaign: id,
                closes,
                name: name.to_string(),
            },
            key,
        );
        let index = append_entry(&txn, &entry)?;
        let campaign = Campaign {
            issuer: info.name.clone(),
            name: name.to_string(),
            id: hex::encode(id),
            request: request.to_string(),
            closes,
            entry: index,
        };
        txn.open_table(CAMPAIGNS)?
            .insert(id, record_json("campaign", &campaign)?.as_str())?;
        txn.commit()?;
        Ok(id)
    }

    /// Records an application to an open campaign of the key's issuer, as verified by the
    /// caller: `Ok(nullifier)` shortlists it (refused, writing nothing, if that nullifier was
    /// shortlisted before), `Err(reason)` archives it refused. Returns what was archived.
    pub fn apply(
        &self,
        key: &KeyPair,
        campaign: &[u8; 32],
        presentation: &str,
        verdict: Result<[u8; 32], String>,
        time: u64,
    ) -> Result<Application, StoreError> {
        if presentation.len() > MAX_DOCUMENT {
            return Err(refused("the presentation is larger than 256 KiB"));
        }
        let (txn, info) = self.write_as(key)?;
        let c: Campaign = match txn.open_table(CAMPAIGNS)?.get(campaign)? {
            Some(v) => record_from_json("campaign", v.value())?,
            None => return Err(refused("no such campaign")),
        };
        if c.issuer != info.name {
            return Err(refused("the campaign is another office's"));
        }
        if time >= c.closes {
            return Err(refused("the campaign has closed"));
        }
        let sha256: [u8; 32] = Sha256::digest(presentation.as_bytes()).into();
        let (nullifier, shortlisted) = match &verdict {
            Ok(n) => (*n, true),
            Err(_) => ([0u8; 32], false),
        };
        if shortlisted
            && txn
                .open_table(CAMPAIGN_NULLIFIERS)?
                .get((*campaign, nullifier))?
                .is_some()
        {
            return Err(refused(
                "this candidate was shortlisted in this campaign already (one application each)",
            ));
        }
        let entry = Entry::sign(
            time,
            EntryBody::Applied {
                issuer_id: info.issuer_id,
                campaign: *campaign,
                presentation: sha256,
                nullifier,
                shortlisted,
            },
            key,
        );
        let index = append_entry(&txn, &entry)?;
        if shortlisted {
            txn.open_table(CAMPAIGN_NULLIFIERS)?
                .insert((*campaign, nullifier), index)?;
        }
        let application = Application {
            presentation: presentation.to_string(),
            sha256: hex::encode(sha256),
            nullifier: shortlisted.then(|| hex::encode(nullifier)),
            shortlisted,
            refused: verdict.err(),
            entry: index,
            time,
        };
        {
            let mut t = txn.open_table(APPLICATIONS)?;
            let seq = t
                .range((*campaign, 0)..=(*campaign, u64::MAX))?
                .next_back()
                .transpose()?
                .map_or(0, |(k, _)| k.value().1 + 1);
            t.insert(
                (*campaign, seq),
                record_json("application", &application)?.as_str(),
            )?;
        }
        txn.commit()?;
        Ok(application)
    }
}

impl<D: Reading> Store<D> {
    /// Every campaign, in the order of their ids.
    pub fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(CAMPAIGNS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(record_from_json("campaign", row?.1.value())?);
        }
        out.sort_by_key(|c: &Campaign| c.entry);
        Ok(out)
    }

    /// A campaign by name.
    pub fn campaign(&self, name: &str) -> Result<Campaign, StoreError> {
        self.campaigns()?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| refused("no campaign of that name"))
    }

    /// How many applications a campaign archived, and how many it shortlisted (without
    /// reading them).
    pub fn campaign_counts(&self, campaign: &[u8; 32]) -> Result<(u64, u64), StoreError> {
        let txn = self.raw().begin_read()?;
        let apps = txn.open_table(APPLICATIONS)?;
        let total = match apps
            .range((*campaign, 0)..=(*campaign, u64::MAX))?
            .next_back()
        {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        let nullifiers = txn.open_table(CAMPAIGN_NULLIFIERS)?;
        let mut short = 0u64;
        for row in nullifiers.range((*campaign, [0u8; 32])..=(*campaign, [0xffu8; 32]))? {
            row?;
            short += 1;
        }
        Ok((total, short))
    }

    /// A campaign's shortlist: each shortlisted nullifier (hex) with its `Applied` entry, in
    /// nullifier order.
    pub fn shortlist(&self, campaign: &[u8; 32]) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(CAMPAIGN_NULLIFIERS)?;
        let mut out = Vec::new();
        for row in t.range((*campaign, [0u8; 32])..=(*campaign, [0xffu8; 32]))? {
            let (k, v) = row?;
            out.push((hex::encode(k.value().1), v.value()));
        }
        Ok(out)
    }

    /// At most `limit` of a campaign's archived applications from sequence number `start`.
    pub fn applications_page(
        &self,
        campaign: &[u8; 32],
        start: u64,
        limit: u64,
    ) -> Result<Vec<Application>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(APPLICATIONS)?;
        let mut out = Vec::new();
        for row in t
            .range((*campaign, start)..=(*campaign, u64::MAX))?
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            out.push(record_from_json("application", row?.1.value())?);
        }
        Ok(out)
    }

    /// A campaign's archived applications, in the order received.
    pub fn applications(&self, campaign: &[u8; 32]) -> Result<Vec<Application>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(APPLICATIONS)?;
        let mut out = Vec::new();
        for row in t.range((*campaign, 0)..=(*campaign, u64::MAX))? {
            out.push(record_from_json("application", row?.1.value())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store, KeyPair) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), std::time::Duration::from_secs(1)).expect("open");
        let ledger = KeyPair::generate("ledger.example", &mut rand::rngs::OsRng).expect("key");
        store.init_ledger(&ledger).expect("ledger");
        let hr = KeyPair::generate("hr.example", &mut rand::rngs::OsRng).expect("key");
        store.register_issuer(&hr, 1).expect("register");
        (dir, store, hr)
    }

    #[test]
    fn one_shortlisting_per_candidate_and_nothing_after_closing() {
        let (_d, store, hr) = store();
        let id = store.open_campaign(&hr, "c", "{}", 100, 10).expect("open");
        assert!(
            store.open_campaign(&hr, "c", "{ }", 100, 10).is_err(),
            "same name"
        );
        assert!(
            store.open_campaign(&hr, "d", "{}", 100, 10).is_err(),
            "same request"
        );
        assert!(
            store.open_campaign(&hr, "e", "{  }", 10, 10).is_err(),
            "closes at once"
        );
        let a = store.apply(&hr, &id, "p1", Ok([1; 32]), 20).expect("apply");
        assert!(a.shortlisted);
        let size = store.ledger_size().expect("size");
        assert!(store.apply(&hr, &id, "p1 again", Ok([1; 32]), 21).is_err());
        assert_eq!(store.ledger_size().expect("size"), size, "nothing written");
        let r = store
            .apply(&hr, &id, "broken", Err("invalid proof".into()), 22)
            .expect("archived refused");
        assert!(!r.shortlisted && r.nullifier.is_none());
        store
            .apply(&hr, &id, "broken 2", Err("invalid proof".into()), 23)
            .expect("a refused one reserves nothing");
        assert!(
            store.apply(&hr, &id, "late", Ok([2; 32]), 100).is_err(),
            "closed"
        );
        let apps = store.applications(&id).expect("apps");
        assert_eq!(apps.len(), 3);
        assert_eq!(apps[0].presentation, "p1");
        assert_eq!(store.campaign("c").expect("c").entry + 1, apps[0].entry);
    }
}
