//! Integration tests: the real bgtool binary with a cleared environment, run on fixture files and
//! against moto's AWS server on loopback (started and seeded by `scripts/test`).

mod aws;
mod check;
mod deploy;
mod emit_hcl;
mod faults;
mod harness;
mod help;
mod hook;
mod hostile;
mod iam;
mod image_detail;
mod ownership;
mod prune;
mod reference_files;
mod render_appspec;
mod run;
mod taskdef;
mod verify;
