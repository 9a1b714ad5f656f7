//! `crieur accounts …`: staff accounts from the command line, audited like the
//! web administration (the actor is `cli:<system user>`).

use crate::config::Config;
use anyhow::Context;
use clap::Subcommand;
use crieur_domain::access::{Role, check_binding, valid_username};
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_domain::credentials::{check_password_policy, generate_password, hash_password};
use crieur_domain::{NisCode, Territories};
use crieur_store::{NewAccount, Store};
use std::io::BufRead;

#[derive(Debug, Subcommand)]
pub(super) enum AccountsCommand {
    /// Create an account; prints a generated password unless --password-stdin.
    Add {
        username: String,
        /// minister, governor, mayor, communication_officer, hotline_supervisor,
        /// hotline_operator, relatives_operator or administrator.
        #[arg(long)]
        role: Role,
        /// The NIS code of the account's territory (its jurisdiction).
        #[arg(long)]
        territory: NisCode,
        /// The person's name as shown in the console.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Enable a disabled or locked account.
    Enable { username: String },
    /// Remove an account's second factor and end its sessions; the next sign-in
    /// enrols a new one.
    #[command(name = "reset-2fa")]
    Reset2fa { username: String },
}

pub(crate) fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

pub(crate) async fn audit(store: &Store, record: AuditRecord) -> anyhow::Result<()> {
    store
        .audit()
        .append_audit(record, jiff_now())
        .await
        .context("writing the audit log")?;
    Ok(())
}

fn jiff_now() -> String {
    jiff::Timestamp::now().to_string()
}

pub(super) async fn run(cmd: &AccountsCommand, config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database.url).await?;
    let accounts = store.accounts();
    let find = |username: &str| {
        let username = username.to_owned();
        let store = store.clone();
        async move {
            store
                .accounts()
                .account_by_username(&username)
                .await?
                .with_context(|| format!("no account is called {username:?}"))
        }
    };
    match cmd {
        AccountsCommand::Add {
            username,
            role,
            territory,
            name,
            password_stdin,
        } => {
            anyhow::ensure!(
                valid_username(username),
                "{username:?}: a username has 3 to 64 lowercase letters, digits, dots, dashes or underscores"
            );
            let territories = Territories::embedded()?;
            check_binding(*role, *territory, &territories)?;
            let name = name.trim();
            anyhow::ensure!(
                !name.is_empty() && name.chars().count() <= 100,
                "--name must have 1 to 100 characters"
            );
            let (password, generated) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (generate_password(), true)
            };
            check_password_policy(&password)?;
            let hash = tokio::task::spawn_blocking(move || {
                hash_password(&password).map(|h| (h, password))
            })
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let created = accounts
                .create_account(&NewAccount {
                    username: username.clone(),
                    display_name: name.to_owned(),
                    role: *role,
                    territory: *territory,
                    password_hash: hash.0,
                    totp_secret: None,
                })
                .await?;
            audit(
                &store,
                AuditRecord::new(cli_actor(), "account.create", Outcome::Success)
                    .territory(*territory)
                    .target(created.username.clone())
                    .detail(format!("role {role}")),
            )
            .await?;
            println!(
                "Created {} ({role}, territory {territory}).",
                created.username
            );
            if generated {
                println!("Initial password (shown once): {}", hash.1);
            }
            if role.requires_second_factor() {
                println!("A second factor will be enrolled at the first sign-in.");
            }
            Ok(())
        }
        AccountsCommand::List => {
            for a in accounts.accounts().await? {
                println!(
                    "{:<24} {:<22} {}  {}{}{}",
                    a.username,
                    a.role.as_str(),
                    a.territory,
                    a.display_name,
                    if a.totp_secret.is_some() {
                        "  [2FA]"
                    } else {
                        ""
                    },
                    if a.disabled { "  [disabled]" } else { "" }
                );
            }
            Ok(())
        }
        AccountsCommand::Disable { username }
        | AccountsCommand::Enable { username }
        | AccountsCommand::Reset2fa { username } => {
            let account = find(username).await?;
            let action = match cmd {
                AccountsCommand::Disable { .. } => {
                    accounts.set_disabled(account.id, true).await?;
                    store.sessions().delete_account_sessions(account.id).await?;
                    "account.disable"
                }
                AccountsCommand::Enable { .. } => {
                    accounts.set_disabled(account.id, false).await?;
                    accounts.clear_sign_in_failures(account.id).await?;
                    "account.enable"
                }
                _ => {
                    accounts.reset_second_factor(account.id).await?;
                    store.sessions().delete_account_sessions(account.id).await?;
                    "account.reset_second_factor"
                }
            };
            audit(
                &store,
                AuditRecord::new(cli_actor(), action, Outcome::Success)
                    .territory(account.territory)
                    .target(account.username.clone()),
            )
            .await?;
            println!("{action}: {}", account.username);
            Ok(())
        }
    }
}
