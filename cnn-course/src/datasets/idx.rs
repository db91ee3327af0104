//! The IDX format (MNIST, Fashion-MNIST), plain or gzip-compressed.
//!
//! An IDX file starts with a 4-byte magic number — two zero bytes, a type code (`0x08`
//! for unsigned bytes) and the number of dimensions — then one big-endian `u32` per
//! dimension, then the values, row-major. Images are `[count, rows, cols]`, labels `[count]`.

use crate::{Error, Result};
use flate2::read::GzDecoder;
use std::fs;
use std::io::Read;
use std::path::Path;

/// The dimensions and bytes of an IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The size of each axis, e.g. `[60000, 28, 28]`.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Read an IDX file of unsigned bytes, decompressing it when it is gzipped. Every problem
/// — a truncated file, a wrong magic number, sizes that disagree — names the file.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_idx(&raw, path)
}

/// Decode IDX bytes (gzipped or not); `path` names the source in error messages.
pub fn decode_idx(raw: &[u8], path: &Path) -> Result<IdxArray> {
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw).read_to_end(&mut out).map_err(|e| {
            Error::file(
                path,
                format!("the gzip data is damaged ({e}); hint: download the file again"),
            )
        })?;
        out
    } else {
        raw.to_vec()
    };
    parse_idx(&bytes).map_err(|message| Error::file(path, message))
}

/// Parse IDX bytes; the error is a message without the file name.
pub fn parse_idx(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "too short for an IDX file ({} bytes); hint: the file is truncated or empty",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(format!(
            "not an IDX file of bytes: magic number {:02x} {:02x} {:02x} {:02x}, expected 00 00 08 <dimensions>; hint: check that this is an MNIST-format file",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    let rank = bytes[3] as usize;
    if rank == 0 || rank > 4 {
        return Err(format!(
            "an IDX file with {rank} dimensions; expected 1 (labels) or 3 (images)"
        ));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!(
            "the header needs {header} bytes, the file has {}; hint: the file is truncated",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes([bytes[4 + 4 * i], bytes[5 + 4 * i], bytes[6 + 4 * i], bytes[7 + 4 * i]]) as usize)
        .collect();
    let Some(expected) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(format!(
            "the header announces dimensions {dims:?}, more values than any file can hold; hint: the header is damaged — download the file again"
        ));
    };
    let found = bytes.len() - header;
    if found != expected {
        return Err(format!(
            "the header announces {dims:?} = {expected} values, the file holds {found}; hint: the file is {}",
            if found < expected {
                "truncated"
            } else {
                "longer than its header says"
            }
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_dimensions_and_values() {
        let parsed = parse_idx(&idx(&[2, 1, 2], &[1, 2, 3, 4])).unwrap();
        assert_eq!(parsed.dims, vec![2, 1, 2]);
        assert_eq!(parsed.data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        assert_eq!(
            parse_idx(&idx(&[2, 2, 2], &[0; 7])).unwrap_err(),
            "the header announces [2, 2, 2] = 8 values, the file holds 7; hint: the file is truncated"
        );
        assert_eq!(
            parse_idx(&[0x89, b'P', b'N', b'G', 0, 0]).unwrap_err(),
            "not an IDX file of bytes: magic number 89 50 4e 47, expected 00 00 08 <dimensions>; hint: check that this is an MNIST-format file"
        );
        assert_eq!(
            parse_idx(&[0, 0]).unwrap_err(),
            "too short for an IDX file (2 bytes); hint: the file is truncated or empty"
        );
    }
}
