//! The task-definition transform: a DescribeTaskDefinition response (or its inner document) in,
//! a RegisterTaskDefinition input out. Pure functions over `serde_json::Value`, no I/O.
//!
//! It works on the JSON exactly as ECS returned it rather than on typed structs, so a field that
//! ECS adds next year passes through untouched, in ECS's key order.

use serde_json::{Map, Value};

/// Keys that DescribeTaskDefinition returns and RegisterTaskDefinition rejects ("Unexpected key").
pub const READ_ONLY_KEYS: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// CodeDeployToECS fills `<IMAGE1_NAME>` through `<IMAGE4_NAME>`.
pub const MAX_IMAGE_PLACEHOLDERS: usize = 4;

/// Which container an image edit applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageTarget {
    Container(String),
    /// A bare `--image URI`: the task definition's only container.
    OnlyContainer,
}

/// What a container's image becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageValue {
    Uri(String),
    /// `<IMAGEn_NAME>`, numbered from 1.
    Placeholder(usize),
}

impl ImageValue {
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Self::Uri(uri) => uri.clone(),
            Self::Placeholder(number) => format!("<IMAGE{number}_NAME>"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEdit {
    pub target: ImageTarget,
    pub value: ImageValue,
}

/// An edit as applied: the container it reached and the image it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedImage {
    pub container: String,
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskdefError {
    #[error("expected a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("`taskDefinition` is {found}, expected an object")]
    WrapperNotAnObject { found: &'static str },
    #[error(
        "no task definition found: expected a `taskDefinition` object or a document with `containerDefinitions`"
    )]
    NoTaskDefinition,
    #[error("`containerDefinitions` is {found}, expected a list of containers")]
    ContainersNotAList { found: &'static str },
    #[error("`containerDefinitions` is empty")]
    NoContainers,
    #[error("container {index} in `containerDefinitions` has no `name`")]
    UnnamedContainer { index: usize },
    #[error("the response's `tags` is {found}, expected a list")]
    TagsNotAList { found: &'static str },
    #[error(
        "there is no container `{name}`; the containers are {}",
        backticked(available)
    )]
    UnknownContainer {
        name: String,
        available: Vec<String>,
    },
    #[error(
        "a bare `--image URI` needs exactly one container, and there are {}: {}",
        available.len(),
        backticked(available)
    )]
    BareImageAmbiguous { available: Vec<String> },
}

fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

const fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Turns a DescribeTaskDefinition response, or the bare task definition inside one, into a
/// RegisterTaskDefinition input.
///
/// Removes [`READ_ONLY_KEYS`] at the top level, moves the response's non-empty `tags` into the
/// document, and drops keys whose value is null at any depth. Every other key and value is kept,
/// `""`, `0`, `false` and `[]` included, in the order ECS sent them.
///
/// # Errors
/// When the JSON holds no task definition, or its containers are not a non-empty list of named
/// containers.
pub fn registerable(described: Value) -> Result<Map<String, Value>, TaskdefError> {
    let Value::Object(mut outer) = described else {
        return Err(TaskdefError::NotAnObject {
            found: kind_of(&described),
        });
    };
    let (mut document, response_tags) = match outer.shift_remove("taskDefinition") {
        Some(Value::Object(document)) => (document, outer.shift_remove("tags")),
        Some(other) => {
            return Err(TaskdefError::WrapperNotAnObject {
                found: kind_of(&other),
            });
        }
        None if outer.contains_key("containerDefinitions") => (outer, None),
        None => return Err(TaskdefError::NoTaskDefinition),
    };

    for key in READ_ONLY_KEYS {
        document.shift_remove(key);
    }
    match response_tags {
        Some(Value::Array(tags)) if !tags.is_empty() => {
            document.insert("tags".to_owned(), Value::Array(tags));
        }
        Some(Value::Array(_) | Value::Null) | None => {}
        Some(other) => {
            return Err(TaskdefError::TagsNotAList {
                found: kind_of(&other),
            });
        }
    }
    drop_nulls(&mut document);
    container_names(&document)?;
    Ok(document)
}

