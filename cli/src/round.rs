//! `dossier round`: appraisal rounds and their quotas, proven to the regulator in zero
//! knowledge. The HR office declares a unit's appraisals of a year (`declare`), proves the
//! round keeps its quota against the latest checkpoint (`prove`, from its openings file: the
//! grades never leave its machine), and anyone checks the proof (`verify`) and lists the
//! rounds (`list`).

use crate::client::{each_entry, fetch_json, ledger_key};
use crate::error::CliError;
use crate::{present, Out, RoundCmd, RoundOf};
use dossier_core::credential::Credential;
use dossier_core::round::{ids, Declaration, Quota, Round, RoundProof, Rules, Training};
use dossier_core::schema::SchemaSet;
use dossier_store::ballot::{Roll, RollReplay};
use dossier_store::home::Home;
use dossier_store::registry;
use dossier_store::round::DeclaredRound;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs a `dossier round` command.
pub fn round(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: RoundCmd,
) -> Result<i32, CliError> {
    match cmd {
        RoundCmd::Declare {
            which: RoundOf { issuer, unit, year },
            first,
            count,
        } => {
            let round = Round {
                issuer,
                unit,
                year,
                first,
                count,
            };
            let entry = declare(home, &round)?;
            out.emit(
                format!(
                    "round declared (ledger entry {entry}): {} appraisals of unit `{}` for {}, ids {:?}",
                    round.count,
                    round.unit,
                    round.year,
                    ids(round.first, round.count)
                ),
                json!({"entry": entry, "round": round}),
            );
            Ok(0)
        }
        RoundCmd::Prove {
            which: RoundOf { issuer, unit, year },
            openings,
            quota,
            training_hours,
            training_share,
            disclose,
            out: path,
            service,
        } => {
            let rules = Rules {
                quota: Quota { percent: quota },
                training: training_hours.map(|hours| Training {
                    hours,
                    percent: training_share,
                }),
            };
            let which = RoundOf { issuer, unit, year };
            let started = std::time::Instant::now();
            // The anchor: the service's public ledger, or this home's.
            let (declared, anchor, trust, keeper) = match &service {
                Some(url) => {
                    let (declared, anchor, key) = remote_anchor(url, &which)?;
                    let trust = dossier_verifier::Trust::key_only(&key);
                    (declared, anchor, trust, Keeper::Service(url))
                }
                None => {
                    // The ledger's key first: reading it opens the store, which a writer holds.
                    let trust = key_trust(home, None)?;
                    let store = home.store()?;
                    let declared = store.round(&which.issuer, &which.unit, which.year)?;
                    let anchor = local_anchor(&store, &trust, &declared)?;
                    (declared, anchor, trust, Keeper::Home(store))
                }
            };
            let credentials = round_openings(&openings, &declared.round, schemas)?;
            let proving = Proving {
                params,
                trust: &trust,
                schemas,
            };
            let (proof, _) = prove_anchored(
                &proving,
                out,
                &declared.round,
                &anchor,
                &credentials,
                rules,
                disclose,
            )?;
            present::write_json(&path, &proof)?;
            let submitted = match keeper {
                Keeper::Service(url) => submit(url, &proof)?,
                Keeper::Home(store) => {
                    store.record_round_proof(&proof)?;
                    None
                }
            };
            let round = &proof.round;
            let secs = started.elapsed().as_secs_f64();
            out.emit(
                format!(
                    "round of `{}` {} proven within its quota ({}% excellent at most){} in {} windows, {:.1} s; written to {}{}",
                    round.unit,
                    round.year,
                    quota,
                    rules.training.map_or(String::new(), |t| format!(
                        " and its training rule ({}% with {} hours at least)",
                        t.percent, t.hours
                    )),
                    proof.windows.len(),
                    secs,
                    path.display(),
                    submitted.as_ref().map_or(String::new(), |at| format!("; submitted to {at}")),
                ),
                json!({"proof": path, "windows": proof.windows.len(), "seconds": secs, "submitted": submitted}),
            );
            Ok(0)
        }
        RoundCmd::Verify { proof, log_key } => {
            let proof: RoundProof = present::read_json(&proof)?;
            let trust = key_trust(home, log_key.as_deref())?;
            let started = std::time::Instant::now();
            let verdict = verify(params, &trust, schemas, &proof)?;
            let secs = started.elapsed().as_secs_f64();
            let mut text = format!(
                "VALID: the round of unit `{}` for {} ({} appraisals of {}) keeps its quota: at most {}% excellent (at most {}), proven against checkpoint {} ({} windows, verified in {:.1} ms)",
                verdict.round.unit,
                verdict.round.year,
                verdict.round.count,
                verdict.round.issuer,
                verdict.quota.percent,
                verdict.bound,
                verdict.checkpoint_size,
                verdict.windows,
                secs * 1e3
            );
            if let (Some(t), Some(floor)) = (verdict.training, verdict.training_floor) {
                text.push_str(&format!(
                    "\ntraining: at least {}% ({floor} of {}) completed {} hours or more",
                    t.percent, verdict.round.count, t.hours
                ));
            }
            if let Some(d) = verdict.distribution {
                text.push_str(&format!(
                    "\ndistribution: incompetent {}, basically competent {}, competent {}, excellent {}",
                    d[0], d[1], d[2], d[3]
                ));
            }
            if let (Some(trained), Some(t)) = (verdict.trained, verdict.training) {
                text.push_str(&format!(
                    "\ntrained: {trained} of {} completed {} hours or more ({:.1}%)",
                    verdict.round.count,
                    t.hours,
                    100.0 * f64::from(trained) / f64::from(verdict.round.count)
                ));
            }
            if verdict.insecure_setup {
                text.push_str(
                    "\nWARNING: the round circuit's keys come from the INSECURE development setup",
                );
            }
            let mut machine =
                serde_json::to_value(&verdict).map_err(|e| CliError::Input(e.to_string()))?;
            machine["valid"] = json!(true);
            machine["seconds"] = json!(secs);
            out.emit(text, machine);
            Ok(0)
        }
        RoundCmd::List => {
            let rounds = home.reader()?.rounds()?;
            let lines: Vec<String> = rounds
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}: {} appraisals (ids {:?}), {}",
                        r.round.issuer,
                        r.round.unit,
                        r.round.year,
                        r.round.count,
                        ids(r.round.first, r.round.count),
                        r.proof
                            .as_ref()
                            .map_or("not proven yet".to_string(), |p| format!(
                                "proven within {}%",
                                p.quota.percent
                            ))
                    )
                })
                .collect();
            out.emit(
                if lines.is_empty() {
                    "no rounds".to_string()
                } else {
                    lines.join("\n")
                },
                json!({"rounds": rounds}),
            );
            Ok(0)
        }
    }
}

