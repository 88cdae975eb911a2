//! The read-only calls of `bgtool verify`, through the signed caller: ECR, Secrets Manager,
//! Systems Manager, IAM (GetRole, SimulatePrincipalPolicy), CloudWatch Logs and Elastic Load
//! Balancing, each answer read into [`Lookup`]. A denied call is `Denied` with the IAM action, not
//! an error: a missing permission for a check must not stop a deployment.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Inspect;
use super::calls::{Call, Lookup as Hint};
use super::signed::{
    Answer, ECR, IAM, LOAD_BALANCING, LOGS, Parameters, SECRETS_MANAGER, SYSTEMS_MANAGER, Service,
    Signed, error_code, members,
};
use crate::verify::{
    Decision, EcrImage, ImageFacts, JsonKeys, LogGroup, Lookup, ParameterReference,
    PermissionQuestion, RoleFacts, SecretFacts, SecretReference, manifest_architectures,
};

/// Media types of a single platform's manifest: its config blob names the architecture.
const SINGLE_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

/// Media types of a manifest that lists one image per platform.
const LIST_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The checks' calls.
#[derive(Debug, Clone)]
pub struct SignedInspect {
    signed: Signed,
}

impl SignedInspect {
    #[must_use]
    pub fn new(signed: &Signed) -> Self {
        Self {
            signed: signed.clone(),
        }
    }

    /// Sends one call and reads its answer: `missing` lists the error codes that mean "not
    /// there"; access denied becomes [`Lookup::Denied`]; anything else [`Lookup::Failed`], worded.
    async fn ask<T>(
        &self,
        service: &Service,
        region: Option<&str>,
        (operation, action): (&'static str, &'static str),
        parameters: Parameters,
        missing: &[&str],
        read: impl FnOnce(Value) -> Lookup<T>,
    ) -> Lookup<T> {
        let answer: Answer = self
            .signed
            .send(service, region, operation, action, parameters)
            .await;
        match answer {
            Ok(value) => read(value),
            Err(error) => match error_code(&error) {
                Some(code) if missing.contains(&code) => Lookup::Missing(
                    error
                        .as_service_error()
                        .map_or_else(|| code.to_owned(), ToString::to_string),
                ),
                Some(
                    "AccessDeniedException"
                    | "AccessDenied"
                    | "UnauthorizedOperation"
                    | "UnauthorizedException",
                ) => Lookup::Denied(action),
                _ => {
                    let call = Call {
                        action,
                        subject: format!("{} {operation}", service.name),
                        lookup: Hint::Hint(String::new()),
                    };
                    let explained = self.signed.explain(service, region, &error, &call);
                    Lookup::Failed(format!("{explained:#}"))
                }
            },
        }
    }
}

impl SignedInspect {
    /// A single-platform image's architecture, from its config blob: GetDownloadUrlForLayer of
    /// the config's digest, then the blob itself from the URL ECR gives.
    async fn config_architecture(&self, image: &EcrImage, manifest: &Value) -> ImageFacts {
        let Some(digest) = manifest.pointer("/config/digest").and_then(Value::as_str) else {
            return ImageFacts::unchecked("its manifest names no config");
        };
        let url = self
            .ask(
                &ECR,
                Some(&image.region),
                ("GetDownloadUrlForLayer", "ecr:GetDownloadUrlForLayer"),
                Parameters::Json(json!({
                    "registryId": image.registry,
                    "repositoryName": image.repository,
                    "layerDigest": digest,
                })),
                &["LayersNotFoundException", "LayerInaccessibleException"],
                |answer| match answer.get("downloadUrl").and_then(Value::as_str) {
                    Some(url) => Lookup::Found(url.to_owned()),
                    None => Lookup::Missing("ECR gave no download URL".to_owned()),
                },
            )
            .await;
        let url = match url {
            Lookup::Found(url) => url,
            other => return ImageFacts::unchecked(why_not(other)),
        };
        match self
            .signed
            .fetch_json(&url, "ecr:GetDownloadUrlForLayer")
            .await
        {
            Ok(config) => match config.get("architecture").and_then(Value::as_str) {
                Some(architecture) => ImageFacts::of(vec![architecture.to_owned()]),
                None => ImageFacts::unchecked("its config names no architecture"),
            },
            Err(why) => ImageFacts::unchecked(format!("its config blob could not be read: {why}")),
        }
    }
}

/// Why a lookup that was needed for another answer gave none.
fn why_not<T>(lookup: Lookup<T>) -> String {
    match lookup {
        Lookup::Found(_) => String::new(),
        Lookup::Missing(why) | Lookup::Failed(why) => why,
        Lookup::Denied(action) => format!("allow `{action}` to the identity bgtool runs as"),
    }
}

impl Inspect for SignedInspect {
    fn region(&self) -> &str {
        self.signed.region()
    }