/// Removes every key whose value is null, at any depth. List items are left as they are: a null
/// item is data, not an absent field.
fn drop_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, value| !value.is_null());
    for value in object.values_mut() {
        drop_nulls_in(value);
    }
}

fn drop_nulls_in(value: &mut Value) {
    match value {
        Value::Object(object) => drop_nulls(object),
        Value::Array(items) => items.iter_mut().for_each(drop_nulls_in),
        _ => {}
    }
}

/// The container names, in order.
///
/// # Errors
/// When `containerDefinitions` is missing, not a list, empty, or has a container without a name.
pub fn container_names(document: &Map<String, Value>) -> Result<Vec<String>, TaskdefError> {
    let containers = match document.get("containerDefinitions") {
        Some(Value::Array(containers)) => containers,
        Some(other) => {
            return Err(TaskdefError::ContainersNotAList {
                found: kind_of(other),
            });
        }
        None => return Err(TaskdefError::NoTaskDefinition),
    };
    if containers.is_empty() {
        return Err(TaskdefError::NoContainers);
    }
    containers
        .iter()
        .enumerate()
        .map(|(index, container)| {
            container
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(TaskdefError::UnnamedContainer { index })
        })
        .collect()
}

/// Each container's name and the `containerPort`s of its `portMappings`, in order.
///
/// # Errors
/// As [`container_names`].
pub fn container_ports(
    document: &Map<String, Value>,
) -> Result<Vec<(String, Vec<u64>)>, TaskdefError> {
    let names = container_names(document)?;
    let containers = document["containerDefinitions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    Ok(names
        .into_iter()
        .zip(containers)
        .map(|(name, container)| {
            let ports = container
                .get("portMappings")
                .and_then(Value::as_array)
                .map(|mappings| {
                    mappings
                        .iter()
                        .filter_map(|mapping| mapping.get("containerPort").and_then(Value::as_u64))
                        .collect()
                })
                .unwrap_or_default();
            (name, ports)
        })
        .collect())
}

