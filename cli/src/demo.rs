//! `dossier demo`: the whole story on a fresh embedded store, timed step by step. Three issuers
//! (an HR office, a law school, a training academy), each accredited by the accreditation
//! authority for its own schemas, issue credentials to synthetic civil servants; an appraisal
//! committee approves a 2026 appraisal (three of five members); the ledger publishes a checkpoint; a holder fetches an anchored witness; a promotion
//! replaces a status credential and a fraudulent degree is revoked; a second checkpoint follows;
//! two departments' witnesses cosign each checkpoint (and refuse a forked one), and the
//! verifier believes a checkpoint only with both cosignatures; the unit's colleagues rate two
//! appraisees anonymously and the tally goes on the ledger; a career runs under the shipped
//! rules from recruitment to retirement in simulated time ([`crate::career`]); a regulator
//! audits the ledger and checks the two checkpoints' consistency.

use crate::error::CliError;
use crate::Out;
use dossier_core::credential::{Claim, EncodedClaim};
use dossier_core::credential::{Credential, Offered};
use dossier_core::holder::HolderSecret;
use dossier_core::keys::KeyPair;
use dossier_core::presentation::{Backend, PresentationRequest};
use dossier_core::query::Query;
use dossier_core::schema::SchemaSet;
use dossier_core::{checkpoint, field, log_proof};
use dossier_prover::{Provers, Statement};
use dossier_store::home::Home;
use dossier_store::{audit, Store};
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::Digest;
use std::path::Path;
use std::time::Instant;

struct Steps {
    rows: Vec<(String, f64)>,
    json: bool,
}

impl Steps {
    fn time<T>(
        &mut self,
        what: &str,
        f: impl FnOnce() -> Result<T, CliError>,
    ) -> Result<T, CliError> {
        let t = Instant::now();
        let v = f()?;
        let secs = t.elapsed().as_secs_f64();
        if !self.json {
            println!("  {:>9.1} ms  {what}", secs * 1e3);
        }
        self.rows.push((what.to_string(), secs));
        Ok(v)
    }
}

fn claim(
    schema: &str,
    (holder, holder_halo2): &(String, String),
    fields: serde_json::Value,
    schemas: &SchemaSet,
) -> Result<EncodedClaim, CliError> {
    let fields = fields.as_object().cloned().unwrap_or_default();
    Ok(Claim {
        schema: schema.into(),
        holder: holder.clone(),
        holder_halo2: Some(holder_halo2.clone()),
        expires_at: None,
        fields,
    }
    .encode(schemas)?)
}

/// The accreditation authority's record: who may issue what; and a refusal of the rest.
fn accredit(store: &Store, authority: &KeyPair, schemas: &SchemaSet) -> Result<(), CliError> {
    for (issuer, schema) in [
        ("hr.tax-bureau", "employment"),
        ("hr.tax-bureau", "appraisal"),
        ("univ.law-school", "qualification"),
        ("training.academy", "training"),
    ] {
        store.accredit(authority, issuer, schemas.get(schema)?.id(), crate::now())?;
    }
    Ok(())
}

/// HR's appraisal committee: five members, three must approve each appraisal from now on. A
/// proposal with two approvals is refused; the third issues it, approvals on its ledger entry.
fn committee(
    store: &Store,
    hr: &KeyPair,
    holder: &(String, String),
    schemas: &SchemaSet,
) -> Result<Vec<KeyPair>, CliError> {
    let members: Vec<KeyPair> = (1..=5)
        .map(|i| KeyPair::generate(&format!("committee.member-{i}"), &mut rand::rngs::OsRng))
        .collect::<Result<_, _>>()?;
    let appraisal = schemas.get("appraisal")?.id();
    let keys = members.iter().map(|m| m.public().to_bytes()).collect();
    store.set_committee(hr, appraisal, 3, keys, crate::now())?;
    let c = claim(
        "appraisal",
        holder,
        json!({"year": 2026, "grade": "competent", "score": 84, "unit": "tax-audit", "training_hours": 96}),
        schemas,
    )?;
    if store
        .issue(hr, std::slice::from_ref(&c), crate::today(), crate::now())
        .is_ok()
    {
        return Err(CliError::Input(
            "demo: an appraisal went around its committee".into(),
        ));
    }
    let p = store.propose(hr, &c, crate::today(), crate::now())?;
    for m in &members[..2] {
        store.approve(p.id, m)?;
    }
    if store
        .finalize_with(hr, p.id, schemas, crate::now(), |_, _| Ok(()))
        .is_ok()
    {
        return Err(CliError::Input(
            "demo: an appraisal was issued with two of three approvals".into(),
        ));
    }
    store.approve(p.id, &members[4])?;
    store.finalize_with(hr, p.id, schemas, crate::now(), |_, _| Ok(()))?;
    Ok(members)
}

fn register(store: &Store, name: &str) -> Result<KeyPair, CliError> {
    let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
    store.register_issuer(&key, crate::now())?;
    Ok(key)
}

