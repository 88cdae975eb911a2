//! Fuzz target: the task-definition transform never panics, and whatever it returns has no
//! read-only key and no null-valued key.
#![no_main]

use bgtool::artifacts::taskdef::{READ_ONLY_KEYS, registerable};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn has_null_key(value: &Value) -> bool {
    match value {
        Value::Object(object) => object.values().any(|inner| inner.is_null() || has_null_key(inner)),
        Value::Array(items) => items.iter().any(has_null_key),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    if let Ok(document) = registerable(value) {
        for key in READ_ONLY_KEYS {
            assert!(!document.contains_key(key), "read-only key {key} survived");
        }
        assert!(!has_null_key(&Value::Object(document)), "a null-valued key survived");
    }
});
