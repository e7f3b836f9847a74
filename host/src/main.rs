//! `skywave`: the Skywave node for expeditionary laptops, and its operator's command line.
//!
//! `skywave run --config node.toml` is the agent; `status`, `publish`, `policies` and `decide`
//! talk to a running agent over its control socket; `frames` works on D_PDU captures offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use skywave_host::agent::config::AgentConfig;
use skywave_host::agent::control::{self, DecisionJson, StatusReport, Wire};
use skywave_host::agent::status_text;
use skywave_host::cli::output::is_broken_pipe;
use skywave_host::cli::{on_agent_stack, time};
use skywave_host::outln;
use skywave_host::{audit, evidence, frames};
use skywave_protocol::codec::Hex;
use skywave_protocol::policy::{MAX_ARTIFACT_LEN, UnixTime};

/// Skywave: signed coalition policy over STANAG 5066 HF links.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum LabelCommand {
    /// Check STANAG 4774 labels (NATO XML syntax) against a SPIF, or against a signed policy
    /// (the guard's own check; value names resolve through --spif when given). One verdict
    /// line per label, with the reason for each invalid one; exit status 0 only if all are
    /// valid.
    Check {
        /// The Open XML SPIF.
        #[arg(long)]
        spif: Option<PathBuf>,
        /// A signed policy artifact (e.g. from `skywave-authority policy from-spif`).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The labels.
        #[arg(required = true)]
        labels: Vec<PathBuf>,
    },
    /// Print a label's display marking (with the SPIF's marking qualifiers when given).
    Show {
        /// The Open XML SPIF.
        #[arg(long)]
        spif: Option<PathBuf>,
        /// The label.
        label: PathBuf,
    },
    /// Print a label's compact air form, in hex, as policy ID of DOMAIN (the import's).
    Compact {
        /// The Open XML SPIF.
        #[arg(long)]
        spif: PathBuf,
        /// The policy's domain.
        #[arg(long)]
        domain: String,
        /// The policy id.
        #[arg(long)]
        id: u32,
        /// The label.
        label: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// STANAG 4774 confidentiality labels: check, show, compact.
    #[command(subcommand)]
    Label(LabelCommand),
    /// A three-nation coalition on simulated HF, in one process, told as it happens.
    Demo,
    /// Run the agent: drive the configured HF links, keep and forward signed artifacts.
    Run {
        /// The node's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How the log on stderr is written: `text` for people, `json` (one object a line)
        /// for journald or a log collector.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Check a configuration file without starting the agent: fields, trust roots, the
    /// store's and socket's directories, serial devices, conflicting settings. Exit status 0:
    /// no errors (warnings may be printed); 1: errors found; 2: the file cannot be read or
    /// parsed.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Show links, neighbours, queues and revocation state of a running agent.
    Status {
        #[command(flatten)]
        target: Target,
        /// Refresh every SECONDS (default 2) until interrupted: in place on a terminal, one
        /// report (one JSON line with --json) after another otherwise.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "2")]
        watch: Option<u64>,
    },
    /// Inject artifacts made by skywave-authority into a running agent, in the order given
    /// (a directory's files in name order, as examples/coalition/make.sh names them), one
    /// line per file; exits 1 if any was refused.
    Publish {
        #[command(flatten)]
        target: Target,
        /// Artifact files, or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the artifacts a running agent holds.
    Policies(Target),
    /// Capture a link's D_PDUs, both directions, to a pcap (link type 237) for Wireshark.
    Capture {
        #[command(flatten)]
        target: Target,
        /// The link's name, as in the configuration.
        #[arg(long)]
        link: String,
        /// The pcap file to write (a path the agent can write to).
        #[arg(long, value_name = "FILE.pcap")]
        out: PathBuf,
        /// For how many seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Ask a running agent for a release decision (logged in its decision log).
    Decide {
        #[command(flatten)]
        target: Target,
        /// The labelling domain, e.g. GBR.
        #[arg(long)]
        domain: String,
        /// The labelling domain's policy id.
        #[arg(long, default_value_t = 1)]
        policy: u32,
        /// The classification code.
        #[arg(long)]
        classification: u8,
        /// A category value as TAG:VALUE (repeatable; TAG=VALUE also read).
        #[arg(long = "category", value_parser = parse_category)]
        categories: Vec<(u8, u16)>,
        /// The audience domain, e.g. USA.
        #[arg(long)]
        audience: String,
    },
    /// Send a labelled message through a running agent's guard to a node's guarded SAP. Prints
    /// the data's digest and the sender's verdict with its reason and lineage (or `held` while
    /// the message waits for its link). Exit status 0: released or held; 3: refused by the
    /// guard; 1: anything else (bad input, no agent, an agent that does not guard).
    Send {
        #[command(flatten)]
        target: Target,
        /// The destination node's address (`2` or `0.0.0.2`).
        #[arg(long, value_parser = skywave_host::labelled::parse_address)]
        to: u32,
        /// The label: a STANAG 4774 XML label (with --spif, --domain, --policy-id) or a
        /// compact label in hex (`skywave label compact` prints one).
        #[arg(long, value_name = "LABEL")]
        label: PathBuf,
        /// The SPIF an XML label is checked and compacted under.
        #[arg(long, requires_all = ["domain", "policy_id"])]
        spif: Option<PathBuf>,
        /// The labelling domain the SPIF was imported for.
        #[arg(long)]
        domain: Option<String>,
        /// The policy id the SPIF was imported as.
        #[arg(long)]
        policy_id: Option<u32>,
        /// The SAP at both ends (default: the first `[[guard.sap]]` of the agent).
        #[arg(long)]
        sap: Option<u8>,
        /// The data to send.
        file: PathBuf,
    },
    /// Take the labelled messages that arrived for the operator (on a guarded SAP no SIS
    /// client holds) since the last call, with label marking, source and the receiver's
    /// verdict; refused ones are listed without data. Returns at once (does not wait). The
    /// agent keeps them in its store until they are taken: each leaves only after it was
    /// written to DIR and printed.
    Receive {
        #[command(flatten)]
        target: Target,
        /// Write each released message's data to DIR/SOURCE-SEQ.bin.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Show the messages but leave them in the inbox, with their ids.
        #[arg(long, conflicts_with = "ack")]
        keep: bool,
        /// Remove these messages from the inbox (ids from `--keep` or `--json`), showing
        /// nothing else.
        #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "out")]
        ack: Vec<u64>,
    },
    /// Check a node's records offline (no agent needed; safe while one runs).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Evidence of equivocations and rollbacks the node met, read offline from its store.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Make and read captures of STANAG 5066 D_PDUs.
    #[command(subcommand)]
    Frames(FramesCommand),
}

/// The agent's log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object a line.
    Json,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-verify the hash-chained decision log in the node's store: every entry, in order,
    /// none altered, removed or reordered.
    Verify {
        /// The node's configuration file (gives the store and the node address).
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// An anchor from `skywave audit anchor` (COUNT:HEAD, or a file holding it): also
        /// fail on a cut tail, an edited last entry, deleted rows or a recomputed chain.
        #[arg(long, value_name = "ANCHOR")]
        anchor: Option<String>,
    },
    /// Print the head of the verified decision log (entry count and last hash) as an anchor
    /// to write down or sign.
    Anchor {
        /// The node's configuration file.
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// Print JSON: {"store", "count", "head", "anchor"}.
        #[arg(long)]
        json: bool,
    },
    /// List the logged decisions, one a line: index, time, verdict, label, audience.
    List {
        /// The node's configuration file (gives the store and the node address).
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// Only decisions recorded at or after this time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ
        /// or Unix seconds).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<UnixTime>,
        /// Print a JSON array of the entries instead.
        #[arg(long)]
        json: bool,
    },
    /// Show one logged decision in words: why, its lineage and its place in the hash chain.
    Show {
        /// The decision's index (as `audit list` prints it, without the #).
        index: u64,
        /// The node's configuration file (gives the store and the node address).
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
    },
    /// Export the whole decision log as JSON for tools, with the verifier's verdict.
    Export {
        /// The node's configuration file (gives the store and the node address).
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// JSON (the only format; required so scripts say what they expect).
        #[arg(long, required = true)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// List every piece of evidence in the node's store.
    List {
        /// The node's configuration file.
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Write one evidence file per piece into DIR, for `skywave-authority verify-evidence`.
    Export {
        /// The node's configuration file.
        #[arg(long, value_name = "FILE", default_value = "node.toml")]
        config: PathBuf,
        /// The directory to write to (created if missing).
        dir: PathBuf,
    },
}

fn parse_time(text: &str) -> Result<UnixTime, String> {
    time::parse(text).map_err(|e| e.to_string())
}

/// Which running agent to talk to.
#[derive(Args)]
struct Target {
    /// The agent's control socket.
    #[arg(long, value_name = "PATH", conflicts_with = "config")]
    socket: Option<PathBuf>,
    /// The agent's configuration file (its socket is read from it).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the agent's JSON reply as it is.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum FramesCommand {
    /// Write a pcap (link type 237) with every D_PDU type, address size and segment size.
    Sample {
        /// Where to write the capture.
        #[arg(long, value_name = "FILE.pcap")]
        out: PathBuf,
    },
    /// List the D_PDUs in a pcap or a raw serial byte stream, with CRC status and a summary.
    Decode {
        /// A pcap (link type 237) or raw bytes as captured from a serial port.
        file: PathBuf,
    },
}

fn parse_category(text: &str) -> Result<(u8, u16), String> {
    skywave_host::cli::parse_category(text).map(|c| (c.tag, c.value))
}

impl Target {
    fn socket(&self) -> anyhow::Result<PathBuf> {
        if let Some(socket) = &self.socket {
            return Ok(socket.clone());
        }
        let config = self.config.as_deref().unwrap_or(Path::new("node.toml"));
        Ok(AgentConfig::load(config)?.socket)
    }

    async fn ask(&self, wire: Wire) -> anyhow::Result<serde_json::Value> {
        let reply = control::request(&self.socket()?, &wire).await?;
        if let Some(message) = reply.get("error").and_then(|e| e.get("message")) {
            anyhow::bail!("agent: {}", message.as_str().unwrap_or_default());
        }
        Ok(reply)
    }
}

/// Prints `reply` as JSON or as the lines `human` makes of it.
fn show(
    target: &Target,
    reply: &serde_json::Value,
    human: impl Fn(&serde_json::Value) -> Vec<String>,
) -> std::io::Result<()> {
    if target.json {
        return outln!("{reply}");
    }
    for line in human(reply) {
        outln!("{line}")?;
    }
    Ok(())
}

/// A status reply in words (`skywave_host::agent::status_text`).
fn print_status(reply: &serde_json::Value) -> Vec<String> {
    match serde_json::from_value::<StatusReport>(reply["status"].clone()) {
        Ok(report) => status_text::lines(&report),
        // An agent of another version: its reply as it is, rather than nothing.
        Err(_) => vec![reply.to_string()],
    }
}

/// `skywave publish`: each file in order, reported as it goes; an error at the end if any was
/// refused. A file over the artifact limit is refused here, before anything is sent: the
/// agent could never admit it.
async fn publish(target: &Target, paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut refused = 0usize;
    let files = expand(paths)?;
    for file in &files {
        let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        if bytes.len() > MAX_ARTIFACT_LEN {
            eprintln!(
                "{}: {} bytes, over the artifact limit of {MAX_ARTIFACT_LEN}: not sent",
                file.display(),
                bytes.len()
            );
            refused += 1;
            continue;
        }
        let artifact_hex = Hex(&bytes).to_string();
        let mut reply = target.ask(Wire::Publish { artifact_hex }).await?;
        if target.json {
            reply["file"] = file.display().to_string().into();
            outln!("{reply}")?;
        } else if let Some(refusal) = reply.get("refused") {
            eprintln!(
                "{}: refused: {}",
                file.display(),
                refusal["refusal"].as_str().unwrap_or("?")
            );
        } else {
            let a = &reply["admitted"];
            let dup = if a["duplicate"] == true {
                " (already held)"
            } else {
                ""
            };
            outln!(
                "{}: admitted {}{dup}",
                file.display(),
                print_artifact(&a["artifact"])
            )?;
        }
        if reply.get("refused").is_some() {
            refused += 1;
        }
    }
    if refused > 0 {
        anyhow::bail!("{refused} of {} artifacts refused", files.len());
    }
    Ok(())
}

/// `paths` with each directory replaced by the files in it, in name order.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries =
            std::fs::read_dir(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        inside.sort();
        if inside.is_empty() {
            anyhow::bail!("{}: no files to publish", path.display());
        }
        files.extend(inside);
    }
    Ok(files)
}

/// A decide reply as `skywave decide` prints it: the decision in words (the same text
/// `skywave audit show` gives for it later), then where it was logged.
fn decision_in_words(reply: &serde_json::Value) -> Vec<String> {
    let logged = &reply["decision"];
    let index = logged["log_index"].clone();
    match serde_json::from_value::<DecisionJson>(logged["decision"].clone()) {
        Ok(decision) => {
            let mut lines = decision.in_words();
            lines.push(format!("logged as decision #{index}"));
            lines
        }
        // An agent of another version: its reply as it is, rather than nothing.
        Err(_) => vec![reply.to_string()],
    }
}

fn print_artifact(a: &serde_json::Value) -> String {
    format!(
        "{} {} id {} v{} {}",
        a["kind"].as_str().unwrap_or("?"),
        a["domain"].as_str().unwrap_or("?"),
        a["id"],
        a["version"],
        a["digest"].as_str().unwrap_or("").get(..16).unwrap_or("")
    )
}

async fn client(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Status { target, watch } => status(&target, watch).await?,
        Command::Publish { target, files } => publish(&target, &files).await?,
        Command::Capture {
            target,
            link,
            out,
            seconds,
        } => {
            // The agent writes the file, so give it a path that does not depend on our cwd.
            let path = std::path::absolute(&out)?;
            let wire = Wire::Capture {
                link,
                path: path.display().to_string(),
                seconds,
            };
            let reply = target.ask(wire).await?;
            show(&target, &reply, |r| {
                let c = &r["capturing"];
                vec![format!(
                    "capturing link {} to {} for {} s (open it in Wireshark, or `skywave frames decode`)",
                    c["link"].as_str().unwrap_or("?"),
                    c["path"].as_str().unwrap_or("?"),
                    c["seconds"]
                )]
            })?;
        }
        Command::Policies(target) => {
            let reply = target.ask(Wire::Policies).await?;
            show(&target, &reply, |r| {
                r["policies"]["artifacts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(print_artifact)
                    .collect()
            })?;
        }
        Command::Decide {
            target,
            domain,
            policy,
            classification,
            categories,
            audience,
        } => {
            let wire = Wire::Decide {
                domain,
                policy,
                classification,
                categories,
                audience,
            };
            let reply = target.ask(wire).await?;
            show(&target, &reply, decision_in_words)?;
        }
        Command::Receive {
            target,
            out,
            keep,
            ack,
        } => {
            let socket = target.socket()?;
            if !ack.is_empty() {
                print(skywave_host::labelled::ack(&socket, ack).await)?;
            } else {
                let mut stdout = std::io::stdout();
                skywave_host::labelled::receive(
                    &socket,
                    out.as_deref(),
                    target.json,
                    keep,
                    &mut stdout,
                )
                .await?;
            }
        }
        Command::Send { .. }
        | Command::Run { .. }
        | Command::CheckConfig { .. }
        | Command::Frames(_)
        | Command::Audit(_)
        | Command::Evidence(_)
        | Command::Label(_)
        | Command::Demo => {
            unreachable!("handled in main")
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Frames(FramesCommand::Sample { out }) => frames::sample_command(&out),
        Command::Frames(FramesCommand::Decode { file }) => frames::decode_command(&file),
        Command::Audit(AuditCommand::Verify { config, anchor }) => {
            audit::verify_command(&config, anchor.as_deref())
        }
        Command::Audit(AuditCommand::Anchor { config, json }) => {
            audit::anchor_command(&config, json)
        }
        Command::Evidence(EvidenceCommand::List { config, json }) => {
            evidence::list_command(&config, json)
        }
        Command::Evidence(EvidenceCommand::Export { config, dir }) => {
            evidence::export_command(&config, &dir)
        }
        Command::Audit(AuditCommand::List {
            config,
            since,
            json,
        }) => print(audit::list(&config, since, json)),
        Command::Audit(AuditCommand::Show { index, config }) => print(audit::show(&config, index)),
        Command::Audit(AuditCommand::Export { config, .. }) => print(audit::export(&config)),
        Command::Label(LabelCommand::Check {
            spif,
            policy,
            labels,
        }) => {
            let labels: Vec<&Path> = labels.iter().map(PathBuf::as_path).collect();
            match skywave_host::label::check(spif.as_deref(), policy.as_deref(), &labels) {
                Ok((report, all)) => {
                    let printed = print(Ok(report));
                    if printed.is_ok() && !all {
                        return ExitCode::FAILURE;
                    }
                    printed
                }
                Err(e) => Err(e),
            }
        }
        Command::Label(LabelCommand::Show { spif, label }) => {
            print(skywave_host::label::show(spif.as_deref(), &label))
        }
        Command::Label(LabelCommand::Compact {
            spif,
            domain,
            id,
            label,
        }) => print(skywave_host::label::compact_hex(&spif, &domain, id, &label)),
        Command::Demo => match skywave_host::demo::run() {
            // The demo's own status, as if it had run in this process.
            Ok(status) => {
                return status
                    .code()
                    .map_or(ExitCode::FAILURE, |c| ExitCode::from(c as u8));
            }
            Err(e) => Err(e),
        },
        Command::CheckConfig { file } => return check_config(&file),
        Command::Send {
            target,
            to,
            label,
            spif,
            domain,
            policy_id,
            sap,
            file,
        } => {
            let xml = match (&spif, &domain, policy_id) {
                (Some(spif), Some(domain), Some(id)) => {
                    Some(skywave_host::labelled::XmlLabelSource { spif, domain, id })
                }
                _ => None,
            };
            let sent = skywave_host::labelled::read_label(&label, xml).and_then(|label| {
                let socket = target.socket()?;
                tokio_runtime()?.block_on(skywave_host::labelled::send(
                    &socket,
                    to,
                    sap,
                    label,
                    &file,
                    target.json,
                ))
            });
            match sent {
                Ok((text, status)) => {
                    let printed = print(Ok(text));
                    if printed.is_ok() || printed.as_ref().is_err_and(is_broken_pipe) {
                        return ExitCode::from(status);
                    }
                    printed
                }
                Err(e) => Err(e),
            }
        }
        Command::Run { config, log_format } => {
            // The file's `[log] level`, if it reads; a file that does not is reported by `run`.
            let level = AgentConfig::load(&config).ok().and_then(|c| c.log_level);
            init_log(log_format, level.as_deref());
            run_agent(config)
        }
        other => tokio_runtime().and_then(|rt| rt.block_on(client(other))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `skywave frames decode x | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skywave: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a command's report to stdout.
fn print(report: anyhow::Result<String>) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::io::stdout().lock().write_all(report?.as_bytes())?;
    Ok(())
}

/// `skywave check-config`: prints each finding and `FILE: ok` or a count; the exit status
/// says which (see the command's help).
fn check_config(file: &Path) -> ExitCode {
    let findings = match skywave_host::agent::check::check(file) {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("skywave: {e}");
            return ExitCode::from(2);
        }
    };
    let errors = findings
        .iter()
        .filter(|f| f.severity == skywave_host::agent::check::Severity::Error)
        .count();
    let report = findings
        .iter()
        .map(|f| format!("{}: {f}\n", file.display()))
        .collect::<String>()
        + &match errors {
            0 => format!("{}: ok\n", file.display()),
            n => format!("{}: {n} errors\n", file.display()),
        };
    // A closed pipe leaves the exit status to the findings.
    let _ = print(Ok(report));
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The agent's log on stderr, filtered by `RUST_LOG`, else the file's `[log] level`, else
/// `info`; SIGHUP may replace the filter (`skywave_host::agent::reload::on_log_level`).
fn init_log(format: LogFormat, level: Option<&str>) {
    use skywave_host::agent::reload::{log_filter, on_log_level};
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(log_filter(level)).unwrap_or_else(|_| "info".into());
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    macro_rules! install {
        ($builder:expr) => {{
            let builder = $builder.with_filter_reloading();
            let handle = builder.reload_handle();
            on_log_level(Box::new(move |text: &str| {
                let filter = EnvFilter::try_new(text).map_err(|e| e.to_string())?;
                handle.reload(filter).map_err(|e| e.to_string())
            }));
            builder.init();
        }};
    }
    match format {
        LogFormat::Text => {
            install!(log.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        }
        LogFormat::Json => install!(log.json().flatten_event(true)),
    }
}

/// `skywave status`, once or every `watch` seconds.
async fn status(target: &Target, watch: Option<u64>) -> anyhow::Result<()> {
    let Some(seconds) = watch else {
        let reply = target.ask(Wire::Status).await?;
        return Ok(show(target, &reply, print_status)?);
    };
    let in_place = !target.json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        let reply = target.ask(Wire::Status).await?;
        if in_place {
            // Home the cursor and clear the screen, so the report replaces the last one.
            use std::io::Write as _;
            write!(std::io::stdout().lock(), "\x1b[H\x1b[2J")?;
        }
        show(target, &reply, print_status)?;
        tokio::time::sleep(std::time::Duration::from_secs(seconds.max(1))).await;
    }
}

fn run_agent(config: PathBuf) -> anyhow::Result<()> {
    on_agent_stack(move || {
        tokio_runtime().and_then(|rt| rt.block_on(skywave_host::agent::run(&config)))
    })
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
