//! `skywave-authority` end to end: keys on disk, a root and a delegated signer, a policy from
//! the sample coalition's source, and `verify` saying yes, or naming the refusal.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skywave-authority-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("trust")).unwrap();
    dir
}

fn auth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skywave-authority"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = auth(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A path as an argument (the scratch paths are UTF-8).
fn arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn source(name: &str) -> String {
    arg(&Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/coalition")
        .join(name))
}

/// A GBR root in `dir/trust`, a signer credentialed by it, and GBR's policy signed by the
/// signer; returns the credential's and the policy's paths.
fn gbr(dir: &Path) -> (String, String) {
    let at = |name: &str| arg(&dir.join(name));
    for name in ["root", "signer"] {
        let (private, public) = (
            at(&format!("{name}.key.pem")),
            at(&format!("{name}.pub.pem")),
        );
        ok(&["keygen", "--private", &private, "--public", &public]);
    }
    let credential = |subject: &str, scope: &str, depth: &str, out: &str| {
        ok(&[
            "credential",
            "--issuer-key",
            &at("root.key.pem"),
            "--subject",
            &at(subject),
            "--domain",
            "GBR",
            "--scope",
            scope,
            "--depth",
            depth,
            "--not-before",
            "2026-01-01",
            "--not-after",
            "2030-01-01",
            "--out",
            out,
        ]);
    };
    credential("root.pub.pem", "all", "1", &at("trust/gbr.cred"));
    let signer = at("signer.cred");
    credential("signer.pub.pem", "policy", "0", &signer);
    let policy = at("gbr.pol");
    let src = source("gbr-policy-v1.toml");
    ok(&[
        "sign-policy",
        "--key",
        &at("signer.key.pem"),
        &src,
        "--out",
        &policy,
    ]);
    (signer, policy)
}

fn verify(dir: &Path, files: &[&str]) -> Output {
    let trust = arg(&dir.join("trust"));
    let mut args = vec!["verify", "--trust", &trust, "--now", "2027-01-01"];
    args.extend(files);
    auth(&args)
}

#[test]
fn keygen_writes_an_owner_only_private_key_and_never_overwrites_it() {
    let dir = scratch("keygen");
    let (private, public) = (dir.join("k.pem"), dir.join("k.pub"));
    let args = [
        "keygen",
        "--private",
        &arg(&private),
        "--public",
        &arg(&public),
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args);
    let mode = std::fs::metadata(&private).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&private)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let again = auth(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("k.pem"));
}

#[test]
fn verify_admits_in_order_and_names_each_refusal() {
    let dir = scratch("verify");
    let (signer, policy) = gbr(&dir);
    let good = verify(&dir, &[&signer, &policy]);
    let stdout = String::from_utf8(good.stdout).unwrap();
    assert!(good.status.success(), "{stdout}");
    assert_eq!(stdout.lines().count(), 2);
    assert!(
        stdout.lines().all(|l| l.contains(": admitted ")),
        "{stdout}"
    );
    assert!(stdout.contains("admitted policy GBR/1 v1"));
    // Out of order: the policy's signer is not yet known.
    let reordered = verify(&dir, &[&policy, &signer]);
    assert_eq!(reordered.status.code(), Some(1));
    let stdout = String::from_utf8(reordered.stdout).unwrap();
    assert!(stdout.starts_with(&format!("{policy}: refused: UnknownSigner")));
    // One flipped bit in the signature.
    let mut bytes = std::fs::read(&policy).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    let tampered = arg(&dir.join("tampered.pol"));
    std::fs::write(&tampered, bytes).unwrap();
    let out = verify(&dir, &[&signer, &tampered]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("refused: BadSignature")
    );
}

