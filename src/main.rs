//! The `cloudseat` command: `serve`, `migrate`, `admin create`, `demo`, `rules check`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cloudseat::config::{MailTransportKind, Settings};
use cloudseat::db::{Db, redact_url};
use cloudseat::seats::rules;
use cloudseat::startup::Application;

#[derive(Parser)]
#[command(
    name = "cloudseat",
    version,
    about = "Customer-service seat marketplace and workforce manager"
)]
struct Cli {
    /// Configuration file (default: ./cloudseat.toml if present).
    #[arg(long, global = true, env = "CLOUDSEAT_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database, the JWT key and the mail outbox.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Fill an empty database with demo data first.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Fill an empty database with demo data and print the demo logins.
    Demo,
    /// Work with the seat rules (the TOML files that price and limit seats).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load and validate the seat rules, printing every problem with its file and line.
    Check {
        /// The seat rules folder [default: ./seat-rules].
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; the password is read from standard input, never from arguments.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref()).context("invalid configuration")?;
    if let Some(dir) = cli.data_dir {
        settings.data_dir = dir;
    }
    cloudseat::web::telemetry::init(&settings.log, std::io::stderr)?;
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            if demo {
                fill_demo(&settings)?;
            }
            serve(settings)
        }
        Command::Migrate => {
            let db = open(&settings)?;
            let applied = db.migrate()?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                println!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => {
            let password = read_password()?;
            let db = open(&settings)?;
            db.migrate()?;
            let mut conn = db.get_blocking()?;
            let id = cloudseat::accounts::service::create_admin_blocking(
                &mut conn, &email, &name, &password,
            )
            .map_err(|e| match e {
                cloudseat::error::AppError::Validation(errors) => anyhow::anyhow!(
                    "{}",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                other => anyhow::anyhow!("{other:#}"),
            })?;
            println!("created admin {email} ({id})");
            Ok(())
        }
        Command::Demo => fill_demo(&settings),
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => check_rules(&dir.unwrap_or_else(|| settings.rules_dir.clone())),
    }
}

fn check_rules(dir: &Path) -> anyhow::Result<()> {
    let ruleset = match rules::load_dir(dir) {
        Ok(ruleset) => ruleset,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            anyhow::bail!(
                "{} problem(s) in the seat rules in {}",
                errors.0.len(),
                dir.display()
            );
        }
    };
    println!(
        "seat rules OK: version {}, {} skills, {} periods",
        ruleset.version,
        ruleset.skills.len(),
        ruleset.periods.len()
    );
    for p in &ruleset.periods {
        let priority = if p.renews.is_some() {
            format!(", priority from {}", p.priority_opens_on())
        } else {
            String::new()
        };
        println!(
            "  {:<22} {} to {}  {}.{:02}x  opens {}{priority}",
            p.id,
            p.start,
            p.end,
            p.multiplier_bp / 10_000,
            p.multiplier_bp % 10_000 / 100,
            p.opens_on()
        );
    }
    Ok(())
}

fn open(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    Db::connect(&url, 2).with_context(|| format!("cannot open {}", redact_url(&url)))
}

fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

fn fill_demo(settings: &Settings) -> anyhow::Result<()> {
    let db = open(settings)?;
    db.migrate()?;
    let mut conn = db.get_blocking()?;
    let rules = cloudseat::seats::rules::load_dir(&settings.rules_dir).map_err(|e| {
        anyhow::anyhow!(
            "the seat rules in {} are not valid:\n{e}",
            settings.rules_dir.display()
        )
    })?;
    let logins = cloudseat::demo::fill(&mut conn, &rules)?;
    println!(
        "demo data created; every demo login uses the password {}",
        cloudseat::demo::DEMO_PASSWORD
    );
    for login in logins {
        println!(
            "  {:<16} {:<48} {}",
            login.role.as_str(),
            login.email,
            login.note
        );
    }
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let mail = match settings.mail.transport {
            MailTransportKind::File => format!(".eml files in {}", settings.outbox_dir().display()),
            MailTransportKind::Smtp => format!(
                "SMTP {}:{}",
                settings.mail.smtp.host, settings.mail.smtp.port
            ),
        };
        let database = redact_url(&settings.database_url());
        let data_dir = settings.data_dir.display().to_string();
        let app = Application::build(settings).await?;
        println!("cloudseat listening on http://{}", app.address());
        println!("  database: {database}");
        println!("  data:     {data_dir}");
        println!("  mail:     {mail}");
        println!("  API docs: http://{}/api/docs/", app.address());
        app.run_until_stopped().await
    })
}
