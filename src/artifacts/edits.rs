//! Declarative container edits to a task definition: environment variables and secrets set,
//! removed, or replaced as a whole. Pure: a document and edits in, the edited document out; all
//! edits apply or none does.

use serde_json::{Map, Value};

use crate::artifacts::taskdef::{TaskdefError, container_names};

/// One edit to one container, in the order given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEdit {
    /// `--env CONTAINER:NAME=VALUE` (and each line of `--env-file`): set, or add.
    SetEnvironment {
        container: String,
        name: String,
        value: String,
        flag: String,
    },
    /// `--unset-env CONTAINER:NAME`.
    UnsetEnvironment { container: String, name: String },
    /// `--secret CONTAINER:NAME=ARN`: set, or add, a secret's `valueFrom`.
    SetSecret {
        container: String,
        name: String,
        value_from: String,
        flag: String,
    },
    /// `--unset-secret CONTAINER:NAME`.
    UnsetSecret { container: String, name: String },
    /// `--exclusive-env CONTAINER`: the container's environment is exactly what the edits set.
    ExclusiveEnvironment { container: String },
}

impl ContainerEdit {
    fn container(&self) -> &str {
        match self {
            Self::SetEnvironment { container, .. }
            | Self::UnsetEnvironment { container, .. }
            | Self::SetSecret { container, .. }
            | Self::UnsetSecret { container, .. }
            | Self::ExclusiveEnvironment { container } => container,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Taskdef(#[from] TaskdefError),
    #[error("`{first}` and `{second}` both set `{name}` in container `{container}`")]
    SetTwice {
        container: String,
        name: String,
        first: String,
        second: String,
    },
    #[error(
        "container `{container}`: `{name}` would be both an environment variable and a secret; ECS gives the container one of them"
    )]
    BothEnvironmentAndSecret { container: String, name: String },
    #[error("container `{container}` has `{key}` that is not a list of name/value entries")]
    MalformedList {
        container: String,
        key: &'static str,
    },
}

/// What an edit did that the user may not expect, for a note on standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditNote(pub String);

/// Applies `edits` to the containers of a registerable task definition.
///
/// # Errors
/// When an edit names a container that is not there (the error lists the real ones), a name is
/// set twice by the edits, or a name would end up in both `environment` and `secrets`. The
/// document is unchanged then.
pub fn apply_edits(
    document: &mut Map<String, Value>,
    edits: &[ContainerEdit],
) -> Result<Vec<EditNote>, EditError> {
    let names = container_names(document)?;
    for edit in edits {
        if !names.iter().any(|name| name == edit.container()) {
            return Err(TaskdefError::UnknownContainer {
                name: edit.container().to_owned(),
                available: names,
            }
            .into());
        }
    }
    check_set_once(edits)?;
    let mut edited = document.clone();
    let mut notes = Vec::new();
    let Some(Value::Array(containers)) = edited.get_mut("containerDefinitions") else {
        return Err(TaskdefError::NoTaskDefinition.into());
    };
    for (container, name) in containers.iter_mut().zip(&names) {
        let Value::Object(container) = container else {
            continue;
        };
        let mine: Vec<&ContainerEdit> = edits
            .iter()
            .filter(|edit| edit.container() == name)
            .collect();
        if mine.is_empty() {
            continue;
        }
        edit_container(container, name, &mine, &mut notes)?;
    }
    *document = edited;
    Ok(notes)
}

fn check_set_once(edits: &[ContainerEdit]) -> Result<(), EditError> {
    let mut seen: Vec<(&str, &str, &str)> = Vec::new();
    for edit in edits {
        let (container, name, flag) = match edit {
            ContainerEdit::SetEnvironment {
                container,
                name,
                flag,
                ..
            }
            | ContainerEdit::SetSecret {
                container,
                name,
                flag,
                ..
            } => (container.as_str(), name.as_str(), flag.as_str()),
            _ => continue,
        };
        if let Some((_, _, first)) = seen.iter().find(|(other_container, other_name, _)| {
            *other_container == container && *other_name == name
        }) {
            return Err(EditError::SetTwice {
                container: container.to_owned(),
                name: name.to_owned(),
                first: (*first).to_owned(),
                second: flag.to_owned(),
            });
        }
        seen.push((container, name, flag));
    }
    Ok(())
}

fn edit_container(
    container: &mut Map<String, Value>,
    name: &str,
    edits: &[&ContainerEdit],
    notes: &mut Vec<EditNote>,
) -> Result<(), EditError> {
    let mut environment = entries(container, name, "environment")?;
    let mut secrets = entries(container, name, "secrets")?;
    if edits
        .iter()
        .any(|edit| matches!(edit, ContainerEdit::ExclusiveEnvironment { .. }))
    {
        environment.clear();
    }
    for edit in edits {
        match edit {
            ContainerEdit::SetEnvironment {
                name: key, value, ..
            } => set(&mut environment, "value", key, value),
            ContainerEdit::UnsetEnvironment { name: key, .. } => {
                if !unset(&mut environment, key) {
                    notes.push(EditNote(format!(
                        "container `{name}` has no environment variable `{key}` to unset"
                    )));
                }
            }
            ContainerEdit::SetSecret {
                name: key,
                value_from,
                ..
            } => set(&mut secrets, "valueFrom", key, value_from),
            ContainerEdit::UnsetSecret { name: key, .. } => {
                if !unset(&mut secrets, key) {
                    notes.push(EditNote(format!(
                        "container `{name}` has no secret `{key}` to unset"
                    )));
                }
            }
            ContainerEdit::ExclusiveEnvironment { .. } => {}
        }
    }
    for entry in &environment {
        let key = entry_name(entry);
        if secrets.iter().any(|secret| entry_name(secret) == key) {
            return Err(EditError::BothEnvironmentAndSecret {
                container: name.to_owned(),
                name: key.to_owned(),
            });
        }
    }
    store(container, "environment", environment);
    store(container, "secrets", secrets);
    Ok(())
}

fn entries(
    container: &Map<String, Value>,
    name: &str,
    key: &'static str,
) -> Result<Vec<Value>, EditError> {
    match container.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) if list.iter().all(Value::is_object) => Ok(list.clone()),
        Some(_) => Err(EditError::MalformedList {
            container: name.to_owned(),
            key,
        }),
    }
}

