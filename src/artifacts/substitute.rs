//! Strict variable substitution for templates: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}` and `$$`. Unlike GNU envsubst, a variable that is not set (and has no default)
//! is an error that names it and its lines, never an empty string. Pure: values come from a lookup.
//!
//! The `envsubst` crate handles only `${VAR}`, silently leaves unset variables in place, and
//! refuses every value that holds `$`, `{` or `}`; so this module does its own scanning, and the
//! crate serves as a reference in the tests, where both must agree on the `${VAR}` form.

use std::fmt;

/// A variable that the template needs and the lookup does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    pub name: String,
    /// 1-based line numbers where it is referenced.
    pub lines: Vec<usize>,
}

impl fmt::Display for UnsetVariable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self
            .lines
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if self.lines.len() == 1 {
            "line"
        } else {
            "lines"
        };
        write!(formatter, "`{}` ({noun} {lines})", self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    #[error("{} not set: {}", if .0.len() == 1 { "a variable is" } else { "variables are" }, list(.0))]
    Unset(Vec<UnsetVariable>),
    #[error(
        "line {line}, column {column}: `{text}` is not a variable reference; write `$${{NAME}}`, or `$$` for a literal `$`"
    )]
    Malformed {
        line: usize,
        column: usize,
        text: String,
    },
}