/// Runs the demo under a new folder of `home`.
pub fn run(home: &Home, params: &Path, out: &Out, people: u32) -> Result<i32, CliError> {
    let dir = home
        .dir
        .join(format!("demo-{}-{}", crate::now(), std::process::id()));
    let demo_home = Home {
        dir: dir.clone(),
        lock_wait: home.lock_wait,
        location: dossier_store::home::StoreLocation::Embedded,
    };
    let schemas = SchemaSet::builtin();
    let mut steps = Steps {
        rows: Vec::new(),
        json: out.json,
    };
    if !out.json {
        println!(
            "dossier demo: {people} civil servants, store at {}",
            dir.display()
        );
    }
    let store = demo_home.store()?;
    let log_key = demo_home.ledger_key(&store, Some("dossier.demo/ledger"))?;
    let authority = KeyPair::generate("accreditation.civil-service", &mut rand::rngs::OsRng)?;
    store.name_accreditor(&authority, crate::now())?;
    let (hr, law, academy) = steps.time(
        "register 3 issuers (HR office, law school, training academy)",
        || {
            Ok((
                register(&store, "hr.tax-bureau")?,
                register(&store, "univ.law-school")?,
                register(&store, "training.academy")?,
            ))
        },
    )?;
    steps.time(
        "accreditation authority: HR for employment and appraisal, law school for qualifications, academy for training",
        || accredit(&store, &authority, &schemas),
    )?;

    let secrets: Vec<HolderSecret> = (0..people)
        .map(|_| HolderSecret::random(&mut rand::rngs::OsRng))
        .collect();
    let holders: Vec<(String, String)> = secrets
        .iter()
        .map(|s| {
            (
                field::to_hex(&s.commitment()),
                dossier_core::pasta::to_hex(&s.commitment_halo2()),
            )
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let grades = [
        "basically_competent",
        "competent",
        "competent",
        "competent",
        "excellent",
    ];
    let degrees = ["bachelor", "master", "master", "doctorate"];
    let fields = ["law", "economics", "management", "engineering"];
    let (hr_claims, law_claims, academy_claims) = steps.time("build and encode synthetic claims", || {
        let mut hr_claims = Vec::new();
        let mut law_claims = Vec::new();
        let mut academy_claims = Vec::new();
        for (i, h) in holders.iter().enumerate() {
            // Holder 0 is the candidate of the story: a master of law, appraised at least
            // competent in 2023-2025, in rank since 2021.
            let star = i == 0;
            let hired = 1995 + rng.gen_range(0..28);
            let rank = ["section_member_2", "section_member_1", "principal_staff_member_4"][rng.gen_range(0..3)];
            hr_claims.push(claim("employment", h, json!({
                "department": "tax-bureau/collection", "position": "officer",
                "rank_level": rank,
                "rank_since": if star { "2021-07-01".to_string() } else { format!("{}-07-01", 2019 + rng.gen_range(0..6)) },
                "hire_date": format!("{hired}-09-01"), "status": "active", "sanction_until": "1970-01-01"}), &schemas)?);
            for year in 2023..=2025 {
                let grade = if star { "competent" } else { grades[rng.gen_range(0..grades.len())] };
                hr_claims.push(claim("appraisal", h, json!({"year": year, "grade": grade, "score": rng.gen_range(60..100), "unit": "tax-audit", "training_hours": 96}), &schemas)?);
            }
            let (degree, field) = if star { ("master", "law") } else { (degrees[rng.gen_range(0..degrees.len())], fields[rng.gen_range(0..fields.len())]) };
            law_claims.push(claim("qualification", h, json!({"degree_level": degree,
                "field": field, "institution": "univ.law-school", "award_year": 1990 + rng.gen_range(0..33)}), &schemas)?);
            for _ in 0..2 {
                academy_claims.push(claim("training", h, json!({"course": format!("TAX-{}", rng.gen_range(100..999)),
                    "hours": rng.gen_range(8..40), "completed_on": format!("2025-{:02}-15", rng.gen_range(1..13)), "passed": true}), &schemas)?);
            }
        }
        Ok((hr_claims, law_claims, academy_claims))
    })?;
    let day = crate::today();
    let total = hr_claims.len() + law_claims.len() + academy_claims.len();
    let issued_hr = steps.time(
        &format!(
            "issue {} employment and appraisal credentials (one batch)",
            hr_claims.len()
        ),
        || Ok(store.issue(&hr, &hr_claims, day, crate::now())?),
    )?;
    let issued_law = steps.time(
        &format!("issue {} qualifications", law_claims.len()),
        || Ok(store.issue(&law, &law_claims, day, crate::now())?),
    )?;
    steps.time(
        &format!("issue {} training records", academy_claims.len()),
        || Ok(store.issue(&academy, &academy_claims, day, crate::now())?),
    )?;
    let members = steps.time(
        "appraisal committee (3 of 5): a 2026 appraisal approved by three members, refused at two",
        || committee(&store, &hr, &holders[0], &schemas),
    )?;
    let first = steps.time("publish checkpoint 1 (all registry roots)", || {
        Ok(store.checkpoint(&log_key, crate::now())?)
    })?;
    let witnesses = Witnesses::start(&dir, &log_key)?;
    steps.time("two departments' witnesses cosign checkpoint 1", || {
        witnesses.cosign(&store, &first, 0)
    })?;
    let first = checkpoint::open(first.as_bytes(), &log_key.verifier_key())?;

    let employment = &issued_hr[0];
    let path = steps.time(
        "witness: holder 0's employment credential, path and anchor",
        || Ok(store.witness("hr.tax-bureau", employment.credential_id)?),
    )?;
    let anchored = first
        .registry(&employment.issuer_id)
        .is_some_and(|r| r.root == path.root);
    if !path.is_valid() || path.leaf != employment.commitment() || !anchored {
        return Err(CliError::Input(
            "demo: the witness does not verify against checkpoint 1".into(),
        ));
    }

    let ceremony_ran = dossier_params::Manifest::load(params).map_or(true, |m| m.insecure);
    if ceremony_ran {
        let note = store.latest_checkpoint()?.unwrap_or_default();
        ceremony(&mut steps, out, params, &dir.join("ceremony"), &note)?;
        steps.time(
            "ledger: the ceremony on the ledger (per circuit: verifying-key, transcript and contribution hashes, signed by the ledger)",
            || crate::ceremony::record_on_ledger(&store, &log_key, params),
        )?;
    }
    let trust =
        dossier_verifier::Trust::witnessed(&log_key.verifier_key(), witnesses.policy.clone());
    presentations(
        &mut steps,
        params,
        &store,
        &trust,
        &secrets[0],
        &issued_law[0],
        &issued_hr[..4],
        day,
        &schemas,
    )?;

    let promoted = claim(
        "employment",
        &holders[0],
        json!({"department": "tax-bureau/collection", "position": "section chief",
        "rank_level": "principal_staff_member_3", "rank_since": crate::demo_date(day), "hire_date": "2001-09-01",
        "status": "active", "sanction_until": "1970-01-01"}),
        &schemas,
    )?;
    steps.time("promotion: replace holder 0's status credential", || {
        Ok(store.update(&hr, employment.credential_id, &promoted, day, crate::now())?)
    })?;
    let fraudulent = issued_law[1].credential_id;
    steps.time("revoke holder 1's degree", || {
        Ok(store.revoke(&law, fraudulent, crate::now())?)
    })?;
    let second = steps.time("publish checkpoint 2", || {
        Ok(store.checkpoint(&log_key, crate::now())?)
    })?;
    steps.time(
        "the witnesses cosign checkpoint 2 (consistent with 1)",
        || witnesses.cosign(&store, &second, first.size),
    )?;
    if ceremony_ran {
        let note = store.latest_checkpoint()?.unwrap_or_default();
        steps.time(
            "verifier: each pinned key's ceremony is on the ledger (inclusion proof in checkpoint 2)",
            || {
                crate::ceremony::check_on_ledger(
                    &store,
                    &dossier_core::checkpoint::Trust::key_only(&log_key.verifier_key()),
                    &note,
                    params,
                )
            },
        )?;
    }
    let second = checkpoint::open(second.as_bytes(), &log_key.verifier_key())?;
    steps.time(
        "a forked checkpoint 2 (another history, the ledger's key) is refused by both witnesses",
        || witnesses.refuse_fork(&log_key, &second),
    )?;
    let stale = path.clone();
    let revoked = store.witness("univ.law-school", fraudulent)?;
    let fresh_root = second.registry(&employment.issuer_id).map(|r| r.root);
    if fresh_root == Some(stale.root)
        || !revoked.is_valid()
        || revoked.leaf != dossier_core::Fr::from(0u64)
    {
        return Err(CliError::Input(
            "demo: the update or revocation did not change the anchored roots".into(),
        ));
    }
    steps.time("regulator: consistency proof checkpoint 1 -> 2", || {
        let proof = store.consistency_proof(first.size, second.size)?;
        Ok(log_proof::verify_consistency(
            &proof,
            first.size,
            first.root_hash,
            second.size,
            second.root_hash,
        )?)
    })?;
    peer_rating(
        &mut steps,
        params,
        &store,
        &hr,
        &trust,
        &secrets[1..5],
        &issued_hr,
        &schemas,
    )?;
    let round = appraisal_round(
        &mut steps,
        &Office {
            store: &store,
            hr: &hr,
            members: &members,
            log_key: &log_key,
            witnesses: &witnesses,
            trust: &trust,
            params,
            schemas: &schemas,
        },
        &holders,
    )?;
    if !out.json {
        println!("  a career under the rules, 1986-2026 (simulated days, on a ledger of its own):");
    }
    let career = steps.time(
        "a career under the rules: recruitment to retirement, each automated step recorded, the rule log audited",
        || crate::career::run(&dir.join("career"), &schemas, out.json),
    )?;
    let report = steps.time(
        "regulator: audit (replay every entry, every root, every checkpoint)",
        || audit::audit_store(&store, Some(&log_key.verifier_key()))?.map_err(CliError::Audit),
    )?;
    let backup = steps.time(
        "operations: a backup (one consistent snapshot, the store open), restored and audited against the live ledger",
        || backup_and_verify(&store, &dir.join("backups").join("demo.redb"), &log_key),
    )?;
    let total_secs: f64 = steps.rows.iter().map(|r| r.1).sum();
    if out.json {
        println!(
            "{}",
            json!({"store": dir, "people": people, "credentials": total, "ledger_entries": report.entries,
            "checkpoints": report.checkpoints, "steps": steps.rows.iter().map(|(w, s)| json!({"step": w, "seconds": s})).collect::<Vec<_>>(),
            "audit": "passed", "appraisals_outside_rounds": report.appraisals_outside_rounds, "round": round, "career": career,
            "backup": backup})
        );
    } else {
        println!("done in {:.2} s: {total} credentials, {} ledger entries, {} checkpoints; audit passed.", total_secs, report.entries, report.checkpoints);
        println!("holder 0's promotion made their old witness stale (root changed); holder 1's revoked degree is an empty leaf.");
        for o in &report.appraisals_outside_rounds {
            println!("audit finding: {} appraisal(s) of issuer {} outside every appraisal round (ids {:?})", o.count, field::to_hex(&o.issuer_id), o.ids);
        }
        println!("inspect: dossier --home {} ledger info", dir.display());
    }
    Ok(0)
}

/// Backs the store up, opens the backup as a store of its own, audits it under the ledger's
/// key and checks that the live ledger extends it.
fn backup_and_verify(
    store: &Store,
    path: &Path,
    log_key: &KeyPair,
) -> Result<dossier_store::backup::Snapshot, CliError> {
    let _ = std::fs::remove_file(path);
    let snapshot = store.backup(path, &[])?;
    let copy = dossier_store::StoreReader::open_read_only(path, std::time::Duration::from_secs(5))?;
    audit::audit_store(&copy, Some(&log_key.verifier_key()))?.map_err(CliError::Audit)?;
    if hex::encode(store.tree_hash(snapshot.entries)?) != snapshot.root_hash {
        return Err(CliError::Input(
            "demo: the live ledger does not extend the backup".into(),
        ));
    }
    Ok(snapshot)
}

/// The HR office as the appraisal round sees it.
struct Office<'a> {
    store: &'a Store,
    hr: &'a KeyPair,
    members: &'a [KeyPair],
    log_key: &'a KeyPair,
    witnesses: &'a Witnesses,
    trust: &'a dossier_verifier::Trust,
    params: &'a Path,
    schemas: &'a SchemaSet,
}

impl Office<'_> {
    /// Issues an appraisal through the committee: proposed, approved by three members, issued.
    fn approved(
        &self,
        claim: &EncodedClaim,
    ) -> Result<dossier_core::credential::CredentialOpening, CliError> {
        let p = self
            .store
            .propose(self.hr, claim, crate::today(), crate::now())?;
        for m in &self.members[..3] {
            self.store.approve(p.id, m)?;
        }
        Ok(self
            .store
            .finalize_with(self.hr, p.id, self.schemas, crate::now(), |_, _| Ok(()))?)
    }
}

