//! `bgtool image-detail`: imageDetail.json for CodePipeline's CodeDeployToECS action.

use anyhow::Result;

use crate::artifacts::image::image_detail;
use crate::config::ImageDetailSettings;
use crate::files::{json_text, write_output};

/// Writes `{"ImageURI": "…"}`.
///
/// # Errors
/// When the output cannot be written.
pub fn run(settings: &ImageDetailSettings) -> Result<()> {
    let document = image_detail(&settings.image_uri);
    write_output(&settings.output, json_text(&document).as_bytes())
}
