//! The `statusgate` command line. Bad input prints one line and exits 2; a failure at run time exits 1.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::domain::Role;
use crate::service::{ServiceError, Services};

mod database;

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
    crate::telemetry::init_tracing(&config.log, config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Backup { to } => database::backup(&config, &to).await,
        Command::Restore { from } => database::restore(&config, &from).await,
        Command::Check => database::check(&config).await,
        Command::Org { command } => org_command(&config, command).await,
        Command::Page { command } => page_command(&config, command).await,
        Command::Key { command } => key_command(&config, command).await,
        Command::User { command } => user_command(&config, command).await,
    }
}

async fn migrate(config: &Config) -> Result<(), Failure> {
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    let n = store
        .migrate()
        .await
        .map_err(|e| runtime(format!("migration failed: {e}")))?;
    println!("applied {n} migration(s)");
    Ok(())
}

async fn org_command(config: &Config, command: OrgCommand) -> Result<(), Failure> {
    let OrgCommand::Create { slug, name } = command;
    let services = offline_services(config).await?;
    let org = services
        .create_org(&slug, &name)
        .await
        .map_err(service_failure)?;
    println!("created organisation {} ({})", org.slug, org.name);
    Ok(())
}

async fn page_command(config: &Config, command: PageCommand) -> Result<(), Failure> {
    let PageCommand::Create {
        org,
        name,
        slug,
        public_slug,
    } = command;
    let services = offline_services(config).await?;
    let org = services.org_by_slug(&org).await.map_err(service_failure)?;
    let owner = services
        .org_owner(&org.id)
        .await
        .map_err(|_| usage(format!("{} has no owner yet", org.slug)))?;
    let new = crate::service::page_admin::NewPage {
        name,
        slug,
        public_slug,
        description: String::new(),
        published: true,
    };
    let page = services
        .new_page(&crate::service::Principal::user(owner), &org.id, new)
        .await
        .map_err(service_failure)?;
    println!(
        "created page {} at {}/status/{}",
        page.slug, config.public_url, page.public_slug
    );
    Ok(())
}

async fn key_command(config: &Config, command: KeyCommand) -> Result<(), Failure> {
    let KeyCommand::Create {
        org,
        name,
        scope,
        page,
        expires,
        user,
    } = command;
    let write = match scope.as_str() {
        "read" => false,
        "write" => true,
        _ => return Err(usage("--scope must be read or write")),
    };
    let services = offline_services(config).await?;
    let org = services.org_by_slug(&org).await.map_err(service_failure)?;
    let user = match user {
        Some(email) => services.member_by_email(&org.id, &email).await,
        None => services.org_owner(&org.id).await,
    }
    .map_err(|_| usage(format!("no such member of {}", org.slug)))?;
    let page = match page {
        Some(slug) => Some(
            services
                .page_id_by_slug(&org.id, &slug)
                .await
                .map_err(|_| usage(format!("no page `{slug}` in {}", org.slug)))?,
        ),
        None => None,
    };
    let new = crate::service::api_keys::NewKey {
        name,
        write,
        page,
        expires_in_days: expires,
    };
    let (_, secret) = services
        .create_api_key(&crate::service::Principal::user(user), &org.id, new)
        .await
        .map_err(service_failure)?;
    println!("{secret}");
    Ok(())
}

async fn user_command(config: &Config, command: UserCommand) -> Result<(), Failure> {
    let UserCommand::Create {
        email,
        password_stdin: _,
        org,
        role,
        create_org,
    } = command;
    let role = Role::parse(&role).map_err(|e| usage(e.to_string()))?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| usage(format!("cannot read password: {e}")))?;
    let password = password.trim_end_matches(['\n', '\r']);
    let services = offline_services(config).await?;
    let org = match services.org_by_slug(&org).await {
        Ok(o) => o,
        Err(ServiceError::NotFound(_)) if create_org => services
            .create_org(&org, &org)
            .await
            .map_err(service_failure)?,
        Err(ServiceError::NotFound(_)) => {
            return Err(usage(format!(
                "no organisation `{org}` (add --create-org to create it)"
            )))
        }
        Err(e) => return Err(service_failure(e)),
    };
    let user = services
        .create_user(&email, password, &org, role)
        .await
        .map_err(service_failure)?;
    println!(
        "created {} as {} of {}",
        user.email,
        role.as_str(),
        org.slug
    );
    Ok(())
}

/// The services over a migrated database, for commands that run without the server.
async fn offline_services(config: &Config) -> Result<Services, Failure> {
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    store
        .migrate()
        .await
        .map_err(|e| runtime(format!("migration failed: {e}")))?;
    Ok(Services::new(
        store,
        std::sync::Arc::new(crate::clock::SystemClock),
        config.security.clone(),
    ))
}

fn service_failure(e: ServiceError) -> Failure {
    match e {
        ServiceError::Internal(inner) => runtime(format!("internal error: {inner}")),
        other => usage(other.to_string()),
    }
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
