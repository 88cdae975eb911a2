//! What an executable is, read from its ELF header: enough to tell whether CodeBuild's x86_64
//! Linux image can run it with no libraries at all. Pure: bytes in, a verdict out.

/// `e_machine` values bgtool names in its messages.
const MACHINE_X86_64: u16 = 0x3E;
const MACHINE_AARCH64: u16 = 0xB7;
/// A program header asking for a dynamic loader (`/lib64/ld-linux-x86-64.so.2`).
const PROGRAM_HEADER_INTERPRETER: u32 = 3;

/// Why a file cannot be the build's bgtool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotARunnableBinary {
    #[error("is not an ELF executable (a Linux program)")]
    NotElf,
    #[error("is not a 64-bit little-endian ELF executable")]
    NotSixtyFourBitLittleEndian,
    #[error("is built for {0}, not x86_64")]
    OtherMachine(&'static str),
    #[error(
        "is linked dynamically (it asks for a loader), so it depends on the build image's libraries"
    )]
    Dynamic,
    #[error("has a truncated or malformed ELF header")]
    Malformed,
}

/// Checks that `bytes` are a 64-bit little-endian x86_64 ELF executable with no interpreter:
/// a static binary (static or static-pie), which runs on any x86_64 Linux.
///
/// # Errors
/// The first reason the file does not qualify.
pub fn check_static_linux_x86_64(bytes: &[u8]) -> Result<(), NotARunnableBinary> {
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(NotARunnableBinary::NotElf);
    }
    // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
    if bytes.get(4..6) != Some([2, 1].as_slice()) {
        return Err(NotARunnableBinary::NotSixtyFourBitLittleEndian);
    }
    let machine = u16_at(bytes, 18).ok_or(NotARunnableBinary::Malformed)?;
    if machine != MACHINE_X86_64 {
        return Err(NotARunnableBinary::OtherMachine(match machine {
            MACHINE_AARCH64 => "aarch64",
            _ => "another processor",
        }));
    }
    let table_offset = u64_at(bytes, 0x20).ok_or(NotARunnableBinary::Malformed)?;
    let entry_size = u16_at(bytes, 0x36).ok_or(NotARunnableBinary::Malformed)?;
    let entry_count = u16_at(bytes, 0x38).ok_or(NotARunnableBinary::Malformed)?;
    let table_offset = usize::try_from(table_offset).map_err(|_| NotARunnableBinary::Malformed)?;
    for index in 0..usize::from(entry_count) {
        let entry = index
            .checked_mul(usize::from(entry_size))
            .and_then(|offset| offset.checked_add(table_offset))
            .ok_or(NotARunnableBinary::Malformed)?;
        if entry.saturating_add(usize::from(entry_size)) > bytes.len() {
            return Err(NotARunnableBinary::Malformed);
        }
        let kind = u32_at(bytes, entry).ok_or(NotARunnableBinary::Malformed)?;
        if kind == PROGRAM_HEADER_INTERPRETER {
            return Err(NotARunnableBinary::Dynamic);
        }
    }
    Ok(())
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        bytes.get(offset..offset.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(offset..offset.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(offset..offset.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// A minimal ELF file: the 64-byte header and `program_header_types` as 56-byte program headers.
/// For tests, here and in `tests/`; the same layout the checks above read.
///
/// # Panics
/// With more than 65535 program headers, which no test needs.
#[must_use]
pub fn minimal_elf(machine: u16, program_header_types: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0_u8; 64];
    bytes[..4].copy_from_slice(b"\x7fELF");
    bytes[4] = 2; // 64-bit
    bytes[5] = 1; // little-endian
    bytes[6] = 1; // ELF version
    bytes[16..18].copy_from_slice(&3_u16.to_le_bytes()); // ET_DYN, as static-pie
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    bytes[20..24].copy_from_slice(&1_u32.to_le_bytes());
    bytes[0x20..0x28].copy_from_slice(&64_u64.to_le_bytes());
    bytes[0x34..0x36].copy_from_slice(&64_u16.to_le_bytes());
    bytes[0x36..0x38].copy_from_slice(&56_u16.to_le_bytes());
    let count = u16::try_from(program_header_types.len()).expect("a few program headers");
    bytes[0x38..0x3A].copy_from_slice(&count.to_le_bytes());
    for kind in program_header_types {
        let mut entry = vec![0_u8; 56];
        entry[..4].copy_from_slice(&kind.to_le_bytes());
        bytes.extend(entry);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOAD: u32 = 1;

    #[test]
    fn a_static_x86_64_executable_qualifies() {
        assert_eq!(
            check_static_linux_x86_64(&minimal_elf(MACHINE_X86_64, &[LOAD, LOAD])),
            Ok(())
        );
    }

    #[test]
    fn each_reason_is_told_apart() {
        assert_eq!(
            check_static_linux_x86_64(b"#!/bin/sh\necho hi\n"),
            Err(NotARunnableBinary::NotElf)
        );
        assert_eq!(
            check_static_linux_x86_64(&minimal_elf(
                MACHINE_X86_64,
                &[LOAD, PROGRAM_HEADER_INTERPRETER]
            )),
            Err(NotARunnableBinary::Dynamic)
        );
        assert_eq!(
            check_static_linux_x86_64(&minimal_elf(MACHINE_AARCH64, &[LOAD])),
            Err(NotARunnableBinary::OtherMachine("aarch64"))
        );
        let mut thirty_two_bit = minimal_elf(MACHINE_X86_64, &[LOAD]);
        thirty_two_bit[4] = 1;
        assert_eq!(
            check_static_linux_x86_64(&thirty_two_bit),
            Err(NotARunnableBinary::NotSixtyFourBitLittleEndian)
        );
        let truncated = &minimal_elf(MACHINE_X86_64, &[LOAD])[..80];
        assert_eq!(
            check_static_linux_x86_64(truncated),
            Err(NotARunnableBinary::Malformed)
        );
    }

    #[test]
    fn a_huge_program_header_table_offset_is_malformed_not_a_panic() {
        let mut bytes = minimal_elf(MACHINE_X86_64, &[LOAD]);
        bytes[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            check_static_linux_x86_64(&bytes),
            Err(NotARunnableBinary::Malformed)
        );
    }
}
