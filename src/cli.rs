//! The `statusgate` command line. Bad input prints one line and exits 2; a failure at run time exits 1.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Config;

mod create;
mod database;
mod users;

#[derive(Parser, Debug)]
#[command(
    name = "statusgate",
    version,
    about = "Status pages with a Hosted MCP connector"
)]
pub struct Cli {
    /// Configuration file (default: ./config.toml, if present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the web pages and APIs (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Copy a SQLite database, while the server runs, to a new file and check the copy.
    Backup {
        /// The file to write; an existing file is refused.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the SQLite database with a checked backup (only while no server uses it).
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Report the database's integrity and migration status; exits 1 when either is not OK.
    Check,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage status pages.
    Page {
        #[command(subcommand)]
        command: PageCommand,
    },
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Create an organisation (add people with `statusgate user create --org SLUG`).
    Create {
        #[arg(long, value_name = "SLUG")]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum PageCommand {
    /// Create an empty, published status page, acting as the organisation's first owner.
    Create {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "SLUG")]
        slug: String,
        /// Its address under /status/ (default: the slug).
        #[arg(long, value_name = "SLUG")]
        public_slug: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Create an API key; the key is printed once on standard output.
    Create {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "read|write")]
        scope: String,
        /// Limit the key to one page of the organisation (its slug).
        #[arg(long, value_name = "SLUG")]
        page: Option<String>,
        /// Days until the key expires (default: never).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
        /// The member the key acts as (default: the organisation's first owner).
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user with a role in an organisation; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long, value_name = "owner|admin|editor|viewer")]
        role: String,
        /// Create the organisation if it does not exist yet.
        #[arg(long)]
        create_org: bool,
    },
    /// Set a person's password (read from standard input) and end their browser sessions.
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List the members of an organisation: email and role, one a line.
    List {
        #[arg(long, value_name = "SLUG")]
        org: String,
    },
}

/// An error for the one line the user sees, with the exit code it earns.
struct Failure {
    code: u8,
    line: String,
}

fn usage(line: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        line: line.into(),
    }
}

fn runtime(line: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        line: line.into(),
    }
}

pub async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // One line, not clap's usage block: the first line names what was wrong.
            let text = e.render().to_string();
            let head: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = head.join(" ");
            let line = line.trim_start_matches("error: ");
            eprintln!("statusgate: {line} (see statusgate --help)");
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("statusgate: {}", f.line);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let (path, named) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("config.toml"), false),
    };
    let config = Config::load(&path, named).map_err(|e| usage(e.to_string()))?;
    crate::telemetry::init_tracing(&config.log, config.log_format, config.telemetry.access_log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Backup { to } => database::backup(&config, &to).await,
        Command::Restore { from } => database::restore(&config, &from).await,
        Command::Check => database::check(&config).await,
        Command::Org { command } => create::org(&config, command).await,
        Command::Page { command } => create::page(&config, command).await,
        Command::Key { command } => create::key(&config, command).await,
        Command::User { command } => match command {
            UserCommand::SetPassword { email, .. } => users::set_password(&config, &email).await,
            UserCommand::List { org } => users::list(&config, &org).await,
            UserCommand::Create {
                email,
                password_stdin: _,
                org,
                role,
                create_org,
            } => create::user(&config, &email, &org, &role, create_org).await,
        },
    }
}

async fn migrate(config: &Config) -> Result<(), Failure> {
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    let n = store.migrate().await.map_err(|e| {
        runtime(format!(
            "migration failed: {}",
            crate::outbound::error_chain(&e)
        ))
    })?;
    println!("applied {n} migration(s)");
    Ok(())
}

async fn serve(config: Config) -> Result<(), Failure> {
    let public_url = config.public_url.clone();
    let app = App::build(config)
        .await
        .map_err(|e| runtime(format!("{e:#}")))?;
    let addr = app.local_addr().map_err(|e| runtime(e.to_string()))?;
    println!(
        "statusgate {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(demo) = &app.demo_account {
        println!("demo workspace created: status page {public_url}/status/api");
        match &demo.generated_password {
            Some(p) => println!(
                "sign in at {public_url}/login as {} with password {p} (shown once)",
                demo.email
            ),
            None => println!(
                "sign in at {public_url}/login as {} with STATUSGATE_ADMIN_PASSWORD",
                demo.email
            ),
        }
    } else if let Some(link) = &app.setup_link {
        // Printed on every start until set-up is done; only the latest link works.
        println!("set up your organisation and owner account at {link} (one-time link)");
    } else {
        println!("sign in at {public_url}/login");
    }
    app.run_until(shutdown_signal())
        .await
        .map_err(|e| runtime(format!("{e:#}")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
