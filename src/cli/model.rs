//! `funnel model`: the model bundle the server scores with (any token).

use super::{show, Target};
use funnel::api::pb;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut admin = args.target.admin().await?;
    let m = admin.get_model_info(pb::GetModelInfoRequest {}).await?;
    let m = m.into_inner();
    let intents: Vec<String> = m.intents.iter().map(|i| show::intent(*i)).collect();
    println!("model version  {}", m.model_version);
    println!("text model     {}", m.text_model_version);
    println!("tabular model  {}", m.tabular_model_version);
    println!(
        "thresholds     high >= {}, medium >= {} (campaigns may override)",
        m.high_threshold, m.medium_threshold
    );
    println!(
        "limits         {} transcript characters, {} tokens",
        m.max_transcript_chars, m.max_tokens
    );
    println!("intents        {}", intents.join(", "));
    println!("\nfeatures");
    let mut rows = vec![[
        "  name",
        "source",
        "type",
        "range",
        "default",
        "description",
    ]
    .map(String::from)
    .to_vec()];
    let bound = |b: Option<f64>| b.map_or(String::new(), |v| v.to_string());
    rows.extend(m.features.iter().map(|f| {
        let range = match (f.min, f.max) {
            (None, None) => "-".to_string(),
            (min, max) => format!("{}..{}", bound(min), bound(max)),
        };
        vec![
            format!("  {}", f.name),
            f.source.clone(),
            f.value_type.clone(),
            range,
            show::or_dash(&f.default_value).to_string(),
            f.description.clone(),
        ]
    }));
    show::print_table(&rows);
    println!("\nevaluation (held out)");
    let mut figures: Vec<_> = m.evaluation.iter().collect();
    figures.sort_by(|a, b| a.0.cmp(b.0));
    let rows: Vec<Vec<String>> = figures
        .into_iter()
        .map(|(k, v)| vec![format!("  {k}"), v.to_string()])
        .collect();
    show::print_table(&rows);
    Ok(())
}
