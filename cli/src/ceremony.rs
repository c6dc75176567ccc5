//! `dossier ceremony`: the Groth16 setup ceremony among departments, on files a coordinator
//! passes from one contributor to the next.
//!
//! A ceremony sets up every circuit dossier proves with Groth16: each statement shape of the
//! query circuit and the appraisal round's window circuit (`round-w64`), the
//! [`CeremonyCircuit`]s. A ceremony folder holds `phase1.ptau` (powers of tau), `ceremony.json`
//! (which circuits, and where phase 1 came from) and one `<circuit>.zkey` transcript per circuit
//! (snarkjs's file: a department may contribute with `snarkjs zkey contribute` instead, and
//! `snarkjs zkey verify` re-checks it against `dossier ceremony r1cs`'s constraint system).
//! `init` makes the transcripts from the circuits' constraint systems and a verified phase 1;
//! each department runs
//! `contribute` on its own machine (fresh OS randomness; the hashes it prints are what it
//! publishes); `beacon` closes it with a public random value; `verify` lets anyone re-check the
//! whole of it; `finalize` verifies again and installs the keys into `--params`, with the phase 1
//! file and the transcripts kept beside them so the params folder can itself be re-verified.

use crate::error::{io, CliError};
use crate::Out;
use dossier_ceremony::phase1::{self, Dealer, Lagrange, Powers, Verified};
use dossier_ceremony::phase2::{Hash, Report, Transcript};
use dossier_ceremony::{zkey, Circuit};
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::query::{Shape, SHAPES};
use dossier_params::{sha256_hex, CeremonyRecord, ContributionRecord, Manifest, ShapeCeremony};
use dossier_prover::round::ROUND_CIRCUIT;
use dossier_prover::R1cs;
use dossier_store::home::write_atomic;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The phase 1 file's name in a ceremony (and params) folder.
pub const PHASE1_FILE: &str = "phase1.ptau";
const STATE_FILE: &str = "ceremony.json";

/// What a ceremony folder is for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    /// Where phase 1 came from.
    phase1: String,
    /// The circuits, by name (`shapes`: the name the first ceremonies, of shapes only, gave).
    shapes: Vec<String>,
}

/// Where phase 1 comes from.
pub enum Phase1Source {
    /// A `.ptau` file (snarkjs's or ours), verified before use.
    File(PathBuf),
    /// A single party's fresh powers (demonstrations: that party could forge proofs).
    SingleParty(String),
}

/// A circuit a ceremony sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyCircuit {
    /// A statement shape of the query circuit.
    Shape(Shape),
    /// The appraisal round's window circuit ([`ROUND_CIRCUIT`]).
    Round,
}

impl CeremonyCircuit {
    /// Every circuit dossier ships: the shapes, then the round circuit.
    pub fn all() -> Vec<CeremonyCircuit> {
        SHAPES
            .iter()
            .map(|s| CeremonyCircuit::Shape(*s))
            .chain([CeremonyCircuit::Round])
            .collect()
    }

    /// Its name: the shape's, or [`ROUND_CIRCUIT`] (also its transcript's and keys' file stem).
    pub fn name(&self) -> String {
        match self {
            CeremonyCircuit::Shape(s) => s.name(),
            CeremonyCircuit::Round => ROUND_CIRCUIT.into(),
        }
    }

