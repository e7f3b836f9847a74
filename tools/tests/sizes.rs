//! The size table of docs/policy.md: bytes per artifact kind as payload and on the air as one
//! STANAG 5066 D_PDU, beside the same content as a COSE_Sign1 (RFC 9052). Prints the table with
//! `cargo test -p skywave-tools --test sizes -- --nocapture`, and holds the targets.

use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
use skywave_protocol::policy::sample::{self, AUS, Coalition, GBR, gbr};
use skywave_protocol::policy::{Artifact, MAX_ARTIFACT_LEN, Revoked, Signed, encoding};
use skywave_protocol::wire::{Address, Body, Dpdu, Eow, MAX_DPDU_LEN, NonArqData};

/// The DATA S_PDU header without time-to-die (3 bytes) and the C_PDU header (1 byte), as
/// protocol::link lays them out.
const SPDU_CPDU_HEADERS: usize = 3 + 1;

/// Bytes on the air for `payload` as one non-ARQ D_PDU between two 4-nibble node addresses,
/// with sync, headers, header CRC-16 and data CRC-32.
fn on_air(payload_len: usize) -> usize {
    let segment = vec![0u8; payload_len + SPDU_CPDU_HEADERS];
    let dpdu = Dpdu {
        eow: Eow::default(),
        eot: 0,
        dest: Address::new(0x1234).unwrap(),
        src: Address::new(0x5678).unwrap(),
        body: Body::NonArqData(NonArqData {
            cpdu_id: 1,
            deliver_in_order: false,
            group: true,
            cpdu_size: segment.len() as u16,
            segment_offset: 0,
            reception_window: 0,
            segment: &segment,
        }),
    };
    let mut buf = [0u8; MAX_DPDU_LEN];
    dpdu.emit(&mut buf).unwrap()
}

/// The same content as a COSE_Sign1: protected header {alg: ES256, content format: one CBOR
/// byte, as our kind tag is}, the postcard body as payload, the same 64-byte signature. Untagged.
fn cose(artifact: &[u8]) -> usize {
    let signed = Signed::decode(artifact).unwrap();
    let body = signed.signed[2..].to_vec();
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        // A one-byte CoAP content-format number stands in for our kind tag (1..=5).
        .content_format(iana::CoapContentFormat::TextPlainUtf8)
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(body)
        .signature(signed.signature.to_vec())
        .build()
        .to_vec()
        .unwrap()
        .len()
}

#[test]
fn size_table() {
    let c = Coalition::new();
    let artifacts = c.artifacts();
    let mut rules = sample::gbr_rules().to_vec();
    rules.push(sample::rule(gbr::SECRET, Some(gbr::OP_TELIC), &[AUS]));
    let base = c.gbr_policy(1, &sample::gbr_rules());
    let result = c.gbr_policy(2, &rules);
    let mut buf = [0u8; MAX_ARTIFACT_LEN];
    let base_signed = Signed::decode(&base).unwrap();
    let result_signed = Signed::decode(&result).unwrap();
    let len = encoding::encode_delta(&base_signed, &result_signed, &mut buf).unwrap();
    let delta = buf[..len].to_vec();
    let revocation = sample::revocation(
        GBR,
        &c.gbr_signer,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    let revocation = sample::sign(&c.gbr_signer, &Artifact::Revocation(revocation));
    let rows = [
        ("credential", &artifacts[0]),
        ("policy (3 rules, 4 levels, 3 categories)", &artifacts[7]),
        (
            "translator (4 levels, 1 equivalence, 1 bridge)",
            &artifacts[10],
        ),
        ("revocation delta (1 entry)", &revocation),
        ("policy delta (1 added rule)", &delta),
    ];
    println!("| artifact | payload | on air (1 D_PDU) | COSE_Sign1 | COSE on air |");
    println!("|---|---:|---:|---:|---:|");
    for (name, bytes) in rows {
        let cose = cose(bytes);
        println!(
            "| {name} | {} | {} | {cose} | {} |",
            bytes.len(),
            on_air(bytes.len()),
            on_air(cose)
        );
        assert!(bytes.len() < cose, "{name}: ours is not smaller than COSE");
    }
    // The targets.
    assert!(revocation.len() <= 128);
    assert!(on_air(revocation.len()) <= 160);
    assert!(on_air(delta.len()) <= 200);
}
