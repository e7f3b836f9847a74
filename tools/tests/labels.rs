//! Labels against real SPIFs (spiffing's uk-demo, TLP, TLPX) and a synthetic NATO-kind SPIF:
//! validity (valid labels and a crafted invalid one for every rule), XML -> compact -> XML, and
//! SPIF import -> signed policy -> guard decisions equal to the SPIF and clearances applied
//! directly (property test). Prints the measurements docs/labels.md quotes:
//! `cargo test -p skywave-tools --test labels -- --nocapture`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use skywave_protocol::label::{
    self, LabelFault, MAX_COMPACT_LABEL_LEN, binding, compact, validate,
};
use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW, USA};
use skywave_protocol::policy::{
    Artifact, CategoryValue, Domain, LabelRecord, Policy, Signed, TrustStore, Verdict,
};
use skywave_tools::authority::import::{
    self, Clearance, ClearanceSource, Imported, release_by_spif,
};
use skywave_tools::authority::spif::{Spif, XmlLabel};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn spif(name: &str) -> Spif {
    Spif::load(&data(name)).unwrap()
}

const POLICY_ID: u32 = 40;
/// A spiral no sample translator starts from, so decisions rest on the imported policy alone.
const SPIRAL: u8 = 9;

fn clearances(spif: &Spif, file: Option<&str>) -> Vec<Clearance> {
    match file {
        Some(f) => ClearanceSource::load(&data(f))
            .unwrap()
            .resolve(spif)
            .unwrap(),
        None => Vec::new(),
    }
}

/// The SPIF imported as GBR's policy 40 and signed by the sample GBR policy signer.
fn signed_policy(spif: &Spif, clearances: &[Clearance]) -> Vec<u8> {
    let c = Coalition::new();
    let imported = Imported::new(spif, clearances, GBR, POLICY_ID, 1, SPIRAL).unwrap();
    let policy = imported
        .policy(sample::public(&c.gbr_signer).key_id())
        .unwrap();
    sample::sign(&c.gbr_signer, &Artifact::Policy(policy))
}

fn decoded(bytes: &[u8]) -> Policy<'_> {
    match Signed::decode(bytes).unwrap().artifact {
        Artifact::Policy(p) => p,
        other => panic!("not a policy: {other:?}"),
    }
}

fn xml(text: &str) -> XmlLabel {
    XmlLabel::parse(&format!(
        "<originatorConfidentialityLabel xmlns=\"urn:nato:stanag:4774:confidentialitymetadatalabel:1:0\">\
         <ConfidentialityInformation>{text}</ConfidentialityInformation></originatorConfidentialityLabel>"
    ))
    .unwrap()
}

fn label(policy: &str, class: &str, cats: &[(&str, &str, &[&str])]) -> XmlLabel {
    let mut text = format!(
        "<PolicyIdentifier>{policy}</PolicyIdentifier><Classification>{class}</Classification>"
    );
    for (tag, kind, values) in cats {
        text.push_str(&format!("<Category TagName=\"{tag}\" Type=\"{kind}\">"));
        for v in *values {
            text.push_str(&format!("<GenericValue>{v}</GenericValue>"));
        }
        text.push_str("</Category>");
    }
    xml(&text)
}

/// The policy's verdict on `label` (which must resolve to codes under the SPIF).
fn policy_check(spif: &Spif, policy: &[u8], label: &XmlLabel) -> Result<(), LabelFault> {
    let record = import::to_record(spif, label, GBR, POLICY_ID).unwrap();
    validate(&decoded(policy), &compact::as_label(&record))
}

#[test]
fn the_sample_spifs_parse_with_their_shapes() {
    let uk = spif("spiffing/uk-demo.xml");
    assert_eq!(uk.policy_id, "1.2.826.0.1.6726289.0.4");
    assert_eq!(
        uk.classes
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["OFFICIAL", "SECRET", "TOP SECRET"]
    );
    // Sensitive; Sensitive Descriptors restrictive and informative; Codewords restrictive and
    // informative; National Caveats.
    assert_eq!(uk.categories.len(), 6);
    assert!(spif("spiffing/tlp.xml").replace_policy);
    let tlpx = spif("spiffing/tlp-plus.xml");
    // Mandatory Data Handling's two restrictive tags are one category of four values.
    let mdh = tlpx
        .category(
            "Mandatory Data Handling",
            skywave_protocol::policy::CategoryKind::Restrictive,
        )
        .unwrap();
    assert_eq!(tlpx.categories[mdh].values.len(), 4);
    let nato = spif("nato-kind-spif.xml");
    assert_eq!(nato.classes.len(), 5);
    assert_eq!(
        nato.categories
            .iter()
            .map(|c| c.values.len())
            .sum::<usize>(),
        201
    );
    assert!(Spif::parse("<SPIF/>").is_err());
    assert!(Spif::parse("<not xml").is_err());
}

