//! `funnel region register | branch | list`: the regions and branches that
//! take calls and managers (admin token).

use super::{show, Target};
use clap::Subcommand;
use funnel::api::pb;

#[derive(Subcommand)]
pub enum Command {
    /// Register a region (a shard); safe to repeat (renames it).
    Register(RegisterArgs),
    /// Register a branch of a registered region; safe to repeat.
    Branch(BranchArgs),
    /// The registered regions and their branches.
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    target: Target,
    /// Region id, e.g. east.
    #[arg(long)]
    id: String,
    /// Name shown to people (default: the id).
    #[arg(long)]
    name: Option<String>,
}

#[derive(clap::Args)]
pub struct BranchArgs {
    #[command(flatten)]
    target: Target,
    /// The branch's region (registered).
    #[arg(long)]
    region: String,
    /// Branch id, e.g. east-sh-pudong.
    #[arg(long)]
    id: String,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Target,
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    let target = match &cmd {
        Command::Register(a) => &a.target,
        Command::Branch(a) => &a.target,
        Command::List(a) => &a.target,
    };
    let mut admin = target.admin().await?;
    let regions: Vec<pb::Region> = match cmd {
        Command::Register(a) => {
            let req = pb::RegisterRegionRequest {
                region_id: a.id,
                display_name: a.name.unwrap_or_default(),
            };
            Vec::from_iter(admin.register_region(req).await?.into_inner().region)
        }
        Command::Branch(a) => {
            let req = pb::RegisterBranchRequest {
                region_id: a.region,
                branch_id: a.id,
            };
            Vec::from_iter(admin.register_branch(req).await?.into_inner().region)
        }
        Command::List(_) => {
            let req = pb::ListRegionsRequest {};
            admin.list_regions(req).await?.into_inner().regions
        }
    };
    let mut rows = vec![["region", "name", "branches"].map(String::from).to_vec()];
    rows.extend(
        regions
            .into_iter()
            .map(|r| vec![r.region_id, r.display_name, r.branch_ids.join(", ")]),
    );
    show::print_table(&rows);
    Ok(())
}