    async fn image(&self, image: &EcrImage) -> Lookup<ImageFacts> {
        let id = match (&image.digest, &image.tag) {
            (Some(digest), _) => json!({"imageDigest": digest}),
            (None, Some(tag)) => json!({"imageTag": tag}),
            (None, None) => json!({"imageTag": "latest"}),
        };
        let request = json!({
            "registryId": image.registry,
            "repositoryName": image.repository,
            "imageIds": [id],
        });
        let region = Some(image.region.as_str());
        let media_type = self
            .ask(
                &ECR,
                region,
                ("DescribeImages", "ecr:DescribeImages"),
                Parameters::Json(request.clone()),
                &["ImageNotFoundException", "RepositoryNotFoundException"],
                |answer| {
                    Lookup::Found(
                        answer
                            .pointer("/imageDetails/0/imageManifestMediaType")
                            .and_then(Value::as_str)
                            .map(ToOwned::to_owned),
                    )
                },
            )
            .await;
        let media_type = match media_type {
            Lookup::Found(media_type) => media_type,
            Lookup::Missing(why) => return Lookup::Missing(why),
            Lookup::Denied(action) => return Lookup::Denied(action),
            Lookup::Failed(why) => return Lookup::Failed(why),
        };
        let media_type = media_type.unwrap_or_default();
        let list = LIST_TYPES.contains(&media_type.as_str());
        if !list && !SINGLE_TYPES.contains(&media_type.as_str()) {
            return Lookup::Found(ImageFacts::unchecked(format!(
                "its manifest type `{media_type}` names no platform"
            )));
        }
        let mut request = request;
        request["acceptedMediaTypes"] = json!(if list { LIST_TYPES } else { SINGLE_TYPES });
        let manifest = self
            .ask(
                &ECR,
                region,
                ("BatchGetImage", "ecr:BatchGetImage"),
                Parameters::Json(request),
                &["ImageNotFoundException", "RepositoryNotFoundException"],
                |answer| {
                    Lookup::Found(
                        answer
                            .pointer("/images/0/imageManifest")
                            .and_then(Value::as_str)
                            .and_then(|text| serde_json::from_str::<Value>(text).ok()),
                    )
                },
            )
            .await;
        let manifest = match manifest {
            Lookup::Found(Some(manifest)) => manifest,
            Lookup::Found(None) => {
                return Lookup::Found(ImageFacts::unchecked("ECR gave no manifest"));
            }
            other => return Lookup::Found(ImageFacts::unchecked(why_not(other))),
        };
        if list {
            return Lookup::Found(match manifest_architectures(&manifest) {
                Some(architectures) => ImageFacts::of(architectures),
                None => ImageFacts::unchecked("its index lists no platform"),
            });
        }
        Lookup::Found(self.config_architecture(image, &manifest).await)
    }

    async fn secret(&self, secret: &SecretReference, read_value: bool) -> Lookup<SecretFacts> {
        let region = Some(secret.region.as_str());
        let described = self
            .ask(
                &SECRETS_MANAGER,
                region,
                ("DescribeSecret", "secretsmanager:DescribeSecret"),
                Parameters::Json(json!({"SecretId": secret.arn})),
                &["ResourceNotFoundException"],
                |answer| {
                    let versions = answer
                        .get("VersionIdsToStages")
                        .and_then(Value::as_object)
                        .map_or_else(BTreeMap::new, |versions| {
                            versions
                                .iter()
                                .map(|(id, stages)| {
                                    let stages = stages
                                        .as_array()
                                        .into_iter()
                                        .flatten()
                                        .filter_map(Value::as_str)
                                        .map(ToOwned::to_owned)
                                        .collect();
                                    (id.clone(), stages)
                                })
                                .collect()
                        });
                    Lookup::Found(SecretFacts {
                        versions,
                        scheduled_for_deletion: answer
                            .get("DeletedDate")
                            .is_some_and(|date| !date.is_null()),
                        kms_key: answer
                            .get("KmsKeyId")
                            .and_then(Value::as_str)
                            .filter(|key| {
                                !key.is_empty() && !key.ends_with("alias/aws/secretsmanager")
                            })
                            .map(ToOwned::to_owned),
                        json_keys: JsonKeys::NotRead,
                    })
                },
            )
            .await;
        let Lookup::Found(mut facts) = described else {
            return described;
        };
        if read_value && secret.json_key.is_some() {
            let mut request = json!({"SecretId": secret.arn});
            if let Some(stage) = &secret.version_stage {
                request["VersionStage"] = json!(stage);
            }
            if let Some(id) = &secret.version_id {
                request["VersionId"] = json!(id);
            }
            facts.json_keys = match self
                .ask(
                    &SECRETS_MANAGER,
                    region,
                    ("GetSecretValue", "secretsmanager:GetSecretValue"),
                    Parameters::Json(request),
                    &["ResourceNotFoundException"],
                    |answer| Lookup::Found(json_keys(&answer)),
                )
                .await
            {
                Lookup::Found(keys) => keys,
                Lookup::Missing(why) => {
                    JsonKeys::NotAnObject(format!("the version cannot be read: {why}"))
                }
                Lookup::Denied(action) => {
                    JsonKeys::Unreadable(format!("allow `{action}` to the identity bgtool runs as"))
                }
                Lookup::Failed(why) => JsonKeys::Unreadable(why),
            };
        }
        Lookup::Found(facts)
    }

