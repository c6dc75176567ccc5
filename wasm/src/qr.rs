//! QR codes read in the module: the page draws a picture (a photographed request, a printed
//! backup, a camera frame) to a canvas and hands over its grey levels; `rqrr` finds and decodes
//! the codes. No JavaScript library and no service sees the picture.

use crate::Unusable;
use serde::Deserialize;
use serde_json::{json, Value};

/// The largest picture read, in pixels (4096 x 4096): a phone photo scaled by the page fits.
pub const MAX_PIXELS: u64 = 1 << 24;

/// The smallest side a QR code can have (version 1, 21 modules).
const MIN_SIDE: u32 = 21;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Picture {
    /// Pixels per row.
    width: u32,
    /// Rows.
    height: u32,
}

/// `{"width", "height"}` with the picture's grey levels (one byte per pixel, row by row) as the
/// binary part: `{"texts": [...]}`, the text of every QR code found (none is an empty list).
pub fn read(input: &Value, grey: &[u8]) -> Result<Value, Unusable> {
    let p: Picture =
        serde_json::from_value(input.clone()).map_err(|e| Unusable::new("input", e))?;
    let pixels = u64::from(p.width) * u64::from(p.height);
    if p.width < MIN_SIDE || p.height < MIN_SIDE || pixels > MAX_PIXELS {
        return Err(Unusable::new(
            "picture",
            format!("must be at least {MIN_SIDE} pixels a side and at most {MAX_PIXELS} pixels"),
        ));
    }
    if grey.len() as u64 != pixels {
        return Err(Unusable::new(
            "picture",
            "its grey levels are not width x height bytes",
        ));
    }
    let (width, height) = (p.width as usize, p.height as usize);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let texts: Vec<String> = prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect();
    Ok(json!({ "texts": texts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QR code drawn as a picture: `scale` pixels a module, a quiet zone of four modules.
    fn picture(text: &str, scale: usize) -> (u32, Vec<u8>) {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("fits");
        let modules = code.width();
        let colors = code.to_colors();
        let side = (modules + 8) * scale;
        let mut grey = vec![255u8; side * side];
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = (x / scale, y / scale);
                if (4..modules + 4).contains(&mx)
                    && (4..modules + 4).contains(&my)
                    && colors[(my - 4) * modules + (mx - 4)] == qrcode::Color::Dark
                {
                    grey[y * side + x] = 0;
                }
            }
        }
        (side as u32, grey)
    }

    #[test]
    fn a_drawn_code_reads_back_its_text() {
        let link = "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Fhr.example&request_uri=x";
        let (side, grey) = picture(link, 3);
        let out = read(&json!({"width": side, "height": side}), &grey).expect("read");
        assert_eq!(out["texts"], json!([link]));
        let blank = vec![255u8; (side * side) as usize];
        let none = read(&json!({"width": side, "height": side}), &blank).expect("read");
        assert_eq!(none["texts"], json!([]));
    }

    #[test]
    fn a_picture_off_its_bounds_is_refused_before_it_is_read() {
        for (w, h, len) in [
            (20, 21, 420),           // too small to hold a code
            (4097, 4096, 0),         // past the bound (and no bytes to match it)
            (u32::MAX, u32::MAX, 0), // a size that would overflow 32 bits
            (100, 100, 9_999),       // one byte short
            (100, 100, 10_001),      // one byte over
        ] {
            let e = read(&json!({"width": w, "height": h}), &vec![0u8; len]).expect_err("refused");
            assert!(e.to_string().starts_with("picture:"), "{e}");
        }
        let e = read(&json!({"width": -1, "height": 30}), &[]).expect_err("refused");
        assert!(e.to_string().starts_with("input:"), "{e}");
    }
}
