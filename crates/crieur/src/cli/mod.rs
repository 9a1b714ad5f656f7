//! The command line: `crieur demo | serve | worker | dead-letters | migrate | migrate-store |
//! territories … | addresses … | accounts … | audit … | citizens … | cap … | population … |
//! staffing | bench …`.

pub(crate) mod accounts;
pub(crate) mod addresses;
mod audit;
mod bench;
mod bench_dispatch;
mod bench_hotline;
mod bench_matching;
mod bench_queue;
mod bench_voice;
mod cap;
mod citizens;
mod migrate_store;
mod population;
mod staffing;
mod territories;

use crate::app::{App, Mode, shutdown_signal};
use crate::config::{Config, DatabaseOverride, Overrides, WebOverride};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "crieur",
    version,
    about = "Crisis communication for public authorities: \
    public warning by SMS, voice and e-mail, and a crisis hotline."
)]
pub struct Cli {
    /// Configuration file (TOML). `CRIEUR_*` environment variables and flags override it.
    #[arg(long, short, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL, e.g. sqlite://crieur.db (overrides database.url).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// More log output (-v, -vv). RUST_LOG overrides it.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a demonstration with fictitious data in a local SQLite file.
    Demo {
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Folder for the demo's database.
        #[arg(long, default_value = "crieur-demo")]
        data_dir: PathBuf,
    },
    /// Serve the platform as configured.
    Serve {
        /// Address to serve on (overrides web.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Take dispatch work from the queue ([queue] kind = "nats") and send it
    /// through the configured providers. Run several; no web server.
    Worker,
    /// Batches given up after the queue's maximum deliveries: their
    /// deliveries without an outcome were failed as possibly sent.
    DeadLetters,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Copy a whole SQLite store into PostgreSQL (ids kept, counts and audit
    /// chain verified), e.g. to move an installation to the scale-out set-up.
    MigrateStore(migrate_store::MigrateStoreArgs),
    /// Belgian territorial units: list, show, locate, import official boundaries.
    #[command(subcommand)]
    Territories(territories::TerritoriesCommand),
    /// The address registry used for geocoding.
    #[command(subcommand)]
    Addresses(addresses::AddressesCommand),
    /// Staff accounts: add, list, disable, enable, reset-2fa.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// The tamper-evident audit log: verify, list.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Registered citizens: import a municipality's register.
    #[command(subcommand)]
    Citizens(citizens::CitizensCommand),
    /// CAP 1.2 messages: export an alert, validate a file.
    #[command(subcommand)]
    Cap(cap::CapCommand),
    /// A synthetic population for tests and benchmarks.
    #[command(subcommand)]
    Population(population::PopulationCommand),
    /// Hotline operators needed for a call load (Erlang C, or Erlang A with
    /// --patience-seconds), with the counts around the answer.
    Staffing(staffing::StaffingArgs),
    /// Benchmarks that print figures (run them from a release build).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Recipient resolution over a synthetic population.
    Targeting {
        #[arg(long, default_value_t = 1_000_000)]
        subscribers: usize,
    },
    /// The dispatch engine: SMS over SMPP to a loopback SMSC, e-mail over SMTP
    /// to Postfix's smtp-sink, beside smtp-source.
    Dispatch {
        #[arg(long, default_value_t = 1_000_000)]
        sms: u64,
        #[arg(long, default_value_t = 200_000)]
        emails: u64,
        /// Have the SMSC send a delivery receipt for every SMS.
        #[arg(long)]
        receipts: bool,
        /// Also send the SMS in queue mode with this many `crieur worker`
        /// processes and a nats-server of its own, e.g. --workers 1,2.
        #[arg(long, value_delimiter = ',')]
        workers: Vec<usize>,
        /// The store shared with the workers (default: a fresh SQLite file),
        /// e.g. postgres://localhost/bench?schema=queue (one schema per run:
        /// queue_w1, queue_w2).
        #[arg(long)]
        queue_database_url: Option<String>,
        /// An empty store to run in (e.g. postgres://…?schema=bench) instead
        /// of a fresh SQLite file.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// The hotline: SIPp callers through the IVR into the queues (hold music,
    /// announcements), operators' phones answered by a SIPp callee.
    Hotline {
        #[arg(long, default_value_t = 2_000)]
        callers: u64,
        #[arg(long, default_value_t = 100)]
        operators: usize,
        /// New calls per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// How long each caller stays on the line, in seconds.
        #[arg(long, default_value_t = 30)]
        hold_seconds: u64,
    },
    /// The relatives line's matching engine over synthetic lists with known truth:
    /// index build time, precision and recall of the top candidates, time per match.
    Matching {
        #[arg(long, default_value_t = 10_000)]
        inquiries: usize,
        #[arg(long, default_value_t = 50_000)]
        entries: usize,
        /// Share of inquiries about someone who is on the lists.
        #[arg(long, default_value_t = 0.7)]
        listed_share: f64,
        /// Score from which the best candidate counts as a proposal (precision).
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print this many misses and wrong top-1 candidates, with their reasons.
        #[arg(long, default_value_t = 0)]
        examples: usize,
    },
    /// Voice alerts: calls through the SIP endpoint to a SIPp callee on
    /// loopback, each playing the prompt (espeak-ng) over RTP.
    Voice {
        #[arg(long, default_value_t = 10_000)]
        calls: u64,
        /// Calls in progress at once.
        #[arg(long, default_value_t = 500)]
        concurrency: usize,
        /// New calls per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// SIPp answers without echoing our RTP (its -rtp_echo is one thread).
        #[arg(long)]
        no_echo: bool,
        #[arg(long, default_value = "fr")]
        language: String,
        /// The alert's message, played twice before "press 1".
        #[arg(long, default_value = "Exercice.")]
        script: String,
        /// How long each call waits for a key after the prompt, in milliseconds.
        #[arg(long, default_value_t = 0)]
        confirm_wait_ms: u64,
    },
}

impl Cli {
    fn config(&self, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
        let overrides = Overrides {
            database: self
                .database_url
                .clone()
                .map(|url| DatabaseOverride { url }),
            web: listen.map(|listen| WebOverride { listen }),
        };
        Ok(Config::from_process(self.config.as_deref(), &overrides)?)
    }

    pub async fn run(self) -> anyhow::Result<()> {
        match &self.command {
            Command::Demo { listen, data_dir } => {
                let mut config = self.config(Some(*listen))?;
                if self.database_url.is_none() {
                    std::fs::create_dir_all(data_dir)
                        .with_context(|| format!("creating {}", data_dir.display()))?;
                    config.database.url =
                        format!("sqlite://{}", data_dir.join("crieur.db").display());
                }
                crate::demo::run(config).await
            }
            Command::Serve { listen } => {
                let config = self.config(*listen)?;
                serve(config, Mode::default()).await
            }
            Command::Worker => crate::worker::run(self.config(None)?).await,
            Command::DeadLetters => {
                let config = self.config(None)?;
                let store = crieur_store::Store::open(&config.database.url).await?;
                let letters = store.batches().dead_letters().await?;
                if letters.is_empty() {
                    println!("No dead letters.");
                }
                for d in letters {
                    println!(
                        "batch {} ({}): {} deliveries failed after {} takes, last by {}, at {}: {}",
                        d.batch_id,
                        d.channel,
                        d.deliveries,
                        d.takes,
                        d.worker.as_deref().unwrap_or("?"),
                        jiff::Timestamp::from_second(d.at)
                            .map_or_else(|_| d.at.to_string(), |t| t.to_string()),
                        d.reason
                    );
                }
                Ok(())
            }
            Command::Migrate => {
                let config = self.config(None)?;
                let store = crieur_store::Store::open(&config.database.url).await?;
                println!(
                    "Database {} ({}) is up to date.",
                    crate::config::redact_url(&config.database.url),
                    store.kind()
                );
                Ok(())
            }
            Command::MigrateStore(args) => migrate_store::run(args).await,
            Command::Territories(cmd) => territories::run(cmd, &self.config(None)?).await,
            Command::Addresses(cmd) => addresses::run(cmd, &self.config(None)?).await,
            Command::Accounts(cmd) => accounts::run(cmd, &self.config(None)?).await,
            Command::Audit(cmd) => audit::run(cmd, &self.config(None)?).await,
            Command::Citizens(cmd) => citizens::run(cmd, &self.config(None)?).await,
            Command::Cap(cmd) => cap::run(cmd, &self.config(None)?).await,
            Command::Population(cmd) => population::run(cmd),
            Command::Staffing(args) => staffing::run(args),
            Command::Bench(BenchCommand::Targeting { subscribers }) => {
                bench::targeting(*subscribers)
            }
            Command::Bench(BenchCommand::Dispatch {
                sms,
                emails,
                receipts,
                workers,
                queue_database_url,
                store,
            }) => {
                bench_dispatch::dispatch(&bench_dispatch::DispatchBench {
                    sms: *sms,
                    emails: *emails,
                    receipts: *receipts,
                    workers: workers.clone(),
                    queue_database: queue_database_url.clone(),
                    store: store.clone(),
                })
                .await
            }
            Command::Bench(BenchCommand::Hotline {
                callers,
                operators,
                rate,
                hold_seconds,
            }) => {
                bench_hotline::hotline(&bench_hotline::HotlineBench {
                    callers: *callers,
                    operators: *operators,
                    rate: *rate,
                    hold: std::time::Duration::from_secs(*hold_seconds),
                })
                .await
            }
            Command::Bench(BenchCommand::Matching {
                inquiries,
                entries,
                listed_share,
                threshold,
                seed,
                examples,
            }) => bench_matching::matching(&bench_matching::MatchingBench {
                inquiries: *inquiries,
                entries: *entries,
                listed_share: *listed_share,
                threshold: *threshold,
                seed: *seed,
                examples: *examples,
            }),
            Command::Bench(BenchCommand::Voice {
                calls,
                concurrency,
                rate,
                no_echo,
                language,
                script,
                confirm_wait_ms,
            }) => {
                bench_voice::voice(&bench_voice::VoiceBench {
                    calls: *calls,
                    concurrency: *concurrency,
                    rate: *rate,
                    echo: !*no_echo,
                    language: language.clone(),
                    script: script.clone(),
                    confirm_wait: std::time::Duration::from_millis(*confirm_wait_ms),
                })
                .await
            }
        }
    }
}

/// Binds the configured address and serves until Ctrl-C or SIGTERM.
pub(crate) async fn serve_app(app: App, listen: SocketAddr, scheme: &str) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen} (in use? choose another with --listen)")
    })?;
    tracing::info!(address = %format!("{scheme}://{listen}"), "serving");
    app.run_until(listener, shutdown_signal()).await
}

async fn serve(config: Config, mode: Mode) -> anyhow::Result<()> {
    let listen = config.web.listen;
    let scheme = if config.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let app = App::build(config, mode).await?;
    serve_app(app, listen, scheme).await
}

/// Reads a file whole, refusing absurd sizes before allocating.
pub(crate) fn read_limited(path: &std::path::Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
    anyhow::ensure!(
        meta.len() <= limit,
        "{}: {} bytes is larger than the {limit}-byte limit",
        path.display(),
        meta.len()
    );
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Transparently inflates gzip files (recognised by their magic bytes).
pub(crate) fn maybe_gunzip(bytes: Vec<u8>, limit: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(limit + 1)
            .read_to_end(&mut out)
            .context("not valid gzip")?;
        anyhow::ensure!(
            out.len() as u64 <= limit,
            "the decompressed file exceeds {limit} bytes"
        );
        Ok(out)
    } else {
        Ok(bytes)
    }
}
