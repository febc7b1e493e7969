//! Variable-length integers for the store's packed values (score history, usage weeks).

/// Zigzag LEB128: small magnitudes of either sign in one or two bytes.
pub(crate) fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub(crate) fn unvarint(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let mut z: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        z |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((((z >> 1) as i64) ^ -((z & 1) as i64), &bytes[i + 1..]));
        }
    }
    None
}
