//! `bgtool hook`'s parts: the checks and how answers are judged, the lifecycle hook events (both
//! pure), the one HTTP exchange both use, the probe that sends the checks' requests, and the
//! Lambda Runtime API client.

pub mod checks;
pub mod event;
pub mod exchange;
pub mod probe;
pub mod runtime;