    /// The circuit of a name.
    pub fn named(name: &str) -> Result<CeremonyCircuit, CliError> {
        let all = CeremonyCircuit::all();
        all.iter()
            .find(|c| c.name() == name)
            .copied()
            .ok_or_else(|| {
                CliError::Input(format!(
                    "unknown circuit `{name}` (shipped: {})",
                    all.iter()
                        .map(CeremonyCircuit::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// Synthesises its constraint system.
    fn r1cs(&self) -> Result<R1cs, CliError> {
        Ok(match self {
            CeremonyCircuit::Shape(s) => R1cs::of(*s)?,
            CeremonyCircuit::Round => dossier_prover::round::round_r1cs()?,
        })
    }
}

/// Circuits named on the command line (every shipped circuit when none is).
pub fn circuits_named(names: &[String]) -> Result<Vec<CeremonyCircuit>, CliError> {
    if names.is_empty() {
        return Ok(CeremonyCircuit::all());
    }
    names.iter().map(|n| CeremonyCircuit::named(n)).collect()
}

/// A circuit's constraint system.
pub struct Synthesised {
    r1cs: R1cs,
}

impl Synthesised {
    /// Synthesises a circuit.
    pub fn of(circuit: CeremonyCircuit) -> Result<Synthesised, CliError> {
        Ok(Synthesised {
            r1cs: circuit.r1cs()?,
        })
    }

    fn circuit(&self) -> Circuit<'_> {
        Circuit {
            matrices: self.r1cs.matrices(),
            num_instance: self.r1cs.num_inputs(),
            num_variables: self.r1cs.num_variables(),
        }
    }
}

/// What a prepared file holds, or else what `slow` computes (behind a bar saying so).
fn from_file_or_slow<T>(
    out: &Out,
    what: String,
    from_file: Option<T>,
    slow: impl FnOnce() -> Result<T, dossier_ceremony::CeremonyError>,
) -> Result<T, CliError> {
    if let Some(t) = from_file {
        return Ok(t);
    }
    let b = bar(out, format!("phase 1: {what} (slow: not prepared)"));
    let t = slow();
    b.finish_and_clear();
    Ok(t?)
}

/// Phase 1 as a ceremony uses it: the powers and the file they were read from (whose
/// Lagrange sections, when prepared, spare the group FFTs).
struct Phase1 {
    powers: Powers,
    bytes: Vec<u8>,
}

impl Phase1 {
    fn read(path: &Path) -> Result<Phase1, CliError> {
        let bytes = read(path)?;
        Ok(Phase1 {
            powers: Powers::from_ptau(&bytes)?,
            bytes,
        })
    }

    /// A domain's Lagrange basis: from the file, or by the group FFT (slow, with a bar).
    fn lagrange(&self, out: &Out, powers: Verified<'_>, log: u32) -> Result<Lagrange, CliError> {
        from_file_or_slow(
            out,
            format!("Lagrange basis 2^{log}"),
            phase1::lagrange_from_ptau(&self.bytes, log)?,
            || powers.lagrange(log),
        )
    }

    /// A domain's H basis: from the file, or by the group FFT (slow, with a bar).
    fn h_basis(
        &self,
        out: &Out,
        powers: Verified<'_>,
        log: u32,
    ) -> Result<Vec<phase1::G1Affine>, CliError> {
        from_file_or_slow(
            out,
            format!("H basis 2^{log}"),
            phase1::h_basis_from_ptau(&self.bytes, log)?,
            || powers.h_basis(log),
        )
    }
}

fn bar(out: &Out, what: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(1000);
    if out.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:40} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(io(path))
}

fn hex(h: &[u8]) -> String {
    hex::encode(h)
}

/// A ceremony in progress: its folder, what it is for, and (once read or made) phase 1, the
/// shapes' circuits and their transcripts. The CLI's steps load it, act and save it; the demo
/// keeps one in memory from init to install.
pub struct Ceremony {
    dir: PathBuf,
    state: State,
    phase1: Option<Phase1>,
    circuits: BTreeMap<String, Synthesised>,
    transcripts: Vec<(CeremonyCircuit, Transcript)>,
}

/// A circuit's transcript file name (snarkjs's `.zkey`).
fn transcript_file(shape: &CeremonyCircuit) -> String {
    format!("{}.zkey", shape.name())
}

impl Ceremony {
    fn transcript_path(dir: &Path, shape: &CeremonyCircuit) -> PathBuf {
        dir.join(transcript_file(shape))
    }

    /// Opens a ceremony folder, reading (and checking every point of) each transcript.
    pub fn open(dir: &Path) -> Result<Ceremony, CliError> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let state: State = serde_json::from_str(&text)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        let mut transcripts = Vec::new();
        for name in &state.shapes {
            let shape = CeremonyCircuit::named(name)?;
            let bytes = read(&Self::transcript_path(dir, &shape))?;
            transcripts.push((shape, Transcript::from_bytes(&bytes)?));
        }
        Ok(Ceremony {
            dir: dir.to_path_buf(),
            state,
            phase1: None,
            circuits: BTreeMap::new(),
            transcripts,
        })
    }

    /// Writes every transcript (atomically).
    pub fn save(&self) -> Result<(), CliError> {
        for (shape, t) in &self.transcripts {
            write_atomic(
                &Self::transcript_path(&self.dir, shape),
                &t.to_bytes(),
                0o644,
                true,
            )?;
        }
        Ok(())
    }

    /// Where phase 1 came from.
    pub fn phase1(&self) -> &str {
        &self.state.phase1
    }

    fn synthesise(&mut self, shape: CeremonyCircuit) -> Result<(), CliError> {
        if let std::collections::btree_map::Entry::Vacant(e) = self.circuits.entry(shape.name()) {
            e.insert(Synthesised::of(shape)?);
        }
        Ok(())
    }

    /// Makes a ceremony folder: phase 1 and one initial transcript per circuit.
    pub fn init(
        dir: &Path,
        out: &Out,
        shapes: &[CeremonyCircuit],
        source: Phase1Source,
    ) -> Result<Ceremony, CliError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if dir.join(STATE_FILE).exists() {
            return Err(CliError::Input(format!(
                "{} holds a ceremony already",
                dir.display()
            )));
        }
        let mut circuits = BTreeMap::new();
        for s in shapes {
            circuits.insert(s.name(), Synthesised::of(*s)?);
        }
        let needed = circuits
            .values()
            .map(|c| c.circuit().domain_log())
            .max()
            .unwrap_or(1);
        let (description, phase1, transcripts) = match source {
            Phase1Source::SingleParty(name) => {
                // The H query lives on the domain twice the largest shape's.
                init_single_party(dir, out, &name, needed + 1, shapes, &circuits)?
            }
            Phase1Source::File(path) => init_from_file(dir, out, &path, shapes, &circuits)?,
        };
        let state = State {
            phase1: description,
            shapes: shapes.iter().map(CeremonyCircuit::name).collect(),
        };
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| CliError::Input(e.to_string()))?;
        let ceremony = Ceremony {
            dir: dir.to_path_buf(),
            state,
            phase1: Some(phase1),
            circuits,
            transcripts,
        };
        ceremony.save()?;
        write_atomic(&dir.join(STATE_FILE), text.as_bytes(), 0o644, false)?;
        Ok(ceremony)
    }

    /// The transcripts' current hashes.
    pub fn heads(&self) -> Vec<(CeremonyCircuit, Hash)> {
        self.transcripts
            .iter()
            .map(|(s, t)| (*s, t.hash()))
            .collect()
    }

    /// Adds one contribution (fresh OS randomness) to every shape's transcript.
    pub fn contribute(
        &mut self,
        out: &Out,
        name: &str,
    ) -> Result<Vec<(CeremonyCircuit, Hash, f64)>, CliError> {
        let mut done = Vec::new();
        for (shape, t) in &mut self.transcripts {
            let b = bar(out, format!("{name}: contribute to {}", shape.name()));
            let started = Instant::now();
            let hash = t.contribute(name, &mut rand::rngs::OsRng, &|f| {
                b.set_position((f * 1000.0) as u64)
            });
            b.finish_and_clear();
            done.push((*shape, hash?, started.elapsed().as_secs_f64()));
        }
        Ok(done)
    }

    /// Closes every transcript with the public random beacon.
    pub fn beacon(
        &mut self,
        out: &Out,
        name: &str,
        value: &[u8],
        iterations_log: u8,
    ) -> Result<Vec<(CeremonyCircuit, Hash)>, CliError> {
        let mut done = Vec::new();
        for (shape, t) in &mut self.transcripts {
            let b = bar(out, format!("beacon on {}", shape.name()));
            let hash = t.beacon(name, value, iterations_log, &|f| {
                b.set_position((f * 1000.0) as u64)
            })?;
            b.finish_and_clear();
            done.push((*shape, hash));
        }
        Ok(done)
    }

    /// Re-checks phase 1 and every transcript against its circuit.
    pub fn verify(&mut self, out: &Out) -> Result<Vec<(CeremonyCircuit, Report)>, CliError> {
        let phase1 = match self.phase1.take() {
            Some(p) => p,
            None => Phase1::read(&self.dir.join(PHASE1_FILE))?,
        };
        let shapes: Vec<CeremonyCircuit> = self.transcripts.iter().map(|(s, _)| *s).collect();
        for shape in &shapes {
            self.synthesise(*shape)?;
        }
        let verified = verify_powers(out, &phase1)?;
        let mut reports = Vec::new();
        for (shape, t) in &self.transcripts {
            let circuit = self.circuits[&shape.name()].circuit();
            reports.push((
                *shape,
                verify_transcript(out, verified, &circuit, *shape, t)?,
            ));
        }
        self.phase1 = Some(phase1);
        Ok(reports)
    }

    /// Installs verified transcripts' keys into `params`, with phase 1 and the transcripts
    /// beside them and the ceremony in the manifest (the shapes' keys, and the round circuit's
    /// when the ceremony covers it). Refuses a transcript no department contributed to.
    pub fn install(
        mut self,
        params: &Path,
        reports: &[(CeremonyCircuit, Report)],
    ) -> Result<Manifest, CliError> {
        std::fs::create_dir_all(params).map_err(io(params))?;
        let mut keys = Vec::new();
        let mut round = None;
        let mut shapes = BTreeMap::new();
        let mut names: Vec<String> = Vec::new();
        for ((shape, t), (_, report)) in std::mem::take(&mut self.transcripts)
            .into_iter()
            .zip(reports)
        {
            report.contributed()?;
            let bytes = t.to_bytes();
            let file = transcript_file(&shape);
            std::fs::write(params.join(&file), &bytes).map_err(io(params))?;
            names = report
                .contributions
                .iter()
                .map(|(n, _, _)| n.clone())
                .collect();
            shapes.insert(
                shape.name(),
                ShapeCeremony {
                    transcript_file: file,
                    transcript_sha256: sha256_hex(&bytes),
                    transcript_hash: hex(&report.transcript),
                    contributions: report
                        .contributions
                        .iter()
                        .map(|(name, hash, beacon)| ContributionRecord {
                            name: name.clone(),
                            hash: hex(hash),
                            beacon: *beacon,
                        })
                        .collect(),
                },
            );
            let r1cs = match self.circuits.remove(&shape.name()) {
                Some(c) => c.r1cs,
                None => shape.r1cs()?,
            };
            match shape {
                CeremonyCircuit::Shape(s) => keys.push((s, t.key, r1cs)),
                CeremonyCircuit::Round => round = Some((t.key, r1cs)),
            }
        }
        let phase1_bytes = match self.phase1.take() {
            Some(p) => p.bytes,
            None => read(&self.dir.join(PHASE1_FILE))?,
        };
        std::fs::write(params.join(PHASE1_FILE), &phase1_bytes).map_err(io(params))?;
        let record = CeremonyRecord {
            phase1_file: PHASE1_FILE.into(),
            phase1_sha256: sha256_hex(&phase1_bytes),
            phase1: self.state.phase1.clone(),
            shapes,
        };
        let setup = format!(
            "multi-party ceremony: {}; phase 1: {}",
            names.join(", "),
            self.state.phase1
        );
        let mut manifest =
            dossier_prover::install_keys(params, &keys, &setup, false, Some(record))?;
        if let Some((pk, r1cs)) = round {
            manifest.round = Some(dossier_prover::round::install_round_keys(
                params, &pk, &r1cs, &setup, false,
            )?);
            manifest.save(params)?;
        }
        Ok(manifest)
    }
}

type Initial = (String, Phase1, Vec<(CeremonyCircuit, Transcript)>);

/// Phase 1's powers checked, with a bar.
fn verify_powers<'a>(out: &Out, phase1: &'a Phase1) -> Result<Verified<'a>, CliError> {
    let b = bar(
        out,
        format!("phase 1: verify the powers 2^{}", phase1.powers.power),
    );
    let verified = phase1.powers.verify();
    b.finish_and_clear();
    Ok(verified?)
}

