//! An encrypted backup of a holder's wallet, for the day a laptop dies or a file is deleted: the
//! wallet sealed under a passphrase (`dossier_core::sealed`: Argon2id, then XChaCha20-Poly1305),
//! as a file; and the secret alone, sealed the same way, as a QR code to print and keep (small
//! enough to scan; the credentials come back from the issuers or their openings files). The
//! browser wallet stores itself in the same format, so either restores the other's backups.

use crate::error::{io, CliError};
pub use dossier_core::sealed::{open, Contents, Sealed};
use std::path::Path;
use zeroize::Zeroizing;

/// Seals `plaintext` (a wallet file's text) under `passphrase` (salt and nonce from the OS).
pub fn seal(plaintext: &[u8], contents: Contents, passphrase: &str) -> Result<Sealed, CliError> {
    Ok(dossier_core::sealed::seal(
        plaintext,
        contents,
        passphrase,
        &mut rand::rngs::OsRng,
    )?)
}

/// The passphrase: from a file (its first line), else `DOSSIER_PASSPHRASE`, else asked on the
/// terminal without echo (twice when sealing).
pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Zeroizing<String>, CliError> {
    if let Some(f) = file {
        let text = Zeroizing::new(std::fs::read_to_string(f).map_err(io(f))?);
        return Ok(Zeroizing::new(
            text.lines().next().unwrap_or_default().to_string(),
        ));
    }
    if let Ok(p) = std::env::var("DOSSIER_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let asked = Zeroizing::new(
        rpassword::prompt_password("wallet backup passphrase: ")
            .map_err(io(Path::new("the terminal")))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ").map_err(io(Path::new("the terminal")))?,
        );
        if *again != *asked {
            return Err(CliError::Input("the passphrases differ".into()));
        }
    }
    Ok(asked)
}

/// A QR code (SVG) of a sealed backup's JSON, with error correction M.
pub fn qr_svg(sealed: &Sealed) -> Result<String, CliError> {
    let code = qr_code(sealed)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build())
}

fn qr_code(sealed: &Sealed) -> Result<qrcode::QrCode, CliError> {
    let text = serde_json::to_string(sealed)
        .map_err(|_| CliError::Input("the backup could not be encoded".into()))?;
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| CliError::Input("the backup is too large for a QR code".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery staple";

    #[test]
    fn the_qr_code_carries_the_sealed_secret() {
        let sealed = seal(&[7u8; 120], Contents::Secret, PASS).expect("seals");
        let code = qr_code(&sealed).expect("fits");
        let width = code.width();
        let colors = code.to_colors();
        // Rendered at 4 pixels a module with a 4-module quiet zone, then read back by an
        // independent decoder.
        let (scale, quiet) = (4usize, 4usize);
        let side = (width + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            if mx < quiet || my < quiet || mx >= width + quiet || my >= width + quiet {
                return false;
            }
            colors[(my - quiet) * width + (mx - quiet)] == qrcode::Color::Dark
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().expect("decodes");
        let read: Sealed = serde_json::from_str(&text).expect("a sealed backup");
        assert_eq!(open(&read, PASS).expect("opens").as_slice(), &[7u8; 120]);
        assert!(qr_svg(&sealed).expect("svg").starts_with("<?xml"));
    }
}
