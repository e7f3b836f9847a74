//! The offline signing cell's side of Skywave: keys on disk, human-readable sources turned into
//! signed artifacts, and the checks a cell runs before anything leaves the room.
//!
//! The `skywave-authority` binary is a thin command line over this module; docs/authority.md
//! walks through it on the sample coalition.
//!
//! - [`evidence`]: what an exported evidence file proves, checked against the roots.
//! - [`import`]: a SPIF and a clearance file made into a signed policy, labels between the XML
//!   and compact forms, the release a SPIF and clearances give directly, translator drafts.
//! - [`spif`]: Open XML SPIFs and STANAG 4774 XML labels (parse, check, emit, marking).
//! - [`keys`]: P-256 keys as PKCS#8 PEM (private, mode 0600) and SPKI PEM (public).
//! - [`source`]: the TOML sources of policies and translators, and their conversion into the
//!   protocol's model, with errors that name the field.

pub mod evidence;
pub mod keys;
/// Policy and translator sources, SPIFs and labels are read by the agent too (`skywave label`),
/// so they live in the host crate; the authority tool uses them from there.
pub use skywave_host::spif::{self, import, source};

use anyhow::{Context, Result};
use skywave_protocol::policy::{Artifact, MAX_ARTIFACT_LEN, Signed, encoding};
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
