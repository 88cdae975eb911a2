//! Fuzz target: parsing and validating an AppSpec never panics, and a valid one names its target.
#![no_main]

use bgtool::artifacts::appspec::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(document) = serde_norway::from_str::<serde_norway::Value>(text) else { return };
    let validation = validate(&document);
    if validation.is_valid() {
        assert!(validation.target.is_some(), "a valid AppSpec without a load balancer target");
    }
});
