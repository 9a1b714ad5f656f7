//! `crieur audit …`: check the audit log's chain, list entries.

use crate::config::Config;
use clap::Subcommand;
use crieur_domain::audit::verify_chain;
use crieur_store::Store;

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check every link of the chain; report the first broken one.
    Verify,
    /// Print the latest entries, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

pub(super) async fn run(cmd: &AuditCommand, config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database.url).await?;
    match cmd {
        AuditCommand::Verify => {
            let mut entries = Vec::new();
            let mut after = 0;
            loop {
                let page = store.audit().audit_entries(after, 10_000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                entries.extend(page);
            }
            match verify_chain(entries) {
                Ok(n) => {
                    println!("audit log intact: {n} entries verified");
                    Ok(())
                }
                Err(broken) => anyhow::bail!("audit log BROKEN at {broken}"),
            }
        }
        AuditCommand::List { limit } => {
            for e in store.audit().recent_audit(None, *limit).await? {
                println!(
                    "{:>6}  {}  {:<20} {:<28} {:<8} {} {} {}",
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.outcome,
                    e.territory.as_deref().unwrap_or("-"),
                    e.target.as_deref().unwrap_or("-"),
                    e.detail
                );
            }
            Ok(())
        }
    }
}
