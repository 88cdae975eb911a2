//! Build script: records the git commit the binary is built from, for `bgtool --version`, and
//! packs the static release's relocations.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BGTOOL_GIT_COMMIT");
    // Rebuild when HEAD moves (a commit, a checkout), not on every change to the index.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &reference])
    {
        println!("cargo:rerun-if-changed={path}");
    }
    // Builds without a .git folder (a source tarball, a container build) pass the commit in.
    let commit = std::env::var("BGTOOL_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=BGTOOL_LONG_VERSION={version} (commit {commit})");
    pack_relative_relocations();
}

/// A static-pie binary relocates itself at start: in the classic format that is one 24-byte
/// entry per pointer in the image (about 700 KB here), in the packed RELR format a few kilobytes.
/// The musl start code Rust ships (1.2.5) applies RELR, and GNU ld writes it on x86_64 since
/// binutils 2.38. This keeps the release within its 8 MiB goal without giving up position
/// independence (ASLR). Other targets keep the linker's default.
fn pack_relative_relocations() {
    println!("cargo:rerun-if-env-changed=BGTOOL_NO_PACKED_RELOCATIONS");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-linux-musl"
        && std::env::var_os("BGTOOL_NO_PACKED_RELOCATIONS").is_none()
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

fn git(arguments: &[&str]) -> Option<String> {
    let output = Command::new("git").args(arguments).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}
