//! A zip archive holding one executable file, stored uncompressed: the smoke-test function's
//! code, the bgtool binary as `bootstrap`. No I/O.
//!
//! Lambda runs `bootstrap` only when the archive says it is executable (Unix mode in the entry's
//! external attributes), and Terraform redeploys the function whenever the archive's hash
//! changes, so the archive is the same bytes for the same binary: a fixed timestamp, no extra
//! fields. Stored rather than deflated: a few lines instead of a compressor in the binary, for a
//! file Lambda accepts up to 50 MB of.

/// The archive's bytes, with `contents` as the one executable entry `name`; `None` for a name
/// or contents too long for zip's 16- and 32-bit fields (the binary is a few megabytes).
#[must_use]
pub fn single_executable(name: &str, contents: &[u8]) -> Option<Vec<u8>> {
    let name_length = u16::try_from(name.len()).ok()?;
    let size = u32::try_from(contents.len()).ok()?;
    let checksum = crc32(contents);
    // 1980-01-01 00:00, the earliest time zip can say.
    let (time, date): (u16, u16) = (0, (1 << 5) | 1);
    let mut archive = Vec::with_capacity(contents.len() + 2 * usize::from(name_length) + 128);

    // Local file header.
    archive.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
    archive.extend_from_slice(&20_u16.to_le_bytes()); // version needed: 2.0
    archive.extend_from_slice(&0_u16.to_le_bytes()); // flags
    archive.extend_from_slice(&0_u16.to_le_bytes()); // method: stored
    archive.extend_from_slice(&time.to_le_bytes());
    archive.extend_from_slice(&date.to_le_bytes());
    archive.extend_from_slice(&checksum.to_le_bytes());
    archive.extend_from_slice(&size.to_le_bytes()); // compressed size
    archive.extend_from_slice(&size.to_le_bytes()); // uncompressed size
    archive.extend_from_slice(&name_length.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes()); // extra field length
    archive.extend_from_slice(name.as_bytes());
    archive.extend_from_slice(contents);

    // Central directory: the one entry, made on Unix, mode 0755 regular file.
    let directory_offset = u32::try_from(archive.len()).ok()?;
    archive.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
    archive.extend_from_slice(&0x0314_u16.to_le_bytes()); // made by: Unix (3), version 2.0 (20)
    archive.extend_from_slice(&20_u16.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes());
    archive.extend_from_slice(&time.to_le_bytes());
    archive.extend_from_slice(&date.to_le_bytes());
    archive.extend_from_slice(&checksum.to_le_bytes());
    archive.extend_from_slice(&size.to_le_bytes());
    archive.extend_from_slice(&size.to_le_bytes());
    archive.extend_from_slice(&name_length.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes()); // extra field length
    archive.extend_from_slice(&0_u16.to_le_bytes()); // comment length
    archive.extend_from_slice(&0_u16.to_le_bytes()); // disk number
    archive.extend_from_slice(&0_u16.to_le_bytes()); // internal attributes
    archive.extend_from_slice(&(0o100_755_u32 << 16).to_le_bytes());
    archive.extend_from_slice(&0_u32.to_le_bytes()); // the local header's offset
    archive.extend_from_slice(name.as_bytes());
    let directory_size = u32::try_from(archive.len()).ok()? - directory_offset;

    // End of central directory.
    archive.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes());
    archive.extend_from_slice(&1_u16.to_le_bytes());
    archive.extend_from_slice(&1_u16.to_le_bytes());
    archive.extend_from_slice(&directory_size.to_le_bytes());
    archive.extend_from_slice(&directory_offset.to_le_bytes());
    archive.extend_from_slice(&0_u16.to_le_bytes());
    Some(archive)
}

/// CRC-32 (IEEE 802.3, reflected), as zip records it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_archive_holds_one_executable_entry_and_the_same_bytes_each_time() {
        let contents = b"\x7fELF pretend";
        let archive = single_executable("bootstrap", contents).unwrap();
        assert_eq!(
            Some(&archive),
            single_executable("bootstrap", contents).as_ref()
        );
        assert_eq!(&archive[..4], b"PK\x03\x04");
        let data_start = 30 + "bootstrap".len();
        assert_eq!(&archive[data_start..data_start + contents.len()], contents);
        let end = &archive[archive.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        let directory = u32::from_le_bytes(end[16..20].try_into().unwrap()) as usize;
        assert_eq!(&archive[directory..directory + 4], b"PK\x01\x02");
        let attributes =
            u32::from_le_bytes(archive[directory + 38..directory + 42].try_into().unwrap());
        assert_eq!(attributes >> 16, 0o100_755);
    }
}
