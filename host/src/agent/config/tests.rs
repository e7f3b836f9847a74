use super::*;
use skywave_protocol::policy::Table;

/// examples/node.toml as shipped, and with its commented-out links switched on: every
/// option it shows must be one the agent takes.
#[test]
fn the_example_configuration_parses_with_every_option() {
    let text = include_str!("../../../../examples/node.toml");
    let shipped = AgentConfig::parse_full(text, Path::new("/etc/skywave")).unwrap();
    assert_eq!(shipped.agent.links.len(), 1);
    assert!(shipped.agent.group_access && shipped.sis.is_some());
    let options = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let every = AgentConfig::parse_full(&options, Path::new("/etc/skywave")).unwrap();
    let names: Vec<&str> = every.agent.links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["hf1", "soft", "stack"]);
    assert_eq!(every.agent.rooms.len(), 1);
    assert_eq!(every.agent.inbox_max, 5000);
    let guard = every.agent.guard.unwrap();
    assert_eq!(guard.key, Path::new("/etc/skywave/node-12.pem"));
    assert_eq!(
        guard.saps,
        [
            GuardSap {
                sap: 5,
                label: SapLabel::Default("/etc/skywave/secret.xml".into()),
                policy: Some("GBR:40".parse().unwrap()),
                spif: Some("/etc/skywave/nato.xml".into()),
            },
            GuardSap {
                sap: 6,
                label: SapLabel::Envelope,
                policy: None,
                spif: None,
            }
        ]
    );
}

#[test]
fn guard_errors_name_the_field() {
    let guard = |saps: &str| {
        AgentConfig::parse(
            &format!("{GOOD}[guard]\nkey = \"k.pem\"\n{saps}"),
            Path::new("/etc/skywave"),
        )
    };
    assert!(guard("").unwrap().guard.unwrap().saps.is_empty());
    for (saps, want) in [
        (
            "[[guard.sap]]\nsap = 16\nenvelope = true\n",
            "guard.sap[0].sap: 16 is not",
        ),
        (
            "[[guard.sap]]\nsap = 13\nenvelope = true\n",
            "guard.sap[0].sap: 13 is Skywave",
        ),
        (
            "[[guard.sap]]\nsap = 5\nenvelope = true\n[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\n",
            "guard.sap[1].sap: 5 is guarded twice",
        ),
        (
            "[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\n",
            "guard.sap[0].policy: a label needs its policy",
        ),
        (
            "[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\npolicy = \"GBR-40\"\n",
            "guard.sap[0].policy: \"GBR-40\" is not DOMAIN:ID",
        ),
        (
            "[[guard.sap]]\nsap = 5\nenvelope = true\nspif = \"s.xml\"\n",
            "guard.sap[0].spif: a SPIF needs policy",
        ),
        ("[[guard.sap]]\nsap = 5\n", "guard.sap[0]: give exactly one"),
        (
            "[[guard.sap]]\nsap = 5\nenvelope = true\nlabel = \"l.xml\"\n",
            "guard.sap[0]: give exactly one",
        ),
    ] {
        let e = guard(saps).unwrap_err();
        assert!(e.starts_with(want), "{saps}: {e}");
    }
}

/// The sample coalition's roots in a trust store, as `skywave run` loads them.
fn sample_trust() -> TrustStore {
    let coalition = skywave_protocol::policy::sample::Coalition::new();
    let mut trust = TrustStore::new();
    for root in coalition.roots() {
        trust.add_root(&root, None).unwrap();
    }
    trust
}

fn with_rooms(rooms: &str) -> Result<AgentConfig, String> {
    AgentConfig::parse(&format!("{GOOD}{rooms}"), Path::new("/etc/skywave"))
}

#[test]
fn rooms_set_what_they_name_and_leave_the_rest_at_the_share() {
    let config = with_rooms(
        "[[room]]\ndomain = \"GBR\"\npolicies = 80\n\n[[room]]\ndomain = \"AUS\"\nrevoked = 8\n",
    )
    .unwrap();
    let mut trust = sample_trust();
    let share = trust.room(Domain::new("GBR").unwrap());
    apply_rooms(&config, &mut trust).unwrap();
    let gbr = trust.room(Domain::new("GBR").unwrap());
    assert_eq!(gbr.policies, 80);
    assert_eq!(gbr.credentials, share.credentials);
    let aus = trust.room(Domain::new("AUS").unwrap());
    assert_eq!(aus.revoked, 8);
    // USA has no room set: it shares what the two set rooms leave.
    let usa = trust.room(Domain::new("USA").unwrap());
    assert_eq!(
        usa.policies,
        trust.capacity(Table::Policies) - 80 - aus.policies
    );
}