#[test]
fn source_errors_name_the_file_and_the_field() {
    let dir = scratch("errors");
    gbr(&dir);
    let key = arg(&dir.join("signer.key.pem"));
    let text = std::fs::read_to_string(source("gbr-policy-v1.toml")).unwrap();
    let cases = [
        (
            text.replacen("max = \"SECRET\"", "max = \"SECERT\"", 1),
            "rule[1].max",
        ),
        (
            text.replacen("to = [\"USA\"]", "to = [\"usa\"]", 1),
            "rule[1].to[0]",
        ),
        (
            text.replacen("spiral = 4", "spiral = 4\nspirall = 5", 1),
            "spirall",
        ),
    ];
    for (i, (text, field)) in cases.iter().enumerate() {
        let src = arg(&dir.join(format!("bad{i}.toml")));
        std::fs::write(&src, text).unwrap();
        let out = arg(&dir.join("bad.pol"));
        let result = auth(&["sign-policy", "--key", &key, &src, "--out", &out]);
        assert!(!result.status.success());
        let stderr = String::from_utf8(result.stderr).unwrap();
        assert!(stderr.contains(&src), "{stderr}");
        assert!(stderr.contains(field), "{stderr}");
    }
}

#[test]
fn the_sample_coalition_script_runs_clean() {
    let dir = scratch("coalition");
    let out = dir.join("out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/coalition/make.sh");
    let run = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .env("SKYWAVE_AUTHORITY", env!("CARGO_BIN_EXE_skywave-authority"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The final verify: one admitted line per artifact, in ls order, nothing refused.
    let mut artifacts: Vec<_> = std::fs::read_dir(out.join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    artifacts.sort();
    assert_eq!(artifacts.len(), 15);
    let verdicts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": admitted "))
        .collect();
    let last = &verdicts[verdicts.len() - artifacts.len()..];
    for (line, name) in last.iter().zip(&artifacts) {
        assert!(line.contains(name.as_str()), "{line} / {name}");
    }
    assert!(!stdout.contains("refused"));
    assert!(last[13].ends_with("admitted policy GBR/1 v2"));
}

/// An evidence file for `held` and `offered`, with the sample GBR signer's credential.
fn evidence_file(
    path: &Path,
    conflict: skywave_protocol::policy::Conflict,
    held: &[u8],
    offered: &[u8],
) -> String {
    let c = skywave_protocol::policy::sample::Coalition::new();
    let credentials = c.artifacts();
    let mut out = vec![0u8; 8192];
    let len = skywave_protocol::policy::EvidenceFile::write(
        conflict,
        held,
        offered,
        [credentials[0].as_slice()].into_iter(),
        &mut out,
    )
    .unwrap();
    std::fs::write(path, &out[..len]).unwrap();
    arg(path)
}

#[test]
fn verify_evidence_says_what_each_file_proves_and_fails_on_any_that_proves_nothing() {
    use skywave_protocol::policy::Conflict;
    use skywave_protocol::policy::sample::{self, Coalition};
    let dir = scratch("evidence");
    let c = Coalition::new();
    for (i, root) in c.roots().iter().enumerate() {
        std::fs::write(dir.join("trust").join(format!("root-{i}.cred")), root).unwrap();
    }
    let trust = arg(&dir.join("trust"));
    let held = c.gbr_policy(2, &sample::gbr_rules());
    let twin = c.gbr_policy(2, &sample::gbr_rules()[..1]);
    let older = c.gbr_policy(1, &sample::gbr_rules());
    let equivocation = evidence_file(&dir.join("e"), Conflict::Equivocation, &held, &twin);
    let rollback = evidence_file(&dir.join("r"), Conflict::Rollback, &held, &older);
    let said = ok(&[
        "verify-evidence",
        "--trust",
        &trust,
        &equivocation,
        &rollback,
    ]);
    let signer = sample::public(&c.gbr_signer).key_id();
    assert!(
        said.contains(&format!(
            "GBR key {signer} signed two different policies 1 v2: equivocation proven"
        )),
        "{said}"
    );
    assert!(said.contains("rollback proven"), "{said}");
    // `... | head -c1`: the reader gone before the report, quiet and exit 0.
    skywave_hil_tests::assert_quiet_into_closed_pipe(
        Command::new(env!("CARGO_BIN_EXE_skywave-authority")).args([
            "verify-evidence",
            "--trust",
            &trust,
            &equivocation,
        ]),
    );
    // A file that claims more than it shows, or whose offered artifact was tampered with.
    let overclaim = evidence_file(&dir.join("o"), Conflict::Equivocation, &held, &older);
    let mut forged = twin.clone();
    *forged.last_mut().unwrap() ^= 1;
    let forged = evidence_file(&dir.join("f"), Conflict::Equivocation, &held, &forged);
    for (file, why) in [
        (
            &overclaim,
            "claims equivocation but the artifacts show rollback",
        ),
        (
            &forged,
            "not proven: the offered artifact's signature does not stand",
        ),
    ] {
        let out = auth(&["verify-evidence", "--trust", &trust, &equivocation, file]);
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(why), "{said}");
    }
}