/// The unit audited for its quota.
const ROUND_UNIT: &str = "tax-bureau/collection";

/// The unit's appraisals of 2026 through the committee, declared as a round, proven within a
/// 20% quota of "excellent" and a training rule (75% completed 90 hours) to the regulator,
/// with the distribution and the trained count disclosed; a round over a 10% quota cannot be
/// proven, a
/// proof relabelled 10% is refused, and an "excellent" hidden outside the round is listed by
/// the audit (and cannot be declared as a second round of the unit and year).
fn appraisal_round(
    steps: &mut Steps,
    o: &Office<'_>,
    holders: &[(String, String)],
) -> Result<dossier_verifier::round::RoundVerdict, CliError> {
    use dossier_core::round::{Quota, Round, Rules, Training};
    if dossier_params::Manifest::load(o.params)?.round.is_none() {
        steps.time(
            "round circuit keys: INSECURE development setup (these params come from a ceremony without the round circuit)",
            || Ok(dossier_prover::round::setup_dev_round(o.params)?),
        )?;
    }
    let n = holders.len().min(200);
    let appraisal = |holder: &(String, String), grade: &str, score: usize, hours: usize| {
        claim(
            "appraisal",
            holder,
            json!({"year": 2026, "grade": grade, "score": score, "unit": ROUND_UNIT, "training_hours": hours}),
            o.schemas,
        )
    };
    // Four in five completed 90 hours of training or more.
    let hours = |i: usize| {
        if i.is_multiple_of(5) {
            60 + i % 25
        } else {
            90 + i % 40
        }
    };
    let credentials = steps.time(
        &format!("appraisal round: the committee approves the unit's {n} appraisals of 2026 (3 of 5 each; 1 in 7 excellent, 4 in 5 with 90 training hours)"),
        || {
            let mut out = std::collections::BTreeMap::new();
            for (i, h) in holders[..n].iter().enumerate() {
                let grade = if i % 7 == 3 { "excellent" } else { ["basically_competent", "competent", "competent"][i % 3] };
                let c = o.approved(&appraisal(h, grade, 70 + i % 30, hours(i))?)?.credential(o.schemas)?;
                out.insert(c.credential_id, c);
            }
            Ok(out)
        },
    )?;
    let first = credentials.keys().next().copied().unwrap_or_default();
    let round = Round {
        issuer: o.hr.name().to_string(),
        unit: ROUND_UNIT.into(),
        year: 2026,
        first,
        count: n as u32,
    };
    let declared_entry = steps.time(
        "appraisal round: the HR office declares it on the ledger (unit, year, ids)",
        || Ok(o.store.declare_round(o.hr, &round, crate::now())?),
    )?;
    let declared = dossier_store::round::DeclaredRound {
        round: round.clone(),
        declared_entry,
    };
    let before = o.store.latest_checkpoint()?.unwrap_or_default();
    let before = checkpoint::open(before.as_bytes(), &o.log_key.verifier_key())?.size;
    steps.time("publish checkpoint 3; the witnesses cosign it", || {
        let note = o.store.checkpoint(o.log_key, crate::now())?;
        o.witnesses.cosign(o.store, &note, before)
    })?;
    let quiet = Out { json: true };
    let proving = crate::round::Proving {
        params: o.params,
        trust: o.trust,
        schemas: o.schemas,
    };
    let windows = round.windows().count();
    let rules = Rules {
        quota: Quota { percent: 20 },
        training: Some(Training {
            hours: 90,
            percent: 75,
        }),
    };
    let (proof, _) = steps.time(
        &format!("appraisal round: the HR office proves in zero knowledge that at most 20% are excellent and at least 75% completed 90 training hours ({windows} window proofs)"),
        || crate::round::prove(&proving, o.store, &quiet, &declared, &credentials, rules, n >= 10),
    )?;
    let verdict = steps.time(
        "regulator: verifies the round (learns unit, year, size and that the rule holds)",
        || crate::round::verify(o.params, o.trust, o.schemas, &proof),
    )?;
    if !steps.json {
        let shown = verdict.distribution.map_or(String::new(), |d| {
            format!("; distribution disclosed (group of {n} >= 10): {d:?}")
        });
        let trained = verdict.trained.map_or(String::new(), |t| {
            format!("; {t} of {n} completed 90 training hours")
        });
        println!(
            "              round {} {}: {} appraisals, excellent <= {} (20%), trained >= {} (75%){shown}{trained}",
            verdict.round.unit,
            verdict.round.year,
            verdict.round.count,
            verdict.bound,
            verdict.training_floor.unwrap_or_default()
        );
    }
    steps.time(
        "a round over a 10% quota or under 90% trained cannot be proven; the proof relabelled 10% or 90% is refused",
        || {
            let over = Rules {
                quota: Quota { percent: 10 },
                training: None,
            };
            let under = Rules {
                training: Some(Training {
                    hours: 90,
                    percent: 90,
                }),
                ..rules
            };
            for false_rules in [over, under] {
                let proven =
                    crate::round::prove(&proving, o.store, &quiet, &declared, &credentials, false_rules, false);
                if !matches!(
                    proven,
                    Err(CliError::Prove(dossier_prover::ProverError::Round(_)))
                ) {
                    return Err(CliError::Input(
                        "demo: a round breaking its rules was proven".into(),
                    ));
                }
                let mut relabelled = proof.clone();
                relabelled.quota = false_rules.quota;
                relabelled.training = false_rules.training;
                (relabelled.distribution, relabelled.trained) = (None, None);
                match crate::round::verify(o.params, o.trust, o.schemas, &relabelled) {
                    Err(CliError::Verify(dossier_verifier::VerifyError::InvalidProof)) => {}
                    _ => {
                        return Err(CliError::Input(
                            "demo: a relabelled round proof was accepted".into(),
                        ))
                    }
                }
            }
            Ok(())
        },
    )?;
    steps.time(
        "an excellent issued outside the round: a second round of the unit's year is refused, the audit lists it",
        || {
            let hidden = o.approved(&appraisal(&holders[0], "excellent", 99, 120)?)?;
            let again = Round { first: hidden.credential_id, count: 1, ..round.clone() };
            if !matches!(o.store.declare_round(o.hr, &again, crate::now()), Err(dossier_store::StoreError::RoundRefused { .. })) {
                return Err(CliError::Input("demo: a second round of one unit and year was declared".into()));
            }
            let report = audit::audit_store(o.store, Some(&o.log_key.verifier_key()))?.map_err(CliError::Audit)?;
            if !report.appraisals_outside_rounds.iter().any(|x| x.ids.contains(&hidden.credential_id)) {
                return Err(CliError::Input("demo: the audit missed an appraisal outside the rounds".into()));
            }
            Ok(())
        },
    )?;
    Ok(verdict)
}

