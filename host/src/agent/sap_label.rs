//! Labels for the SIS clients of guarded SAPs (`[[guard.sap]]`): the default label compacted
//! once at start, and the labelled envelope's label read per message.
//!
//! The guard decides on the compact form only (`skywave_protocol::label::compact`), which
//! carries codes: the policy's domain and id, a classification code, and (tag, LACV) pairs. A
//! 4774 XML label carries names. Turning one into the other needs the names' codes: the SPIF's
//! (`spif = ...`, which also checks the label the way `skywave label check --spif` does), or the
//! admitted policy's (classification and category names; values then written as LACVs). The
//! policy named (`policy = "GBR:40"`) gives the domain and id; when it is admitted, the label
//! is also checked against it, the check the guard makes, so a label the guard would refuse as
//! invalid stops the agent at start (and `skywave check-config`) instead of every message.

use skywave_protocol::label::compact;
use skywave_protocol::label::envelope::{Envelope, EnvelopeError, LabelForm};
use skywave_protocol::label::{MAX_COMPACT_LABEL_LEN, validate};
use skywave_protocol::policy::{Artifact, LabelRecord, Policy, Signed, TrustStore};

use super::config::{GuardSap, GuardSettings, PolicyName, SapLabel};
use crate::spif::{Spif, XmlLabel, import};

/// How a guarded SAP's client data gets its compact label.
#[derive(Clone, Debug)]
pub enum SapRule {
    /// Every U_PDU is data, labelled with this compact label.
    Default(Vec<u8>),
    /// Every U_PDU is a labelled envelope; an XML label in one is read with `xml`.
    Envelope {
        /// The policy (and SPIF) XML labels are read under; `None`: compact labels only.
        xml: Option<XmlReader>,
    },
}

/// What reading an XML label needs: the policy it is under, and the SPIF if configured.
#[derive(Clone, Debug)]
pub struct XmlReader {
    policy: PolicyName,
    spif: Option<Spif>,
}

/// Why a client's envelope gives no compact label.
#[derive(Debug)]
pub enum EnvelopeRefusal {
    /// The envelope's framing is wrong.
    Malformed(EnvelopeError),
    /// The label is not a compact label, or an XML label that does not read or resolve.
    Label(String),
}

impl std::fmt::Display for EnvelopeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeRefusal::Malformed(e) => write!(f, "envelope: {e}"),
            EnvelopeRefusal::Label(e) => write!(f, "envelope label: {e}"),
        }
    }
}

/// The newest admitted version of policy `name` in `trust`.
pub fn admitted_policy(trust: &TrustStore, name: PolicyName) -> Option<Policy<'_>> {
    trust
        .artifacts()
        .filter_map(|bytes| match Signed::decode(bytes) {
            Ok(Signed {
                artifact: Artifact::Policy(p),
                ..
            }) if p.domain == name.domain && p.id == name.id => Some(p),
            _ => None,
        })
        .max_by_key(|p| p.version)
}

/// The compact form of `label` under policy `name`: through `spif` when given, else through
/// the admitted policy in `trust`; checked against the admitted policy when there is one.
pub fn compact_xml(
    name: PolicyName,
    spif: Option<&Spif>,
    trust: Option<&TrustStore>,
    label: &XmlLabel,
) -> Result<Vec<u8>, String> {
    let policy = trust.and_then(|t| admitted_policy(t, name));
    let record: LabelRecord = match (spif, &policy) {
        (Some(spif), _) => {
            spif.check(label)
                .map_err(|r| format!("not valid under the SPIF: {r}"))?;
            import::to_record(spif, label, name.domain, name.id).map_err(|e| format!("{e:#}"))?
        }
        (None, Some(p)) => crate::label::record(p, None, label)?,
        (None, None) => {
            return Err(format!(
                "policy {name} is not admitted, and without spif = ... only it can name the \
                 label's codes"
            ));
        }
    };
    if let Some(p) = &policy {
        validate(p, &compact::as_label(&record)).map_err(|f| {
            format!(
                "not valid under admitted policy {name} v{}: {}",
                p.version,
                crate::label::describe(p, spif, f)
            )
        })?;
    }
    let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
    let len = compact::encode(&compact::as_label(&record), &mut out).map_err(|e| e.to_string())?;
    Ok(out.get(..len).unwrap_or_default().to_vec())
}

