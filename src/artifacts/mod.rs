//! The files a build stage writes and reads, as pure transforms and checks with no I/O: the
//! task definition (`taskdef`, `edits`, `report`), the AppSpec (`appspec`, `substitute`), image
//! references (`image`), and the checks `check` runs (`checks`, `lint`, `fargate`).

pub mod appspec;
pub mod checks;
pub mod edits;
pub mod fargate;
pub mod image;
pub mod lint;
pub mod report;
pub mod substitute;
pub mod taskdef;