/// The unit's anonymous peer rating: the HR office opens a ballot on checkpoint 2 (its roll),
/// four colleagues rate two appraisees with proofs made from paths replayed out of the public
/// ledger, a second rating and an altered choice are refused, the demo's clock moves to the
/// closing time, the tally goes on the ledger, and the archive is re-verified against it.
#[allow(clippy::too_many_arguments)]
fn peer_rating(
    steps: &mut Steps,
    params: &Path,
    store: &Store,
    hr: &KeyPair,
    trust: &dossier_verifier::Trust,
    raters: &[HolderSecret],
    issued_hr: &[Credential],
    schemas: &SchemaSet,
) -> Result<(), CliError> {
    use dossier_core::ballot::{BallotDraft, Choices, Rating};
    let roll = store.latest_checkpoint()?.unwrap_or_default();
    let opens = crate::now();
    let ballot = BallotDraft {
        name: "appraisal-2026.tax-bureau.collection".into(),
        issuer: "hr.tax-bureau".into(),
        unit: "tax-bureau/collection".into(),
        appraisees: vec!["A-017".into(), "A-042".into()],
        choices: Choices::Grades,
        opens,
        closes: opens + 7 * 86_400,
        backend: Backend::Groth16,
    }
    .with_roll(roll);
    steps.time(
        "peer rating: the HR office opens a ballot (2 appraisees, the unit's colleagues rate; roll = checkpoint 2)",
        || Ok(store.open_ballot(hr, &ballot, opens)?),
    )?;
    let size = checkpoint::open(ballot.roll.as_bytes(), trust.log_key.as_str())?.size;
    let replayed = steps.time(
        &format!(
            "peer rating: a rater replays the HR registry from the public ledger ({size} entries) for their path"
        ),
        || Ok(store.roll(&ballot.issuer, size)?),
    )?;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let provers = Provers::new(params);
    let shape = ballot.query().shape()?;
    provers.prepare(Backend::Groth16, shape)?;
    let choices = [
        ["competent", "excellent"],
        ["excellent", "competent"],
        ["excellent", "competent"],
        ["competent", "basically_competent"],
    ];
    let rate = |secret: &HolderSecret, employment: &Credential, appraisee: &str, choice: &str| {
        let request = ballot.request(appraisee, choice)?;
        let query = request.query.encode(schemas, shape)?;
        let path = replayed.path(employment.credential_id)?;
        let offered = [Offered {
            credential: employment.clone(),
            siblings: path.siblings,
            root: path.root,
            halo2: path.halo2,
        }];
        let answer = crate::ballot::Answer {
            appraisee,
            choice,
            request: &request,
            query: &query,
        };
        crate::ballot::prove_rating(&provers, &ballot, &answer, secret, &offered)
    };
    let cast = |r: &Rating| crate::ballot::accept_rating(store, &ballot, r, &keys, trust, schemas);
    let mut first = None;
    steps.time(
        "peer rating: 4 colleagues each rate both appraisees (8 proofs on their own machines, checked and archived)",
        || {
            for (i, secret) in raters.iter().enumerate() {
                for (a, appraisee) in ballot.appraisees.iter().enumerate() {
                    let r = rate(secret, &issued_hr[4 * (i + 1)], appraisee, choices[i][a])?;
                    cast(&r)?;
                    first.get_or_insert(r);
                }
            }
            Ok(())
        },
    )?;
    let first = first.ok_or_else(|| CliError::Input("demo: no rating".into()))?;
    steps.time(
        "peer rating: a second rating of A-017 by the same colleague, and a rating whose choice was altered: refused",
        || {
            let again = rate(&raters[0], &issued_hr[4], "A-017", "excellent")?;
            let mut altered = first.clone();
            altered.choice = "incompetent".into();
            if cast(&again).is_ok() || cast(&altered).is_ok() {
                return Err(CliError::Input("demo: a false rating was accepted".into()));
            }
            Ok(())
        },
    )?;
    let closed = steps.time(
        "peer rating: the demo's clock moves to the closing time; the HR office publishes the tally on the ledger",
        || Ok(store.close_ballot(hr, &ballot.name, ballot.closes)?),
    )?;
    let archive = store.ratings(&ballot.name)?;
    let tally = steps.time(
        "peer rating: anyone re-verifies the 8 archived ratings (batched) and recomputes the tally",
        || {
            dossier_verifier::ballot::verify_ratings(&ballot, &archive, &keys, trust, schemas)
                .map_err(|e| CliError::Verify(e.error))
        },
    )?;
    if tally.counts != closed.tally.counts {
        return Err(CliError::Input(
            "demo: the re-verified tally differs from the ledger's".into(),
        ));
    }
    if !steps.json {
        println!(
            "              tally (nobody learns who rated what):\n{}",
            crate::ballot::tally_text(&ballot, &tally)
                .lines()
                .map(|l| format!("            {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// Two departments' witnesses (c2sp.org/tlog-witness), run in process with their state in the
/// demo folder, and the 2-of-2 policy the demo's verifier applies.
struct Witnesses {
    list: Vec<dossier_witness::Witness>,
    policy: dossier_core::cosignature::WitnessPolicy,
}

impl Witnesses {
    fn start(dir: &Path, log_key: &KeyPair) -> Result<Witnesses, CliError> {
        let logs = std::collections::BTreeMap::from([(
            log_key.name().to_string(),
            log_key.verifier_key(),
        )]);
        let mut list = Vec::new();
        for name in ["witness.audit-office", "witness.court-of-accounts"] {
            let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
            let cosigner = dossier_core::cosignature::Cosigner::new(key);
            let state = dir.join(format!("{name}.redb"));
            list.push(
                dossier_witness::Witness::open(&state, cosigner, logs.clone())
                    .map_err(|e| CliError::Input(e.to_string()))?,
            );
        }
        let keys = list
            .iter()
            .map(|w| dossier_core::cosignature::WitnessKey::parse(&w.vkey()))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = dossier_core::cosignature::WitnessPolicy::new(keys.len(), keys)?;
        Ok(Witnesses { list, policy })
    }

    /// Each witness's `add-checkpoint` from `old` (with the consistency proof), its cosignature
    /// kept with the checkpoint.
    fn cosign(&self, store: &Store, note: &str, old: u64) -> Result<(), CliError> {
        let size = note
            .lines()
            .nth(1)
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| CliError::Input("demo: a malformed checkpoint".into()))?;
        let body = self.request(store, note, old, size)?;
        for (w, key) in self.list.iter().zip(&self.policy.witnesses) {
            let line = w
                .add_checkpoint(body.as_bytes(), crate::now())
                .map_err(|e| CliError::Input(format!("demo: witness {}: {e}", key.name())))?;
            store.add_cosignature(size, key, &line)?;
        }
        Ok(())
    }

    fn request(&self, store: &Store, note: &str, old: u64, size: u64) -> Result<String, CliError> {
        let proof = if old > 0 {
            store.consistency_proof(old, size)?
        } else {
            Vec::new()
        };
        Ok(dossier_witness::request_body(old, &proof, note))
    }

    /// The ledger's key signs another history of the same size: no witness cosigns it.
    fn refuse_fork(
        &self,
        log_key: &KeyPair,
        cp: &checkpoint::CheckpointBody,
    ) -> Result<(), CliError> {
        let mut fork = cp.clone();
        fork.root_hash[0] ^= 1;
        let note = fork.sign(log_key)?;
        let body = format!("old {}\n\n{note}", cp.size);
        if self
            .list
            .iter()
            .any(|w| w.add_checkpoint(body.as_bytes(), crate::now()).is_ok())
        {
            return Err(CliError::Input(
                "demo: a witness cosigned a forked checkpoint".into(),
            ));
        }
        Ok(())
    }
}

fn offered(store: &Store, issuer: &str, c: &Credential) -> Result<Offered, CliError> {
    let path = store.witness(issuer, c.credential_id)?;
    Ok(Offered {
        credential: c.clone(),
        siblings: path.siblings,
        root: path.root,
        halo2: path.halo2,
    })
}

/// The departments that contribute to the demo's ceremony, each with its own randomness.
const DEPARTMENTS: [&str; 3] = [
    "tax bureau",
    "civil service commission",
    "national audit office",
];

/// A three-department Groth16 ceremony for every shipped circuit (the shapes and the appraisal
/// round's window circuit), its keys installed into
/// `params`: a coordinator's phase 1 (single party: demonstrations only), one contribution per
/// department, the ledger's latest checkpoint as the public beacon, and a full re-check.
fn ceremony(
    steps: &mut Steps,
    out: &crate::Out,
    params: &Path,
    dir: &Path,
    note: &str,
) -> Result<(), CliError> {
    use crate::ceremony::{Ceremony, Phase1Source};
    let quiet = crate::Out { json: true };
    let shapes = crate::ceremony::CeremonyCircuit::all();
    let mut c = steps.time(
        "ceremony: a coordinator's powers of tau 2^17 (single party, demonstration) and the initial key of each circuit (3 shapes, the appraisal round's)",
        || {
            Ceremony::init(
                dir,
                &quiet,
                &shapes,
                Phase1Source::SingleParty("demo coordinator".into()),
            )
        },
    )?;
    for department in DEPARTMENTS {
        let done = steps.time(
            &format!("ceremony: the {department} contributes to every circuit (fresh randomness, proof of knowledge)"),
            || c.contribute(&quiet, department),
        )?;
        if !out.json {
            for (shape, hash, _) in &done {
                println!(
                    "              {}: publishes {}",
                    shape.name(),
                    hex::encode(hash)
                );
            }
        }
    }
    let beacon = sha2::Sha256::digest(note.as_bytes());
    steps.time(
        "ceremony: a public random beacon (the latest checkpoint's hash, 2^10 SHA-256 iterations) closes it",
        || c.beacon(&quiet, "beacon: latest checkpoint", &beacon, 10),
    )?;
    c.save()?;
    let reports = steps.time(
        "ceremony: anyone re-checks phase 1 and every transcript against its circuit",
        || c.verify(&quiet),
    )?;
    let manifest = steps.time(
        "ceremony: install the keys into params (the manifest pins them, phase 1 and the transcripts)",
        || c.install(params, &reports),
    )?;
    if !out.json {
        println!("              {}", manifest.setup);
    }
    Ok(())
}

/// Recruitment and promotion presentations by holder 0, verified, and a replay refused.
#[allow(clippy::too_many_arguments)]
fn presentations(
    steps: &mut Steps,
    params: &Path,
    store: &Store,
    trust: &dossier_verifier::Trust,
    secret: &HolderSecret,
    degree: &Credential,
    hr: &[Credential],
    day: u32,
    schemas: &SchemaSet,
) -> Result<(), CliError> {
    let keys = steps.time(
        "verifier: load and prepare the pinned verifying keys",
        || Ok(dossier_verifier::VerifierKeys::load(params)?),
    )?;
    let note = store.latest_checkpoint()?.unwrap_or_default();
    let today = crate::demo_date(day);
    let two_years_ago = crate::demo_date(day.saturating_sub(731));
    let stories = [
        (
            "recruitment",
            r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
                "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#
                .to_string(),
            vec![offered(store, "univ.law-school", degree)?],
        ),
        (
            "promotion",
            format!(
                r#"{{"credentials": [
                {{"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {{"year": {{"$eq": 2023}}, "grade": {{"$gte": "competent"}}}}}},
                {{"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {{"year": {{"$eq": 2024}}, "grade": {{"$gte": "competent"}}}}}},
                {{"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {{"year": {{"$eq": 2025}}, "grade": {{"$gte": "competent"}}}}}},
                {{"schema": "employment", "issuers": ["hr.tax-bureau"], "where": {{"rank_since": {{"$lte": "{two_years_ago}"}}, "sanction_until": {{"$lt": "{today}"}}}}}}]}}"#
            ),
            vec![
                offered(store, "hr.tax-bureau", &hr[1])?,
                offered(store, "hr.tax-bureau", &hr[2])?,
                offered(store, "hr.tax-bureau", &hr[3])?,
                offered(store, "hr.tax-bureau", &hr[0])?,
            ],
        ),
    ];
    let mut seen = dossier_verifier::NullifierStore::in_memory();
    let provers = Provers::new(params);
    for (name, query, creds) in stories {
        let query = Query::from_json(&query)?;
        let shape = query.shape()?;
        let scope = format!("{name}:2026:tax-bureau");
        let request = PresentationRequest::new(query, &scope, &today, 3600)?;
        let encoded = request.query.encode(schemas, shape)?;
        steps.time(
            &format!(
                "{name}: load the proving key of shape {} (pinned by hash)",
                shape.name()
            ),
            || Ok(provers.prepare(Backend::Groth16, shape)?),
        )?;
        let presentation = steps.time(
            &format!(
                "{name}: holder proves ({} credentials, Groth16)",
                creds.len()
            ),
            || {
                Ok(provers.prove(&Statement {
                    request: &request,
                    query: &encoded,
                    secret,
                    offered: &creds,
                    checkpoint: &note,
                })?)
            },
        )?;
        let checked = steps.time(&format!("{name}: verifier checks the presentation"), || {
            Ok(dossier_verifier::verify(
                &request,
                &presentation,
                &keys,
                trust,
                schemas,
                crate::now(),
            )?)
        })?;
        seen.check_and_record(&scope, checked.backend, &checked.nullifier)?;
        if !steps.json {
            if checked.verdict.insecure_setup {
                println!("              (keys from the INSECURE development setup: a demonstration, not evidence)");
            } else {
                println!("              keys: {}", keys.setup);
            }
            for line in &checked.verdict.proven {
                println!("              proven: {line}");
            }
            for r in &checked.verdict.revealed {
                println!(
                    "              revealed: {}.{} = {}",
                    r.schema, r.field, r.value
                );
            }
        }
        let replay =
            dossier_verifier::verify(&request, &presentation, &keys, trust, schemas, crate::now())
                .map_err(CliError::from)
                .and_then(|c| {
                    seen.check_and_record(&scope, c.backend, &c.nullifier)
                        .map_err(CliError::from)
                });
        if replay.is_ok() {
            return Err(CliError::Input(
                "demo: a replayed presentation was accepted".into(),
            ));
        }
        let other = PresentationRequest::new(request.query.clone(), &scope, &today, 3600)?;
        if dossier_verifier::verify(&other, &presentation, &keys, trust, schemas, crate::now())
            .is_ok()
        {
            return Err(CliError::Input(
                "demo: a presentation was accepted for another challenge".into(),
            ));
        }
        if !steps.json {
            println!("              replayed to the same verifier: refused (nullifier seen); shown for another challenge: refused");
        }
    }

    // The same recruitment statement without a trusted setup: halo2 (IPA), its own scope.
    let recruitment = Query::from_json(
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
            "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#,
    )?;
    let shape = recruitment.shape()?;
    let scope = "recruitment:2026:audit-office";
    let request =
        PresentationRequest::new(recruitment, scope, &today, 3600)?.with_backend(Backend::Halo2);
    let encoded = request.query.encode(schemas, shape)?;
    let creds = vec![offered(store, "univ.law-school", degree)?];
    steps.time(
        &format!(
            "halo2: generate the keys of shape {} from the circuit (no setup)",
            shape.name()
        ),
        || Ok(provers.prepare(Backend::Halo2, shape)?),
    )?;
    let presentation = steps.time("halo2: holder proves the recruitment statement", || {
        Ok(provers.prove(&Statement {
            request: &request,
            query: &encoded,
            secret,
            offered: &creds,
            checkpoint: &note,
        })?)
    })?;
    let checked = steps.time("halo2: verifier checks the presentation", || {
        Ok(dossier_verifier::verify(
            &request,
            &presentation,
            &keys,
            trust,
            schemas,
            crate::now(),
        )?)
    })?;
    seen.check_and_record(scope, checked.backend, &checked.nullifier)?;
    let mut tampered = presentation.clone();
    tampered.public_inputs[dossier_core::statement::Layout { shape }.revealed(0, 0)] =
        dossier_core::pasta::to_hex(&dossier_core::pasta::Fp::from(2001));
    if dossier_verifier::verify(&request, &tampered, &keys, trust, schemas, crate::now()).is_ok() {
        return Err(CliError::Input(
            "demo: a halo2 proof with a changed reveal was accepted".into(),
        ));
    }
    if !steps.json {
        for line in &checked.verdict.proven {
            println!("              proven: {line}");
        }
        for r in &checked.verdict.revealed {
            println!(
                "              revealed: {}.{} = {}",
                r.schema, r.field, r.value
            );
        }
        println!(
            "              proof {} bytes; a changed reveal: refused",
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &presentation.proof
            )
            .map_or(0, |b| b.len())
        );
    }
    Ok(())
}