    async fn parameter(&self, parameter: &ParameterReference) -> Lookup<()> {
        let request = json!({
            "ParameterFilters": [{"Key": "Name", "Option": "Equals", "Values": [parameter.name]}],
        });
        self.ask(
            &SYSTEMS_MANAGER,
            parameter.region.as_deref(),
            ("DescribeParameters", "ssm:DescribeParameters"),
            Parameters::Json(request),
            &[],
            |answer| {
                let found = answer
                    .get("Parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|parameters| !parameters.is_empty());
                if found {
                    Lookup::Found(())
                } else {
                    Lookup::Missing(String::new())
                }
            },
        )
        .await
    }

    async fn role(&self, role: &str) -> Lookup<RoleFacts> {
        // `arn:aws:iam::1:role/path/name` or `name`: GetRole takes the name alone.
        let name = role.rsplit('/').next().unwrap_or(role);
        self.ask(
            &IAM,
            None,
            ("GetRole", "iam:GetRole"),
            Parameters::Query(vec![("RoleName".to_owned(), name.to_owned())]),
            &["NoSuchEntity"],
            |answer| {
                let role = answer.pointer("/GetRoleResponse/GetRoleResult/Role");
                let text = |key: &str| {
                    role.and_then(|role| role.get(key))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                };
                // IAM sends the trust policy URL-encoded.
                let trust_policy =
                    serde_json::from_str(&percent_decode(text("AssumeRolePolicyDocument")))
                        .unwrap_or(Value::Null);
                Lookup::Found(RoleFacts {
                    arn: text("Arn").to_owned(),
                    trust_policy,
                })
            },
        )
        .await
    }

    async fn simulate(
        &self,
        role_arn: &str,
        question: &PermissionQuestion,
    ) -> Lookup<Vec<Decision>> {
        let mut parameters = vec![
            ("PolicySourceArn".to_owned(), role_arn.to_owned()),
            ("MaxItems".to_owned(), "1000".to_owned()),
        ];
        for (index, action) in question.actions.iter().enumerate() {
            parameters.push((
                format!("ActionNames.member.{}", index + 1),
                (*action).to_owned(),
            ));
        }
        for (index, resource) in question.resources.iter().enumerate() {
            parameters.push((
                format!("ResourceArns.member.{}", index + 1),
                resource.clone(),
            ));
        }
        self.ask(
            &IAM,
            None,
            ("SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy"),
            Parameters::Query(parameters),
            &[],
            |answer| {
                let results = answer.pointer(
                    "/SimulatePrincipalPolicyResponse/SimulatePrincipalPolicyResult/EvaluationResults",
                );
                Lookup::Found(
                    members(results)
                        .iter()
                        .map(|result| {
                            let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                            Decision {
                                action: text("EvalActionName"),
                                resource: text("EvalResourceName"),
                                decision: text("EvalDecision"),
                            }
                        })
                        .collect(),
                )
            },
        )
        .await
    }

    async fn log_group(&self, group: &LogGroup) -> Lookup<()> {
        self.ask(
            &LOGS,
            group.region.as_deref(),
            ("DescribeLogGroups", "logs:DescribeLogGroups"),
            Parameters::Json(json!({"logGroupNamePrefix": group.name})),
            &["ResourceNotFoundException"],
            |answer| {
                let found = answer
                    .get("logGroups")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|found| {
                        found.get("logGroupName").and_then(Value::as_str) == Some(&group.name)
                    });
                if found {
                    Lookup::Found(())
                } else {
                    Lookup::Missing(String::new())
                }
            },
        )
        .await
    }

    async fn health_check_port(&self, target_group_arn: &str) -> Lookup<String> {
        self.ask(
            &LOAD_BALANCING,
            None,
            (
                "DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroups",
            ),
            Parameters::Query(vec![(
                "TargetGroupArns.member.1".to_owned(),
                target_group_arn.to_owned(),
            )]),
            &["TargetGroupNotFound"],
            |answer| {
                let groups = answer.pointer(
                    "/DescribeTargetGroupsResponse/DescribeTargetGroupsResult/TargetGroups",
                );
                members(groups)
                    .first()
                    .and_then(|group| group.get("HealthCheckPort"))
                    .and_then(Value::as_str)
                    .map_or_else(
                        || Lookup::Missing(String::new()),
                        |port| Lookup::Found(port.to_owned()),
                    )
            },
        )
        .await
    }
}

/// The top-level keys of a secret's JSON value.
fn json_keys(answer: &Value) -> JsonKeys {
    match answer.get("SecretString").and_then(Value::as_str) {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => JsonKeys::Keys(object.keys().cloned().collect()),
            _ => JsonKeys::NotAnObject("the secret's value is not a JSON object".to_owned()),
        },
        None => JsonKeys::NotAnObject("the secret's value is binary, not JSON text".to_owned()),
    }
}

/// `%7B%22Version%22…` → `{"Version"…` (RFC 3986: `+` stays `+`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn trust_policies_are_url_decoded() {
        assert_eq!(
            percent_decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
