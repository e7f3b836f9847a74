//! Build-time inputs of the firmware, written to `OUT_DIR`:
//!
//! - `memory.x`, where cortex-m-rt's linker script finds it;
//! - `provision.rs`: this adjunct's address, SAP, radio neighbours, modem timing and trust roots,
//!   read from the provisioning file (`SKYWAVE_PROVISION`, default `provision/example.toml`;
//!   format in docs/firmware.md). Every root is checked here with the protocol's own
//!   `TrustStore::add_root`, so an image is never built with a root the node would refuse;
//! - `selftest_vectors.rs`: the sample coalition (protocol/src/policy/sample.rs) as bytes,
//!   with a revocation, a forgery, and the decisions the host computes for them, for the
//!   on-target self-test to compare against.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use skywave_protocol::policy::sample::{self, Coalition, GBR, USA, gbr};
use skywave_protocol::policy::{
    Artifact, Basis, CategoryValue, Decision, Label, Revoked, TrustStore, Verdict,
};
use skywave_protocol::wire::Address;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    println!("cargo:rerun-if-env-changed=SKYWAVE_PROVISION");
    let file = env::var_os("SKYWAVE_PROVISION")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("provision/example.toml"));
    let provision = match provision(&file) {
        Ok(text) => text,
        Err(e) => panic!("provisioning file {}: {e}", file.display()),
    };
    fs::write(out.join("provision.rs"), provision).expect("write provision.rs");

    fs::write(out.join("selftest_vectors.rs"), selftest_vectors()).expect("write vectors");
}

/// Reads and checks the provisioning file; returns the Rust source of the `provision` module.
fn provision(file: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", file.display());
    let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
    let doc: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let table = |name: &str| -> Result<&toml::Table, String> {
        doc.get(name)
            .and_then(toml::Value::as_table)
            .ok_or(format!("missing [{name}] table"))
    };
    let int = |t: &toml::Table, at: &str, key: &str, default: Option<i64>| -> Result<i64, String> {
        match t.get(key) {
            Some(v) => v
                .as_integer()
                .ok_or(format!("{at}.{key} is not an integer")),
            None => default.ok_or(format!("{at}.{key} is missing")),
        }
    };
    let node = table("node")?;
    let radio = table("radio")?;
    let trust = table("trust")?;

    let address = int(node, "node", "address", None)?;
    let address = u32::try_from(address)
        .ok()
        .and_then(|a| Address::new(a).ok())
        .filter(|a| *a != Address::BROADCAST)
        .ok_or(format!(
            "node.address {address} is not a unicast 5066 address"
        ))?;
    let sap = int(node, "node", "sap", Some(13))?;
    if !(0..=15).contains(&sap) {
        return Err(format!("node.sap {sap} is not 0..=15"));
    }

    let neighbours = radio
        .get("neighbours")
        .and_then(toml::Value::as_array)
        .ok_or("radio.neighbours is missing (a list of addresses)")?;
    let mut neighbour_list = Vec::new();
    for n in neighbours {
        let a = n
            .as_integer()
            .and_then(|a| u32::try_from(a).ok())
            .and_then(|a| Address::new(a).ok())
            .filter(|a| *a != Address::BROADCAST && *a != address)
            .ok_or(format!(
                "radio.neighbours: {n} is not another unicast address"
            ))?;
        neighbour_list.push(a.value());
    }
    if neighbour_list.is_empty() || neighbour_list.len() > 4 {
        return Err("radio.neighbours must name 1 to 4 neighbours".into());
    }
    let baud = int(radio, "radio", "baud", Some(115_200))?;
    if !(1200..=1_000_000).contains(&baud) {
        return Err(format!("radio.baud {baud} is not 1200..=1000000"));
    }
    let empty = toml::Table::new();
    let modem = match radio.get("modem") {
        Some(v) => v.as_table().ok_or("radio.modem is not a table")?,
        None => &empty,
    };
    let bit_rate = int(modem, "radio.modem", "bit_rate", None)?;
    if !(75..=9600).contains(&bit_rate) {
        return Err(format!("radio.modem.bit_rate {bit_rate} is not 75..=9600"));
    }
    let ms = |key, default| -> Result<u64, String> {
        let v = int(modem, "radio.modem", key, Some(default))?;
        u64::try_from(v).map_err(|_| format!("radio.modem.{key} is negative"))
    };
    let preamble = ms("preamble_ms", 600)?;
    let interleaver = ms("interleaver_ms", 600)?;
    let turnaround = ms("turnaround_ms", 200)?;
    let max_transmission = ms("max_transmission_ms", 127_000)?;
    if max_transmission > 127_500 {
        return Err("radio.modem.max_transmission_ms is above the 127500 ms EOT allows".into());
    }

    let roots = trust
        .get("roots")
        .and_then(toml::Value::as_array)
        .ok_or("trust.roots is missing (a list of root credential files)")?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut store = TrustStore::new();
    let mut root_bytes = Vec::new();
    for root in roots {
        let name = root
            .as_str()
            .ok_or("trust.roots: every entry is a file name")?;
        let path = base.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let admitted = store
            .add_root(&bytes, None)
            .map_err(|e| format!("{}: not a root credential: {e}", path.display()))?;
        if admitted.duplicate {
            return Err(format!("{}: the same root twice", path.display()));
        }
        root_bytes.push(bytes);
    }
    if root_bytes.is_empty() || root_bytes.len() > 8 {
        return Err("trust.roots must list 1 to 8 roots".into());
    }

    let mut src = String::new();
    let _ = writeln!(src, "// Generated by build.rs from {}.", file.display());
    let _ = writeln!(src, "/// The provisioning file this image was built from.");
    let _ = writeln!(
        src,
        "pub const SOURCE: &str = {:?};",
        file.display().to_string()
    );
    let _ = writeln!(src, "/// This adjunct's STANAG 5066 address.");
    let _ = writeln!(src, "pub const ADDRESS: u32 = {};", address.value());
    let _ = writeln!(src, "/// The SAP Skywave's messages travel on.");
    let _ = writeln!(src, "pub const SAP: u8 = {sap};");
    let _ = writeln!(src, "/// The neighbours reached through the radio (UART0).");
    let _ = writeln!(src, "pub const NEIGHBOURS: &[u32] = &{neighbour_list:?};");
    let _ = writeln!(src, "/// The radio UART's bit rate.");
    let _ = writeln!(src, "pub const RADIO_BAUD: u32 = {baud};");
    let _ = writeln!(
        src,
        "/// The modem's timing (the link layer plans transmissions with it)."
    );
    let _ = writeln!(
        src,
        "pub const MODEM: skywave_protocol::link::Modem = skywave_protocol::link::Modem {{ \
         bit_rate: {bit_rate}, \
         preamble: skywave_protocol::time::Duration::from_millis({preamble}), \
         interleaver: skywave_protocol::time::Duration::from_millis({interleaver}), \
         turnaround: skywave_protocol::time::Duration::from_millis({turnaround}), \
         max_transmission: skywave_protocol::time::Duration::from_millis({max_transmission}) }};"
    );
    let _ = writeln!(
        src,
        "/// The trust roots: self-signed root credentials, as issued."
    );
    let _ = writeln!(src, "pub static ROOTS: &[&[u8]] = &[");
    for bytes in &root_bytes {
        let _ = writeln!(src, "    &{bytes:?},");
    }
    let _ = writeln!(src, "];");
    let _ = writeln!(
        src,
        "/// The provisioned domains: one root each.\npub const DOMAINS: usize = {};",
        root_bytes.len()
    );
    Ok(src)
}