#[test]
fn the_real_4774_label_is_valid_under_the_nato_kind_spif_and_its_policy() {
    let nato = spif("nato-kind-spif.xml");
    let real = XmlLabel::load(&data("spiffing/nato-4774-17-1.nato")).unwrap();
    assert_eq!(real.policy_id.as_deref(), Some("1.3.26.1.3.1"));
    assert_eq!(nato.check(&real), Ok(()));
    let policy = signed_policy(&nato, &[]);
    assert_eq!(policy_check(&nato, &policy, &real), Ok(()));
    assert_eq!(
        nato.marking(&real),
        "NATO UNCLASSIFIED NATO, Releasable RELEASABLE TO NATO, ISAF, KFOR, RESOLUTE SUPPORT"
    );
}

#[test]
fn valid_labels_under_each_sample_spif() {
    let cases: [(&str, XmlLabel); 6] = [
        ("spiffing/uk-demo.xml", label("UK", "OFFICIAL", &[])),
        (
            "spiffing/uk-demo.xml",
            label(
                "UK",
                "OFFICIAL",
                &[
                    ("Sensitive", "RESTRICTIVE", &["SENSITIVE"]),
                    ("Sensitive Descriptors", "RESTRICTIVE", &["LOCSEN"]),
                ],
            ),
        ),
        (
            "spiffing/uk-demo.xml",
            label(
                "UK",
                "SECRET",
                &[
                    ("National Caveats", "PERMISSIVE", &["UK", "US"]),
                    ("Codewords", "RESTRICTIVE", &["OVERLORD"]),
                ],
            ),
        ),
        (
            "spiffing/tlp.xml",
            label(
                "TLP",
                "GREEN",
                &[("Additional Information", "PERMISSIVE", &["EU"])],
            ),
        ),
        (
            "spiffing/tlp-plus.xml",
            label("TLPX", "AMBER", &[("Dissemination", "PERMISSIVE", &["EU"])]),
        ),
        (
            "nato-kind-spif.xml",
            XmlLabel::load(&data("nato-kind-table17-4.xml")).unwrap(),
        ),
    ];
    for (file, l) in cases {
        let s = spif(file);
        assert_eq!(s.check(&l), Ok(()), "{file}: {l:?}");
        let policy = signed_policy(&s, &[]);
        assert_eq!(policy_check(&s, &policy, &l), Ok(()), "{file}: {l:?}");
    }
}

