//! The task sizes Fargate offers: used to check emit-hcl's `--cpu`/`--memory` and to lint task
//! definitions.

/// The memory sizes (MiB) Fargate offers for each CPU size: (cpu, smallest, largest, step).
const SIZES: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122_880, 8192),
];

/// Whether Fargate runs a task of `cpu` units and `memory` MiB.
///
/// # Errors
/// A sentence naming what Fargate offers instead.
pub fn check_size(cpu: u32, memory: u32) -> Result<(), String> {
    let Some(&(_, smallest, largest, step)) = SIZES.iter().find(|(size, ..)| *size == cpu) else {
        return Err(format!(
            "Fargate offers 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units, not {cpu}"
        ));
    };
    if memory < smallest || memory > largest || !(memory - smallest).is_multiple_of(step) {
        return Err(format!(
            "with {cpu} CPU units Fargate offers {smallest} to {largest} MiB in steps of {step}, not {memory}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_size;

    #[test]
    fn fargate_sizes_are_the_ones_fargate_offers() {
        assert!(check_size(256, 512).is_ok());
        assert!(check_size(256, 2048).is_ok());
        assert!(check_size(1024, 3072).is_ok());
        assert!(check_size(16384, 122_880).is_ok());
        assert!(check_size(256, 4096).is_err());
        assert!(check_size(512, 1536).is_err());
        assert!(check_size(300, 512).is_err());
    }
}