/// One shape's transcript verified against checked powers, with a bar.
fn verify_transcript(
    out: &Out,
    powers: Verified<'_>,
    circuit: &Circuit<'_>,
    shape: CeremonyCircuit,
    t: &Transcript,
) -> Result<Report, CliError> {
    let b = bar(out, format!("verify {}", shape.name()));
    let report = t.verify(circuit, powers);
    b.finish_and_clear();
    Ok(report?)
}

/// Each shape's initial transcript from verified powers, with a bar per shape.
fn init_transcripts(
    out: &Out,
    phase1: &Phase1,
    shapes: &[CeremonyCircuit],
    circuits: &BTreeMap<String, Synthesised>,
) -> Result<Vec<(CeremonyCircuit, Transcript)>, CliError> {
    let verified = verify_powers(out, phase1)?;
    let mut transcripts = Vec::new();
    for shape in shapes {
        let circuit = circuits[&shape.name()].circuit();
        let log = circuit.domain_log();
        let lagrange = phase1.lagrange(out, verified, log)?;
        let h = phase1.h_basis(out, verified, log)?;
        let b = bar(out, format!("init {} (group sums: minutes)", shape.name()));
        let t = Transcript::init(&circuit, verified, &lagrange, h, &|f| {
            b.set_position((f * 1000.0) as u64)
        });
        b.finish_and_clear();
        transcripts.push((*shape, t?));
    }
    Ok(transcripts)
}