/// Each guarded SAP's rule: default labels read and compacted, SPIFs loaded. Errors name the
/// section and field (`guard.sap[0].label: ...`). `trust` is the node's, with what it has
/// admitted (`None` where there is none, as in a check without a store).
pub fn rules(
    settings: &GuardSettings,
    trust: Option<&TrustStore>,
) -> Result<Vec<(u8, SapRule)>, String> {
    settings
        .saps
        .iter()
        .enumerate()
        .map(|(i, sap)| rule(i, sap, trust).map(|r| (sap.sap, r)))
        .collect()
}

fn rule(index: usize, sap: &GuardSap, trust: Option<&TrustStore>) -> Result<SapRule, String> {
    let at = format!("guard.sap[{index}]");
    let spif = sap
        .spif
        .as_deref()
        .map(Spif::load)
        .transpose()
        .map_err(|e| format!("{at}.spif: {e:#}"))?;
    match (&sap.label, sap.policy) {
        (SapLabel::Default(path), Some(name)) => {
            let label = XmlLabel::load(path).map_err(|e| format!("{at}.label: {e:#}"))?;
            compact_xml(name, spif.as_ref(), trust, &label)
                .map(SapRule::Default)
                .map_err(|e| format!("{at}.label: {}: {e}", path.display()))
        }
        (SapLabel::Default(_), None) => Err(format!("{at}.policy: missing")),
        (SapLabel::Envelope, policy) => Ok(SapRule::Envelope {
            xml: policy.map(|policy| XmlReader { policy, spif }),
        }),
    }
}

impl SapRule {
    /// The compact label and the data of a client's U_PDU under this rule.
    pub fn label<'u>(
        &self,
        updu: &'u [u8],
        trust: &TrustStore,
    ) -> Result<(Vec<u8>, &'u [u8]), EnvelopeRefusal> {
        let xml = match self {
            SapRule::Default(label) => return Ok((label.clone(), updu)),
            SapRule::Envelope { xml } => xml,
        };
        let envelope = Envelope::parse(updu).map_err(EnvelopeRefusal::Malformed)?;
        let label = match envelope.form {
            LabelForm::Compact => {
                // Decoded here so a bad one is refused as the envelope's fault.
                compact::decode(envelope.label)
                    .map_err(|e| EnvelopeRefusal::Label(e.to_string()))?;
                envelope.label.to_vec()
            }
            LabelForm::Xml => {
                let Some(reader) = xml else {
                    return Err(EnvelopeRefusal::Label(
                        "an XML label on a SAP with no policy = ... to read it under".into(),
                    ));
                };
                let text = std::str::from_utf8(envelope.label)
                    .map_err(|_| EnvelopeRefusal::Label("XML label not UTF-8".into()))?;
                let label =
                    XmlLabel::parse(text).map_err(|e| EnvelopeRefusal::Label(format!("{e:#}")))?;
                compact_xml(reader.policy, reader.spif.as_ref(), Some(trust), &label)
                    .map_err(EnvelopeRefusal::Label)?
            }
        };
        Ok((label, envelope.data))
    }
}