#[test]
fn a_room_the_operator_gets_wrong_is_refused_with_its_section() {
    for (rooms, expected) in [
        (
            "[[room]]\ndomain = \"gbr\"\n",
            "room[0].domain: \"gbr\" is not",
        ),
        (
            "[[room]]\ndomain = \"GBR\"\n[[room]]\ndomain = \"GBR\"\n",
            "room[1].domain: GBR has a room already",
        ),
        (
            "[[room]]\ndomain = \"GBR\"\npolicy = 3\n",
            "unknown field `policy`",
        ),
        ("[[room]]\npolicies = 3\n", "missing field `domain`"),
    ] {
        let e = with_rooms(rooms).unwrap_err();
        assert!(e.contains(expected), "{rooms:?}: {e}");
    }
    let mut trust = sample_trust();
    let unknown = with_rooms("[[room]]\ndomain = \"FRA\"\n").unwrap();
    let e = apply_rooms(&unknown, &mut trust).unwrap_err();
    assert_eq!(
        e,
        "room[0] (FRA).domain: no root of FRA in the trust directory"
    );
    let too_big = with_rooms(
        "[[room]]\ndomain = \"GBR\"\npolicies = 100\n[[room]]\ndomain = \"USA\"\npolicies = 100\n",
    )
    .unwrap();
    let e = apply_rooms(&too_big, &mut trust).unwrap_err();
    assert!(
        e.starts_with("room[1] (USA): with the rooms before it, more Policies"),
        "{e}"
    );
}

const GOOD: &str = r#"
[node]
address = "0.0.0.12"
trust = "trust"

[[link]]
name = "hf1"
neighbours = ["0.0.0.13", 14]
modem = { bit_rate = 2400 }
serial = { device = "/dev/ttyUSB0", baud = 9600 }

[[link]]
name = "lab"
modem = { bit_rate = 9600, turnaround_ms = 150 }
udp = { bind = "127.0.0.1:15066", peer = "127.0.0.1:15067" }
"#;

#[test]
fn a_full_configuration_parses() {
    let c = AgentConfig::parse(GOOD, Path::new("/etc/skywave")).unwrap();
    assert_eq!(c.address, Address::new(12).unwrap());
    assert_eq!(c.sap, DEFAULT_SAP);
    assert_eq!(c.trust, PathBuf::from("/etc/skywave/trust"));
    assert_eq!(c.store, PathBuf::from("/etc/skywave/skywave.db"));
    assert_eq!(c.socket, PathBuf::from("/etc/skywave/skywave.sock"));
    assert_eq!(c.links.len(), 2);
    assert_eq!(
        c.links[0].neighbours,
        [Address::new(13).unwrap(), Address::new(14).unwrap()]
    );
    assert_eq!(c.links[1].modem.turnaround, Duration::from_millis(150));
    assert!(matches!(c.links[1].bearer, BearerConfig::Udp(_)));
    assert!(
        !c.links[0].reset_after_link,
        "FULL RESET rides with the link request"
    );
}

#[test]
fn the_inbox_bound_is_configured_and_nonsense_is_refused() {
    let with = |max: &str| {
        AgentConfig::parse(
            &format!("{GOOD}\n[inbox]\nmax_messages = {max}\n"),
            Path::new("/etc/skywave"),
        )
    };
    let default = AgentConfig::parse(GOOD, Path::new("/etc/skywave")).unwrap();
    assert_eq!(default.inbox_max, DEFAULT_INBOX_MAX);
    assert_eq!(with("1").unwrap().inbox_max, 1);
    assert_eq!(with("1000000").unwrap().inbox_max, INBOX_MAX_LIMIT);
    for bad in ["0", "1000001", "18446744073709551615"] {
        let err = with(bad).unwrap_err();
        assert!(
            err.starts_with(&format!("inbox.max_messages: {bad} is not 1..=1000000")),
            "{err}"
        );
    }
    // Not a number at all: the parser names the line and the field.
    let err = with("-1").unwrap_err();
    assert!(
        err.contains("max_messages") && err.contains("line"),
        "{err}"
    );
}

#[test]
fn a_link_can_ask_for_the_annex_order_of_full_reset() {
    let annex = GOOD.replace(
        "modem = { bit_rate = 9600, turnaround_ms = 150 }",
        "modem = { bit_rate = 9600, turnaround_ms = 150 }\nreset_after_link = true",
    );
    let c = AgentConfig::parse(&annex, Path::new(".")).unwrap();
    assert!(c.links[1].reset_after_link && !c.links[0].reset_after_link);
    let config = crate::agent::link::hf_config(Address::new(12).unwrap(), &c.links[1], 0);
    assert!(config.reset_after_link, "the link is built with it");
}