fn init_single_party(
    dir: &Path,
    out: &Out,
    name: &str,
    power: u32,
    shapes: &[CeremonyCircuit],
    circuits: &BTreeMap<String, Synthesised>,
) -> Result<Initial, CliError> {
    let spinner = bar(out, format!("phase 1: fresh powers of tau 2^{power}"));
    let dealer = Dealer::new(power, name, &mut rand::rngs::OsRng)?;
    spinner.finish_and_clear();
    // Prepared (every domain's Lagrange basis, from the secrets: seconds), so snarkjs's `zkey
    // new` and `zkey verify` read the file too.
    let spinner = bar(out, format!("phase 1: Lagrange bases up to 2^{power}"));
    let bytes = dealer.powers().to_ptau(Some(&dealer.prepare()));
    spinner.finish_and_clear();
    write_atomic(&dir.join(PHASE1_FILE), &bytes, 0o644, false)?;
    let mut transcripts = Vec::new();
    for shape in shapes {
        let b = bar(out, format!("init {}", shape.name()));
        let t = Transcript::init_dealt(&circuits[&shape.name()].circuit(), &dealer);
        b.finish_and_clear();
        transcripts.push((*shape, t?));
    }
    let phase1 = Phase1 {
        powers: Powers::clone(&dealer.powers()),
        bytes,
    };
    // The dealer's secrets are wiped here, before any department contributes.
    drop(dealer);
    Ok((
        format!(
            "single-party powers of tau 2^{power} by `{name}` (demonstrations only: a deployment imports a public multi-party phase 1)"
        ),
        phase1,
        transcripts,
    ))
}

