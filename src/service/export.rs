//! Exporting the outcome log: each retired lead with its interactions as
//! training records (the record format of `training/README.md`, which
//! `training/run.sh --input` reads), `label.converted` from the outcome.

use super::{Funnel, FunnelError};
use crate::domain::{Interaction, LeadState, RegionId};
use crate::routing::OutcomeRecord;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Outcomes read from Redis per round trip.
const PAGE: usize = 100;

/// One retired lead, ready to be written out.
#[derive(Debug, Clone)]
pub struct ExportedOutcome {
    pub region: RegionId,
    /// Its place in the region's outcome log (resume after it, acknowledge
    /// up to it).
    pub cursor: String,
    pub lead_id: String,
    /// The state it was closed in (`None` if the record names none).
    pub state: Option<LeadState>,
    /// One JSON object per stored interaction, in the training format.
    pub training_records: Vec<String>,
}

#[derive(Serialize)]
struct TrainingRecord<'a> {
    #[serde(flatten)]
    interaction: &'a Interaction,
    label: Label<'a>,
}

/// What the outcome says about one interaction. The intent is the model's
/// (the outcome does not tell it): a bank's reviewers may relabel it.
#[derive(Serialize)]
struct Label<'a> {
    intent: &'a str,
    intent_source: &'static str,
    converted: bool,
    final_state: &'a str,
    lead_id: &'a str,
    closed_at_ms: Option<i64>,
    /// The score this interaction got, and by which model.
    probability: f64,
    model_version: &'a str,
}

/// The training records of one retired lead (none if it never converted or
/// not: a lead closed as suppressed or expired still says "not converted").
pub fn training_records(o: &OutcomeRecord) -> Vec<String> {
    let field = |n: &str| o.lead.get(n).map(String::as_str).unwrap_or_default();
    let final_state = field("state");
    let converted = final_state == LeadState::ClosedConverted.as_str();
    o.interactions
        .iter()
        .filter_map(|s| {
            let intent = s
                .intents
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(name, _)| name.as_str())?;
            serde_json::to_string(&TrainingRecord {
                interaction: &s.interaction,
                label: Label {
                    intent,
                    intent_source: "model",
                    converted,
                    final_state,
                    lead_id: field("id"),
                    closed_at_ms: field("closed_at")
                        .parse()
                        .ok()
                        .or_else(|| field("updated_at").parse().ok()),
                    probability: s.score.probability,
                    model_version: &s.score.model_version,
                },
            })
            .ok()
        })
        .collect()
}

impl Funnel {
    /// Streams the outcome log of `region` (or of every region, one after
    /// the other) from after `after`, until it is read to its end, the
    /// receiver is dropped, or `stop` is cancelled.
    pub fn export_outcomes(
        self: &Arc<Self>,
        region: Option<RegionId>,
        after: String,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> mpsc::Receiver<Result<ExportedOutcome, FunnelError>> {
        let (tx, rx) = mpsc::channel(PAGE);
        let funnel = self.clone();
        tasks.spawn(async move {
            let regions = match region {
                Some(r) => Ok(vec![r]),
                None => funnel.router.regions().await.map_err(FunnelError::from),
            };
            let regions = match regions {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            for (n, region) in regions.iter().enumerate() {
                // `after` belongs to the first (the only named) region.
                let mut cursor = if n == 0 { after.clone() } else { String::new() };
                loop {
                    if stop.is_cancelled() {
                        let _ = tx.send(Err(FunnelError::ShuttingDown)).await;
                        return;
                    }
                    let page = match funnel.router.outcomes_page(region, &cursor, PAGE).await {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                    let full = page.len() == PAGE;
                    for o in page {
                        cursor = o.cursor.clone();
                        let out = ExportedOutcome {
                            region: region.clone(),
                            cursor: o.cursor.clone(),
                            lead_id: o.lead.get("id").cloned().unwrap_or_default(),
                            state: o.lead.get("state").and_then(|s| LeadState::parse(s).ok()),
                            training_records: training_records(&o),
                        };
                        if tx.send(Ok(out)).await.is_err() {
                            return; // the client went away
                        }
                    }
                    if !full {
                        break;
                    }
                }
            }
        });
        rx
    }

    /// Marks `region`'s outcome log exported up to `cursor`; answers the
    /// acknowledged cursor now (an older one leaves it unchanged).
    pub async fn acknowledge_export(
        &self,
        region: &RegionId,
        cursor: &str,
    ) -> Result<String, FunnelError> {
        Ok(self.router.outcomes_acknowledge(region, cursor).await?)
    }
}
