//! One module per subcommand, each with a single `run` taking already-checked settings.

pub mod check;
pub mod completions;
pub mod continue_deployment;
pub mod deploy;
pub mod emit_hcl;
pub mod hook;
pub mod image_definitions;
pub mod image_detail;
pub mod prune;
pub mod render_appspec;
pub mod rollback;
pub mod run;
pub mod taskdef;
pub mod verify;
pub mod wait;
