//! Fuzz target: variable substitution never panics, and text without `$` comes back unchanged.
#![no_main]

use bgtool::artifacts::substitute::substitute;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let result = substitute(text, |name| (name.len() % 3 != 0).then(|| format!("<{name}>")));
    if !text.contains('$') {
        assert_eq!(result.as_deref(), Ok(text));
    }
});