/// The ledger's key as the only trust (no witness policy asked for).
fn key_trust(home: &Home, given: Option<&str>) -> Result<dossier_verifier::Trust, CliError> {
    Ok(dossier_verifier::Trust::key_only(&crate::log_key(
        home, given,
    )?))
}

/// Declares a round with the HR office's key; returns the ledger entry's index.
pub fn declare(home: &Home, round: &Round) -> Result<u64, CliError> {
    let key = home.issuer_key(&round.issuer, None)?;
    Ok(home
        .store()?
        .declare_round(&key, round, dossier_core::clock::now())?)
}

/// What proving a round needs besides the round and its anchor: the keys, the trust its proof
/// is checked under (as the regulator will) and the schemas.
pub struct Proving<'a> {
    /// The params folder.
    pub params: &'a Path,
    /// The ledger key and witness policy.
    pub trust: &'a dossier_verifier::Trust,
    /// The schemas.
    pub schemas: &'a SchemaSet,
}

/// Where a round's proof is kept: where it was anchored.
enum Keeper<'a> {
    /// This home's store.
    Home(dossier_store::Store),
    /// The service whose ledger it was proven against (submitted with the office's token).
    Service(&'a str),
}

/// What a round is proven against: a signed checkpoint, the HR office's registry replayed to
/// it, and the round's declaration with its inclusion proof in the checkpoint's log.
pub struct Anchor {
    /// The signed checkpoint.
    pub checkpoint: String,
    /// The registry at the checkpoint.
    pub roll: Roll,
    /// The round's declaration in the checkpoint's log.
    pub declaration: Declaration,
}

/// Proves a declared round against the latest checkpoint from the HR office's credentials,
/// checks the proof as the regulator will, and keeps it in the store.
pub fn prove(
    p: &Proving<'_>,
    store: &dossier_store::Store,
    out: &Out,
    declared: &DeclaredRound,
    credentials: &BTreeMap<u32, Credential>,
    rules: Rules,
    disclose: bool,
) -> Result<(RoundProof, dossier_verifier::round::RoundVerdict), CliError> {
    let anchor = local_anchor(store, p.trust, declared)?;
    let (proof, verdict) = prove_anchored(
        p,
        out,
        &declared.round,
        &anchor,
        credentials,
        rules,
        disclose,
    )?;
    store.record_round_proof(&proof)?;
    Ok((proof, verdict))
}

