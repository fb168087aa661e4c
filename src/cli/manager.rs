//! `funnel manager upsert | availability | show`: register managers and mark
//! them available or not (admin token).

use super::{show, Target};
use clap::{ArgAction, Subcommand};
use funnel::api::convert::{product_to_pb, tier_to_pb};
use funnel::api::pb;
use funnel::domain::{ManagerTier, Product};

#[derive(Subcommand)]
pub enum Command {
    /// Create or replace a manager (every field is written; tier and region
    /// cannot change once created).
    Upsert(UpsertArgs),
    /// Mark a manager available or not. An unavailable offline manager's
    /// pending offers go to the next eligible manager.
    Availability(AvailabilityArgs),
    /// Show one manager as registered.
    Show(ShowArgs),
}

#[derive(clap::Args)]
pub struct UpsertArgs {
    #[command(flatten)]
    target: Target,
    /// Manager id (the same id as in its token).
    #[arg(long)]
    id: String,
    /// Name shown to operators.
    #[arg(long, default_value = "")]
    name: String,
    /// remote (pulls leads from queues) | offline (branch; receives referrals)
    #[arg(long, value_parser = |s: &str| ManagerTier::parse(s).map_err(|e| e.reason))]
    tier: ManagerTier,
    /// Home region, e.g. east.
    #[arg(long)]
    region: String,
    /// Branch, e.g. east-sh-pudong (offline managers only, required there).
    #[arg(long)]
    branch: Option<String>,
    /// Remote team (remote managers only).
    #[arg(long)]
    team: Option<String>,
    /// Regions whose team pools a remote manager pulls from, comma-separated
    /// (default: its home region).
    #[arg(long, value_delimiter = ',')]
    served_regions: Vec<String>,
    /// Products the manager may sell, comma-separated (wealth, fund, deposit,
    /// insurance, credit_card, loan).
    #[arg(long, value_delimiter = ',', required = true,
          value_parser = |s: &str| Product::parse(s).map_err(|e| e.reason))]
    products: Vec<Product>,
    /// Most leads held at once.
    #[arg(long)]
    capacity: i32,
    /// Whether it takes new leads now.
    #[arg(long, action = ArgAction::Set, default_value_t = true)]
    available: bool,
}

#[derive(clap::Args)]
pub struct AvailabilityArgs {
    #[command(flatten)]
    target: Target,
    manager_id: String,
    /// true or false.
    #[arg(long, action = ArgAction::Set)]
    available: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: Target,
    manager_id: String,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    let target = match &command {
        Command::Upsert(a) => &a.target,
        Command::Availability(a) => &a.target,
        Command::Show(a) => &a.target,
    };
    let mut admin = target.admin().await?;
    let manager = match command {
        Command::Upsert(a) => {
            let manager = pb::Manager {
                manager_id: a.id,
                display_name: a.name,
                tier: tier_to_pb(a.tier) as i32,
                region_id: a.region,
                branch_id: a.branch.unwrap_or_default(),
                team_id: a.team.unwrap_or_default(),
                served_region_ids: a.served_regions,
                qualified_products: a
                    .products
                    .into_iter()
                    .map(|p| product_to_pb(p) as i32)
                    .collect(),
                capacity: a.capacity,
                available: a.available,
            };
            let req = pb::UpsertManagerRequest {
                manager: Some(manager),
            };
            admin.upsert_manager(req).await?.into_inner().manager
        }
        Command::Availability(a) => {
            let req = pb::SetAvailabilityRequest {
                manager_id: a.manager_id,
                available: a.available,
            };
            admin.set_availability(req).await?.into_inner().manager
        }
        Command::Show(a) => {
            let req = pb::GetManagerRequest {
                manager_id: a.manager_id,
            };
            admin.get_manager(req).await?.into_inner().manager
        }
    };
    print_manager(&manager.unwrap_or_default());
    Ok(())
}

fn print_manager(m: &pb::Manager) {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let rows = [
        ("manager", m.manager_id.clone()),
        ("name", show::or_dash(&m.display_name).into()),
        ("tier", show::tier(m.tier)),
        ("region", m.region_id.clone()),
        ("branch", show::or_dash(&m.branch_id).into()),
        ("team", show::or_dash(&m.team_id).into()),
        (
            "serves",
            if m.served_region_ids.is_empty() {
                format!("{} (home region)", m.region_id)
            } else {
                m.served_region_ids.join(", ")
            },
        ),
        (
            "products",
            list(
                m.qualified_products
                    .iter()
                    .map(|p| show::product(*p))
                    .collect(),
            ),
        ),
        ("capacity", m.capacity.to_string()),
        ("available", show::yes_no(m.available).into()),
    ];
    for (k, v) in rows {
        println!("{k:<10} {v}");
    }
}
