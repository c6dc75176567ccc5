//! `dossier request`, `prove`, `verify`, `export` and `import`: a presentation's life from the
//! command line — the verifier's request, the holder's proof, the verifier's check — and its
//! exchange with other tools (snarkjs, Solidity, DIF Presentation Exchange).

use crate::error::CliError;
use crate::{
    log_key, present, wallet_path, ExportCmd, ImportCmd, Out, ProveArgs, RequestArgs, VerifyArgs,
};
use dossier_core::checkpoint;
use dossier_core::clock::{now, today};
use dossier_core::encoding::days_to_date;
use dossier_core::field;
use dossier_core::presentation::Backend;
use dossier_core::schema::SchemaSet;
use dossier_store::home::{self, Home};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `dossier request`: a verifier's request for a query (checked to be provable by this build).
pub fn request(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    args: RequestArgs,
) -> Result<i32, CliError> {
    let mut query: dossier_core::query::Query = present::read_json(&args.query)?;
    if query.credentials.iter().any(|c| c.accredited) {
        // "Any accredited issuer": the accreditations in force on this home's ledger.
        let reader = home.reader()?;
        query.resolve_accredited(|schema| -> Result<_, CliError> {
            let id = schemas.get(schema)?.id();
            Ok(reader.accredited_issuers(&id)?)
        })?;
    }
    query.encode(schemas, query.shape()?)?;
    let today = args.today.unwrap_or_else(|| days_to_date(today()));
    let request = dossier_core::presentation::PresentationRequest::new(
        query,
        &args.scope,
        &today,
        args.max_age,
    )?
    .with_backend(args.backend)
    .with_grounds(args.purpose, args.legal_basis)?;
    let text =
        serde_json::to_string_pretty(&request).map_err(|e| CliError::Input(e.to_string()))?;
    home::write_atomic(&args.out, text.as_bytes(), 0o644, true)?;
    out.emit(
        format!(
            "request written to {} (shape {}, backend {})",
            args.out.display(),
            request.query.shape()?.name(),
            request.backend
        ),
        json!({"request": args.out, "challenge": field::to_hex(&request.challenge),
                "backend": request.backend}),
    );
    Ok(0)
}

/// `dossier prove`: proves a request from the wallet, locally.
pub fn prove(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    args: ProveArgs,
) -> Result<i32, CliError> {
    let request: dossier_core::presentation::PresentationRequest =
        present::read_json(&args.request)?;
    request.check_stated()?;
    let wallet = wallet_path(home, &args.wallet);
    let (p, timings) = present::prove(
        home,
        params,
        &wallet,
        &request,
        schemas,
        args.witness_out.as_deref(),
    )?;
    let secs = timings.prove_ms / 1e3;
    let text = serde_json::to_string_pretty(&p).map_err(|e| CliError::Input(e.to_string()))?;
    home::write_atomic(&args.out, text.as_bytes(), 0o644, true)?;
    let grounds = format!(
        "asked for scope `{}`: purpose: {}; legal basis: {}",
        request.scope,
        request.purpose.as_deref().unwrap_or("not stated"),
        request.legal_basis.as_deref().unwrap_or("not stated")
    );
    out.emit(
            format!(
                "presentation written to {} (shape {}, {}, proved in {:.0} ms)\n  {grounds}",
                args.out.display(),
                p.shape.name(),
                p.backend,
                secs * 1e3
            ),
            json!({"presentation": args.out, "shape": p.shape.name(), "backend": p.backend, "seconds": secs,
                   "timings": timings}),
        );
    Ok(0)
}

/// `dossier export snarkjs|pex|solidity`.
pub fn export(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: ExportCmd,
) -> Result<i32, CliError> {
    match cmd {
        ExportCmd::Snarkjs {
            presentation,
            out: dir,
        } => export_snarkjs(params, out, &presentation, &dir),
        ExportCmd::Pex { request, out: path } => export_pex(out, schemas, &request, path),
        ExportCmd::Vc {
            openings,
            out: dir,
            context_url,
        } => export_vc(home, out, &openings, &dir, &context_url),
        ExportCmd::Vp {
            presentation,
            out: path,
            context_url,
        } => export_vp(out, &presentation, path, &context_url),
        ExportCmd::Solidity {
            out: dir,
            presentation,
            log_key,
        } => export_solidity(
            home,
            params,
            &dir,
            presentation.as_deref(),
            log_key.as_deref(),
            schemas,
            out,
        ),
    }
}