/// The anchor of a round in the HR office's own store: its latest checkpoint, the registry
/// replayed from the ledger's entries up to it, and the declaration's inclusion proof.
fn local_anchor(
    store: &dossier_store::Store,
    trust: &dossier_verifier::Trust,
    declared: &DeclaredRound,
) -> Result<Anchor, CliError> {
    let checkpoint = store.latest_checkpoint()?.ok_or_else(|| {
        CliError::Input("no checkpoint yet: publish one (`dossier checkpoint`)".into())
    })?;
    let body = trust.open(checkpoint.as_bytes())?;
    Ok(Anchor {
        declaration: store.round_declaration(declared, body.size)?,
        roll: store.roll(&declared.round.issuer, body.size)?,
        checkpoint,
    })
}

/// The anchor of a round from a dossier service's public API: its declared round, its latest
/// checkpoint, the ledger's entries up to it (every registry replayed from them, so no
/// credential's path is asked for) and the declaration's inclusion proof. Returns the ledger's
/// key with it.
fn remote_anchor(url: &str, which: &RoundOf) -> Result<(DeclaredRound, Anchor, String), CliError> {
    use base64::Engine;
    let bad = |what: &str| CliError::Input(format!("the service's answer: {what}"));
    let listed = fetch_json(&format!("{url}/v1/rounds"))?;
    let declared = listed["rounds"]
        .as_array()
        .ok_or_else(|| bad("not a list of rounds"))?
        .iter()
        .filter_map(|r| {
            Some(DeclaredRound {
                round: serde_json::from_value(r["round"].clone()).ok()?,
                declared_entry: r["declared_entry"].as_u64()?,
            })
        })
        .find(|d| {
            d.round.issuer == which.issuer
                && d.round.unit == which.unit
                && d.round.year == which.year
        })
        .ok_or(dossier_store::StoreError::UnknownRound)?;
    let key = ledger_key(url)?;
    let checkpoint = fetch_json(&format!("{url}/v1/checkpoints/latest"))?["note"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| bad("no checkpoint"))?;
    let size = dossier_core::checkpoint::open(checkpoint.as_bytes(), &key)?.size;
    let index = declared.declared_entry;
    if index >= size {
        return Err(CliError::Input(
            "the service's latest checkpoint predates the round's declaration: publish a checkpoint first".into(),
        ));
    }
    let mut replay = RollReplay::new(&declared.round.issuer)?;
    let mut entry = None;
    each_entry(url, size, |i, bytes| {
        if i == index {
            entry = Some(bytes.to_vec());
        }
        Ok(replay.add(bytes)?)
    })?;
    let roll = replay.finish()?;
    let inclusion = fetch_json(&format!(
        "{url}/v1/ledger/inclusion?index={index}&size={size}"
    ))?;
    let hashes = inclusion["proof"]
        .as_array()
        .ok_or_else(|| bad("no inclusion proof"))?
        .iter()
        .take(dossier_core::round::MAX_INCLUSION + 1)
        .map(|h| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap_or_default())
                .map_err(|_| bad("an inclusion hash is not base64"))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| bad("an inclusion hash is not 32 bytes"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let entry = entry.ok_or_else(|| bad("the ledger lacks the declaration"))?;
    let anchor = Anchor {
        checkpoint,
        roll,
        declaration: Declaration::new(index, &entry, &hashes),
    };
    Ok((declared, anchor, key))
}

/// The environment variable an HR office's service token is read from (never an argument:
/// a process's arguments are visible to every user of the machine).
pub const TOKEN_VAR: &str = "DOSSIER_TOKEN";

/// Submits a round proof to a service with the HR office's token from [`TOKEN_VAR`]; the
/// service checks it as a regulator does and keeps it. Without a token nothing is sent.
/// Returns where it went.
fn submit(url: &str, proof: &RoundProof) -> Result<Option<String>, CliError> {
    let Ok(token) = std::env::var(TOKEN_VAR) else {
        return Ok(None);
    };
    let target = format!(
        "{url}/v1/issuers/{}/rounds/{}/proofs",
        proof.round.issuer,
        dossier_core::field::to_hex(&proof.round.id()?)
    );
    let answer = ureq::post(&target)
        .timeout(std::time::Duration::from_secs(120))
        .set("Authorization", &format!("Bearer {token}"))
        .send_json(proof);
    match answer {
        Ok(_) => Ok(Some(target)),
        Err(ureq::Error::Status(code, r)) => {
            let body: serde_json::Value = r.into_json().unwrap_or_default();
            Err(CliError::Input(format!(
                "POST {target}: {code} {}",
                body["error"]["message"].as_str().unwrap_or("refused")
            )))
        }
        Err(e) => Err(CliError::Input(format!("POST {target}: {e}"))),
    }
}

/// Proves a round against an anchor and checks the proof as the regulator will.
fn prove_anchored(
    p: &Proving<'_>,
    out: &Out,
    round: &Round,
    anchor: &Anchor,
    credentials: &BTreeMap<u32, Credential>,
    rules: Rules,
    disclose: bool,
) -> Result<(RoundProof, dossier_verifier::round::RoundVerdict), CliError> {
    let body = p.trust.open(anchor.checkpoint.as_bytes())?;
    let root = body
        .registry(&round.issuer_id()?)
        .ok_or_else(|| {
            CliError::Input("the checkpoint has no registry of the round's issuer".into())
        })?
        .root;
    let empty = registry::empty_hashes();
    let node = |level: u8, index: u32| {
        anchor
            .roll
            .node(level, index)
            .unwrap_or(empty[level as usize])
    };
    let prover = dossier_prover::round::RoundProver::load(p.params)?;
    let windows = round.windows().count() as u64;
    let bar = crate::progress_bar(out, "proving the round's windows", windows);
    let proof = prover.prove(
        &dossier_prover::round::RoundInputs {
            round,
            declaration: &anchor.declaration,
            rules,
            disclose,
            checkpoint: &anchor.checkpoint,
            root,
            schema_id: p.schemas.get("appraisal")?.id(),
            node: &node,
            openings: credentials,
        },
        &mut rand::rngs::OsRng,
        |i, _| bar.set_position(i as u64),
    )?;
    bar.finish_and_clear();
    let verdict = verify(p.params, p.trust, p.schemas, &proof)?;
    Ok((proof, verdict))
}

/// The round's credentials from an openings file (other credentials in it are skipped).
fn round_openings(
    path: &Path,
    round: &Round,
    schemas: &SchemaSet,
) -> Result<BTreeMap<u32, Credential>, CliError> {
    let mut out = BTreeMap::new();
    for o in crate::holder::read_openings(path)? {
        if o.issuer == round.issuer && round.contains(o.credential_id) {
            out.insert(o.credential_id, o.credential(schemas)?);
        }
    }
    Ok(out)
}

/// Verifies a round proof under a trust policy.
pub fn verify(
    params: &Path,
    trust: &dossier_verifier::Trust,
    schemas: &SchemaSet,
    proof: &RoundProof,
) -> Result<dossier_verifier::round::RoundVerdict, CliError> {
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    Ok(dossier_verifier::round::verify_round(
        proof, &keys, trust, schemas,
    )?)
}

/// What the audit finds of a round's kept proof, re-verified under the audit's trust.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProofFinding {
    /// The proof verifies: the round keeps the rules it claims.
    Valid {
        /// The quota's bound it proves.
        bound: u32,
        /// The training floor it proves, if any.
        training_floor: Option<u32>,
    },
    /// No proof was kept for the round.
    Missing,
    /// The kept proof does not verify (the store was altered, or it was made under another
    /// ledger key than the audit trusts).
    Invalid {
        /// Why.
        reason: String,
    },
    /// Not checked: the params folder has no verifying key of the round circuit.
    Unchecked,
}

