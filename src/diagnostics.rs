//! Messages for people, on standard error: errors with their hint, warnings and notes.
//! Standard output carries only data.

use std::io::Write;

use crate::error::hint_of;

/// Prints `bgtool: error: …` (the whole cause chain on one line) and a `hint:` line if one applies.
pub fn report(error: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible is left to do if standard error itself is gone.
    let _ = writeln!(stderr, "bgtool: error: {}", one_line(&format!("{error:#}")));
    if let Some(hint) = hint_of(error) {
        let _ = writeln!(stderr, "  hint: {}", one_line(hint));
    }
}

/// Prints `bgtool: warning: …`.
pub fn warn(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "bgtool: warning: {}",
        one_line(message)
    );
}

/// Prints `bgtool: warning: …` and a `hint:` line.
pub fn warn_with_hint(message: &str, hint: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "bgtool: warning: {}", one_line(message));
    let _ = writeln!(stderr, "  hint: {}", one_line(hint));
}

/// Prints `bgtool: verify: …`: one of verify's findings, within another command.
pub fn finding(line: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "bgtool: verify: {}",
        one_line(line)
    );
}

/// Prints `bgtool: note: …`: what bgtool chose on the user's behalf.
pub fn note(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "bgtool: note: {}",
        one_line(message)
    );
}

/// Prints `bgtool: report: …`: one line of the change report.
pub fn report_line(line: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "bgtool: report: {}",
        one_line(line.trim_start())
    );
}

/// Prints `bgtool: deploy: …`: one change of state of a deployment being watched.
pub fn progress(line: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "bgtool: deploy: {}",
        one_line(line)
    );
}

/// Folds a message onto one line, so every diagnostic is exactly one line a log search can find.
fn one_line(text: &str) -> String {
    text.trim_end().replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn messages_are_folded_onto_one_line() {
        assert_eq!(one_line("a\n  b\tc\n"), "a   b\tc");
    }
}
