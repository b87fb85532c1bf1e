//! A strict, read-only reader of a zip archive's central directory (what `np.savez` and
//! `np.savez_compressed` write), including ZIP64 records.
//!
//! Only the directory is read here; entry data is streamed later by
//! [`super::stream::RawStream`]. Rules: stored (0) and deflate (8) methods only, no
//! encryption, single-disk archives, and every offset and size is checked against the
//! archive's length before it is used.

use super::error::FormatError;
use super::{read_exact_at, ByteSource};

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const MAX_COMMENT_LEN: u64 = 0xFFFF;
/// A larger directory than this is not something numpy writes.
const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 64 << 20;
const MAX_ENTRIES: u64 = 1 << 20;

/// How an entry's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflate,
}

/// One file inside the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    /// Whether the stored name was valid UTF-8 (a replacement was made otherwise).
    pub name_was_utf8: bool,
    pub method: Method,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Offset of the local file header.
    pub local_header_offset: u64,
}

fn le_u16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at + 2) {
        Some(b) => u16::from_le_bytes([b[0], b[1]]),
        None => 0,
    }
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => {
            let mut arr = [0u8; 8];
            arr.copy_from_slice(b);
            u64::from_le_bytes(arr)
        }
        None => 0,
    }
}

/// Reads the central directory of the archive in `source`.
pub fn read_central_directory<S: ByteSource>(
    source: &mut S,
    file: &str,
) -> Result<Vec<ZipEntry>, FormatError> {
    let bad = |reason: &str| FormatError::BadZip {
        file: file.to_string(),
        reason: reason.to_string(),
    };
    let len = source.len();
    if len < EOCD_LEN {
        return Err(FormatError::Truncated {
            file: file.to_string(),
            what: "a zip archive (.npz)".to_string(),
            needed: EOCD_LEN,
            available: len,
        });
    }
    let mut head = [0u8; 4];
    read_exact_at(source, file, 0, &mut head, "the zip signature")?;
    if u32::from_le_bytes(head) != LOCAL_SIGNATURE && u32::from_le_bytes(head) != EOCD_SIGNATURE {
        return Err(FormatError::BadMagic {
            file: file.to_string(),
            format: ".npz (zip)",
            expected: "'PK\\x03\\x04'".to_string(),
            found: super::npy::describe_bytes(&head),
        });
    }
    // The end-of-central-directory record sits in the last 22 + 65535 bytes.
    let tail_len = len.min(EOCD_LEN + MAX_COMMENT_LEN);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    read_exact_at(source, file, tail_start, &mut tail, "the zip directory")?;
    let eocd_pos = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&pos| le_u32(&tail, pos) == EOCD_SIGNATURE)
        .ok_or_else(|| {
            bad("the end-of-directory record is missing (the file is probably truncated)")
        })?;
    let eocd = &tail[eocd_pos..];
    let disk = le_u16(eocd, 4);
    let cd_disk = le_u16(eocd, 6);
    let mut n_entries = le_u16(eocd, 10) as u64;
    let mut cd_size = le_u32(eocd, 12) as u64;
    let mut cd_offset = le_u32(eocd, 16) as u64;
    if disk != 0 && disk != 0xFFFF || cd_disk != 0 && cd_disk != 0xFFFF {
        return Err(bad("multi-part (split) archives are not supported"));
    }
    let eocd_abs = tail_start + eocd_pos as u64;
    if n_entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // ZIP64: a 20-byte locator precedes the EOCD and points at the ZIP64 EOCD record.
        let locator_pos = eocd_abs
            .checked_sub(20)
            .ok_or_else(|| bad("the ZIP64 locator is missing"))?;
        let mut locator = [0u8; 20];
        read_exact_at(source, file, locator_pos, &mut locator, "the ZIP64 locator")?;
        if le_u32(&locator, 0) != ZIP64_LOCATOR_SIGNATURE {
            return Err(bad("the ZIP64 locator is missing"));
        }
        let record_pos = le_u64(&locator, 8);
        let mut record = [0u8; 56];
        read_exact_at(
            source,
            file,
            record_pos,
            &mut record,
            "the ZIP64 directory record",
        )?;
        if le_u32(&record, 0) != ZIP64_EOCD_SIGNATURE {
            return Err(bad("the ZIP64 directory record is damaged"));
        }
        n_entries = le_u64(&record, 32);
        cd_size = le_u64(&record, 40);
        cd_offset = le_u64(&record, 48);
    }
    if n_entries > MAX_ENTRIES || cd_size > MAX_CENTRAL_DIRECTORY_BYTES {
        return Err(bad("the directory is implausibly large"));
    }
    let cd_end = cd_offset
        .checked_add(cd_size)
        .ok_or_else(|| bad("the directory offset overflows"))?;
    if cd_end > eocd_abs {
        return Err(bad(
            "the directory lies outside the archive (the file is probably truncated)",
        ));
    }
    let mut directory = vec![0u8; cd_size as usize];
    read_exact_at(source, file, cd_offset, &mut directory, "the zip directory")?;
    let mut entries = Vec::with_capacity(n_entries as usize);
    let mut pos = 0usize;
    for _ in 0..n_entries {
        let fixed = directory
            .get(pos..pos + 46)
            .ok_or_else(|| bad("a directory entry is cut off"))?;
        if le_u32(fixed, 0) != CENTRAL_SIGNATURE {
            return Err(bad("a directory entry has a wrong signature"));
        }
        let flags = le_u16(fixed, 8);
        let method_code = le_u16(fixed, 10);
        let crc32 = le_u32(fixed, 16);
        let mut compressed_size = le_u32(fixed, 20) as u64;
        let mut uncompressed_size = le_u32(fixed, 24) as u64;
        let name_len = le_u16(fixed, 28) as usize;
        let extra_len = le_u16(fixed, 30) as usize;
        let comment_len = le_u16(fixed, 32) as usize;
        let mut local_header_offset = le_u32(fixed, 42) as u64;
        let name_start = pos + 46;
        let extra_start = name_start + name_len;
        let next = extra_start + extra_len + comment_len;
        let name_bytes = directory
            .get(name_start..extra_start)
            .ok_or_else(|| bad("an entry name is cut off"))?;
        let extra = directory
            .get(extra_start..extra_start + extra_len)
            .ok_or_else(|| bad("an entry's extra field is cut off"))?;
        if next > directory.len() {
            return Err(bad("an entry comment is cut off"));
        }
        // ZIP64 extended information: the fields that are saturated in the fixed part,
        // in this order.
        let mut extra_pos = 0usize;
        while extra_pos + 4 <= extra.len() {
            let tag = le_u16(extra, extra_pos);
            let size = le_u16(extra, extra_pos + 2) as usize;
            let body = extra
                .get(extra_pos + 4..extra_pos + 4 + size)
                .ok_or_else(|| bad("an entry's extra field is damaged"))?;
            if tag == 0x0001 {
                let mut field = 0usize;
                let mut take = |value: &mut u64| -> Result<(), FormatError> {
                    if *value == 0xFFFF_FFFF {
                        if field + 8 > body.len() {
                            return Err(bad("an entry's ZIP64 field is damaged"));
                        }
                        *value = le_u64(body, field);
                        field += 8;
                    }
                    Ok(())
                };
                take(&mut uncompressed_size)?;
                take(&mut compressed_size)?;
                take(&mut local_header_offset)?;
            }
            extra_pos += 4 + size;
        }
        if flags & 0x0001 != 0 {
            return Err(bad("encrypted entries are not supported"));
        }
        let method = match method_code {
            0 => Method::Stored,
            8 => Method::Deflate,
            other => {
                return Err(FormatError::BadZip {
                    file: file.to_string(),
                    reason: format!("compression method {other} is not supported (only stored and deflate, as numpy writes)"),
                })
            }
        };
        if method == Method::Stored && compressed_size != uncompressed_size {
            return Err(bad(
                "a stored entry has different packed and unpacked sizes",
            ));
        }
        let (name, name_was_utf8) = match std::str::from_utf8(name_bytes) {
            Ok(name) => (name.to_string(), true),
            Err(_) => (String::from_utf8_lossy(name_bytes).into_owned(), false),
        };
        entries.push(ZipEntry {
            name,
            name_was_utf8,
            method,
            crc32,
            compressed_size,
            uncompressed_size,
            local_header_offset,
        });
        pos = next;
    }
    Ok(entries)
}