impl std::fmt::Display for ProofFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofFinding::Valid {
                bound,
                training_floor,
            } => {
                write!(f, "proof valid (excellent <= {bound}")?;
                if let Some(floor) = training_floor {
                    write!(f, ", trained >= {floor}")?;
                }
                write!(f, ")")
            }
            ProofFinding::Missing => write!(f, "no proof yet"),
            ProofFinding::Invalid { reason } => write!(f, "PROOF INVALID: {reason}"),
            ProofFinding::Unchecked => write!(f, "proof not checked (no round key in --params)"),
        }
    }
}

/// A declared round and what the audit finds of its proof.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RoundAudit {
    /// The round.
    pub round: Round,
    /// Its `RoundDeclared` entry.
    pub declared_entry: u64,
    /// Its proof.
    pub proof: ProofFinding,
}

/// Re-verifies every round proof the store keeps, under `trust` (the audit's `dossier audit`).
pub fn audit_proofs<D: dossier_store::Reading>(
    store: &dossier_store::Store<D>,
    params: &Path,
    trust: &dossier_verifier::Trust,
    schemas: &SchemaSet,
) -> Result<Vec<RoundAudit>, CliError> {
    let keys = dossier_verifier::VerifierKeys::load(params)
        .ok()
        .filter(|k| k.round.is_some());
    store
        .rounds()?
        .into_iter()
        .map(|r| {
            let proof = match (&r.proof, &keys) {
                (None, _) => ProofFinding::Missing,
                (Some(_), None) => ProofFinding::Unchecked,
                (Some(p), Some(keys)) => {
                    match dossier_verifier::round::verify_round(p, keys, trust, schemas) {
                        Ok(v) => ProofFinding::Valid {
                            bound: v.bound,
                            training_floor: v.training_floor,
                        },
                        Err(e) => ProofFinding::Invalid {
                            reason: e.to_string(),
                        },
                    }
                }
            };
            Ok(RoundAudit {
                round: r.round,
                declared_entry: r.declared_entry,
                proof,
            })
        })
        .collect()
}
