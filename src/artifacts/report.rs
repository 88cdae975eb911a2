//! The change report: what production gains and loses when a new taskdef.json replaces the task
//! definition a service runs now. Pure: two registerable task definitions in, a list of changes
//! out. Secret values never appear, and environment values only as "changed".

use serde::Serialize;
use serde_json::{Map, Value};

/// Task-level keys whose values are shown: sizes, roles, the network mode.
const SHOWN_TASK_KEYS: [&str; 6] = [
    "family",
    "cpu",
    "memory",
    "networkMode",
    "taskRoleArn",
    "executionRoleArn",
];
/// Container keys whose values are shown.
const SHOWN_CONTAINER_KEYS: [&str; 4] = ["image", "cpu", "memory", "memoryReservation"];
/// Container keys compared entry by entry, by name or port.
const LISTED_CONTAINER_KEYS: [&str; 3] = ["environment", "secrets", "portMappings"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One difference. `container` is `None` for the task itself; `item` names the environment
/// variable, secret or port (`8080/tcp`) within a listed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub container: Option<String>,
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Change {
    /// A removal production would notice: a container, an environment variable, a secret or a
    /// port that is there now and would not be.
    #[must_use]
    pub fn is_drop(&self) -> bool {
        self.kind == ChangeKind::Removed
            && (self.field == "container" || LISTED_CONTAINER_KEYS.contains(&self.field.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The task definition production runs now.
    pub live: String,
    pub changes: Vec<Change>,
}

impl Report {
    #[must_use]
    pub fn drops(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|change| change.is_drop())
            .collect()
    }

    /// The report as one line per container (and one for the task), for standard error.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![if self.changes.is_empty() {
            format!(
                "production runs `{}`; taskdef.json changes nothing",
                self.live
            )
        } else {
            format!(
                "production runs `{}`; taskdef.json changes what it runs:",
                self.live
            )
        }];
        let mut scopes: Vec<Option<&str>> = Vec::new();
        for change in &self.changes {
            let scope = change.container.as_deref();
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        for scope in scopes {
            let parts: Vec<String> = self
                .changes
                .iter()
                .filter(|change| change.container.as_deref() == scope)
                .map(describe)
                .collect();
            let label =
                scope.map_or_else(|| "task".to_owned(), |name| format!("container `{name}`"));
            lines.push(format!("  {label}: {}", parts.join("; ")));
        }
        let drops = self.drops().len();
        if drops > 0 {
            lines.push(format!(
                "  {drops} removal{} production would lose (`--fail-on-drop` refuses them)",
                if drops == 1 { "" } else { "s" }
            ));
        }
        lines
    }
}

fn describe(change: &Change) -> String {
    let what = change.item.as_ref().map_or_else(
        || change.field.clone(),
        |item| format!("{} `{item}`", change.field),
    );
    if change.field == "container" {
        return match change.kind {
            ChangeKind::Added => "added".to_owned(),
            ChangeKind::Removed => "removed".to_owned(),
            ChangeKind::Changed => "changed".to_owned(),
        };
    }
    match (change.kind, &change.before, &change.after) {
        (ChangeKind::Changed, Some(before), Some(after)) => {
            format!("{what} `{before}` → `{after}`")
        }
        (ChangeKind::Added, _, Some(after)) => format!("{what} added (`{after}`)"),
        (ChangeKind::Removed, Some(before), _) => format!("{what} removed (was `{before}`)"),
        (ChangeKind::Added, _, None) => format!("{what} added"),
        (ChangeKind::Removed, None, _) => format!("{what} removed"),
        (ChangeKind::Changed, _, _) => format!("{what} changed"),
    }
}

/// Compares the task definition production runs (`live`, named `live_name`) with the one about
/// to be deployed (`next`). Both are registerable documents (see `taskdef::registerable`).
#[must_use]
pub fn compare(live_name: &str, live: &Map<String, Value>, next: &Map<String, Value>) -> Report {
    let mut changes = Vec::new();
    compare_keys(
        None,
        live,
        next,
        &SHOWN_TASK_KEYS,
        &["containerDefinitions"],
        &mut changes,
    );
    let live_containers = containers(live);
    let next_containers = containers(next);
    for (name, before) in &live_containers {
        match next_containers.iter().find(|(other, _)| other == name) {
            None => changes.push(Change {
                container: Some(name.clone()),
                field: "container".to_owned(),
                item: None,
                kind: ChangeKind::Removed,
                before: None,
                after: None,
            }),
            Some((_, after)) => compare_container(name, before, after, &mut changes),
        }
    }
    for (name, _) in &next_containers {
        if !live_containers.iter().any(|(other, _)| other == name) {
            changes.push(Change {
                container: Some(name.clone()),
                field: "container".to_owned(),
                item: None,
                kind: ChangeKind::Added,
                before: None,
                after: None,
            });
        }
    }
    Report {
        live: live_name.to_owned(),
        changes,
    }
}

fn containers(document: &Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
    document
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(|container| {
                    let name = container
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    (name, container.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn compare_container(
    name: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changes: &mut Vec<Change>,
) {
    compare_keys(
        Some(name),
        before,
        after,
        &SHOWN_CONTAINER_KEYS,
        &LISTED_CONTAINER_KEYS,
        changes,
    );
    compare_named(name, "environment", before, after, changes);
    compare_named(name, "secrets", before, after, changes);
    compare_ports(name, before, after, changes);
}

/// Every key but `skipped`, in the order of `before` then keys only `after` has. Values are shown
/// for `shown` keys; other keys are named only.
fn compare_keys(
    container: Option<&str>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    shown: &[&str],
    skipped: &[&str],
    changes: &mut Vec<Change>,
) {
    let keys = before
        .keys()
        .chain(after.keys().filter(|key| !before.contains_key(*key)));
    for key in keys {
        if skipped.contains(&key.as_str()) {
            continue;
        }
        // DescribeTaskDefinition fills in defaults a saved file leaves out (`[]`, `{}`, a
        // container's `cpu: 0`): they mean the same as no key, so they are no change.
        let old = before
            .get(key)
            .filter(|value| !is_default(container, key, value));
        let new = after
            .get(key)
            .filter(|value| !is_default(container, key, value));
        if old == new {
            continue;
        }
        let show = shown.contains(&key.as_str());
        let text = |value: Option<&Value>| value.filter(|_| show).map(scalar_text);
        changes.push(Change {
            container: container.map(str::to_owned),
            field: key.clone(),
            item: None,
            kind: match (old, new) {
                (None, _) => ChangeKind::Added,
                (_, None) => ChangeKind::Removed,
                _ => ChangeKind::Changed,
            },
            before: text(old),
            after: text(new),
        });
    }
}

fn is_default(container: Option<&str>, key: &str, value: &Value) -> bool {
    match value {
        Value::Array(list) => list.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Number(number) => container.is_some() && key == "cpu" && number.as_u64() == Some(0),
        _ => false,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `environment` or `secrets`: entries by name. No value is ever shown: a changed environment
/// value or secret reference is reported as "changed".
fn compare_named(
    container: &str,
    field: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changes: &mut Vec<Change>,
) {
    compare_entries(container, field, before, after, changes, |entry| {
        entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    });
}

/// `portMappings`: entries by port and protocol, `8080/tcp`.
fn compare_ports(
    container: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changes: &mut Vec<Change>,
) {
    compare_entries(
        container,
        "portMappings",
        before,
        after,
        changes,
        |mapping| {
            let port = mapping
                .get("containerPort")
                .map_or_else(String::new, scalar_text);
            let protocol = mapping
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("tcp");
            format!("{port}/{protocol}")
        },
    );
}

/// A list field compared entry by entry, entries matched by `key_of`: removed and changed in the
/// order production has them, then added in the new order.
fn compare_entries(
    container: &str,
    field: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changes: &mut Vec<Change>,
    key_of: impl Fn(&Value) -> String,
) {
    let entries = |document: &Map<String, Value>| -> Vec<(String, Value)> {
        document
            .get(field)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|entry| (key_of(entry), entry.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (entries(before), entries(after));
    let mut push = |item: &str, kind| {
        changes.push(Change {
            container: Some(container.to_owned()),
            field: field.to_owned(),
            item: Some(item.to_owned()),
            kind,
            before: None,
            after: None,
        });
    };
    for (key, entry) in &old {
        match new.iter().find(|(other, _)| other == key) {
            None => push(key, ChangeKind::Removed),
            Some((_, other)) if other != entry => push(key, ChangeKind::Changed),
            Some(_) => {}
        }
    }
    for (key, _) in &new {
        if !old.iter().any(|(other, _)| other == key) {
            push(key, ChangeKind::Added);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!()
        };
        map
    }

    #[test]
    fn every_kind_of_change_is_reported_and_no_value_of_a_secret_or_variable_appears() {
        let live = object(json!({
            "family": "web", "cpu": "256", "memory": "512",
            "taskRoleArn": "arn:aws:iam::123456789012:role/old",
            "containerDefinitions": [
                {"name": "app", "image": "repo/web:abc",
                 "environment": [{"name": "KEEP", "value": "1"}, {"name": "LEVEL", "value": "info"}, {"name": "GONE", "value": "secret-ish"}],
                 "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}],
                 "portMappings": [{"containerPort": 8080, "protocol": "tcp"}, {"containerPort": 9090}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/a"}}},
                {"name": "old-sidecar", "image": "x"}
            ]
        }));
        let next = object(json!({
            "family": "web", "cpu": "512", "memory": "1024",
            "taskRoleArn": "arn:aws:iam::123456789012:role/new",
            "containerDefinitions": [
                {"name": "app", "image": "<IMAGE1_NAME>",
                 "environment": [{"name": "KEEP", "value": "1"}, {"name": "LEVEL", "value": "debug-super-secret"}, {"name": "NEW", "value": "hidden-value"}],
                 "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db2"}, {"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/t"}],
                 "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/b"}}},
                {"name": "new-sidecar", "image": "y"}
            ]
        }));
        let report = compare("web:7", &live, &next);
        let text = report.lines().join("\n");
        assert_eq!(
            text,
            "production runs `web:7`; taskdef.json changes what it runs:\n  \
             task: cpu `256` → `512`; memory `512` → `1024`; taskRoleArn `arn:aws:iam::123456789012:role/old` → `arn:aws:iam::123456789012:role/new`\n  \
             container `app`: image `repo/web:abc` → `<IMAGE1_NAME>`; logConfiguration changed; environment `LEVEL` changed; environment `GONE` removed; environment `NEW` added; secrets `DB_PASSWORD` changed; secrets `TOKEN` added; portMappings `9090/tcp` removed\n  \
             container `old-sidecar`: removed\n  \
             container `new-sidecar`: added\n  \
             3 removals production would lose (`--fail-on-drop` refuses them)"
        );
        let json = serde_json::to_string(&report).unwrap();
        for hidden in [
            "secret-ish",
            "debug-super-secret",
            "hidden-value",
            "parameter/db2",
            "parameter/t\"",
        ] {
            assert!(
                !text.contains(hidden) && !json.contains(hidden),
                "{hidden} leaked"
            );
        }
        let drops: Vec<String> = report
            .drops()
            .iter()
            .map(|change| format!("{:?} {} {:?}", change.container, change.field, change.item))
            .collect();
        assert_eq!(
            drops,
            [
                "Some(\"app\") environment Some(\"GONE\")",
                "Some(\"app\") portMappings Some(\"9090/tcp\")",
                "Some(\"old-sidecar\") container None"
            ]
        );
    }

    #[test]
    fn defaults_ecs_fills_in_are_no_change() {
        let described = object(
            json!({"family": "web", "placementConstraints": [], "volumes": [],
            "containerDefinitions": [{"name": "app", "image": "a", "cpu": 0, "mountPoints": [], "environment": []}]}),
        );
        let saved = object(
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "a"}]}),
        );
        assert!(compare("web:1", &described, &saved).changes.is_empty());
        let sized = object(
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "a", "cpu": 256}]}),
        );
        assert_eq!(compare("web:1", &described, &sized).changes.len(), 1);
    }

    #[test]
    fn the_same_task_definition_changes_nothing() {
        let document = object(
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "a"}]}),
        );
        let report = compare("web:1", &document, &document);
        assert!(report.changes.is_empty());
        assert_eq!(
            report.lines(),
            ["production runs `web:1`; taskdef.json changes nothing"]
        );
    }
}