#[test]
fn an_invalid_label_for_every_rule_is_refused_by_spif_and_policy_alike() {
    let uk = spif("spiffing/uk-demo.xml");
    let uk_policy = signed_policy(&uk, &[]);
    let tlpx = spif("spiffing/tlp-plus.xml");
    let tlpx_policy = signed_policy(&tlpx, &[]);
    let nato = spif("nato-kind-spif.xml");
    let nato_policy = signed_policy(&nato, &[]);

    // Unknown classification and unknown value: the XML does not even resolve to codes, so
    // the policy is offered codes it does not define.
    let unknown_class = label("UK", "CONFIDENTIAL", &[]);
    assert!(
        uk.check(&unknown_class)
            .unwrap_err()
            .contains("unknown classification")
    );
    let unknown_value = label(
        "UK",
        "SECRET",
        &[("National Caveats", "PERMISSIVE", &["FR"])],
    );
    assert!(
        uk.check(&unknown_value)
            .unwrap_err()
            .contains("unknown value")
    );
    let unknown_tag = label(
        "UK",
        "SECRET",
        &[("National Caveats", "RESTRICTIVE", &["UK"])],
    );
    assert!(
        uk.check(&unknown_tag)
            .unwrap_err()
            .contains("unknown category")
    );
    let p = decoded(&uk_policy);
    let coded = |class, values: &[CategoryValue]| LabelRecord {
        domain: GBR,
        policy: POLICY_ID,
        classification: class,
        categories: heapless::Vec::from_slice(values).unwrap(),
    };
    assert_eq!(
        validate(&p, &compact::as_label(&coded(7, &[]))),
        Err(LabelFault::UnknownClassification(7))
    );
    let caveats = uk
        .category(
            "National Caveats",
            skywave_protocol::policy::CategoryKind::Permissive,
        )
        .unwrap() as u8;
    let bad = CategoryValue {
        tag: caveats,
        value: 9,
    };
    assert_eq!(
        validate(&p, &compact::as_label(&coded(4, &[bad]))),
        Err(LabelFault::UnknownValue(bad))
    );

    // excludedClass: national caveats are excluded at OFFICIAL.
    let excluded = label(
        "UK",
        "OFFICIAL",
        &[("National Caveats", "PERMISSIVE", &["UK"])],
    );
    assert!(
        uk.check(&excluded)
            .unwrap_err()
            .contains("excluded at OFFICIAL")
    );
    assert!(matches!(
        policy_check(&uk, &uk_policy, &excluded),
        Err(LabelFault::ExcludedClass { by: Some(_), .. })
    ));

    // requiredCategory on a value: SENSITIVE needs exactly one descriptor.
    let missing = label(
        "UK",
        "OFFICIAL",
        &[("Sensitive", "RESTRICTIVE", &["SENSITIVE"])],
    );
    assert!(uk.check(&missing).unwrap_err().contains("requires"));
    assert!(matches!(
        policy_check(&uk, &uk_policy, &missing),
        Err(LabelFault::RequiredCategory { by: Some(_), .. })
    ));
    let two = label(
        "UK",
        "OFFICIAL",
        &[
            ("Sensitive", "RESTRICTIVE", &["SENSITIVE"]),
            ("Sensitive Descriptors", "RESTRICTIVE", &["LOCSEN"]),
            ("Sensitive Descriptors", "INFORMATIVE", &["PERSONAL"]),
        ],
    );
    assert!(uk.check(&two).is_err());
    assert!(matches!(
        policy_check(&uk, &uk_policy, &two),
        Err(LabelFault::RequiredCategory { .. })
    ));
    // requiredCategory on a classification: TLPX AMBER needs a Dissemination value.
    let amber = label("TLPX", "AMBER", &[]);
    assert!(tlpx.check(&amber).unwrap_err().contains("AMBER requires"));
    assert!(matches!(
        policy_check(&tlpx, &tlpx_policy, &amber),
        Err(LabelFault::RequiredCategory { by: None, .. })
    ));

    // excludedCategory: an Only value excludes every Releasable To value.
    let only = label(
        "NATO",
        "SECRET",
        &[
            ("Releasable To", "PERMISSIVE", &["NATO"]),
            ("Only", "PERMISSIVE", &["USA"]),
        ],
    );
    assert!(nato.check(&only).unwrap_err().contains("excludes"));
    assert!(matches!(
        policy_check(&nato, &nato_policy, &only),
        Err(LabelFault::ExcludedCategory { .. })
    ));

    // single selection: Administrative, and uk-demo's informative descriptors.
    let admin = label(
        "NATO",
        "SECRET",
        &[("Administrative", "INFORMATIVE", &["STAFF", "MEDICAL"])],
    );
    assert!(nato.check(&admin).unwrap_err().contains("single"));
    assert!(matches!(
        policy_check(&nato, &nato_policy, &admin),
        Err(LabelFault::SingleSelection { .. })
    ));
    let descriptors = label(
        "UK",
        "OFFICIAL",
        &[
            ("Sensitive", "RESTRICTIVE", &["SENSITIVE"]),
            (
                "Sensitive Descriptors",
                "INFORMATIVE",
                &["COMMERCIAL", "PERSONAL"],
            ),
        ],
    );
    assert!(uk.check(&descriptors).unwrap_err().contains("single"));
    assert!(matches!(
        policy_check(&uk, &uk_policy, &descriptors),
        Err(LabelFault::SingleSelection { .. })
    ));

    // Another policy's label.
    let real = XmlLabel::load(&data("spiffing/nato-4774-17-1.nato")).unwrap();
    assert!(uk.check(&real).unwrap_err().contains("not this SPIF's"));
}

