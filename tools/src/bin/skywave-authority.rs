//! `skywave-authority`: the offline signing cell's tool. Makes keys, credentials, policies,
//! translators, policy deltas and revocation deltas; inspects artifacts; and checks a set of
//! artifacts the way a node would admit them. docs/authority.md walks through it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::{Parser, Subcommand};
use skywave_host::cli::output::is_broken_pipe;
use skywave_host::cli::{self, time};
use skywave_host::outln;
use skywave_protocol::policy::{
    Artifact, ArtifactRef, CategoryValue, Checkpoint, Credential, Decision, Kind, Label,
    LabelRecord, MAX_ARTIFACT_LEN, MAX_CHECKPOINT_ENTRIES, Refusal, Revocation, Revoked, Scope,
    TrustStore, UnixTime, Validity, encoding,
};
use skywave_tools::authority::{self, keys, source};

#[derive(Parser)]
#[command(name = "skywave-authority", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum RevokeCommand {
    /// Sign a checkpoint: every revocation in force in DOMAIN after the deltas FILEs (and any
    /// earlier checkpoint among them), so nodes may forget those deltas and a node far behind
    /// takes it instead of the gap. Only the domain's root may sign one.
    Checkpoint {
        /// The domain root's private key.
        #[arg(long)]
        key: PathBuf,
        /// The domain.
        #[arg(long)]
        domain: String,
        /// The sequence number it summarises up to (default: the highest among the FILEs).
        #[arg(long)]
        seq: Option<u32>,
        /// Where to write the checkpoint.
        #[arg(long)]
        out: PathBuf,
        /// The domain's revocation deltas and checkpoints so far, in any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Import an Open XML SPIF as a signed policy: its classifications, categories and label
    /// constraints, with the release rules of a clearance file (docs/labels.md).
    FromSpif {
        /// The SPIF.
        spif: PathBuf,
        /// The clearance file (TOML): which partner domains are cleared to what.
        #[arg(long)]
        clearances: PathBuf,
        /// The policy's domain, e.g. GBR.
        #[arg(long)]
        domain: String,
        /// The policy id within the domain.
        #[arg(long)]
        id: u32,
        /// The version.
        #[arg(long)]
        version: u32,
        /// The FMN spiral.
        #[arg(long, default_value_t = 1)]
        spiral: u8,
        /// The signer's private key (policy-scoped).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signed policy.
        #[arg(long)]
        out: PathBuf,
        /// The previous version's signed policy: also write a policy delta from it.
        #[arg(long, requires = "delta_out")]
        delta_from: Option<PathBuf>,
        /// Where to write that delta.
        #[arg(long, requires = "delta_from")]
        delta_out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TranslatorCommand {
    /// Draft a translator source (TOML, for sign-translator) from a SPIF's
    /// `equivalentPolicies` / `equivalentClassification` / `equivalentSecCategoryTag`
    /// mappings towards another SPIF. Review it, then sign it.
    FromSpif {
        /// The source SPIF.
        spif: PathBuf,
        /// The target SPIF.
        #[arg(long)]
        to: PathBuf,
        /// The source side, DOMAIN:SPIRAL (e.g. GBR:1).
        #[arg(long)]
        from_side: String,
        /// The target side, DOMAIN:SPIRAL.
        #[arg(long)]
        to_side: String,
        /// The translator id.
        #[arg(long)]
        id: u32,
        /// Where to write the draft (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Policies from SPIFs.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Translators from SPIFs.
    Translator {
        #[command(subcommand)]
        command: TranslatorCommand,
    },
    /// Make a P-256 key pair: PRIVATE as PKCS#8 PEM (mode 0600), PUBLIC as SPKI PEM.
    Keygen {
        /// Where to write the private key (must not exist).
        #[arg(long)]
        private: PathBuf,
        /// Where to write the public key.
        #[arg(long)]
        public: PathBuf,
    },
    /// Issue a credential: the issuer's key vouches for the subject's in a domain. When the
    /// subject is the issuer's own key, the result is a root (a trust anchor).
    Credential {
        /// The issuer's private key.
        #[arg(long)]
        issuer_key: PathBuf,
        /// The subject's public key (or private key file).
        #[arg(long)]
        subject: PathBuf,
        /// The domain, e.g. GBR.
        #[arg(long)]
        domain: String,
        /// Comma-separated: policy, translator, revocation, issue-credential, node, or all.
        #[arg(long)]
        scope: String,
        /// The STANAG 5066 node address a `node` credential binds the subject key to
        /// (required with scope `node`, refused without it).
        #[arg(long)]
        node: Option<u32>,
        /// How many further levels of credentials may hang below the subject.
        #[arg(long, default_value_t = 0)]
        depth: u8,
        /// The credential's version for this subject in this domain: to replace a credential
        /// nodes hold, issue a higher version, signed by its issuer or an issuer above it.
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// Valid from (YYYY-MM-DD or Unix seconds).
        #[arg(long)]
        not_before: String,
        /// Valid until (YYYY-MM-DD or Unix seconds).
        #[arg(long)]
        not_after: String,
        /// Where to write the credential.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a policy from its TOML source.
    SignPolicy {
        /// The signer's private key.
        #[arg(long)]
        key: PathBuf,
        /// The policy source.
        source: PathBuf,
        /// Where to write the policy.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a translator from its TOML source.
    SignTranslator {
        /// The signer's private key (credentialed in both domains).
        #[arg(long)]
        key: PathBuf,
        /// The translator source.
        source: PathBuf,
        /// Where to write the translator.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make the policy delta from OLD to NEW (both sources, signed with KEY; signing is
    /// deterministic, so OLD signs to the very bytes nodes hold).
    Delta {
        /// The signer's private key (the one that signed OLD).
        #[arg(long)]
        key: PathBuf,
        /// The old policy source.
        old: PathBuf,
        /// The new policy source.
        new: PathBuf,
        /// Where to write the delta.
        #[arg(long)]
        out: PathBuf,
        /// Also write the full new policy here.
        #[arg(long)]
        full: Option<PathBuf>,
    },
    /// Sign a revocation delta (or, with `checkpoint`, a revocation checkpoint).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Revoke {
        #[command(subcommand)]
        checkpoint: Option<RevokeCommand>,
        /// The signer's private key (the domain root, or a revocation-scoped key that stands
        /// above every key it revokes).
        #[arg(long, required = true)]
        key: Option<PathBuf>,
        /// The revoking domain.
        #[arg(long, required = true)]
        domain: Option<String>,
        /// The sequence number (one more than the domain's last).
        #[arg(long, required = true)]
        seq: Option<u32>,
        /// Revoke this key (a public or private key file) in the domain.
        #[arg(long = "revoke-key")]
        revoke_keys: Vec<PathBuf>,
        /// Revoke policy ID up to VERSION, as ID:VERSION.
        #[arg(long = "policy")]
        policies: Vec<String>,
        /// Revoke translator ID up to VERSION, as ID:VERSION.
        #[arg(long = "translator")]
        translators: Vec<String>,
        /// Where to write the revocation delta.
        #[arg(long, required = true)]
        out: Option<PathBuf>,
    },
    /// Print artifacts in human-readable form.
    Inspect {
        /// The artifact files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Admit FILEs, in order, into a fresh trust store seeded with the roots in DIR; print one
    /// line per file. Exits 0 only if every file was admitted.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-check evidence files (from `skywave evidence export`) offline against the roots in
    /// DIR; print what each proves. Exits 0 only if every file proves what it claims.
    VerifyEvidence {
        /// The directory of root credentials (trust anchors).
        #[arg(long)]
        trust: PathBuf,
        /// The evidence files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Admit FILEs as `verify` does, then decide on one label and print the decision.
    Decide {
        #[command(flatten)]
        store: StoreArgs,
        /// The label: DOMAIN/POLICY/CLASSIFICATION, e.g. GBR/1/3.
        #[arg(long)]
        label: String,
        /// A category value on the label, TAG:VALUE (repeatable; TAG=VALUE also read).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// The audience domain.
        #[arg(long)]
        audience: String,
    },
}

#[derive(clap::Args)]
struct StoreArgs {
    /// The directory of root credentials (trust anchors).
    #[arg(long)]
    trust: PathBuf,
    /// The time to check validity at (YYYY-MM-DD or Unix seconds; default: the system clock).
    #[arg(long, conflicts_with = "no_time")]
    now: Option<String>,
    /// Check as a node without trusted time: validity windows are not checked.
    #[arg(long)]
    no_time: bool,
    /// The artifacts, in admission order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        // `verify ... | head -c1`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skywave-authority: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn side(flag: &str, text: &str) -> Result<(skywave_protocol::policy::Domain, u8)> {
    let (domain, spiral) = text
        .split_once(':')
        .ok_or_else(|| anyhow!("{flag}: expected DOMAIN:SPIRAL, got {text:?}"))?;
    Ok((
        source::domain(flag, domain)?,
        spiral
            .parse()
            .map_err(|_| anyhow!("{flag}: {spiral:?} is not a spiral number"))?,
    ))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Policy {
            command:
                PolicyCommand::FromSpif {
                    spif,
                    clearances,
                    domain,
                    id,
                    version,
                    spiral,
                    key,
                    out,
                    delta_from,
                    delta_out,
                },
        } => {
            use skywave_tools::authority::import::{ClearanceSource, Imported};
            let parsed = authority::spif::Spif::load(&spif)?;
            let cleared = ClearanceSource::load(&clearances)?
                .resolve(&parsed)
                .with_context(|| clearances.display().to_string())?;
            let domain = source::domain("--domain", &domain)?;
            let imported = Imported::new(&parsed, &cleared, domain, id, version, spiral)?;
            let signer = keys::read_private(&key)?;
            let policy = imported
                .policy(keys::compressed(signer.verifying_key()).key_id())
                .with_context(|| spif.display().to_string())?;
            write_signed(&out, &signer, &Artifact::Policy(policy))?;
            if let (Some(base), Some(delta_out)) = (delta_from, delta_out) {
                let old = authority::read(&base)?;
                let new = authority::read(&out)?;
                let mut buf = [0u8; MAX_ARTIFACT_LEN];
                let len = encoding::encode_delta(
                    &authority::decode(&base, &old)?,
                    &authority::decode(&out, &new)?,
                    &mut buf,
                )
                .context("policy delta")?;
                authority::write(&delta_out, &buf[..len])?;
                outln!("{}: policy-delta, {len} bytes", delta_out.display())?;
            }
        }
        Command::Translator {
            command:
                TranslatorCommand::FromSpif {
                    spif,
                    to,
                    from_side,
                    to_side,
                    id,
                    out,
                },
        } => {
            let from = authority::spif::Spif::load(&spif)?;
            let target = authority::spif::Spif::load(&to)?;
            let draft = authority::import::draft_translator(
                &from,
                &target,
                [
                    side("--from-side", &from_side)?,
                    side("--to-side", &to_side)?,
                ],
                id,
            )?;
            match out {
                Some(path) => {
                    authority::write(&path, draft.as_bytes())?;
                    outln!("{}: translator draft", path.display())?;
                }
                None => outln!("{}", draft.trim_end())?,
            }
        }
        Command::Keygen { private, public } => {
            let key = keys::generate();
            keys::write_private(&private, &key)?;
            keys::write_public(&public, key.verifying_key())?;
            let id = keys::compressed(key.verifying_key()).key_id();
            outln!("{}: key id {id}", private.display())?;
        }
        Command::Credential {
            issuer_key,
            subject,
            domain,
            scope,
            node,
            depth,
            version,
            not_before,
            not_after,
            out,
        } => {
            let scope = parse_scope(&scope)?;
            if node.is_some() && !scope.contains(Scope::NODE) {
                bail!("--node ADDRESS needs scope `node`");
            }
            if scope == Scope::NODE && node.is_none() {
                bail!("scope `node` needs --node ADDRESS: the node address the key speaks for");
            }
            let issuer = keys::read_private(&issuer_key)?;
            let subject = keys::compressed(&keys::read_public(&subject)?);
            let credential = Credential {
                domain: source::domain("--domain", &domain)?,
                signer: keys::compressed(issuer.verifying_key()).key_id(),
                subject,
                scope,
                validity: Validity {
                    not_before: time::parse(&not_before).context("--not-before")?,
                    not_after: time::parse(&not_after).context("--not-after")?,
                },
                depth,
                version,
                node,
            };
            write_signed(&out, &issuer, &Artifact::Credential(credential))?;
        }
        Command::SignPolicy { key, source, out } => {
            let signer = keys::read_private(&key)?;
            let src = source::PolicySource::load(&source)?;
            let policy = src
                .to_policy(keys::compressed(signer.verifying_key()).key_id())
                .with_context(|| source.display().to_string())?;
            write_signed(&out, &signer, &Artifact::Policy(policy))?;
        }
        Command::SignTranslator { key, source, out } => {
            let signer = keys::read_private(&key)?;
            let src = source::TranslatorSource::load(&source)?;
            let translator = src
                .to_translator(keys::compressed(signer.verifying_key()).key_id())
                .with_context(|| source.display().to_string())?;
            write_signed(&out, &signer, &Artifact::Translator(translator))?;
        }
        Command::Delta {
            key,
            old,
            new,
            out,
            full,
        } => delta(&key, &old, &new, &out, full.as_deref())?,
        Command::Revoke {
            checkpoint:
                Some(RevokeCommand::Checkpoint {
                    key,
                    domain,
                    seq,
                    out,
                    files,
                }),
            ..
        } => checkpoint(&key, &domain, seq, &out, &files)?,
        Command::Revoke {
            checkpoint: None,
            key: Some(key),
            domain: Some(domain),
            seq: Some(seq),
            revoke_keys,
            policies,
            translators,
            out: Some(out),
        } => {
            let signer = keys::read_private(&key)?;
            let mut entries = Vec::new();
            for path in &revoke_keys {
                entries.push(Revoked::Key(
                    keys::compressed(&keys::read_public(path)?).key_id(),
                ));
            }
            for text in &policies {
                let (id, version) = id_version("--policy", text)?;
                entries.push(Revoked::Policy { id, version });
            }
            for text in &translators {
                let (id, version) = id_version("--translator", text)?;
                entries.push(Revoked::Translator { id, version });
            }
            let revocation = Revocation {
                domain: source::domain("--domain", &domain)?,
                signer: keys::compressed(signer.verifying_key()).key_id(),
                seq,
                entries: heapless::Vec::from_slice(&entries)
                    .map_err(|_| anyhow!("too many entries for one revocation delta"))?,
            };
            write_signed(&out, &signer, &Artifact::Revocation(revocation))?;
        }
        Command::Revoke { .. } => {
            bail!("revoke needs --key, --domain, --seq and --out (or the checkpoint subcommand)")
        }
        Command::Inspect { files } => {
            for path in &files {
                let bytes = authority::read(path)?;
                let signed = authority::decode(path, &bytes)?;
                let digest = skywave_protocol::policy::Digest::of(&bytes);
                let kind = signed.artifact.kind().name();
                outln!(
                    "{}: {kind}, {} bytes, digest {digest}",
                    path.display(),
                    bytes.len()
                )?;
                outln!("{:#?}", signed.artifact)?;
            }
        }
        Command::Verify { store } => {
            let (_, all_admitted) = admit_all(&store)?;
            return Ok(if all_admitted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::VerifyEvidence { trust, files } => {
            let roots = load_roots(&trust, None)?;
            let mut all = true;
            for path in &files {
                let bytes = authority::read(path)?;
                match authority::evidence::check(&roots, &bytes) {
                    Ok(proven) => outln!("{}: {proven}", path.display())?,
                    Err(why) => {
                        all = false;
                        outln!("{}: {why}", path.display())?;
                    }
                }
            }
            return Ok(if all {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Decide {
            store,
            label,
            categories,
            audience,
        } => {
            let (trust, _) = admit_all(&store)?;
            let (domain, policy, classification) = parse_label(&label)?;
            let categories = categories
                .iter()
                .map(|c| parse_category(c))
                .collect::<Result<Vec<_>>>()?;
            let label = Label {
                domain,
                policy,
                classification,
                categories: &categories,
            };
            let audience = source::domain("--audience", &audience)?;
            print_decision(&trust.decide(&label, audience, store_time(&store)?))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `revoke checkpoint`: the entries in force after `files` (deltas and checkpoints of
/// `domain`), merged as nodes merge them, signed by the root `key`.
fn checkpoint(
    key: &Path,
    domain: &str,
    seq: Option<u32>,
    out: &Path,
    files: &[PathBuf],
) -> Result<()> {
    let domain = source::domain("--domain", domain)?;
    let signer = keys::read_private(key)?;
    let mut entries: Vec<Revoked> = Vec::new();
    let mut last = 0;
    for path in files {
        let bytes = authority::read(path)?;
        let signed = authority::decode(path, &bytes)?;
        let (of, at, listed) = match &signed.artifact {
            Artifact::Revocation(r) => (r.domain, r.seq, r.entries.as_slice()),
            Artifact::Checkpoint(c) => (c.domain, c.seq, c.entries.as_slice()),
            other => bail!(
                "{}: a {}, not a revocation",
                path.display(),
                other.kind().name()
            ),
        };
        ensure!(
            of == domain,
            "{}: revokes in {of}, not {domain}",
            path.display()
        );
        last = last.max(at);
        for entry in listed {
            match entries.iter_mut().find(|e| e.same_subject(entry)) {
                Some(e) => *e = e.later_of(*entry),
                None => entries.push(*entry),
            }
        }
    }
    let seq = seq.unwrap_or(last);
    ensure!(
        seq >= last,
        "--seq {seq} is below delta {last} among the files: a checkpoint covers every delta it summarises"
    );
    let checkpoint = Checkpoint {
        domain,
        signer: keys::compressed(signer.verifying_key()).key_id(),
        seq,
        entries: heapless::Vec::from_slice(&entries).map_err(|_| {
            anyhow!(
                "{} entries in force: more than one checkpoint carries ({MAX_CHECKPOINT_ENTRIES})",
                entries.len()
            )
        })?,
    };
    write_signed(out, &signer, &Artifact::Checkpoint(checkpoint))
}

fn write_signed(out: &Path, key: &p256::ecdsa::SigningKey, artifact: &Artifact<'_>) -> Result<()> {
    let bytes = authority::sign(key, artifact).with_context(|| out.display().to_string())?;
    authority::write(out, &bytes)?;
    outln!(
        "{}: {}, {} bytes",
        out.display(),
        artifact.kind().name(),
        bytes.len()
    )?;
    Ok(())
}

fn delta(key: &Path, old: &Path, new: &Path, out: &Path, full: Option<&Path>) -> Result<()> {
    let signer = keys::read_private(key)?;
    let key_id = keys::compressed(signer.verifying_key()).key_id();
    let (old_src, new_src) = (
        source::PolicySource::load(old)?,
        source::PolicySource::load(new)?,
    );
    let old_policy = old_src
        .to_policy(key_id)
        .with_context(|| old.display().to_string())?;
    let new_policy = new_src
        .to_policy(key_id)
        .with_context(|| new.display().to_string())?;
    let base = authority::sign(&signer, &Artifact::Policy(old_policy))?;
    let result = authority::sign(&signer, &Artifact::Policy(new_policy))?;
    let (base_signed, result_signed) = (
        authority::decode(old, &base)?,
        authority::decode(new, &result)?,
    );
    let mut buf = [0u8; MAX_ARTIFACT_LEN];
    let len = encoding::encode_delta(&base_signed, &result_signed, &mut buf)
        .map_err(|e| anyhow!("{} -> {}: {e}", old.display(), new.display()))?;
    authority::write(out, &buf[..len])?;
    outln!("{}: policy-delta, {len} bytes", out.display())?;
    if let Some(full) = full {
        authority::write(full, &result)?;
        outln!("{}: policy, {} bytes", full.display(), result.len())?;
    }
    Ok(())
}

fn parse_scope(text: &str) -> Result<Scope> {
    text.split(',').try_fold(Scope::default(), |scope, name| {
        Ok(scope.with(match name.trim() {
            "policy" => Scope::POLICY,
            "translator" => Scope::TRANSLATOR,
            "revocation" => Scope::REVOCATION,
            "issue-credential" => Scope::ISSUE_CREDENTIAL,
            "node" => Scope::NODE,
            "all" => Scope::ALL,
            other => bail!("--scope: unknown scope {other:?}"),
        }))
    })
}

fn id_version(flag: &str, text: &str) -> Result<(u32, u32)> {
    let parsed = text
        .split_once(':')
        .and_then(|(id, version)| Some((id.parse().ok()?, version.parse().ok()?)));
    parsed.ok_or_else(|| anyhow!("{flag}: {text:?} is not ID:VERSION"))
}

fn parse_label(text: &str) -> Result<(skywave_protocol::policy::Domain, u32, u8)> {
    let parts: Vec<&str> = text.split('/').collect();
    let [domain, policy, class] = parts.as_slice() else {
        bail!("--label: {text:?} is not DOMAIN/POLICY/CLASSIFICATION");
    };
    let number = |what: &str, s: &str| -> Result<u32> {
        s.parse()
            .map_err(|_| anyhow!("--label: {what} {s:?} is not a number"))
    };
    let class = u8::try_from(number("classification", class)?)
        .map_err(|_| anyhow!("--label: classification above 255"))?;
    Ok((
        source::domain("--label", domain)?,
        number("policy", policy)?,
        class,
    ))
}

fn parse_category(text: &str) -> Result<CategoryValue> {
    cli::parse_category(text).map_err(|e| anyhow!("--category: {e}"))
}

fn store_time(args: &StoreArgs) -> Result<Option<UnixTime>> {
    Ok(match (&args.now, args.no_time) {
        (_, true) => None,
        (Some(text), false) => Some(time::parse(text).context("--now")?),
        (None, false) => Some(time::now()),
    })
}

/// Seeds a store with the roots in the trust directory, then admits the files in order,
/// printing a line for each. Returns the store and whether every file was admitted.
fn admit_all(args: &StoreArgs) -> Result<(TrustStore, bool)> {
    let now = store_time(args)?;
    let mut store = load_roots(&args.trust, now)?;
    let mut all = true;
    for path in &args.files {
        let outcome = authority::read(path).map(|bytes| store.admit(&bytes, now));
        match outcome {
            Ok(Ok(admitted)) => {
                let a = admitted.artifact;
                let what = match a.kind {
                    Kind::Credential => format!("credential in {}", a.domain),
                    Kind::Revocation => format!("revocation {} seq {}", a.domain, a.id),
                    kind => format!("{} {}/{} v{}", kind.name(), a.domain, a.id, a.version),
                };
                let dup = if admitted.duplicate {
                    " (already held)"
                } else {
                    ""
                };
                outln!("{}: admitted {what}{dup}", path.display())?;
            }
            Ok(Err(refusal)) => {
                all = false;
                outln!("{}: refused: {}", path.display(), describe(&refusal))?;
            }
            Err(e) => {
                all = false;
                outln!("{e:#}")?;
            }
        }
    }
    Ok((store, all))
}

/// A store seeded with every root in the directory `trust`, nothing else.
fn load_roots(trust: &Path, now: Option<UnixTime>) -> Result<TrustStore> {
    let mut store = TrustStore::new();
    let mut roots: Vec<PathBuf> = std::fs::read_dir(trust)
        .with_context(|| format!("{}: cannot list", trust.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("{}: cannot list", trust.display()))?;
    roots.sort();
    for root in &roots {
        let bytes = authority::read(root)?;
        store
            .add_root(&bytes, now)
            .map_err(|refusal| anyhow!("{}: not a usable root: {refusal}", root.display()))?;
    }
    Ok(store)
}

/// The refusal's variant name (what scripts match on) and its explanation.
fn describe(refusal: &Refusal) -> String {
    let debug = format!("{refusal:?}");
    let name = debug.split([' ', '(', '{']).next().unwrap_or_default();
    format!("{name}: {refusal}")
}

fn print_decision(d: &Decision) -> Result<()> {
    let reference = |r: &Option<ArtifactRef>| match r {
        Some(r) => format!(
            "{} {}/{} v{} {}",
            r.kind.name(),
            r.domain,
            r.id,
            r.version,
            r.digest
        ),
        None => "none".into(),
    };
    let label = |l: &LabelRecord| {
        let values: Vec<String> = l
            .categories
            .iter()
            .map(|c| format!("{}:{}", c.tag, c.value))
            .collect();
        format!(
            "{}/{}/{} [{}]",
            l.domain,
            l.policy,
            l.classification,
            values.join(" ")
        )
    };
    let lineage = &d.lineage;
    outln!("label:        {} -> {}", label(&d.label), d.audience)?;
    outln!("verdict:      {:?}", d.verdict)?;
    outln!("basis:        {:?}", d.basis)?;
    outln!(
        "translated:   {}",
        d.translated.as_ref().map_or("none".into(), label)
    )?;
    outln!("home:         {}", reference(&lineage.home))?;
    outln!("translator:   {}", reference(&lineage.translator))?;
    outln!("target:       {}", reference(&lineage.target))?;
    match lineage.spiral_gap {
        Some(gap) => outln!("spiral gap:   {} -> {}", gap.from, gap.to)?,
        None => outln!("spiral gap:   none")?,
    }
    let seqs: Vec<String> = lineage
        .revocation_seqs
        .iter()
        .map(|(d, s)| format!("{d} {s}"))
        .collect();
    outln!("revocations:  {}", seqs.join(", "))?;
    match lineage.time {
        Some(t) => outln!("time:         {}", t.0)?,
        None => outln!("time:         unknown (validity not checked)")?,
    }
    Ok(())
}