/// The envelope a client on an envelope SAP is handed: the compact label the receiving guard
/// released the data under, then the data.
pub fn wrap(label: &[u8], data: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let envelope = Envelope {
        form: LabelForm::Compact,
        label,
        data,
    };
    let mut out = vec![0u8; envelope.len()];
    envelope.write(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use skywave_protocol::policy::sample::Coalition;

    use super::*;

    /// A label in the sample GBR policy's names (values as LACVs: no SPIF).
    fn xml(classification: &str) -> XmlLabel {
        XmlLabel::parse(&format!(
            "<originatorConfidentialityLabel \
             xmlns=\"urn:nato:stanag:4774:confidentialitymetadatalabel:1:0\">\
             <ConfidentialityInformation><PolicyIdentifier>national</PolicyIdentifier>\
             <Classification>{classification}</Classification>\
             <Category TagName=\"OPERATION\" Type=\"PERMISSIVE\">\
             <GenericValue>10</GenericValue></Category>\
             </ConfidentialityInformation></originatorConfidentialityLabel>"
        ))
        .unwrap()
    }

    const GBR_1: PolicyName = PolicyName {
        domain: skywave_protocol::policy::sample::GBR,
        id: 1,
    };

    #[test]
    fn a_label_compacts_through_the_admitted_policy_or_says_why_not() {
        let trust = Coalition::new().store().unwrap();
        // SECRET (3), operation TELIC (tag 2, LACV 10), as docs/sis.md's example shows it.
        let telic = compact_xml(GBR_1, None, Some(&trust), &xml("SECRET")).unwrap();
        assert_eq!(
            telic,
            [0x01, 0x47, 0x42, 0x52, 0x01, 0x03, 0x01, 0x02, 0x0a]
        );
        let e = compact_xml(GBR_1, None, Some(&trust), &xml("CONFIDENTIAL")).unwrap_err();
        assert!(e.contains("unknown classification"), "{e}");
        let gbr_9 = PolicyName { id: 9, ..GBR_1 };
        let e = compact_xml(gbr_9, None, Some(&trust), &xml("SECRET")).unwrap_err();
        assert!(e.starts_with("policy GBR:9 is not admitted"), "{e}");
        let e = compact_xml(GBR_1, None, None, &xml("SECRET")).unwrap_err();
        assert!(e.starts_with("policy GBR:1 is not admitted"), "{e}");
    }

    #[test]
    fn a_default_label_that_does_not_compact_names_its_section() {
        let dir = tempfile::tempdir().unwrap();
        let label = dir.path().join("l.xml");
        std::fs::write(&label, "<not-a-label/>").unwrap();
        let settings = GuardSettings {
            key: Path::new("k.pem").into(),
            saps: vec![
                GuardSap {
                    sap: 6,
                    label: SapLabel::Envelope,
                    policy: None,
                    spif: None,
                },
                GuardSap {
                    sap: 5,
                    label: SapLabel::Default(label),
                    policy: Some(GBR_1),
                    spif: None,
                },
            ],
        };
        let trust = Coalition::new().store().unwrap();
        let e = rules(&settings, Some(&trust)).unwrap_err();
        assert!(e.starts_with("guard.sap[1].label: "), "{e}");
    }

    #[test]
    fn an_envelope_gives_its_label_and_data_or_a_refusal() {
        let trust = Coalition::new().store().unwrap();
        let telic = compact_xml(GBR_1, None, Some(&trust), &xml("SECRET")).unwrap();
        let compact_only = SapRule::Envelope { xml: None };
        let envelope = wrap(&telic, b"data").unwrap();
        let (label, data) = compact_only.label(&envelope, &trust).unwrap();
        assert_eq!((label, data), (telic.clone(), &b"data"[..]));
        // An XML label where none can be read, a bad compact label, a bad frame.
        let body = "<originatorConfidentialityLabel \
                    xmlns=\"urn:nato:stanag:4774:confidentialitymetadatalabel:1:0\">\
                    <ConfidentialityInformation><PolicyIdentifier>national</PolicyIdentifier>\
                    <Classification>SECRET</Classification></ConfidentialityInformation>\
                    </originatorConfidentialityLabel>";
        let form = Envelope {
            form: LabelForm::Xml,
            label: body.as_bytes(),
            data: b"",
        };
        let mut xml_envelope = vec![0u8; form.len()];
        form.write(&mut xml_envelope).unwrap();
        for bad in [xml_envelope.clone(), vec![1, 0, 0, 2, 0xff, 0xff], vec![1]] {
            assert!(compact_only.label(&bad, &trust).is_err(), "{bad:?}");
        }
        let reader = SapRule::Envelope {
            xml: Some(XmlReader {
                policy: GBR_1,
                spif: None,
            }),
        };
        let (label, data) = reader.label(&xml_envelope, &trust).unwrap();
        assert_eq!((label.len(), data), (7, &[][..]), "SECRET alone");
    }
}