fn init_from_file(
    dir: &Path,
    out: &Out,
    path: &Path,
    shapes: &[CeremonyCircuit],
    circuits: &BTreeMap<String, Synthesised>,
) -> Result<Initial, CliError> {
    let phase1 = Phase1::read(path)?;
    let transcripts = init_transcripts(out, &phase1, shapes, circuits)?;
    write_atomic(&dir.join(PHASE1_FILE), &phase1.bytes, 0o644, false)?;
    let powers = &phase1.powers;
    let names: Vec<&str> = powers
        .contributions
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let description = format!(
        "powers of tau 2^{} from {}: {} contributions ({})",
        powers.power,
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        names.len(),
        names.join(", ")
    );
    Ok((description, phase1, transcripts))
}

/// The circuits of a params folder whose keys a ceremony made, with their verifying keys'
/// pinned hashes: every shape, and the round circuit unless its keys are the development
/// setup's (a ceremony of the shapes alone leaves those in place, and says so).
fn ceremony_keys(manifest: &Manifest) -> Vec<(CeremonyCircuit, &str)> {
    let shapes = manifest
        .shapes
        .values()
        .map(|e| (CeremonyCircuit::Shape(e.shape), e.vk_sha256.as_str()));
    let round = manifest
        .round
        .iter()
        .filter(|k| !k.insecure)
        .map(|k| (CeremonyCircuit::Round, k.vk_sha256.as_str()));
    shapes.chain(round).collect()
}

/// Re-checks a params folder's ceremony: its phase 1 file and every circuit's transcript
/// against the circuit, and that the installed verifying keys are the transcripts' keys.
pub fn verify_params(out: &Out, params: &Path) -> Result<Vec<(CeremonyCircuit, Report)>, CliError> {
    let manifest = Manifest::load(params)?;
    let Some(record) = &manifest.ceremony else {
        return Err(CliError::Input(format!(
            "{}: {} — no ceremony to verify",
            params.display(),
            manifest.setup
        )));
    };
    let bytes = dossier_params::read_pinned(params, &record.phase1_file, &record.phase1_sha256)?;
    let phase1 = Phase1 {
        powers: Powers::from_ptau(&bytes)?,
        bytes,
    };
    let verified = verify_powers(out, &phase1)?;
    let mut reports = Vec::new();
    for (shape, vk_sha256) in ceremony_keys(&manifest) {
        let name = shape.name();
        let sc = record.shapes.get(&name).ok_or_else(|| {
            CliError::Input(format!(
                "the manifest's ceremony has no transcript for {name}"
            ))
        })?;
        let bytes =
            dossier_params::read_pinned(params, &sc.transcript_file, &sc.transcript_sha256)?;
        let t = Transcript::from_bytes(&bytes)?;
        let c = Synthesised::of(shape)?;
        let report = verify_transcript(out, verified, &c.circuit(), shape, &t)?;
        let mut vk = Vec::new();
        ark_serialize::CanonicalSerialize::serialize_compressed(&t.key.vk, &mut vk)
            .map_err(|e| CliError::Input(e.to_string()))?;
        if sha256_hex(&vk) != vk_sha256 || hex(&report.transcript) != sc.transcript_hash {
            return Err(CliError::Input(format!(
                "{name}: the installed verifying key is not the ceremony's"
            )));
        }
        reports.push((shape, report));
    }
    Ok(reports)
}

