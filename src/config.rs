//! Settings: the command line resolved and checked, so that a command never starts work on flags
//! that cannot make sense together. Every failure here is a usage error (exit status 2).

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{AwsArgs, ImageDetailArgs, TaskdefArgs};
use crate::error::UsageError;
use crate::image;
use crate::taskdef::{ImageEdit, ImageTarget, ImageValue, MAX_IMAGE_PLACEHOLDERS};

/// Where input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn from_path(path: PathBuf) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdin
        } else {
            Self::File(path)
        }
    }

    /// How messages name this input.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Stdin => "standard input".to_owned(),
            Self::File(path) => format!("`{}`", path.display()),
        }
    }
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl Output {
    fn from_option(path: Option<PathBuf>) -> Self {
        match path {
            Some(path) if path.as_os_str() != "-" => Self::File(path),
            _ => Self::Stdout,
        }
    }
}

/// How to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// Where `taskdef` reads the task definition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskdefSource {
    Describe { reference: String },
    Service { cluster: String, service: String },
    Saved(Input),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskdefSettings {
    pub source: TaskdefSource,
    pub image_edits: Vec<ImageEdit>,
    pub output: Output,
    pub aws: AwsSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDetailSettings {
    pub image_uri: String,
    pub output: Output,
}

impl TaskdefSettings {
    /// Checks the `taskdef` flags.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag whose value cannot be used.
    pub fn resolve(args: TaskdefArgs) -> Result<Self, UsageError> {
        let source = match (args.task_definition, args.service, args.cluster, args.input) {
            (Some(reference), None, None, None) => {
                non_empty("--task-definition", &reference)?;
                TaskdefSource::Describe { reference }
            }
            (None, Some(service), Some(cluster), None) => {
                non_empty("--service", &service)?;
                non_empty("--cluster", &cluster)?;
                TaskdefSource::Service { cluster, service }
            }
            (None, None, None, Some(path)) => TaskdefSource::Saved(Input::from_path(path)),
            // clap's argument group and `requires` rules make every other combination unreachable.
            _ => {
                return Err(UsageError::new(
                    "give exactly one of `--task-definition`, `--service` with `--cluster`, or `--input`",
                ));
            }
        };
        let image_edits = resolve_image_edits(&args.image, &args.image_placeholder)?;
        Ok(Self {
            source,
            image_edits,
            // `-o` may name the `--input` file: the input is read whole before the atomic write.
            output: Output::from_option(args.output),
            aws: AwsSettings::resolve(args.aws)?,
        })
    }
}

impl ImageDetailSettings {
    /// Checks the `image-detail` flags.
    ///
    /// # Errors
    /// A [`UsageError`] when the image URI is not a valid image reference.
    pub fn resolve(args: ImageDetailArgs) -> Result<Self, UsageError> {
        image::check_reference(&args.image_uri)
            .map_err(|problem| UsageError::new(format!("`--image-uri`: {problem}")))?;
        Ok(Self {
            image_uri: args.image_uri,
            output: Output::from_option(args.output),
        })
    }
}

impl AwsSettings {
    fn resolve(args: AwsArgs) -> Result<Self, UsageError> {
        if let Some(region) = &args.region {
            check_region(region)?;
        }
        if let Some(profile) = &args.profile {
            non_empty("--profile", profile)?;
        }
        Ok(Self {
            region: args.region,
            profile: args.profile,
            connect_timeout: parse_seconds("--connect-timeout", &args.connect_timeout)?,
            timeout: parse_seconds("--timeout", &args.timeout)?,
        })
    }
}

fn non_empty(flag: &str, value: &str) -> Result<(), UsageError> {
    if value.trim().is_empty() {
        Err(UsageError::new(format!(
            "`{flag}` needs a value, got an empty string"
        )))
    } else {
        Ok(())
    }
}

fn check_region(region: &str) -> Result<(), UsageError> {
    let valid = !region.is_empty()
        && region.len() <= 64
        && region.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        });
    if valid {
        Ok(())
    } else {
        Err(
            UsageError::new(format!("`--region`: `{region}` is not an AWS Region name"))
                .with_hint("Region names look like `us-east-1` or `eu-west-3`"),
        )
    }
}

