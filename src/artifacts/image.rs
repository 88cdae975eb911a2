//! Container image references: the check applied to every image URI bgtool writes, and the
//! imageDetail.json document.

use serde_json::{Map, Value};

/// ECS allows at most 255 characters in a container's `image`.
const MAX_REFERENCE_LENGTH: usize = 255;

/// Checks that `reference` can stand as a container image: 1 to 255 characters of the kinds ECS
/// allows (letters, digits, `-`, `_`, `.`, `:`, `/`, `@`, `#`), and a digest after `@` of the
/// form `ALGORITHM:HEX`.
///
/// # Errors
/// A sentence saying what is wrong, for the caller to put after the flag's name.
pub fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("the image reference is empty".to_owned());
    }
    if reference.len() > MAX_REFERENCE_LENGTH {
        return Err(format!(
            "the image reference is {} characters long; ECS allows at most {MAX_REFERENCE_LENGTH}",
            reference.len()
        ));
    }
    if let Some(bad) = reference
        .chars()
        .find(|character| !(character.is_ascii_alphanumeric() || "-_.:/@#".contains(*character)))
    {
        return Err(format!(
            "`{}` is not allowed in an image reference",
            bad.escape_default()
        ));
    }
    if reference.starts_with(['/', ':', '@', '.', '-']) || reference.ends_with(['/', ':', '@']) {
        return Err(format!("`{reference}` is not an image reference"));
    }
    if let Some((_, digest)) = reference.split_once('@') {
        let well_formed = digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric())
                && hex.len() >= 32
                && hex.chars().all(|character| character.is_ascii_hexdigit())
        });
        if !well_formed {
            return Err(format!(
                "`{digest}` is not a digest; expected e.g. `sha256:` and 64 hex digits"
            ));
        }
    }
    Ok(())
}

/// The imageDetail.json document the CodeDeployToECS action reads: `{"ImageURI": "…"}`.
#[must_use]
pub fn image_detail(image_uri: &str) -> Value {
    let mut document = Map::new();
    document.insert("ImageURI".to_owned(), Value::String(image_uri.to_owned()));
    Value::Object(document)
}

/// The imagedefinitions.json document the standard ECS deploy action reads:
/// `[{"name": CONTAINER, "imageUri": URI}, …]`.
#[must_use]
pub fn image_definitions(containers: &[(String, String)]) -> Value {
    Value::Array(
        containers
            .iter()
            .map(|(name, uri)| {
                let mut entry = Map::new();
                entry.insert("name".to_owned(), Value::String(name.clone()));
                entry.insert("imageUri".to_owned(), Value::String(uri.clone()));
                Value::Object(entry)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_references_pass() {
        for reference in [
            "nginx",
            "nginx:1.27",
            "public.ecr.aws/nginx/nginx:latest",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:3f2a1c9",
            "localhost:5000/team/app_x:v1.2-rc",
            "repo/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_reference(reference), Ok(()), "{reference}");
        }
    }

    #[test]
    fn broken_references_fail_with_the_reason() {
        assert_eq!(
            check_reference(""),
            Err("the image reference is empty".to_owned())
        );
        assert!(check_reference("repo/app:1 ").unwrap_err().contains("` `"));
        assert!(
            check_reference("<IMAGE1_NAME>")
                .unwrap_err()
                .contains("`<`")
        );
        assert!(check_reference("app:").is_err());
        assert!(
            check_reference("repo/app@sha256:xyz")
                .unwrap_err()
                .contains("not a digest")
        );
        assert!(
            check_reference(&"a".repeat(256))
                .unwrap_err()
                .contains("at most 255")
        );
    }

    #[test]
    fn image_definitions_list_name_and_image_uri_in_order() {
        let document = image_definitions(&[
            ("app".into(), "repo/app:1".into()),
            ("envoy".into(), "envoy:2".into()),
        ]);
        assert_eq!(
            document.to_string(),
            r#"[{"name":"app","imageUri":"repo/app:1"},{"name":"envoy","imageUri":"envoy:2"}]"#
        );
    }

    #[test]
    fn image_detail_has_exactly_the_key_codedeploy_reads() {
        assert_eq!(
            image_detail("repo/app:1").to_string(),
            r#"{"ImageURI":"repo/app:1"}"#
        );
    }
}
