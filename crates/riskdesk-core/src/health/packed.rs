//! The current explanation's measures as stored: the JSON the explanation screen reads,
//! LZ4-packed (about a third of the bytes at 100K accounts, the store's second-largest
//! table), behind a marker byte. Rows written before packing are plain JSON text, which
//! always starts with `[`, and are read as they are.

use crate::{Error, Result};

/// Marks a packed value; never the first byte of the JSON array stored before.
const PACKED: u8 = 0x01;

pub(super) fn pack(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() / 2);
    out.push(PACKED);
    out.extend(lz4_flex::compress_prepend_size(json.as_bytes()));
    out
}

pub(super) fn unpack(stored: &[u8]) -> Result<String> {
    let bad = |why: String| Error::invalid("health explanation", why);
    match stored.split_first() {
        Some((&PACKED, rest)) => {
            let bytes =
                lz4_flex::decompress_size_prepended(rest).map_err(|e| bad(e.to_string()))?;
            String::from_utf8(bytes).map_err(|e| bad(e.to_string()))
        }
        _ => String::from_utf8(stored.to_vec()).map_err(|e| bad(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_plain_json_both_read_back() {
        let json =
            r#"[{"kind":"seat_utilization","label":"Seat utilization","raw":33.3}]"#.repeat(7);
        let packed = pack(&json);
        assert!(
            packed.len() < json.len() / 2,
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(&packed).expect("packed"), json);
        assert_eq!(unpack(json.as_bytes()).expect("plain"), json);
        let cut = &packed[..packed.len() / 2];
        assert!(
            unpack(cut).is_err(),
            "a damaged value is an error, not a wrong explanation"
        );
    }
}
