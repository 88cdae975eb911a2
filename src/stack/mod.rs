//! The Terraform stack `emit-hcl` writes: the embedded templates rendered with checked options
//! (`hcl`), and the check that the build's bgtool is a binary CodeBuild can run (`elf`).

pub mod elf;
pub mod hcl;
pub mod zip;