/// Seconds as a whole or decimal number, more than 0 and at most one hour.
fn parse_seconds(flag: &str, text: &str) -> Result<Duration, UsageError> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::new(format!("`{flag}`: `{text}` is not a number of seconds")))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(UsageError::new(format!(
            "`{flag}`: `{text}` is out of range; give more than 0 and at most 3600 seconds"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Turns `--image` and `--image-placeholder` values into edits, refusing any container named twice.
fn resolve_image_edits(
    images: &[String],
    placeholders: &[String],
) -> Result<Vec<ImageEdit>, UsageError> {
    let mut edits = Vec::with_capacity(images.len() + placeholders.len());
    for value in images {
        let (target, uri) = match split_image_assignment(value) {
            Some((container, uri)) => {
                check_container_name("--image", container)?;
                (ImageTarget::Container(container.to_owned()), uri)
            }
            None => (ImageTarget::OnlyContainer, value.as_str()),
        };
        image::check_reference(uri)
            .map_err(|problem| UsageError::new(format!("`--image {value}`: {problem}")))?;
        edits.push(ImageEdit {
            target,
            value: ImageValue::Uri(uri.to_owned()),
        });
    }
    if placeholders.len() > MAX_IMAGE_PLACEHOLDERS {
        return Err(UsageError::new(format!(
            "`--image-placeholder` was given {} times; CodeDeployToECS fills at most {MAX_IMAGE_PLACEHOLDERS} images",
            placeholders.len()
        )));
    }
    for (index, container) in placeholders.iter().enumerate() {
        check_container_name("--image-placeholder", container)?;
        edits.push(ImageEdit {
            target: ImageTarget::Container(container.clone()),
            value: ImageValue::Placeholder(index + 1),
        });
    }
    let bare = edits
        .iter()
        .filter(|edit| edit.target == ImageTarget::OnlyContainer)
        .count();
    if bare > 0 && edits.len() > 1 {
        return Err(UsageError::new(
            "a bare `--image URI` cannot be combined with other image flags",
        )
        .with_hint("name the container: `--image CONTAINER=URI`"));
    }
    for (index, edit) in edits.iter().enumerate() {
        if let ImageTarget::Container(name) = &edit.target
            && edits[..index]
                .iter()
                .any(|earlier| earlier.target == edit.target)
        {
            return Err(UsageError::new(format!(
                "container `{name}` is given an image more than once"
            )));
        }
    }
    Ok(edits)
}

/// Splits `CONTAINER=URI`. An image reference never holds `=`, so a value with one is always an
/// assignment; the container part must then be a valid container name.
fn split_image_assignment(value: &str) -> Option<(&str, &str)> {
    value.split_once('=')
}

fn check_container_name(flag: &str, name: &str) -> Result<(), UsageError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        });
    if valid {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "`{flag} {name}`: a container name is 1 to 255 letters, digits, hyphens and underscores"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(images: &[&str], placeholders: &[&str]) -> Result<Vec<ImageEdit>, UsageError> {
        let images: Vec<String> = images.iter().map(|value| (*value).to_owned()).collect();
        let placeholders: Vec<String> = placeholders
            .iter()
            .map(|value| (*value).to_owned())
            .collect();
        resolve_image_edits(&images, &placeholders)
    }

    #[test]
    fn named_and_placeholder_images_resolve_in_order() {
        let resolved = edits(&["app=repo/app:1"], &["envoy", "log_router"]).unwrap();
        assert_eq!(
            resolved,
            vec![
                ImageEdit {
                    target: ImageTarget::Container("app".into()),
                    value: ImageValue::Uri("repo/app:1".into()),
                },
                ImageEdit {
                    target: ImageTarget::Container("envoy".into()),
                    value: ImageValue::Placeholder(1),
                },
                ImageEdit {
                    target: ImageTarget::Container("log_router".into()),
                    value: ImageValue::Placeholder(2),
                },
            ]
        );
    }

    #[test]
    fn a_bare_image_stands_alone() {
        assert_eq!(
            edits(&["repo/app:1"], &[]).unwrap()[0].target,
            ImageTarget::OnlyContainer
        );
        let error = edits(&["repo/app:1", "app=repo/app:2"], &[]).unwrap_err();
        assert!(error.message.contains("bare `--image URI`"), "{error:?}");
    }

    #[test]
    fn a_container_named_twice_is_refused() {
        let error = edits(&["app=repo/app:1"], &["app"]).unwrap_err();
        assert_eq!(
            error.message,
            "container `app` is given an image more than once"
        );
    }

    #[test]
    fn bad_container_names_and_uris_are_refused() {
        assert!(edits(&["app x=repo/app"], &[]).is_err());
        assert!(edits(&["app="], &[]).is_err());
        assert!(edits(&[], &["bad name"]).is_err());
        assert!(edits(&[], &["a", "b", "c", "d", "e"]).is_err());
    }

    #[test]
    fn seconds_parse_within_bounds() {
        assert_eq!(
            parse_seconds("--timeout", "1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_seconds("--timeout", "0").is_err());
        assert!(parse_seconds("--timeout", "-3").is_err());
        assert!(parse_seconds("--timeout", "NaN").is_err());
        assert!(parse_seconds("--timeout", "3601").is_err());
        assert!(parse_seconds("--timeout", "soon").is_err());
    }

    #[test]
    fn regions_are_checked() {
        assert!(check_region("eu-west-3").is_ok());
        assert!(check_region("EU WEST").is_err());
    }
}