/// The self-test's inputs and the host's answers for them.
fn selftest_vectors() -> String {
    let c = Coalition::new();
    let roots = c.roots();
    let artifacts = c.artifacts();
    let revocation = sample::sign(
        &c.gbr_root,
        &Artifact::Revocation(sample::revocation(
            GBR,
            &c.gbr_root,
            1,
            &[Revoked::Translator { id: 1, version: 1 }],
        )),
    );
    // A GBR policy version 2 whose signature no longer matches: one bit of it flipped.
    let mut forged = c.gbr_policy(2, &sample::gbr_rules());
    if let Some(last) = forged.last_mut() {
        *last ^= 0x01;
    }

    // The decision the self-test asks at each stage, computed here on the host.
    let categories: [CategoryValue; 1] = [gbr::OP_HERRICK];
    let query = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &categories,
    };
    let mut store = TrustStore::new();
    for root in &roots {
        store.add_root(root, None).expect("sample root");
    }
    // Stage 1: the credentials and GBR's policy (the first 8 artifacts).
    let home_only = 8;
    for a in artifacts.iter().take(home_only) {
        store.admit(a, None).expect("sample artifact");
    }
    let stage1 = store.decide(&query, USA, None);
    for a in artifacts.iter().skip(home_only) {
        store.admit(a, None).expect("sample artifact");
    }
    let stage2 = store.decide(&query, USA, None);
    store.admit(&revocation, None).expect("sample revocation");
    let stage3 = store.decide(&query, USA, None);

    let mut src = String::new();
    let _ = writeln!(src, "// Generated by build.rs from the sample coalition.");
    let list = |src: &mut String, name: &str, items: &[Vec<u8>]| {
        let _ = writeln!(src, "pub static {name}: &[&[u8]] = &[");
        for bytes in items {
            let _ = writeln!(src, "    &{bytes:?},");
        }
        let _ = writeln!(src, "];");
    };
    list(&mut src, "ROOTS", &roots);
    list(&mut src, "ARTIFACTS", &artifacts);
    let _ = writeln!(src, "pub static REVOCATION: &[u8] = &{revocation:?};");
    let _ = writeln!(src, "pub static FORGED: &[u8] = &{forged:?};");
    let _ = writeln!(src, "pub const HOME_ONLY_ARTIFACTS: usize = {home_only};");
    for (name, d) in [
        ("EXPECT_HOME_ONLY", &stage1),
        ("EXPECT_TRANSLATED", &stage2),
        ("EXPECT_REVOKED", &stage3),
    ] {
        let _ = writeln!(src, "pub const {name}: Expected = {};", expected(d));
    }
    src
}

/// A decision as the self-test's `Expected` literal.
fn expected(d: &Decision) -> String {
    let verdict = match d.verdict {
        Verdict::Release => "release",
        Verdict::Deny(_) => "deny",
    };
    let basis = match d.basis {
        Basis::SameDomain => "same_domain",
        Basis::Translated => "translated",
        Basis::HomeOnly => "home_only",
        Basis::HomeOnlyTranslatorRevoked(_) => "home_only_translator_revoked",
    };
    let digest = |r: Option<&skywave_protocol::policy::ArtifactRef>| match r {
        Some(r) => format!("Some({:?})", r.digest.0),
        None => "None".to_owned(),
    };
    let spiral = match d.lineage.spiral_gap {
        Some(g) => format!("Some(({}, {}))", g.from, g.to),
        None => "None".to_owned(),
    };
    format!(
        "Expected {{ verdict: {verdict:?}, basis: {basis:?}, home: {}, translator: {}, spiral: \
         {spiral} }}",
        digest(d.lineage.home.as_ref()),
        digest(d.lineage.translator.as_ref()),
    )
}