/// Offset of an entry's first data byte, read from its local header; checks that the
/// packed data fits inside the archive.
pub fn entry_data_offset<S: ByteSource>(
    source: &mut S,
    file: &str,
    entry: &ZipEntry,
) -> Result<u64, FormatError> {
    let bad = |reason: String| FormatError::BadZip {
        file: file.to_string(),
        reason,
    };
    let mut local = [0u8; 30];
    read_exact_at(
        source,
        file,
        entry.local_header_offset,
        &mut local,
        "a zip entry header",
    )?;
    if le_u32(&local, 0) != LOCAL_SIGNATURE {
        return Err(bad(format!(
            "the entry '{}' has a damaged local header",
            entry.name
        )));
    }
    let name_len = le_u16(&local, 26) as u64;
    let extra_len = le_u16(&local, 28) as u64;
    let data_offset = entry
        .local_header_offset
        .checked_add(30 + name_len + extra_len)
        .ok_or_else(|| bad("an entry offset overflows".to_string()))?;
    let data_end = data_offset
        .checked_add(entry.compressed_size)
        .ok_or_else(|| bad("an entry size overflows".to_string()))?;
    if data_end > source.len() {
        return Err(FormatError::Truncated {
            file: file.to_string(),
            what: format!("zip entry '{}'", entry.name),
            needed: data_end,
            available: source.len(),
        });
    }
    Ok(data_offset)
}
