//! `funnel export-outcomes --out F`: the outcome log (retired leads) as
//! JSON Lines in the training record format, ready for
//! `training/run.sh --input F` (admin token). With `--acknowledge`, once
//! the file is written and synced, each region's log is marked exported up
//! to the last entry written, so the server may trim it.

use super::Target;
use funnel::api::pb;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Where the JSON Lines go (created or replaced).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// One region (default: every region).
    #[arg(long, default_value = "")]
    pub region: String,
    /// Resume after this cursor of `--region` (printed by an earlier run).
    #[arg(long, default_value = "", requires = "region")]
    pub after: String,
    /// After writing, acknowledge what was written (the server trims it).
    #[arg(long)]
    pub acknowledge: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let req = pb::ExportOutcomesRequest {
        region_id: args.region.clone(),
        after: args.after.clone(),
    };
    let mut admin = args.target.admin().await?;
    let mut stream = admin.export_outcomes(req).await?.into_inner();
    // Written to a temporary file next to the target, renamed when whole.
    let dir = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let (mut leads, mut records) = (0u64, 0u64);
    while let Some(item) = stream.next().await {
        let o = item?;
        for r in &o.training_records {
            writeln!(file, "{r}")?;
            records += 1;
        }
        leads += 1;
        last.insert(o.region_id, o.cursor);
    }
    file.as_file().sync_all()?;
    file.persist(&args.out)?;
    println!(
        "{leads} retired leads, {records} training records → {}",
        args.out.display()
    );
    for (region, cursor) in &last {
        println!("  {region}: last cursor {cursor}");
        if args.acknowledge {
            let req = pb::AcknowledgeExportRequest {
                region_id: region.clone(),
                cursor: cursor.clone(),
            };
            admin.acknowledge_export(req).await?;
            println!("  {region}: acknowledged");
        }
    }
    Ok(())
}