#[test]
fn a_fixed_seed_starts_every_links_non_arq_ids_where_a_test_wants_them() {
    use crate::agent::link::first_cpdu_id;
    // Files never fix it: the IDs come from the clock and the process id there.
    let c = AgentConfig::parse(GOOD, Path::new(".")).unwrap();
    assert_eq!(c.cpdu_id_seed, None);
    // A test's seed: link i starts at seed + i, the same in every run.
    let ids: Vec<u16> = (0..3).map(|i| first_cpdu_id(Some(4094), i)).collect();
    assert_eq!(ids, [4094, 4095, 4096]);
    let address = Address::new(12).unwrap();
    let built = crate::agent::link::hf_config(address, &c.links[0], first_cpdu_id(Some(7), 0));
    assert_eq!(built.first_cpdu_id, 7);
}

#[test]
fn errors_name_the_line_and_field() {
    let typo = GOOD.replace("baud = 9600", "bauds = 9600");
    let err = AgentConfig::parse(&typo, Path::new(".")).unwrap_err();
    assert!(err.contains("line 10") && err.contains("bauds"), "{err}");
    let bad_rate = GOOD.replace("bit_rate = 9600", "bit_rate = 19200");
    let err = AgentConfig::parse(&bad_rate, Path::new(".")).unwrap_err();
    assert_eq!(err, "link[1] (lab).modem.bit_rate: 19200 is not 75..=9600");
    let bad_addr = GOOD.replace("\"0.0.0.13\"", "\"0.0.300.13\"");
    let err = AgentConfig::parse(&bad_addr, Path::new(".")).unwrap_err();
    assert!(err.starts_with("link[0] (hf1).neighbours[0]:"), "{err}");
    let both = GOOD.replace(
        "serial = { device",
        "udp = { bind = \"127.0.0.1:1\", peer = \"127.0.0.1:2\" }\nserial = { device",
    );
    let err = AgentConfig::parse(&both, Path::new(".")).unwrap_err();
    assert_eq!(err, "link[0] (hf1): give exactly one of serial, udp or sis");
}

#[test]
fn sis_server_and_sis_links_parse_and_errors_name_the_field() {
    let with_sis = format!(
        "{GOOD}\n[[link]]\nname = \"stack\"\nsis = {{ server = \"10.0.0.5:5066\", sap = 14 }}\n\n[sis]\nmax_clients = 4\n"
    );
    let full = AgentConfig::parse_full(&with_sis, Path::new(".")).unwrap();
    let sis = full.sis.unwrap();
    assert_eq!(sis.listen, "127.0.0.1:5066".parse().unwrap());
    assert_eq!(sis.max_clients, 4);
    let BearerConfig::Sis(b) = &full.agent.links[2].bearer else {
        panic!("not a sis link");
    };
    assert_eq!((b.server.as_str(), b.sap), ("10.0.0.5:5066", 14));
    assert!(
        AgentConfig::parse_full(GOOD, Path::new("."))
            .unwrap()
            .sis
            .is_none()
    );
    let bad_sap = with_sis.replace("sap = 14", "sap = 16");
    let err = AgentConfig::parse(&bad_sap, Path::new(".")).unwrap_err();
    assert_eq!(err, "link[2] (stack).sis.sap: 16 is not a SAP ID (0..=15)");
    let bad_listen = with_sis.replace("max_clients = 4", "listen = \"localhost\"");
    let err = AgentConfig::parse(&bad_listen, Path::new(".")).unwrap_err();
    assert!(err.contains("line 22") && err.contains("listen"), "{err}");
    let no_clients = with_sis.replace("max_clients = 4", "max_clients = 0");
    let err = AgentConfig::parse(&no_clients, Path::new(".")).unwrap_err();
    assert_eq!(err, "sis.max_clients: must be at least 1");
    let no_modem = GOOD.replace("modem = { bit_rate = 2400 }\n", "");
    let err = AgentConfig::parse(&no_modem, Path::new(".")).unwrap_err();
    assert_eq!(err, "link[0] (hf1): missing field `modem`");
}

#[test]
fn load_names_the_file() {
    let err = AgentConfig::load(Path::new("/nonexistent/node.toml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/node.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn addresses_parse_dotted_or_plain() {
    assert_eq!(parse_address("0.0.1.44").unwrap().value(), 300);
    assert_eq!(parse_address("300").unwrap().value(), 300);
    assert!(parse_address("16.0.0.0").is_err());
    assert!(parse_address("1.2.3").is_err());
}