fn list(unset: &[UnsetVariable]) -> String {
    unset
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a reference with a default (`${VAR-text}`, `${VAR:-text}`) falls back to.
enum Fallback<'a> {
    None,
    /// `${VAR-default}`: used when VAR is unset.
    IfUnset(&'a str),
    /// `${VAR:-default}`: used when VAR is unset or empty.
    IfUnsetOrEmpty(&'a str),
}

/// Replaces every variable reference in `template` with its value from `lookup`.
///
/// Text that is not a reference is copied exactly, so comments and layout survive.
///
/// # Errors
/// [`SubstituteError::Unset`] listing every unset variable without a default (with its lines), or
/// [`SubstituteError::Malformed`] for a `${` that does not form a reference.
pub fn substitute(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, SubstituteError> {
    let mut output = String::with_capacity(template.len());
    // In order of first appearance, as a reader of the template meets them.
    let mut unset: Vec<UnsetVariable> = Vec::new();
    let mut line = 1;
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        let (before, from_dollar) = rest.split_at(dollar);
        line += before.matches('\n').count();
        output.push_str(before);
        let after = &from_dollar[1..];
        if let Some(tail) = after.strip_prefix('$') {
            output.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let column = column_of(template, template.len() - from_dollar.len());
            let malformed = || SubstituteError::Malformed {
                line,
                column,
                text: from_dollar
                    .split_inclusive(['}', '\n'])
                    .next()
                    .unwrap_or(from_dollar)
                    .trim_end()
                    .to_owned(),
            };
            let close = braced
                .find(['}', '\n'])
                .filter(|&index| braced[index..].starts_with('}'));
            let Some(close) = close else {
                return Err(malformed());
            };
            let inner = &braced[..close];
            let name_length = name_length(inner);
            if name_length == 0 {
                return Err(malformed());
            }
            let (name, operator) = inner.split_at(name_length);
            let fallback = if operator.is_empty() {
                Fallback::None
            } else if let Some(text) = operator.strip_prefix(":-") {
                Fallback::IfUnsetOrEmpty(text)
            } else if let Some(text) = operator.strip_prefix('-') {
                Fallback::IfUnset(text)
            } else {
                return Err(malformed());
            };
            match (lookup(name), fallback) {
                (Some(value), Fallback::IfUnsetOrEmpty(text)) if value.is_empty() => {
                    output.push_str(text);
                }
                (Some(value), _) => output.push_str(&value),
                (None, Fallback::IfUnset(text) | Fallback::IfUnsetOrEmpty(text)) => {
                    output.push_str(text);
                }
                (None, Fallback::None) => note_unset(&mut unset, name, line),
            }
            rest = &braced[close + 1..];
        } else {
            let length = name_length(after);
            if length == 0 {
                // `$` before anything but a name (`$1`, `$ `, a trailing `$`) is plain text.
                output.push('$');
                rest = after;
                continue;
            }
            let name = &after[..length];
            match lookup(name) {
                Some(value) => output.push_str(&value),
                None => note_unset(&mut unset, name, line),
            }
            rest = &after[length..];
        }
    }
    output.push_str(rest);
    if unset.is_empty() {
        Ok(output)
    } else {
        Err(SubstituteError::Unset(unset))
    }
}

fn note_unset(unset: &mut Vec<UnsetVariable>, name: &str, line: usize) {
    match unset.iter_mut().find(|variable| variable.name == name) {
        Some(variable) if variable.lines.last() == Some(&line) => {}
        Some(variable) => variable.lines.push(line),
        None => unset.push(UnsetVariable {
            name: name.to_owned(),
            lines: vec![line],
        }),
    }
}

/// The length of the variable name at the start of `text`: a letter or `_`, then letters, digits
/// and `_`, as in POSIX shells.
fn name_length(text: &str) -> usize {
    let mut characters = text.char_indices();
    match characters.next() {
        Some((_, first)) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return 0,
    }
    characters
        .find(|(_, character)| !(character.is_ascii_alphanumeric() || *character == '_'))
        .map_or(text.len(), |(index, _)| index)
}

fn column_of(text: &str, byte_offset: usize) -> usize {
    let line_start = text[..byte_offset].rfind('\n').map_or(0, |index| index + 1);
    text[line_start..byte_offset].chars().count() + 1
}

/// A `KEY=VALUE` line of an env file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct EnvFileError {
    pub line: usize,
    pub problem: String,
}

/// Reads an env file: `KEY=VALUE` lines, optionally prefixed by `export `; blank lines and lines
/// starting with `#` are skipped; a value wrapped in matching single or double quotes loses them.
/// No expansion happens inside values.
///
/// # Errors
/// The first line that is not `KEY=VALUE` with a valid name.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut pairs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvFileError {
                line: index + 1,
                problem: format!("`{line}` is not KEY=VALUE"),
            });
        };
        let key = key.trim_end();
        if name_length(key) != key.len() || key.is_empty() {
            return Err(EnvFileError {
                line: index + 1,
                problem: format!("`{key}` is not a variable name"),
            });
        }
        let value = value.trim_start();
        let value = ['"', '\'']
            .iter()
            .find_map(|quote| {
                value
                    .strip_prefix(*quote)
                    .and_then(|inner| inner.strip_suffix(*quote))
            })
            .unwrap_or(value);
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn every_reference_form_is_substituted() {
        let output = substitute(
            "a=$A b=${B} c=${C:-dc} d=${D-dd} e=${E:-de} f=${F-df} $$A",
            with(&[("A", "1"), ("B", "2"), ("E", ""), ("F", "")]),
        )
        .unwrap();
        assert_eq!(output, "a=1 b=2 c=dc d=dd e=de f= $A");
    }

    #[test]
    fn text_that_is_not_a_reference_is_kept_exactly() {
        let template =
            "# cost: $5 and 100%\nkey: \"$\" # trailing $\nport: ${PORT}\n  weird: $-x $1\n";
        let output = substitute(template, with(&[("PORT", "80")])).unwrap();
        assert_eq!(
            output,
            "# cost: $5 and 100%\nkey: \"$\" # trailing $\nport: 80\n  weird: $-x $1\n"
        );
    }

    #[test]
    fn names_end_at_the_first_character_that_cannot_be_in_a_name() {
        let output = substitute(
            "$A.$B-$C_D/${A}x",
            with(&[("A", "a"), ("B", "b"), ("C_D", "cd")]),
        )
        .unwrap();
        assert_eq!(output, "a.b-cd/ax");
    }

    #[test]
    fn values_are_inserted_verbatim_even_with_dollars_and_braces() {
        let output = substitute("v: $V", with(&[("V", "{\"a\": \"$HOME\"}")])).unwrap();
        assert_eq!(output, "v: {\"a\": \"$HOME\"}");
    }

    #[test]
    fn every_unset_variable_is_listed_with_its_lines() {
        let error = substitute("z: $Z\nb: ${B}\nc: $Z ${C:-ok} $Z\n", with(&[])).unwrap_err();
        assert_eq!(
            error,
            SubstituteError::Unset(vec![
                UnsetVariable {
                    name: "Z".into(),
                    lines: vec![1, 3]
                },
                UnsetVariable {
                    name: "B".into(),
                    lines: vec![2]
                },
            ])
        );
        assert_eq!(
            error.to_string(),
            "variables are not set: `Z` (lines 1, 3), `B` (line 2)"
        );
    }

    #[test]
    fn a_broken_brace_reference_is_an_error_with_its_position() {
        for (template, line, column) in [
            ("x: ${A\n", 1, 4),
            ("\n  ${}\n", 2, 3),
            ("${1A}", 1, 1),
            ("a ${A:=b}", 1, 3),
        ] {
            match substitute(template, with(&[("A", "1")])) {
                Err(SubstituteError::Malformed {
                    line: got_line,
                    column: got_column,
                    ..
                }) => {
                    assert_eq!((got_line, got_column), (line, column), "{template:?}");
                }
                other => panic!("{template:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn agrees_with_the_envsubst_crate_on_braced_references() {
        let template = "version: 0.0\nname: ${NAME}\nport: ${PORT} # ${NAME}\n";
        let values: HashMap<String, String> = [
            ("NAME".to_owned(), "web".to_owned()),
            ("PORT".to_owned(), "8080".to_owned()),
        ]
        .into();
        let reference = envsubst::substitute(template, &values).unwrap();
        let ours = substitute(template, |name| values.get(name).cloned()).unwrap();
        assert_eq!(ours, reference);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::substitute;

        #[derive(Debug, Clone)]
        enum Piece {
            Text(String),
            Braced(usize),
            Plain(usize),
            Escaped,
        }

        const NAMES: [&str; 3] = ["ALPHA", "BETA_2", "_GAMMA"];
        const VALUES: [&str; 3] = ["subnet-1", "", "${not} $expanded"];

        fn piece() -> impl Strategy<Value = Piece> {
            prop_oneof![
                "[a-z0-9 :#\\n{}-]{0,12}".prop_map(Piece::Text),
                (0..NAMES.len()).prop_map(Piece::Braced),
                (0..NAMES.len()).prop_map(Piece::Plain),
                Just(Piece::Escaped),
            ]
        }

        proptest! {
            #[test]
            fn text_without_dollars_is_unchanged(text in "[^$]{0,200}") {
                prop_assert_eq!(substitute(&text, |_| None).unwrap(), text);
            }

            #[test]
            fn templates_render_as_the_model_says(pieces in prop::collection::vec(piece(), 0..20)) {
                let mut template = String::new();
                let mut expected = String::new();
                for piece in &pieces {
                    match piece {
                        Piece::Text(text) => {
                            template.push_str(text);
                            expected.push_str(text);
                        }
                        Piece::Braced(index) => {
                            template.push_str("${");
                            template.push_str(NAMES[*index]);
                            template.push('}');
                            expected.push_str(VALUES[*index]);
                        }
                        Piece::Plain(index) => {
                            // A plain reference ends at the first non-name character: add one.
                            template.push('$');
                            template.push_str(NAMES[*index]);
                            template.push('.');
                            expected.push_str(VALUES[*index]);
                            expected.push('.');
                        }
                        Piece::Escaped => {
                            template.push_str("$$");
                            expected.push('$');
                        }
                    }
                }
                let lookup = |name: &str| NAMES.iter().position(|known| *known == name).map(|index| VALUES[index].to_owned());
                prop_assert_eq!(substitute(&template, lookup).unwrap(), expected);
            }

            #[test]
            fn any_text_substitutes_or_errors_without_panicking(text in "\\PC{0,300}") {
                let _ = substitute(&text, |name| (name.len() % 2 == 0).then(|| name.to_owned()));
            }
        }
    }

    #[test]
    fn env_files_are_read_line_by_line() {
        let pairs =
            parse_env_file("# comment\n\nA=1\nexport B = two words\nC=\"quoted $X\"\nD='x'\nE=\n")
                .unwrap();
        assert_eq!(
            pairs,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two words".to_owned()),
                ("C".to_owned(), "quoted $X".to_owned()),
                ("D".to_owned(), "x".to_owned()),
                ("E".to_owned(), String::new()),
            ]
        );
        assert_eq!(
            parse_env_file("A=1\nnot a pair\n").unwrap_err(),
            EnvFileError {
                line: 2,
                problem: "`not a pair` is not KEY=VALUE".into()
            }
        );
        assert_eq!(parse_env_file("1A=x").unwrap_err().line, 1);
    }
}