/// Sets container images. All edits are checked before any is applied.
///
/// # Errors
/// When an edit names a container that does not exist, or a bare image meets more than one
/// container.
pub fn apply_images(
    document: &mut Map<String, Value>,
    edits: &[ImageEdit],
) -> Result<Vec<AppliedImage>, TaskdefError> {
    let names = container_names(document)?;
    let mut resolved = Vec::with_capacity(edits.len());
    for edit in edits {
        let index = match &edit.target {
            ImageTarget::Container(name) => names
                .iter()
                .position(|candidate| candidate == name)
                .ok_or_else(|| TaskdefError::UnknownContainer {
                    name: name.clone(),
                    available: names.clone(),
                })?,
            ImageTarget::OnlyContainer if names.len() == 1 => 0,
            ImageTarget::OnlyContainer => {
                return Err(TaskdefError::BareImageAmbiguous {
                    available: names.clone(),
                });
            }
        };
        resolved.push((index, edit.value.text()));
    }
    // container_names has checked this already; the error keeps the function panic-free anyway.
    let Some(Value::Array(containers)) = document.get_mut("containerDefinitions") else {
        return Err(TaskdefError::NoTaskDefinition);
    };
    Ok(resolved
        .into_iter()
        .map(|(index, image)| {
            if let Value::Object(container) = &mut containers[index] {
                container.insert("image".to_owned(), Value::String(image.clone()));
            }
            AppliedImage {
                container: names[index].clone(),
                image,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(document: &Map<String, Value>) -> Vec<&str> {
        document.keys().map(String::as_str).collect()
    }

    #[test]
    fn read_only_keys_go_and_everything_else_stays_in_order() {
        let described = json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "containerDefinitions": [{"name": "app", "image": "nginx", "essential": true}],
                "family": "web",
                "revision": 7,
                "status": "ACTIVE",
                "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
                "compatibilities": ["EC2", "FARGATE"],
                "requiresCompatibilities": ["FARGATE"],
                "registeredAt": "2026-01-01T00:00:00Z",
                "registeredBy": "arn:aws:iam::123456789012:root",
                "deregisteredAt": "2026-02-01T00:00:00Z",
                "deleteRequestedAt": "2026-03-01T00:00:00Z",
                "enableFaultInjection": false,
                "zzNewFieldFromNextYear": {"b": 1, "a": [0, "", false]}
            }
        });
        let document = registerable(described).unwrap();
        assert_eq!(
            keys(&document),
            [
                "containerDefinitions",
                "family",
                "requiresCompatibilities",
                "enableFaultInjection",
                "zzNewFieldFromNextYear"
            ]
        );
        assert_eq!(
            document["zzNewFieldFromNextYear"],
            json!({"b": 1, "a": [0, "", false]})
        );
        let inner: Vec<&str> = document["zzNewFieldFromNextYear"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(inner, ["b", "a"]);
    }

    #[test]
    fn empty_strings_zeros_false_and_empty_lists_are_kept() {
        let document = registerable(json!({
            "family": "web",
            "containerDefinitions": [{
                "name": "app",
                "image": "nginx",
                "cpu": 0,
                "essential": false,
                "environment": [{"name": "EMPTY", "value": ""}],
                "mountPoints": []
            }],
            "volumes": []
        }))
        .unwrap();
        let container = &document["containerDefinitions"][0];
        assert_eq!(container["environment"][0]["value"], json!(""));
        assert_eq!(container["cpu"], json!(0));
        assert_eq!(container["essential"], json!(false));
        assert_eq!(container["mountPoints"], json!([]));
        assert_eq!(document["volumes"], json!([]));
    }

    #[test]
    fn nulls_are_dropped_at_every_depth_but_not_inside_lists() {
        let document = registerable(json!({
            "family": "web",
            "taskRoleArn": null,
            "containerDefinitions": [{
                "name": "app",
                "image": "nginx",
                "healthCheck": {"command": ["CMD", "true"], "startPeriod": null},
                "links": [null]
            }]
        }))
        .unwrap();
        assert!(!document.contains_key("taskRoleArn"));
        let container = &document["containerDefinitions"][0];
        assert_eq!(
            container["healthCheck"],
            json!({"command": ["CMD", "true"]})
        );
        assert_eq!(container["links"], json!([null]));
    }

    #[test]
    fn response_tags_move_into_the_document_unless_empty() {
        let with_tags = registerable(json!({
            "taskDefinition": {"family": "web", "containerDefinitions": [{"name": "app"}]},
            "tags": [{"key": "team", "value": ""}]
        }))
        .unwrap();
        assert_eq!(with_tags["tags"], json!([{"key": "team", "value": ""}]));
        assert_eq!(keys(&with_tags).last(), Some(&"tags"));

        let without = registerable(json!({
            "taskDefinition": {"family": "web", "containerDefinitions": [{"name": "app"}]},
            "tags": []
        }))
        .unwrap();
        assert!(!without.contains_key("tags"));
    }

    #[test]
    fn a_bare_document_keeps_its_own_tags() {
        let document = registerable(json!({
            "family": "web",
            "containerDefinitions": [{"name": "app"}],
            "tags": [{"key": "a", "value": "b"}]
        }))
        .unwrap();
        assert_eq!(document["tags"], json!([{"key": "a", "value": "b"}]));
    }

    #[test]
    fn shapes_that_hold_no_task_definition_are_refused() {
        assert_eq!(
            registerable(json!([])),
            Err(TaskdefError::NotAnObject { found: "a list" })
        );
        assert_eq!(
            registerable(json!({"family": "web"})),
            Err(TaskdefError::NoTaskDefinition)
        );
        assert_eq!(
            registerable(json!({"taskDefinition": "web"})),
            Err(TaskdefError::WrapperNotAnObject { found: "a string" })
        );
        assert_eq!(
            registerable(json!({"containerDefinitions": []})),
            Err(TaskdefError::NoContainers)
        );
        assert_eq!(
            registerable(json!({"containerDefinitions": [{"image": "x"}]})),
            Err(TaskdefError::UnnamedContainer { index: 0 })
        );
        assert_eq!(
            registerable(json!({"containerDefinitions": {"name": "x"}})),
            Err(TaskdefError::ContainersNotAList { found: "an object" })
        );
    }

    fn two_containers() -> Map<String, Value> {
        registerable(json!({
            "family": "web",
            "containerDefinitions": [{"name": "app", "image": "old"}, {"name": "envoy", "image": "envoy:1"}]
        }))
        .unwrap()
    }

    #[test]
    fn images_are_set_by_container_name() {
        let mut document = two_containers();
        let applied = apply_images(
            &mut document,
            &[
                ImageEdit {
                    target: ImageTarget::Container("envoy".into()),
                    value: ImageValue::Uri("envoy:2".into()),
                },
                ImageEdit {
                    target: ImageTarget::Container("app".into()),
                    value: ImageValue::Placeholder(1),
                },
            ],
        )
        .unwrap();
        assert_eq!(
            document["containerDefinitions"][0]["image"],
            json!("<IMAGE1_NAME>")
        );
        assert_eq!(
            document["containerDefinitions"][1]["image"],
            json!("envoy:2")
        );
        assert_eq!(applied[0].container, "envoy");
    }

    #[test]
    fn unknown_containers_are_named_with_the_ones_there_are() {
        let mut document = two_containers();
        let error = apply_images(
            &mut document,
            &[ImageEdit {
                target: ImageTarget::Container("web".into()),
                value: ImageValue::Uri("x".into()),
            }],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "there is no container `web`; the containers are `app`, `envoy`"
        );
        assert_eq!(document, two_containers(), "nothing is changed on error");
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Map, Value, json};

        use super::super::{READ_ONLY_KEYS, registerable};

        /// Any JSON value, a few levels deep.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|number| json!(number)),
                "[a-z$ {}]{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::vec(("[a-zA-Z]{1,8}", inner), 0..5)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
                ]
            })
        }

        /// The reference model of the null rule, written separately from the code under test.
        fn without_nulls(value: &Value) -> Value {
            match value {
                Value::Object(object) => Value::Object(
                    object
                        .iter()
                        .filter(|(_, inner)| !inner.is_null())
                        .map(|(key, inner)| (key.clone(), without_nulls(inner)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
                other => other.clone(),
            }
        }

        fn top_level_key() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(READ_ONLY_KEYS.to_vec()).prop_map(str::to_owned),
                "[a-z][a-zA-Z]{0,10}",
            ]
        }

        proptest! {
            #[test]
            fn read_only_keys_go_and_everything_else_stays(
                extra in prop::collection::vec((top_level_key(), json_value()), 0..12),
                wrapped in any::<bool>(),
            ) {
                let mut document = Map::new();
                document.insert("containerDefinitions".to_owned(), json!([{"name": "app"}]));
                for (key, value) in extra {
                    document.insert(key, value);
                }
                let input = if wrapped {
                    json!({"taskDefinition": Value::Object(document.clone())})
                } else {
                    Value::Object(document.clone())
                };
                let output = registerable(input).unwrap();
                for key in READ_ONLY_KEYS {
                    prop_assert!(!output.contains_key(key));
                }
                let expected: Vec<(&String, Value)> = document
                    .iter()
                    .filter(|(key, value)| !READ_ONLY_KEYS.contains(&key.as_str()) && !value.is_null())
                    .map(|(key, value)| (key, without_nulls(value)))
                    .collect();
                let actual: Vec<(&String, Value)> = output.iter().map(|(key, value)| (key, value.clone())).collect();
                prop_assert_eq!(actual, expected);
            }

            #[test]
            fn any_json_either_transforms_or_errors_without_panicking(value in json_value()) {
                let _ = registerable(value);
            }
        }
    }

    #[test]
    fn a_bare_image_needs_exactly_one_container() {
        let bare = [ImageEdit {
            target: ImageTarget::OnlyContainer,
            value: ImageValue::Uri("repo/app:2".into()),
        }];
        let mut document = two_containers();
        let error = apply_images(&mut document, &bare).unwrap_err();
        assert!(
            error.to_string().contains("there are 2: `app`, `envoy`"),
            "{error}"
        );

        let mut single =
            registerable(json!({"containerDefinitions": [{"name": "app", "image": "old"}]}))
                .unwrap();
        apply_images(&mut single, &bare).unwrap();
        assert_eq!(
            single["containerDefinitions"][0]["image"],
            json!("repo/app:2")
        );
    }
}
