//! `bgtool image-definitions`: imagedefinitions.json for CodePipeline's standard ECS deploy action.

use anyhow::Result;

use crate::artifacts::image::image_definitions;
use crate::config::ImageDefinitionsSettings;
use crate::files::{json_text, write_output};

/// Writes `[{"name": …, "imageUri": …}, …]`.
///
/// # Errors
/// When the output cannot be written.
pub fn run(settings: &ImageDefinitionsSettings) -> Result<()> {
    write_output(
        &settings.output,
        json_text(&image_definitions(&settings.containers)).as_bytes(),
    )
}
