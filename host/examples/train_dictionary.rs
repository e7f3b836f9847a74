//! Trains the zstd dictionary `skywave-host` ships for BATCH compression and writes it to
//! `host/src/compress/artifacts-1.zdict`.
//!
//! The training set is artifact history of the kind a coalition accumulates: a few hundred
//! policy versions with varying rules, revocation deltas and translator versions, signed with
//! the sample coalition's keys. The sample coalition's own twelve artifacts (what the tests
//! measure the gain on) are left out, so the measured gain is not the dictionary remembering
//! its test. A deployment would train on its own artifact history the same way.
//!
//! Run: `cargo run -p skywave-host --example train_dictionary`.

use skywave_protocol::policy::sample::{self, Coalition, GBR, USA};
use skywave_protocol::policy::{Artifact, Revoked, SpiralRef};

const SIZE: usize = 2048;

fn main() -> std::io::Result<()> {
    let c = Coalition::new();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let rules = sample::gbr_rules();
    for v in 2..300u32 {
        let message = |artifact: Vec<u8>| [&[1u8][..], &artifact].concat();
        let n = v as usize % rules.len() + 1;
        corpus.push(message(c.gbr_policy(v, &rules[..n])));
        let entry = match v % 3 {
            0 => Revoked::Policy { id: v, version: 1 },
            1 => Revoked::Translator {
                id: v % 7,
                version: v,
            },
            _ => Revoked::Key(sample::public(&sample::key(v as u8)).key_id()),
        };
        let revocation = sample::revocation(GBR, &c.gbr_root, v, &[entry]);
        corpus.push(message(sample::sign(
            &c.gbr_root,
            &Artifact::Revocation(revocation),
        )));
        if v % 4 == 0 {
            let spiral = |domain, spiral| SpiralRef { domain, spiral };
            let t = sample::translator(&c.gbr_usa_liaison, 1, v, spiral(GBR, 4), spiral(USA, 5), 7);
            corpus.push(message(sample::sign(
                &c.gbr_usa_liaison,
                &Artifact::Translator(t),
            )));
        }
    }
    let samples: Vec<&[u8]> = corpus.iter().map(Vec::as_slice).collect();
    let dictionary = zstd::dict::from_samples(&samples, SIZE)?;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/compress/artifacts-1.zdict"
    );
    std::fs::write(path, &dictionary)?;
    println!(
        "trained a {} B dictionary on {} artifacts ({} B) into {path}",
        dictionary.len(),
        corpus.len(),
        corpus.iter().map(Vec::len).sum::<usize>()
    );
    Ok(())
}