fn unhex<const N: usize>(what: &str, h: &str) -> Result<[u8; N], CliError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(h, &mut out).map_err(|_| {
        CliError::Input(format!("the manifest's {what} is not a {N}-byte hex hash"))
    })?;
    Ok(out)
}

/// The ledger entries that record a params folder's ceremony, one per circuit, with the
/// verifying-key hash each is found by.
fn ceremony_records(params: &Path) -> Result<Vec<(String, [u8; 32], EntryBody)>, CliError> {
    let manifest = Manifest::load(params)?;
    let record = manifest.ceremony.as_ref().ok_or_else(|| {
        CliError::Input(format!(
            "{}: its keys come from no ceremony ({})",
            params.display(),
            manifest.setup
        ))
    })?;
    let mut bodies = Vec::new();
    for (circuit, vk_sha256) in ceremony_keys(&manifest) {
        let name = circuit.name();
        let sc = record.shapes.get(&name).ok_or_else(|| {
            CliError::Input(format!(
                "the manifest's ceremony has no transcript for {name}"
            ))
        })?;
        let contributions = sc
            .contributions
            .iter()
            .map(|c| unhex::<64>("contribution hash", &c.hash))
            .collect::<Result<Vec<_>, _>>()?;
        let vk_sha256 = unhex("vk_sha256", vk_sha256)?;
        bodies.push((
            name.clone(),
            vk_sha256,
            EntryBody::ceremony(
                &name,
                vk_sha256,
                unhex::<64>("transcript hash", &sc.transcript_hash)?,
                contributions,
            )?,
        ));
    }
    Ok(bodies)
}

/// Appends the ceremony of `params`' keys to the ledger (one entry per shape).
pub fn record_on_ledger(
    store: &dossier_store::Store,
    log_key: &dossier_core::keys::KeyPair,
    params: &Path,
) -> Result<Vec<(String, u64)>, CliError> {
    let mut out = Vec::new();
    for (shape, _, body) in ceremony_records(params)? {
        out.push((
            shape,
            store.record_ceremony(log_key, dossier_core::clock::now(), body)?,
        ));
    }
    Ok(out)
}

/// Checks that the ledger records the ceremony of each of `params`' keys: the entry (which
/// must say exactly what the manifest says), its signature by the ledger's key, and its
/// inclusion in `note`, a checkpoint opened under `trust`. Returns each shape's entry index.
pub fn check_on_ledger<D: dossier_store::Reading>(
    store: &dossier_store::Store<D>,
    trust: &dossier_core::checkpoint::Trust,
    note: &str,
    params: &Path,
) -> Result<Vec<(String, u64, u64)>, CliError> {
    let body = trust.open(note.as_bytes())?;
    let ledger_key = dossier_core::keys::public_from_verifier_key(&trust.log_key)?;
    let mut found = Vec::new();
    for (shape, vk_sha256, expected) in ceremony_records(params)? {
        let (index, bytes) = store.find_ceremony(&vk_sha256)?.ok_or_else(|| {
            CliError::Input(format!(
                "{shape}: the ledger records no ceremony for this key"
            ))
        })?;
        let entry = Entry::from_bytes(&bytes)?;
        entry.verify(&ledger_key)?;
        if entry.body != expected {
            return Err(CliError::Input(format!(
                "{shape}: the ledger's ceremony record differs from the manifest's"
            )));
        }
        if index >= body.size {
            return Err(CliError::Input(format!(
                "{shape}: the ceremony record (entry {index}) is newer than the checkpoint (size {}): publish a checkpoint",
                body.size
            )));
        }
        let proof = store.inclusion_proof(index, body.size)?;
        dossier_core::log_proof::verify_inclusion(
            &proof,
            body.size,
            body.root_hash,
            index,
            dossier_core::log_proof::leaf_hash(&bytes),
        )?;
        found.push((shape, index, body.size));
    }
    Ok(found)
}

fn report_json(shape: &CeremonyCircuit, r: &Report) -> serde_json::Value {
    json!({
        "shape": shape.name(),
        "circuit_hash": hex(&r.circuit),
        "transcript_hash": hex(&r.transcript),
        "contributions": r.contributions.iter().map(|(n, h, b)| json!({"name": n, "hash": hex(h), "beacon": b})).collect::<Vec<_>>(),
    })
}