/// `dossier import pex|snarkjs`.
pub fn import(
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: ImportCmd,
) -> Result<i32, CliError> {
    match cmd {
        ImportCmd::Pex {
            definition,
            out: path,
            scope,
            today,
            max_age,
        } => import_pex(
            out,
            schemas,
            &definition,
            &path,
            FreshRequest {
                scope,
                today,
                max_age,
            },
        ),
        ImportCmd::Snarkjs { vk, proof, public } => {
            import_snarkjs(params, &vk, &proof, &public, out)
        }
    }
}

/// A presentation as snarkjs's verification key, proof and public signals.
fn export_snarkjs(
    params: &Path,
    out: &Out,
    presentation: &Path,
    dir: &Path,
) -> Result<i32, CliError> {
    let p = present::read_presentation(presentation)?;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let key = keys
        .for_presentation(&p)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let proof = dossier_verifier::decode_proof(&p.proof)?;
    let inputs = p.inputs()?;
    use dossier_verifier::snarkjs;
    for (name, value) in [
        ("verification_key.json", snarkjs::verifying_key(&key.pvk.vk)),
        ("proof.json", snarkjs::proof(&proof)),
        ("public.json", snarkjs::public(&inputs)),
    ] {
        let text =
            serde_json::to_string_pretty(&value).map_err(|e| CliError::Input(e.to_string()))?;
        home::write_atomic(&dir.join(name), text.as_bytes(), 0o644, true)?;
    }
    out.emit(
        format!(
            "wrote verification_key.json, proof.json and public.json to {}",
            dir.display()
        ),
        json!({"out": dir}),
    );
    Ok(0)
}

/// A request as a DIF presentation definition (to a file, or standard output).
fn export_pex(
    out: &Out,
    schemas: &SchemaSet,
    request: &Path,
    path: Option<PathBuf>,
) -> Result<i32, CliError> {
    let r: dossier_core::presentation::PresentationRequest = present::read_json(request)?;
    let d = dossier_core::exchange::request_to_exchange(&r, schemas)?;
    let text = serde_json::to_string_pretty(&d).map_err(|e| CliError::Input(e.to_string()))?;
    match path {
        Some(p) => {
            home::write_atomic(&p, text.as_bytes(), 0o644, true)?;
            out.emit(
                format!("wrote the presentation definition to {}", p.display()),
                json!({"out": p}),
            );
        }
        None => println!("{text}"),
    }
    Ok(0)
}

/// Each opening as a Verifiable Credential signed by its issuer's key in this home.
fn export_vc(
    home: &Home,
    out: &Out,
    openings: &Path,
    dir: &Path,
    context_url: &str,
) -> Result<i32, CliError> {
    let context = dossier_core::envelope::ContextUrl::parse(context_url)?;
    let openings = crate::holder::read_openings(openings)?;
    home::create_private_dir(dir)?;
    let mut keys = std::collections::BTreeMap::new();
    let mut written = Vec::new();
    for o in &openings {
        if !keys.contains_key(&o.issuer) {
            keys.insert(o.issuer.clone(), home.issuer_key(&o.issuer, None)?);
        }
        let key = &keys[&o.issuer];
        let vc = dossier_core::envelope::credential_to_vc(o, &context, key)?;
        let path = dir.join(format!("{}.{}.vc.json", o.issuer, o.credential_id));
        let text = serde_json::to_string_pretty(&vc).map_err(|e| CliError::Input(e.to_string()))?;
        home::write_atomic(&path, text.as_bytes(), 0o600, true)?;
        written.push(path);
    }
    out.emit(
        format!(
            "wrote {} verifiable credentials to {} (the holder's private copies)",
            written.len(),
            dir.display()
        ),
        json!({"credentials": written}),
    );
    Ok(0)
}

/// A presentation as a Verifiable Presentation.
fn export_vp(
    out: &Out,
    presentation: &Path,
    path: Option<PathBuf>,
    context_url: &str,
) -> Result<i32, CliError> {
    let context = dossier_core::envelope::ContextUrl::parse(context_url)?;
    let p = present::read_presentation(presentation)?;
    let vp = dossier_core::envelope::presentation_to_vp(&p, &context)?;
    let text = serde_json::to_string_pretty(&vp).map_err(|e| CliError::Input(e.to_string()))?;
    match path {
        Some(p) => {
            home::write_atomic(&p, text.as_bytes(), 0o644, true)?;
            out.emit(
                format!("wrote the verifiable presentation to {}", p.display()),
                json!({"out": p}),
            );
        }
        None => println!("{text}"),
    }
    Ok(0)
}