fn entry_name(entry: &Value) -> &str {
    entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Sets `key` where it first stood (or at the end), and removes any other entry of that name.
fn set(list: &mut Vec<Value>, value_key: &str, key: &str, value: &str) {
    let mut entry = Map::new();
    entry.insert("name".to_owned(), Value::String(key.to_owned()));
    entry.insert(value_key.to_owned(), Value::String(value.to_owned()));
    let position = list.iter().position(|entry| entry_name(entry) == key);
    list.retain(|entry| entry_name(entry) != key);
    let position = position.unwrap_or(list.len()).min(list.len());
    list.insert(position, Value::Object(entry));
}

fn unset(list: &mut Vec<Value>, key: &str) -> bool {
    let before = list.len();
    list.retain(|entry| entry_name(entry) != key);
    list.len() != before
}

/// Writes the list back; an empty list stays out of a container that had none.
fn store(container: &mut Map<String, Value>, key: &str, list: Vec<Value>) {
    if list.is_empty() && !container.contains_key(key) {
        return;
    }
    container.insert(key.to_owned(), Value::Array(list));
}

/// A Secrets Manager secret ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, with an
/// optional `:json-key:version-stage:version-id` suffix) or an SSM parameter ARN
/// (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`): what a container's `valueFrom` takes across
/// Regions and accounts.
#[must_use]
pub fn is_secret_reference(value_from: &str) -> bool {
    let parts: Vec<&str> = value_from.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let head = *prefix == "arn"
        && partition.starts_with("aws")
        && !region.is_empty()
        && region.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
        && account.len() == 12
        && account.chars().all(|character| character.is_ascii_digit());
    let resource_valid = match *service {
        "secretsmanager" => resource
            .strip_prefix("secret:")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(':')),
        "ssm" => resource
            .strip_prefix("parameter/")
            .is_some_and(|rest| !rest.is_empty()),
        _ => false,
    };
    head && resource_valid
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> Map<String, Value> {
        let Value::Object(document) = json!({
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "a", "environment": [
                    {"name": "KEEP", "value": "1"},
                    {"name": "LEVEL", "value": "info"},
                    {"name": "OLD", "value": "x"}
                ], "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}
                ]},
                {"name": "sidecar", "image": "b"}
            ]
        }) else {
            unreachable!()
        };
        document
    }

    fn set_environment(container: &str, name: &str, value: &str) -> ContainerEdit {
        ContainerEdit::SetEnvironment {
            container: container.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
            flag: format!("--env {container}:{name}={value}"),
        }
    }

    #[test]
    fn sets_replace_in_place_add_at_the_end_and_keep_empty_values() {
        let mut edited = document();
        let notes = apply_edits(
            &mut edited,
            &[
                set_environment("app", "LEVEL", "debug"),
                set_environment("app", "EMPTY", ""),
                ContainerEdit::UnsetEnvironment {
                    container: "app".into(),
                    name: "OLD".into(),
                },
                set_environment("sidecar", "MODE", "tail"),
            ],
        )
        .unwrap();
        assert!(notes.is_empty());
        assert_eq!(
            edited["containerDefinitions"][0]["environment"],
            json!([
                {"name": "KEEP", "value": "1"},
                {"name": "LEVEL", "value": "debug"},
                {"name": "EMPTY", "value": ""}
            ])
        );
        assert_eq!(
            edited["containerDefinitions"][1]["environment"],
            json!([{"name": "MODE", "value": "tail"}])
        );
        assert!(
            edited["containerDefinitions"][1].get("secrets").is_none(),
            "no empty list appears where there was none"
        );
    }

    #[test]
    fn exclusive_environment_replaces_the_whole_set() {
        let mut edited = document();
        apply_edits(
            &mut edited,
            &[
                ContainerEdit::ExclusiveEnvironment {
                    container: "app".into(),
                },
                set_environment("app", "ONLY", "this"),
            ],
        )
        .unwrap();
        assert_eq!(
            edited["containerDefinitions"][0]["environment"],
            json!([{"name": "ONLY", "value": "this"}])
        );
    }

    #[test]
    fn secrets_are_set_and_unset() {
        let mut edited = document();
        apply_edits(
            &mut edited,
            &[
                ContainerEdit::SetSecret {
                    container: "app".into(),
                    name: "API_TOKEN".into(),
                    value_from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf"
                        .into(),
                    flag: "--secret app:API_TOKEN=…".into(),
                },
                ContainerEdit::UnsetSecret {
                    container: "app".into(),
                    name: "DB_PASSWORD".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(
            edited["containerDefinitions"][0]["secrets"],
            json!([{"name": "API_TOKEN", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf"}])
        );
    }

    #[test]
    fn mistakes_name_their_cause_and_change_nothing() {
        let original = document();
        let cases: Vec<(Vec<ContainerEdit>, &str)> = vec![
            (
                vec![set_environment("web", "A", "1")],
                "there is no container `web`; the containers are `app`, `sidecar`",
            ),
            (
                vec![
                    set_environment("app", "A", "1"),
                    set_environment("app", "A", "2"),
                ],
                "`--env app:A=1` and `--env app:A=2` both set `A` in container `app`",
            ),
            (
                vec![set_environment("app", "DB_PASSWORD", "plain")],
                "container `app`: `DB_PASSWORD` would be both an environment variable and a secret",
            ),
        ];
        for (edits, expected) in cases {
            let mut edited = original.clone();
            let error = apply_edits(&mut edited, &edits).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
            assert_eq!(edited, original, "nothing applied");
        }
    }

    #[test]
    fn unsetting_what_is_not_there_is_a_note() {
        let mut edited = document();
        let notes = apply_edits(
            &mut edited,
            &[ContainerEdit::UnsetSecret {
                container: "sidecar".into(),
                name: "NOPE".into(),
            }],
        )
        .unwrap();
        assert_eq!(
            notes,
            [EditNote(
                "container `sidecar` has no secret `NOPE` to unset".into()
            )]
        );
    }

    #[test]
    fn secret_references_are_secrets_manager_or_ssm_arns() {
        for good in [
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db",
            "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x",
        ] {
            assert!(is_secret_reference(good), "{good}");
        }
        for bad in [
            "db-password",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ssm:eu-west-1:123456789012:document/x",
            "arn:aws:secretsmanager:eu-west-1:12345:secret:db",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
        ] {
            assert!(!is_secret_reference(bad), "{bad}");
        }
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::super::{ContainerEdit, apply_edits};
        use crate::artifacts::taskdef::{READ_ONLY_KEYS, registerable};

        const CONTAINERS: [&str; 2] = ["app", "sidecar"];
        const NAMES: [&str; 4] = ["A", "B", "PORT", "TOKEN"];

        fn entries(value_key: &'static str) -> impl Strategy<Value = Vec<Value>> {
            prop::collection::vec(
                (
                    prop::sample::select(NAMES.to_vec()),
                    prop::option::of("[a-z]{0,4}"),
                ),
                0..5,
            )
            .prop_map(move |mut pairs| {
                // A live task definition names each variable once.
                pairs.sort_by_key(|(name, _)| *name);
                pairs.dedup_by_key(|(name, _)| *name);
                pairs
                    .into_iter()
                    .map(|(name, value)| match value {
                        Some(value) => json!({"name": name, value_key: value}),
                        // ECS answers with nulls the transform must drop.
                        None => json!({"name": name, value_key: null}),
                    })
                    .collect()
            })
        }

        fn edit() -> impl Strategy<Value = ContainerEdit> {
            let container = prop::sample::select(CONTAINERS.to_vec()).prop_map(str::to_owned);
            let name = prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned);
            prop_oneof![
                (container.clone(), name.clone(), "[a-z]{0,3}").prop_map(
                    |(container, name, value)| {
                        ContainerEdit::SetEnvironment {
                            flag: format!("--env {container}:{name}={value}"),
                            container,
                            name,
                            value,
                        }
                    }
                ),
                (container.clone(), name.clone()).prop_map(|(container, name)| {
                    ContainerEdit::UnsetEnvironment { container, name }
                }),
                (container.clone(), name.clone()).prop_map(|(container, name)| {
                    ContainerEdit::SetSecret {
                        flag: format!("--secret {container}:{name}"),
                        container,
                        name,
                        value_from: "arn:aws:ssm:us-east-1:123456789012:parameter/x".to_owned(),
                    }
                }),
                (container.clone(), name).prop_map(|(container, name)| {
                    ContainerEdit::UnsetSecret { container, name }
                }),
                container.prop_map(|container| ContainerEdit::ExclusiveEnvironment { container }),
            ]
        }

        proptest! {
            /// Edits, then the transform (or the transform, then edits, as `taskdef` runs them):
            /// never a read-only key, a null, or an environment name twice in one container.
            #[test]
            fn edits_never_leave_read_only_keys_nulls_or_duplicate_names(
                environment in entries("value"),
                secrets in entries("valueFrom"),
                edits in prop::collection::vec(edit(), 0..8),
            ) {
                let described = json!({"taskDefinition": {
                    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
                    "revision": 3, "status": "ACTIVE", "family": "web",
                    "containerDefinitions": [
                        {"name": "app", "image": "a", "environment": environment, "secrets": secrets},
                        {"name": "sidecar", "image": "b", "cpu": null}
                    ]
                }});
                let mut document = registerable(described).unwrap();
                let before = document.clone();
                if apply_edits(&mut document, &edits).is_err() {
                    prop_assert_eq!(&document, &before, "an error changes nothing");
                } else {
                    {
                        for key in READ_ONLY_KEYS {
                            prop_assert!(!document.contains_key(key));
                        }
                        let text = serde_json::to_string(&document).unwrap();
                        prop_assert!(!text.contains("null"), "{}", text);
                        for container in document["containerDefinitions"].as_array().unwrap() {
                            let names: Vec<&str> = container.get("environment").and_then(Value::as_array)
                                .map(|list| list.iter().filter_map(|entry| entry["name"].as_str()).collect())
                                .unwrap_or_default();
                            let mut unique = names.clone();
                            unique.sort_unstable();
                            unique.dedup();
                            prop_assert_eq!(names.len(), unique.len(), "{}", text);
                        }
                    }
                }
            }
        }
    }
}