fn report_text(shape: &CeremonyCircuit, r: &Report) -> String {
    let mut s = format!(
        "{}: circuit {}\n  transcript {}\n",
        shape.name(),
        hex(&r.circuit),
        hex(&r.transcript)
    );
    for (i, (n, h, b)) in r.contributions.iter().enumerate() {
        s.push_str(&format!(
            "  {}. {}{}  {}\n",
            i + 1,
            n,
            if *b { " (beacon)" } else { "" },
            hex(h)
        ));
    }
    s
}

/// The `dossier ceremony` subcommands.
pub fn run(
    home: &dossier_store::home::Home,
    out: &Out,
    params: &Path,
    cmd: crate::CeremonyCmd,
) -> Result<i32, CliError> {
    use crate::CeremonyCmd as C;
    match cmd {
        C::Phase1(p) => phase1_cmd(out, p),
        C::R1cs { shape, out: path } => r1cs_cmd(out, &shape, &path),
        C::Init {
            dir,
            ptau,
            single_party_phase1,
            shapes,
        } => {
            let source = match (ptau, single_party_phase1) {
                (Some(p), None) => Phase1Source::File(p),
                (None, Some(name)) => Phase1Source::SingleParty(name),
                _ => {
                    return Err(CliError::Input(
                        "give phase 1 as --ptau FILE (a deployment: the public powers of tau) or --single-party-phase1 NAME (demonstrations)".into(),
                    ))
                }
            };
            let heads = Ceremony::init(&dir, out, &circuits_named(&shapes)?, source)?.heads();
            out.emit(
                heads
                    .iter()
                    .map(|(s, h)| format!("{}: initial transcript {}", s.name(), hex(h)))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"dir": dir, "shapes": heads.iter().map(|(s, h)| json!({"shape": s.name(), "hash": hex(h)})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        C::Contribute { dir, name } => {
            let mut c = Ceremony::open(&dir)?;
            let done = c.contribute(out, &name)?;
            c.save()?;
            out.emit(
                format!(
                    "contribution by `{name}` — publish these hashes:\n{}",
                    done.iter()
                        .map(|(s, h, t)| format!("  {}: {}  ({t:.1} s)", s.name(), hex(h)))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                json!({"name": name, "shapes": done.iter().map(|(s, h, t)| json!({"shape": s.name(), "hash": hex(h), "seconds": t})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        C::Beacon {
            dir,
            value,
            iterations_log,
            name,
        } => {
            let value =
                hex::decode(&value).map_err(|_| CliError::Input("--value must be hex".into()))?;
            let mut c = Ceremony::open(&dir)?;
            let done = c.beacon(out, &name, &value, iterations_log)?;
            c.save()?;
            out.emit(
                done.iter()
                    .map(|(s, h)| format!("{}: beacon {}", s.name(), hex(h)))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"shapes": done.iter().map(|(s, h)| json!({"shape": s.name(), "hash": hex(h)})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        C::Verify { dir, on_ledger } => {
            let (reports, phase1): (Vec<(CeremonyCircuit, Report)>, String) = match dir {
                Some(dir) => {
                    let mut c = Ceremony::open(&dir)?;
                    (c.verify(out)?, c.phase1().to_string())
                }
                None => {
                    let r = verify_params(out, params)?;
                    let m = Manifest::load(params)?;
                    (r, m.ceremony.map(|c| c.phase1).unwrap_or_default())
                }
            };
            let recorded = if on_ledger {
                let store = home.reader()?;
                let log_key = crate::log_key(home, None)?;
                let note = store
                    .latest_checkpoint()?
                    .ok_or_else(|| CliError::Input("the ledger has no checkpoint yet".into()))?;
                check_on_ledger(
                    &store,
                    &dossier_core::checkpoint::Trust::key_only(&log_key),
                    &note,
                    params,
                )?
            } else {
                Vec::new()
            };
            out.emit(
                format!(
                    "ceremony verified (phase 1: {phase1})\n{}{}",
                    reports.iter().map(|(s, r)| report_text(s, r)).collect::<String>(),
                    recorded
                        .iter()
                        .map(|(s, i, n)| format!("{s}: on the ledger as entry {i}, included in the checkpoint of size {n}\n"))
                        .collect::<String>()
                ),
                json!({"valid": true, "phase1": phase1,
                    "shapes": reports.iter().map(|(s, r)| report_json(s, r)).collect::<Vec<_>>(),
                    "on_ledger": recorded.iter().map(|(s, i, n)| json!({"shape": s, "index": i, "checkpoint_size": n})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        C::Finalize { dir } => {
            let mut c = Ceremony::open(&dir)?;
            let reports = c.verify(out)?;
            let manifest = c.install(params, &reports)?;
            out.emit(
                format!("keys installed in {} — {}", params.display(), manifest.setup),
                json!({"params": params, "setup": manifest.setup, "insecure": manifest.insecure, "shapes": manifest.shapes.keys().collect::<Vec<_>>()}),
            );
            Ok(0)
        }
    }
}

fn r1cs_cmd(out: &Out, shape: &str, path: &Path) -> Result<i32, CliError> {
    let shape = CeremonyCircuit::named(shape)?;
    let c = Synthesised::of(shape)?;
    let circuit = c.circuit();
    write_atomic(path, &zkey::circom_r1cs(&circuit), 0o644, false)?;
    out.emit(
        format!(
            "{}: {} constraints, {} variables, {} public inputs written to {} (circom .r1cs)",
            shape.name(),
            circuit.num_constraints(),
            circuit.num_variables,
            circuit.num_instance - 1,
            path.display()
        ),
        json!({"shape": shape.name(), "out": path, "constraints": circuit.num_constraints(),
            "variables": circuit.num_variables, "public_inputs": circuit.num_instance - 1}),
    );
    Ok(0)
}

fn phase1_cmd(out: &Out, cmd: crate::Phase1Cmd) -> Result<i32, CliError> {
    use crate::Phase1Cmd as P;
    match cmd {
        P::New {
            power,
            out: path,
            name,
        } => {
            let dealer = Dealer::new(power, &name, &mut rand::rngs::OsRng)?;
            write_atomic(&path, &dealer.powers().to_ptau(None), 0o644, false)?;
            out.emit(
                format!("powers of tau 2^{power} written to {} by a single party: extend them with `dossier ceremony phase1 contribute` (a deployment imports a public multi-party file)", path.display()),
                json!({"out": path, "power": power}),
            );
            Ok(0)
        }
        P::Contribute {
            input,
            out: path,
            name,
        } => {
            let mut powers = Powers::from_ptau(&read(&input)?)?;
            powers.verify()?;
            let b = bar(out, format!("phase 1 contribution to 2^{}", powers.power));
            let started = Instant::now();
            let hash = powers.contribute(&name, &mut rand::rngs::OsRng, &|f| {
                b.set_position((f * 1000.0) as u64)
            })?;
            b.finish_and_clear();
            write_atomic(&path, &powers.to_ptau(None), 0o644, false)?;
            out.emit(
                format!("contribution by `{name}` in {:.1} s — publish this hash: {}", started.elapsed().as_secs_f64(), hex(&hash)),
                json!({"out": path, "hash": hex(&hash), "seconds": started.elapsed().as_secs_f64()}),
            );
            Ok(0)
        }
        P::Prepare { input, out: path } => {
            let powers = Powers::from_ptau(&read(&input)?)?;
            powers.verify()?;
            let b = bar(out, "Lagrange basis of every domain".into());
            let top = powers.power;
            let prepared =
                powers.prepare(&|log| b.set_position(u64::from(log) * 1000 / u64::from(top + 1)));
            b.finish_and_clear();
            write_atomic(&path, &powers.to_ptau(Some(&prepared)), 0o644, false)?;
            out.emit(
                format!("prepared powers written to {}", path.display()),
                json!({"out": path}),
            );
            Ok(0)
        }
        P::Verify { file } => {
            let bytes = read(&file)?;
            let powers = Powers::from_ptau(&bytes)?;
            let b = bar(out, format!("verify powers of tau 2^{}", powers.power));
            let verified = powers.verify()?;
            let prepared = phase1::check_prepared(&bytes, verified)?;
            b.finish_and_clear();
            let contributions: Vec<serde_json::Value> = powers
                .contributions
                .iter()
                .map(|c| json!({"name": c.name, "hash": hex(&c.hash()), "beacon": c.beacon.is_some()}))
                .collect();
            out.emit(
                format!(
                    "phase 1 verified: powers of tau 2^{}{} (ceremony of 2^{}), {} contributions, each proof of knowledge and update checked:{}",
                    powers.power,
                    if prepared { " with every domain's Lagrange basis" } else { "" },
                    powers.ceremony_power,
                    contributions.len(),
                    powers.contributions.iter().map(|c| format!("\n  {}  {}{}", hex(&c.hash()), if c.name.is_empty() { "(unnamed)" } else { &c.name }, if c.beacon.is_some() { " (beacon)" } else { "" })).collect::<String>()
                ),
                json!({"valid": true, "power": powers.power, "ceremony_power": powers.ceremony_power, "prepared": prepared, "contributions": contributions}),
            );
            Ok(0)
        }
    }
}