#[test]
fn verify_into_a_closed_pipe_exits_quietly() {
    // `skywave-authority verify ... | head -c1`: the reader is gone before the report is written.
    let dir = scratch("pipe");
    let (signer, policy) = gbr(&dir);
    let trust = arg(&dir.join("trust"));
    skywave_hil_tests::assert_quiet_into_closed_pipe(
        Command::new(env!("CARGO_BIN_EXE_skywave-authority")).args([
            "verify",
            "--trust",
            &trust,
            "--now",
            "2027-01-01",
            &signer,
            &policy,
        ]),
    );
}

#[test]
fn revoke_checkpoint_summarises_the_deltas_and_a_fresh_node_takes_it_instead_of_them() {
    let dir = scratch("checkpoint");
    let (signer, policy) = gbr(&dir);
    let at = |name: &str| arg(&dir.join(name));
    let root = at("root.key.pem");
    let mut deltas = Vec::new();
    for seq in 1..=5u32 {
        let out = at(&format!("r{seq}.rev"));
        let revoked = format!("9:{seq}");
        ok(&[
            "revoke",
            "--key",
            &root,
            "--domain",
            "GBR",
            "--seq",
            &seq.to_string(),
            "--policy",
            &revoked,
            "--out",
            &out,
        ]);
        deltas.push(out);
    }
    // `revoke checkpoint --key KEY --domain GBR [EXTRA...] --out OUT FILES...`
    let checkpoint_args = |key: &str, extra: &[&str], out: &str, files: &[String]| -> Output {
        let mut args = vec!["revoke", "checkpoint", "--key", key, "--domain", "GBR"];
        args.extend(extra);
        args.extend(["--out", out]);
        args.extend(files.iter().map(String::as_str));
        auth(&args)
    };
    let checkpoint = at("gbr-5.ckpt");
    let made = checkpoint_args(&root, &[], &checkpoint, &deltas);
    assert!(made.status.success());
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(said.contains("checkpoint"), "{said}");
    // A node that holds none of the five deltas takes the checkpoint, then delta 6 follows.
    let sixth = at("r6.rev");
    ok(&[
        "revoke", "--key", &root, "--domain", "GBR", "--seq", "6", "--policy", "9:6", "--out",
        &sixth,
    ]);
    let out = verify(&dir, &[&signer, &policy, &checkpoint, &deltas[2], &sixth]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // Only the root signs a checkpoint; the delegated signer's is refused by name.
    let by_signer = at("by-signer.ckpt");
    let made = checkpoint_args(&at("signer.key.pem"), &[], &by_signer, &deltas[..1]);
    assert!(made.status.success());
    let out = verify(&dir, &[&signer, &by_signer]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("CheckpointNotByRoot"));
    // A checkpoint below a delta among its files is refused before signing.
    let out = checkpoint_args(&root, &["--seq", "2"], &at("low.ckpt"), &deltas[4..]);
    assert!(!out.status.success());
}