/// A DIF presentation definition as a request this build can prove.
fn import_pex(
    out: &Out,
    schemas: &SchemaSet,
    definition: &Path,
    path: &Path,
    fresh: FreshRequest,
) -> Result<i32, CliError> {
    let d: serde_json::Value = present::read_json(definition)?;
    let at = |e: dossier_core::CoreError| CliError::Input(format!("{}: {e}", definition.display()));
    let r = if d.get("dossier_request").is_some() {
        dossier_core::exchange::request_from_exchange(&d, schemas).map_err(at)?
    } else {
        let scope = fresh.scope.ok_or_else(|| {
            CliError::Input(format!(
                "{}: a bare presentation definition carries no challenge, scope or day: give --scope to make a new request of it",
                definition.display()
            ))
        })?;
        let query = dossier_core::exchange::query_from_definition(&d).map_err(at)?;
        let today = fresh.today.unwrap_or_else(|| days_to_date(today()));
        let backend = if d["format"]["di_vp"]["cryptosuite"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|s| s == dossier_core::envelope::cryptosuite(Backend::Halo2))
            }) {
            Backend::Halo2
        } else {
            Backend::Groth16
        };
        dossier_core::presentation::PresentationRequest::new(query, &scope, &today, fresh.max_age)
            .map_err(at)?
            .with_backend(backend)
            .with_grounds(d["purpose"].as_str().map(str::to_string), None)
            .map_err(at)?
    };
    // The query must also be one this build can prove.
    r.query
        .shape()
        .and_then(|shape| r.query.encode(schemas, shape))
        .map_err(|e| CliError::Input(format!("{}: {e}", definition.display())))?;
    let text = serde_json::to_string_pretty(&r).map_err(|e| CliError::Input(e.to_string()))?;
    home::write_atomic(path, text.as_bytes(), 0o644, true)?;
    out.emit(
        format!("wrote the request to {}", path.display()),
        json!({"out": path}),
    );
    Ok(0)
}

/// What makes a new request of a bare definition.
struct FreshRequest {
    scope: Option<String>,
    today: Option<String>,
    max_age: u64,
}

