//! The artifacts a scenario publishes: the sample coalition's, and revocations and policy
//! versions signed with its keys; and how the report names them.

use super::{
    Artifact, ArtifactRef, ArtifactSpec, Coalition, Kind, NOW, Revoked, Signed, TrustStore, anyhow,
    bail, domain, sample,
};

/// Makes the signed bytes an [`ArtifactSpec`] names.
pub fn artifacts(spec: &ArtifactSpec) -> anyhow::Result<Vec<Vec<u8>>> {
    let c = Coalition::new();
    Ok(match spec {
        ArtifactSpec::Coalition { domain: None } => c.artifacts(),
        ArtifactSpec::Coalition { domain: Some(d) } => {
            let wanted = domain(d)?;
            let mut out = Vec::new();
            for bytes in c.artifacts() {
                if describe(&bytes)?.domain == wanted {
                    out.push(bytes);
                }
            }
            out
        }
        ArtifactSpec::Policy { version } => vec![c.gbr_policy(*version, &sample::gbr_rules())],
        ArtifactSpec::Forged { version } => {
            let mut bytes = c.gbr_policy(*version, &sample::gbr_rules());
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            vec![bytes]
        }
        ArtifactSpec::Revocation {
            domain: d,
            seq,
            translator,
            policy,
            key,
        } => {
            let d = domain(d)?;
            let root = match &d.0 {
                b"GBR" => &c.gbr_root,
                b"USA" => &c.usa_root,
                b"AUS" => &c.aus_root,
                _ => bail!("the sample coalition has no {d} root"),
            };
            let mut entries = Vec::new();
            if let Some(id) = translator {
                entries.push(Revoked::Translator {
                    id: *id,
                    version: 1,
                });
            }
            if let Some(id) = policy {
                entries.push(Revoked::Policy {
                    id: *id,
                    version: 1,
                });
            }
            if let Some(k) = key {
                let signer = match k.as_str() {
                    "gbr_signer" => &c.gbr_signer,
                    "usa_signer" => &c.usa_signer,
                    "aus_signer" => &c.aus_signer,
                    "gbr_usa_liaison" => &c.gbr_usa_liaison,
                    "gbr_aus_liaison" => &c.gbr_aus_liaison,
                    other => bail!("no sample signer {other}"),
                };
                entries.push(Revoked::Key(sample::public(signer).key_id()));
            }
            let r = sample::revocation(d, root, *seq, &entries);
            vec![sample::sign(root, &Artifact::Revocation(r))]
        }
        ArtifactSpec::Hostile { domain: d, attack } => {
            crate::sim::hostile::artifacts(domain(d)?, attack)?
        }
        ArtifactSpec::Translator { id, version } => {
            use skywave_protocol::policy::SpiralRef;
            let spiral = |domain, spiral| SpiralRef { domain, spiral };
            let (key, to, tag) = match id {
                1 => (&c.gbr_usa_liaison, spiral(sample::USA, 5), 7),
                2 => (&c.gbr_aus_liaison, spiral(sample::AUS, 4), 2),
                _ => bail!("the sample coalition has translators 1 and 2"),
            };
            let t = sample::translator(key, *id, *version, spiral(sample::GBR, 4), to, tag);
            vec![sample::sign(key, &Artifact::Translator(t))]
        }
    })
}

/// What an artifact is, read by admitting it into a scratch trust store holding the whole
/// sample coalition (revocations and later versions admit there too).
pub(super) fn describe(bytes: &[u8]) -> anyhow::Result<ArtifactRef> {
    let c = Coalition::new();
    let mut store = TrustStore::new();
    for root in c.roots() {
        store
            .add_root(&root, Some(NOW))
            .map_err(|e| anyhow!("root: {e}"))?;
    }
    for a in c.artifacts() {
        let _ = store.admit(&a, Some(NOW));
    }
    match store.admit(bytes, Some(NOW)) {
        Ok(a) => Ok(a.artifact),
        Err(_) => {
            // Refused there too (a forgery, a revocation after a gap): name it by what it
            // says it is.
            let signed = Signed::decode(bytes).map_err(|e| anyhow!("not an artifact: {e:?}"))?;
            let a = &signed.artifact;
            let (id, version) = match a {
                Artifact::Policy(p) => (p.id, u64::from(p.version)),
                Artifact::Translator(t) => (t.id, u64::from(t.version)),
                Artifact::Revocation(r) => (r.seq, 0),
                _ => (0, 0),
            };
            Ok(ArtifactRef {
                kind: a.kind(),
                domain: a.domain(),
                id,
                version,
                digest: skywave_protocol::policy::Digest::of(bytes),
            })
        }
    }
}

pub(super) fn label_of(a: &ArtifactRef) -> String {
    let kind = match a.kind {
        Kind::Credential => "credential",
        Kind::Policy => "policy",
        Kind::Translator => "translator",
        Kind::Revocation => "revocation",
        Kind::PolicyDelta => "policy delta",
        Kind::Checkpoint => "checkpoint",
    };
    match a.kind {
        Kind::Credential => format!("{} {kind} {}", a.domain, &a.digest.to_string()[..8]),
        Kind::Revocation | Kind::Checkpoint => format!("{} {kind} {}", a.domain, a.id),
        _ => format!("{} {kind} {} v{}", a.domain, a.id, a.version),
    }
}

pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Credential => "credential",
        Kind::Policy | Kind::PolicyDelta => "policy",
        Kind::Translator => "translator",
        Kind::Revocation | Kind::Checkpoint => "revocation",
    }
}
