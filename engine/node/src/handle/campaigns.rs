//! What the node adds to a campaign definition's own checks before it takes one: no `target`
//! (calls go only to the node's configured media servers, never to an address a caller
//! names), and an `abandon_message` that is a `.wav` file's name inside `[node] media_dir`,
//! never a path (so a campaign cannot make the node read any other file).

use std::path::{Path, PathBuf};

use super::NodeHandle;
use crate::error::{NodeError, Problem};
use outdial_core::campaign::CampaignSpec;

impl NodeHandle {
    /// The spec as the node stores it (the prompt's name made its full path inside the media
    /// directory), or every problem the node has with it.
    pub(super) fn admit_campaign(&self, mut spec: CampaignSpec) -> Result<CampaignSpec, NodeError> {
        if let Err(errs) = spec.clone().resolve() {
            return Err(NodeError::Invalid(
                errs.into_iter().map(Problem::Spec).collect(),
            ));
        }
        let mut problems = Vec::new();
        if spec.target.is_some() {
            problems.push(Problem::field(
                "target",
                "not supported: calls go to the node's [[mpp]] media servers only; remove the key",
            ));
        }
        if let Some(t) = &spec.trunk {
            if self.parts.sip.trunks.find(t).is_none() {
                problems.push(Problem::field(
                    "trunk",
                    format!("this node has no [[trunk]] named {t:?}"),
                ));
            }
        }
        if let Some(name) = spec.abandon_message.take() {
            match prompt_path(self.parts.media_dir.as_deref(), &name) {
                Ok(path) => spec.abandon_message = Some(path.display().to_string()),
                Err(why) => problems.push(Problem::field("abandon_message", why)),
            }
        }
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(NodeError::Invalid(problems))
        }
    }
}

/// The prompt file `name` inside `media_dir`: a plain `.wav` file name (no directories, no
/// `..`, not hidden) of a readable WAV file whose real path is inside the directory.
pub fn prompt_path(media_dir: Option<&Path>, name: &str) -> Result<PathBuf, String> {
    let Some(dir) = media_dir else {
        return Err(
            "this node has no [node] media_dir, so campaigns cannot name a prompt; \
                    leave the key out for the generated tone"
                .into(),
        );
    };
    let plain = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !plain || !name.to_ascii_lowercase().ends_with(".wav") {
        return Err(format!(
            "{name:?}: give the name of a .wav file in the node's media directory \
             (letters, digits, '-', '_', '.'), not a path"
        ));
    }
    let missing = |e: std::io::Error| format!("{name:?}: not in the node's media directory ({e})");
    let root = dir.canonicalize().map_err(missing)?;
    let path = root.join(name).canonicalize().map_err(missing)?;
    if !path.starts_with(&root) || !path.is_file() {
        return Err(format!(
            "{name:?}: not a file inside the node's media directory"
        ));
    }
    media::Prompt::from_wav(&path, media::Codec::Pcmu)
        .map_err(|e| format!("{name:?}: not a usable WAV prompt: {e}"))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_come_only_from_inside_the_media_directory() {
        let base = tempfile::tempdir().expect("tempdir");
        let media = base.path().join("media");
        std::fs::create_dir(&media).expect("mkdir");
        std::fs::write(base.path().join("secret.wav"), b"RIFF").expect("write");
        std::os::unix::fs::symlink(base.path().join("secret.wav"), media.join("link.wav"))
            .expect("symlink");
        std::fs::write(media.join("junk.wav"), b"not a wav").expect("write");
        for (name, why) in [
            ("../secret.wav", "not a path"),
            ("/etc/passwd", "not a path"),
            ("sub/x.wav", "not a path"),
            (".hidden.wav", "not a path"),
            ("prompt.mp3", "not a path"),
            ("absent.wav", "not in the node's media directory"),
            ("link.wav", "not a file inside"),
            ("junk.wav", "not a usable WAV"),
        ] {
            let e = prompt_path(Some(&media), name).expect_err(name);
            assert!(e.contains(why), "{name}: {e}");
        }
        let e = prompt_path(None, "x.wav").expect_err("no media dir");
        assert!(e.contains("media_dir"), "{e}");
    }
}