fn normalised(spif: &Spif, l: &XmlLabel) -> XmlLabel {
    import::from_record(spif, &import::to_record(spif, l, GBR, 1).unwrap()).unwrap()
}

#[test]
fn xml_to_compact_to_xml_round_trips() {
    let nato = spif("nato-kind-spif.xml");
    for file in ["spiffing/nato-4774-17-1.nato", "nato-kind-table17-4.xml"] {
        let original = XmlLabel::load(&data(file)).unwrap();
        let record = import::to_record(&nato, &original, GBR, POLICY_ID).unwrap();
        let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
        let len = compact::encode(&compact::as_label(&record), &mut out).unwrap();
        let back = import::from_record(&nato, &compact::decode(&out[..len]).unwrap()).unwrap();
        let reparsed = XmlLabel::parse(&back.to_xml()).unwrap();
        assert_eq!(reparsed, back);
        assert_eq!(back, normalised(&nato, &original), "{file}");
        println!("compact_label_bytes {file}: {len}");
    }
    // The real label comes back with the same values in the same order; only its categories
    // come in the SPIF's order.
    let real = XmlLabel::load(&data("spiffing/nato-4774-17-1.nato")).unwrap();
    let mut back = normalised(&nato, &real);
    let mut sorted = real.clone();
    for l in [&mut back, &mut sorted] {
        l.categories.sort_by(|a, b| a.tag_name.cmp(&b.tag_name));
    }
    assert_eq!(back, sorted);
}

#[test]
fn measurements_binding_and_imported_policy_bytes() {
    let nato = spif("nato-kind-spif.xml");
    let table17 = XmlLabel::load(&data("nato-kind-table17-4.xml")).unwrap();
    let record = import::to_record(&nato, &table17, GBR, POLICY_ID).unwrap();
    assert_eq!(record.categories.len(), 6);
    let mut compact_label = [0u8; MAX_COMPACT_LABEL_LEN];
    let label_len = compact::encode(&compact::as_label(&record), &mut compact_label).unwrap();
    let ends = binding::Endpoints {
        source: 0x0101,
        source_sap: 17,
        destination: 0x0202,
        destination_sap: 17,
    };
    let mut out = [0u8; binding::MAX_BINDING_LEN];
    let key = sample::key(70);
    // A sequence number after a year of traffic (two varint bytes up to 16,383).
    let len = binding::seal(
        &key,
        10_000,
        &compact_label[..label_len],
        b"data",
        &ends,
        &mut out,
    )
    .unwrap();
    println!(
        "label_binding_bytes (ADatP-4774 Table 17 example 4 shape, 3 categories, 6 values): {len} (compact label {label_len})"
    );
    assert!(len <= 100, "{len}");

    let cleared = clearances(&nato, Some("nato-kind-clearances.toml"));
    let policy = signed_policy(&nato, &cleared);
    println!(
        "nato_kind_policy_bytes (5 classes, 201 values, 2 clearances): {}",
        policy.len()
    );
    assert!(policy.len() <= skywave_protocol::policy::MAX_ARTIFACT_LEN);
    for file in [
        "spiffing/uk-demo.xml",
        "spiffing/tlp.xml",
        "spiffing/tlp-plus.xml",
    ] {
        println!(
            "{file} policy bytes: {}",
            signed_policy(&spif(file), &[]).len()
        );
    }
}

/// A store holding the sample coalition and `policy`.
fn store_with(policy: &[u8]) -> Box<TrustStore> {
    let mut store = Box::new(Coalition::new().store().unwrap());
    store.admit(policy, Some(NOW)).unwrap();
    store
}

