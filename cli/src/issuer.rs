//! `dossier schemas`, `issuer`, `issue`, `update` and `revoke`: what an issuer does from the
//! command line — register with a new key, issue credentials one by one or in batches, replace
//! and revoke them — each write checked against the store before the database is opened for
//! writing.

use crate::error::CliError;
use crate::{batch, day_arg, IssueArgs, IssuerCmd, Out, RevokeArgs, Sink, UpdateArgs};
use dossier_core::clock::now;
use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::days_to_date;
use dossier_core::field;
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use serde_json::json;

/// `dossier schemas`: everything the schema id commits to (docs/encoding.md), so that the id
/// can be recomputed from this output: enum members in order, uint bounds.
pub fn schemas(out: &Out, schemas: &SchemaSet) -> Result<i32, CliError> {
    // Everything the schema id commits to (docs/encoding.md), so that the id can be
    // recomputed from this output: enum members in order, uint bounds.
    let field_json = |f: &dossier_core::schema::SchemaField| {
        let mut v = json!({"name": f.name, "type": f.ty.name()});
        if let dossier_core::encoding::FieldType::Enum { members } = &f.ty {
            v["members"] = json!(members);
        }
        if let Some(m) = f.min {
            v["min"] = json!(m);
        }
        if let Some(m) = f.max {
            v["max"] = json!(m);
        }
        v
    };
    let list: Vec<_> = schemas
        .iter()
        .map(|s| {
            json!({"name": s.name, "version": s.version, "id": field::to_hex(&s.id()),
                "fields": s.fields.iter().map(field_json).collect::<Vec<_>>()})
        })
        .collect();
    let human: Vec<String> = schemas
        .iter()
        .map(|s| {
            format!(
                "{:<14} v{}  {}  ({})",
                s.name,
                s.version,
                field::to_hex(&s.id()),
                s.fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name, f.ty.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    out.emit(human.join("\n"), json!(list));
    Ok(0)
}

/// `dossier issuer init|list`.
pub fn issuer(home: &Home, out: &Out, cmd: IssuerCmd) -> Result<i32, CliError> {
    match cmd {
        IssuerCmd::Init { name } => register(home, out, name),
        IssuerCmd::List => list(home, out),
        IssuerCmd::RotateKey { name } => crate::keys::rotate_issuer(home, out, &name),
    }
}

/// Registers an issuer under a new key (refusing a name already taken).
fn register(home: &Home, out: &Out, name: String) -> Result<i32, CliError> {
    if home.store_exists() && home.reader()?.issuer(&name).is_ok() {
        return Err(dossier_store::StoreError::IssuerExists { name }.into());
    }
    let store = home.store()?;
    home.ledger_key(&store, None)?;
    let key = home.new_issuer_key(&name)?;
    let info = store.register_issuer(&key, now())?;
    out.emit(
            format!("issuer `{}` registered\n  id: {}\n  key: {}", info.name, field::to_hex(&info.issuer_id), key.verifier_key()),
            json!({"issuer": info.name, "issuer_id": field::to_hex(&info.issuer_id), "verifier_key": key.verifier_key()}),
        );
    Ok(0)
}

/// Every issuer with its id, next credential id and live count.
fn list(home: &Home, out: &Out) -> Result<i32, CliError> {
    let store = home.reader()?;
    let list = store.issuers()?;
    out.emit(
            list.iter().map(|i| format!("{:<24} {}  next id {}  live {}", i.name, field::to_hex(&i.issuer_id), i.next_id, i.live)).collect::<Vec<_>>().join("\n"),
            json!(list.iter().map(|i| json!({"name": i.name, "issuer_id": field::to_hex(&i.issuer_id), "next_id": i.next_id, "live": i.live})).collect::<Vec<_>>()),
        );
    Ok(0)
}

/// `dossier update`: a new version of a live credential under its id.
pub fn update(home: &Home, schemas: &SchemaSet, args: UpdateArgs) -> Result<i32, CliError> {
    let claim = batch::read_claim(&args.claim, schemas)?;
    let day = day_arg(&args.issued_at)?;
    let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
    preflight(home.reader()?, &key, Some(args.id))?;
    let store = home.store()?;
    let credential = store.update(&key, args.id, &claim, day, now())?;
    let opening = CredentialOpening::new(&claim, &args.issuer, &credential);
    Sink::open(&args.out)?.write(std::slice::from_ref(&opening))?;
    eprintln!("credential {} of `{}` updated", args.id, args.issuer);
    Ok(0)
}

/// `dossier revoke`.
pub fn revoke(home: &Home, out: &Out, args: RevokeArgs) -> Result<i32, CliError> {
    let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
    preflight(home.reader()?, &key, Some(args.id))?;
    let store = home.store()?;
    store.revoke(&key, args.id, now())?;
    out.emit(
        format!("credential {} of `{}` revoked", args.id, args.issuer),
        json!({"issuer": args.issuer, "credential_id": args.id, "revoked": true}),
    );
    Ok(0)
}

/// Checks a write's key (and target credential) through a read-only handle, so that a refused
/// write leaves the database file untouched; the reader is closed before the write opens.
fn preflight(
    reader: dossier_store::StoreReader,
    key: &dossier_core::keys::KeyPair,
    credential: Option<u32>,
) -> Result<(), CliError> {
    reader.authorize(key)?;
    if let Some(id) = credential {
        if !reader.is_live(key.name(), id)? {
            return Err(dossier_store::StoreError::CredentialNotFound {
                issuer: key.name().to_string(),
                credential_id: id,
            }
            .into());
        }
    }
    Ok(())
}

pub fn issue(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    args: IssueArgs,
) -> Result<i32, CliError> {
    let day = day_arg(&args.issued_at)?;
    // Every claim is checked before the store is touched: bad input changes nothing.
    let claims = match (&args.claim, &args.batch) {
        (Some(c), _) => vec![batch::read_claim(c, schemas)?],
        (None, Some(b)) => batch::read_claims(b, schemas)?,
        (None, None) => return Err(CliError::Input("give --claim or --batch".into())),
    };
    if args.chunk == 0 {
        return Err(CliError::Input("--chunk must be at least 1".into()));
    }
    let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
    preflight(home.reader()?, &key, None)?;
    let store = home.store()?;
    let mut sink = Sink::open(&args.out)?;
    let bar = indicatif::ProgressBar::new(claims.len() as u64);
    if claims.len() > 1 && !out.json {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} issuing [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let mut first_id = None;
    for chunk in claims.chunks(args.chunk) {
        let credentials = store.issue(&key, chunk, day, now())?;
        first_id.get_or_insert(credentials.first().map(|c| c.credential_id));
        let openings: Vec<CredentialOpening> = chunk
            .iter()
            .zip(&credentials)
            .map(|(claim, c)| CredentialOpening::new(claim, &args.issuer, c))
            .collect();
        sink.write(&openings)?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let summary = json!({"issuer": args.issuer, "issued": claims.len(), "first_id": first_id.flatten(),
        "issued_at": days_to_date(day), "seconds": secs});
    if out.json {
        eprintln!("{summary}");
    } else {
        eprintln!(
            "issued {} credentials for `{}` in {:.2} s ({:.0}/s); openings {}",
            claims.len(),
            args.issuer,
            secs,
            claims.len() as f64 / secs.max(1e-9),
            args.out
                .as_ref()
                .map_or("on stdout".to_string(), |p| format!(
                    "appended to {}",
                    p.display()
                ))
        );
    }
    Ok(0)
}
