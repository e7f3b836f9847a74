//! Keys on disk: the private key as PKCS#8 PEM readable by its owner only (mode 0600), the
//! public key as SPKI PEM; both are what `openssl pkey` reads and writes.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use skywave_protocol::policy::PublicKey;

/// A new key from the operating system's random source.
pub fn generate() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

/// Writes `key` to `path` as PKCS#8 PEM, created with mode 0600 (refusing to overwrite: a
/// signing cell never silently replaces a key).
pub fn write_private(path: &Path, key: &SigningKey) -> Result<()> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("{}: cannot encode key: {e}", path.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create private key file", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes the public half of `key` to `path` as SPKI PEM.
pub fn write_public(path: &Path, key: &VerifyingKey) -> Result<()> {
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow!("{}: cannot encode key: {e}", path.display()))?;
    super::write(path, pem.as_bytes())
}

/// Reads a PKCS#8 PEM private key.
pub fn read_private(path: &Path) -> Result<SigningKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        anyhow!(
            "{}: not a PKCS#8 PEM P-256 private key: {e}",
            path.display()
        )
    })
}

/// Reads a public key: SPKI PEM, or the public half of a PKCS#8 PEM private key.
pub fn read_public(path: &Path) -> Result<VerifyingKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    VerifyingKey::from_public_key_pem(&pem)
        .or_else(|_| SigningKey::from_pkcs8_pem(&pem).map(|k| *k.verifying_key()))
        .map_err(|e| {
            anyhow!(
                "{}: not a PEM P-256 public or private key: {e}",
                path.display()
            )
        })
}

/// The 33-byte compressed form the artifacts carry.
pub fn compressed(key: &VerifyingKey) -> PublicKey {
    let point = key.to_encoded_point(true);
    let mut out = [0; PublicKey::LEN];
    out.copy_from_slice(point.as_bytes());
    PublicKey(out)
}