/// A random label under `spif`: a classification and up to 6 values from any categories.
fn arb_label(spif: Spif) -> impl Strategy<Value = XmlLabel> {
    let classes = spif.classes.len();
    let values: Vec<(usize, usize)> = spif
        .categories
        .iter()
        .enumerate()
        .flat_map(|(c, cat)| (0..cat.values.len()).map(move |v| (c, v)))
        .collect();
    let n = values.len();
    (0..classes, prop::collection::btree_set(0..n, 0..6)).prop_map(move |(class, picked)| {
        let mut cats: Vec<skywave_tools::authority::spif::XmlCategory> = Vec::new();
        for i in picked {
            let (c, v) = values[i];
            let category = &spif.categories[c];
            let name = category.values[v].name.clone();
            match cats
                .iter_mut()
                .find(|x| x.tag_name == category.tag_set && x.kind == category.kind)
            {
                Some(x) => x.values.push(name),
                None => cats.push(skywave_tools::authority::spif::XmlCategory {
                    tag_name: category.tag_set.clone(),
                    kind: category.kind,
                    values: vec![name],
                }),
            }
        }
        XmlLabel {
            policy_name: spif.policy_name.clone(),
            policy_id: Some(spif.policy_id.clone()),
            classification: spif.classes[class].name.clone(),
            categories: cats,
        }
    })
}

fn audiences() -> impl Strategy<Value = Domain> {
    prop::sample::select(vec![GBR, USA, sample::AUS, Domain(*b"NZL")])
}

/// A SPIF, its clearances, and a store holding the imported policy.
type Fixture = (Spif, Vec<Clearance>, Box<TrustStore>);

fn same_decisions(
    file: &str,
    clearance_file: Option<&str>,
    label: XmlLabel,
    audience: Domain,
) -> Result<(), TestCaseError> {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, Fixture>> = Default::default();
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let (s, cleared, store) = cache.entry(file.to_owned()).or_insert_with(|| {
            let s = spif(file);
            let cleared = clearances(&s, clearance_file);
            let store = store_with(&signed_policy(&s, &cleared));
            (s, cleared, store)
        });
        let direct = release_by_spif(s, cleared, GBR, &label, audience);
        let record = import::to_record(s, &label, GBR, POLICY_ID).unwrap();
        let decision = label::decide(&**store, &compact::as_label(&record), audience, Some(NOW));
        prop_assert!(decision.lineage.home.is_some());
        let released = decision.verdict == Verdict::Release;
        prop_assert_eq!(
            direct.clone().unwrap_or(false),
            released,
            "label {:?} to {}: SPIF says {:?}, policy says {:?}",
            label,
            audience,
            direct,
            decision.verdict
        );
        if direct.is_err() {
            prop_assert!(matches!(
                decision.verdict,
                Verdict::Deny(skywave_protocol::policy::DenyReason::InvalidLabel(_))
            ));
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nato_kind_import_decides_as_the_spif_and_clearances_do(
        label in arb_label(spif("nato-kind-spif.xml")),
        audience in audiences(),
    ) {
        same_decisions("nato-kind-spif.xml", Some("nato-kind-clearances.toml"), label, audience)?;
    }

    #[test]
    fn uk_demo_import_decides_as_the_spif_and_clearances_do(
        label in arb_label(spif("spiffing/uk-demo.xml")),
        audience in audiences(),
    ) {
        same_decisions("spiffing/uk-demo.xml", Some("uk-demo-clearances.toml"), label, audience)?;
    }
}

#[test]
fn the_table17_label_goes_to_usa_not_to_aus_and_the_guard_says_why() {
    let nato = spif("nato-kind-spif.xml");
    let cleared = clearances(&nato, Some("nato-kind-clearances.toml"));
    let store = store_with(&signed_policy(&nato, &cleared));
    let table17 = XmlLabel::load(&data("nato-kind-table17-4.xml")).unwrap();
    let record = import::to_record(&nato, &table17, GBR, POLICY_ID).unwrap();
    let to_usa = label::decide(&*store, &compact::as_label(&record), USA, Some(NOW));
    assert_eq!(to_usa.verdict, Verdict::Release);
    assert_eq!(to_usa.lineage.home.unwrap().id, POLICY_ID);
    let to_aus = label::decide(&*store, &compact::as_label(&record), sample::AUS, Some(NOW));
    // ATOMAL (restrictive) is cleared for USA only.
    assert!(matches!(
        to_aus.verdict,
        Verdict::Deny(skywave_protocol::policy::DenyReason::Restricted(_))
    ));
    assert_eq!(
        release_by_spif(&nato, &cleared, GBR, &table17, sample::AUS),
        Ok(false)
    );
}