/// `dossier import snarkjs`: a snarkjs triple checked against the pinned key it claims to be.
fn import_snarkjs(
    params: &Path,
    vk: &Path,
    proof: &Path,
    public: &Path,
    out: &Out,
) -> Result<i32, CliError> {
    use dossier_verifier::snarkjs;
    let vk_value: serde_json::Value = present::read_json(vk)?;
    let imported = snarkjs::verifying_key_from(&vk_value)?;
    let proof = snarkjs::proof_from(&present::read_json(proof)?)?;
    let inputs = snarkjs::public_from(&present::read_json(public)?)?;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let (shape_name, key) = keys
        .keys
        .iter()
        .find(|(_, k)| k.pvk.vk == imported)
        .ok_or_else(|| {
            CliError::Input(format!(
                "{}: not one of the pinned verifying keys in {} (a proof checked against a key \
                 that came with it proves nothing about dossier's statements)",
                vk.display(),
                params.display()
            ))
        })?;
    let shape = dossier_core::query::SHAPES
        .into_iter()
        .find(|s| &s.name() == shape_name)
        .ok_or_else(|| CliError::Input(format!("shape {shape_name} is not built in")))?;
    let public_inputs = dossier_core::statement::PublicInputs::from_field_elements(shape, &inputs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let valid = dossier_verifier::verify_proof(key, &proof, &inputs).is_ok();
    let hex = dossier_core::field::to_hex;
    let machine = json!({
        "valid": valid,
        "shape": shape_name,
        "vk_sha256": key.vk_sha256,
        "roots": public_inputs.roots.iter().map(hex).collect::<Vec<_>>(),
        "query_hash": hex(&public_inputs.query_hash),
        "challenge": hex(&public_inputs.challenge),
        "scope": hex(&public_inputs.scope),
        "today": public_inputs.today,
        "nullifier": hex(&public_inputs.nullifier),
        "revealed": public_inputs.revealed.iter().map(hex).collect::<Vec<_>>(),
    });
    let text = if valid {
        format!(
            "valid: a Groth16 proof for shape {shape_name} (pinned key {}), query hash {}, \
             scope {}, day {}, nullifier {}\n(the statement's meaning needs the request: use \
             `dossier verify` with the presentation to check roots, query and freshness)",
            &key.vk_sha256[..16],
            hex(&public_inputs.query_hash),
            hex(&public_inputs.scope),
            public_inputs.today,
            hex(&public_inputs.nullifier)
        )
    } else {
        format!("INVALID: the proof does not hold for these public inputs under the pinned key of {shape_name}")
    };
    out.emit(text, machine);
    Ok(if valid { 0 } else { 1 })
}

/// `dossier export solidity`: the anchor contract, one verifier per shape, and optionally a
/// presentation's call data.
fn export_solidity(
    home: &Home,
    params: &Path,
    dir: &Path,
    presentation: Option<&Path>,
    log_key_arg: Option<&str>,
    schemas: &SchemaSet,
    out: &Out,
) -> Result<i32, CliError> {
    use dossier_verifier::solidity;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let mut written = vec!["DossierAnchor.sol".to_string()];
    home::write_atomic(
        &dir.join("DossierAnchor.sol"),
        solidity::ANCHOR_SOURCE.as_bytes(),
        0o644,
        true,
    )?;
    for (name, key) in &keys.keys {
        // The manifest's statement keys are shipped shapes (their keys were made for them).
        let Some(shape) = dossier_core::query::SHAPES
            .iter()
            .find(|s| s.name() == *name)
        else {
            continue;
        };
        let name = format!("{}.sol", solidity::verifier_name(name));
        let source = solidity::verifier_source(*shape, &key.pvk.vk, &key.vk_sha256);
        home::write_atomic(&dir.join(&name), source.as_bytes(), 0o644, true)?;
        written.push(name);
    }
    if let Some(path) = presentation {
        let p = present::read_presentation(path)?;
        keys.for_presentation(&p)?;
        let cp = checkpoint::open(p.checkpoint.as_bytes(), &log_key(home, log_key_arg)?)?;
        let call = solidity::call_data(&p, &cp, schemas)?;
        let text =
            serde_json::to_string_pretty(&call).map_err(|e| CliError::Input(e.to_string()))?;
        home::write_atomic(&dir.join("calldata.json"), text.as_bytes(), 0o644, true)?;
        written.push("calldata.json".into());
    }
    out.emit(
        format!("wrote {} to {}", written.join(", "), dir.display()),
        json!({"out": dir, "files": written}),
    );
    Ok(0)
}

pub fn verify_cmd(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    args: VerifyArgs,
) -> Result<i32, CliError> {
    let request: dossier_core::presentation::PresentationRequest =
        present::read_json(&args.request)?;
    let presentation = present::read_presentation(&args.presentation)?;
    let trust = dossier_verifier::Trust::witnessed(
        &log_key(home, args.log_key.as_deref())?,
        crate::witness_policy(args.witness_policy.as_deref())?,
    );
    // halo2 needs no setup: its keys come from the circuit, once per process (not part of the
    // check's time), and no Groth16 parameters are read.
    let keys = if presentation.backend == Backend::Halo2 {
        dossier_verifier::halo2::prepare(presentation.shape)?;
        dossier_verifier::VerifierKeys::none()
    } else {
        dossier_verifier::VerifierKeys::load(params)?
    };
    let started = std::time::Instant::now();
    let checked = dossier_verifier::verify(&request, &presentation, &keys, &trust, schemas, now())?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.nullifiers {
        dossier_verifier::NullifierStore::open(path)?.check_and_record(
            &request.scope,
            checked.backend,
            &checked.nullifier,
        )?;
    }
    let v = &checked.verdict;
    let mut text = format!(
        "VALID presentation (verified in {:.1} ms){}\nproven:\n",
        secs * 1e3,
        if v.insecure_setup {
            " — WARNING: keys from the INSECURE development setup; proofs can be forged"
        } else {
            ""
        }
    );
    for p in &v.proven {
        text.push_str(&format!("  - {p}\n"));
    }
    text.push_str(&format!("keys: {}\n", v.setup));
    if v.revealed.is_empty() {
        text.push_str("revealed: nothing\n");
    } else {
        text.push_str("revealed:\n");
        for r in &v.revealed {
            text.push_str(&format!("  - {}.{} = {}\n", r.schema, r.field, r.value));
        }
    }
    text.push_str(&format!(
        "anchored by the checkpoint of ledger size {} ({} s old); scope {}",
        v.checkpoint_size, v.checkpoint_age_seconds, v.scope
    ));
    out.emit(text, json!({"valid": true, "verdict": v, "seconds": secs}));
    Ok(0)
}
