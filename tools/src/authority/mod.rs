//! The offline signing cell's side of Skywave: keys on disk, human-readable sources turned into
//! signed artifacts, and the checks a cell runs before anything leaves the room.
//!
//! The `skywave-authority` binary is a thin command line over this module; docs/authority.md
//! walks through it on the sample coalition.
//!
//! - [`evidence`]: what an exported evidence file proves, checked against the roots.
//! - [`keys`]: P-256 keys as PKCS#8 PEM (private, mode 0600) and SPKI PEM (public).
//! - [`import`]: a SPIF and a clearance file made into a signed policy, labels between the XML
//!   and compact forms, the release a SPIF and clearances give directly, translator drafts.
//! - [`spif`]: Open XML SPIFs and STANAG 4774 XML labels (parse, check, emit, marking).
//! - [`source`]: the TOML sources of policies and translators, and their conversion into the
//!   protocol's model, with errors that name the field.
//! - [`time`]: dates and Unix seconds on the command line.

pub mod evidence;
pub mod import;
pub mod keys;
pub mod source;
pub mod spif;
pub mod time;

use anyhow::{Context, Result};
use skywave_protocol::policy::{Artifact, CategoryValue, MAX_ARTIFACT_LEN, Signed, encoding};
use std::path::Path;

use p256::ecdsa::SigningKey;

/// Encodes and signs `artifact` with `key`.
pub fn sign(key: &SigningKey, artifact: &Artifact<'_>) -> Result<Vec<u8>> {
    let mut buf = [0u8; MAX_ARTIFACT_LEN];
    let len = encoding::sign(key, artifact, &mut buf)?;
    Ok(buf[..len].to_vec())
}

/// Writes `bytes` to `path`, naming the path on failure.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Reads `path`, naming it on failure.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Reads and decodes an artifact file, naming it on failure. The caller keeps the bytes; the
/// decoded artifact borrows them.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<Signed<'a>> {
    Signed::decode(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parses a category value as the command lines take it: `TAG:VALUE` (`2:10`), the one spelling
/// Skywave's tools print, with `TAG=VALUE` accepted too for scripts written before it.
pub fn parse_category(text: &str) -> std::result::Result<CategoryValue, String> {
    let (tag, value) = text
        .split_once(':')
        .or_else(|| text.split_once('='))
        .ok_or_else(|| format!("{text:?}: expected TAG:VALUE"))?;
    Ok(CategoryValue {
        tag: tag
            .parse()
            .map_err(|_| format!("{tag:?} is not a tag (0..=255)"))?,
        value: value
            .parse()
            .map_err(|_| format!("{value:?} is not a value (0..=65535)"))?,
    })
}

#[cfg(test)]
mod category_tests {
    use super::*;

    #[test]
    fn categories_read_with_a_colon_or_the_old_equals() {
        let ten = CategoryValue { tag: 2, value: 10 };
        assert_eq!(parse_category("2:10"), Ok(ten));
        assert_eq!(parse_category("2=10"), Ok(ten));
        assert!(parse_category("2-10").is_err());
        assert!(parse_category("256:1").is_err());
        assert!(parse_category("2:65536").is_err());
    }
}
