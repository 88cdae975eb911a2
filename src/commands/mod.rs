//! One module per subcommand, each with a single `run` taking already-checked settings.

pub mod image_detail;
pub mod taskdef;
