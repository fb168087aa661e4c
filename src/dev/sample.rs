//! Sample interactions and ingest requests for tests and benches.

use crate::domain::*;
use crate::routing::IngestRequest;

/// A realistic stored interaction: ~250 characters of transcript.
pub fn interaction(
    iid: &InteractionId,
    customer: &CustomerId,
    region: &RegionId,
    product: Product,
) -> Interaction {
    let turn = |speaker, text: &str| TurnRecord {
        speaker,
        text: text.into(),
        offset_ms: 0,
    };
    Interaction {
        interaction_id: iid.clone(),
        customer_id: customer.clone(),
        campaign_id: CampaignId::parse("sample").expect("valid id"),
        product,
        region_id: region.clone(),
        branch_id: BranchId::parse(format!("{region}-b1")).expect("valid id"),
        relationship_manager_id: None,
        remote_manager_id: None,
        do_not_contact: false,
        turns: vec![
            turn(Speaker::Robot, "您好，我是银行的智能客服，最近我们有一款稳健型理财产品，年化收益比较有竞争力，想跟您简单介绍一下，您现在方便吗？"),
            turn(Speaker::Customer, "嗯，可以，你说吧，大概收益多少，风险高不高，期限多长？"),
            turn(Speaker::Robot, "这款产品期限一年，风险等级二级，业绩比较基准百分之三点二，可以随时在手机银行查看。"),
            turn(Speaker::Customer, "听起来还行，我想找个理财经理详细聊聊，最好下午打给我。"),
        ],
        features: CustomerFeatures::default(),
        call: CallMetadata::default(),
        started_at_ms: 1_700_000_000_000,
    }
}

/// An ingest request for a lead of `score` (0–100) routed to `route`.
pub fn ingest_request(
    iid: &str,
    customer: &str,
    region: &RegionId,
    product: Product,
    route: Route,
    score: u8,
) -> IngestRequest {
    let bucket = match route {
        Route::Referral => Bucket::High,
        Route::Remote => Bucket::Medium,
        _ => Bucket::Low,
    };
    let iid = InteractionId::parse(iid).expect("valid interaction id");
    let customer = CustomerId::parse(customer).expect("valid customer id");
    let score = ScoreSnapshot {
        probability: score as f64 / 100.0,
        score,
        bucket,
        model_version: "sample-model".into(),
        reasons: vec![
            Reason {
                kind: ReasonKind::Feature,
                name: "aum_band".into(),
                value: "3".into(),
                weight: 0.41,
            },
            Reason {
                kind: ReasonKind::Phrase,
                name: "理财经理".into(),
                value: String::new(),
                weight: 0.33,
            },
        ],
    };
    let interaction = interaction(&iid, &customer, region, product);
    IngestRequest {
        interaction_id: iid,
        customer,
        campaign: interaction.campaign_id.clone(),
        product,
        region: region.clone(),
        branch: interaction.branch_id.clone(),
        relationship_manager: None,
        remote_manager: None,
        route,
        route_reason: format!("sample {route}"),
        score: score.clone(),
        interaction: StoredInteraction {
            interaction,
            score,
            intents: vec![("interested".into(), 0.8)],
            defaulted_features: vec![],
            received_at_ms: 1_700_000_000_000,
            transcript_cut_chars: 0,
        },
    }
}

/// A registry of every region and branch `calls` name (local setups and
/// tests register where their calls come from).
pub fn registry_of(calls: &[Interaction]) -> crate::config::RegistryConfig {
    let mut regions: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for c in calls {
        let branches = regions.entry(c.region_id.to_string()).or_default();
        if !branches.contains(&c.branch_id.to_string()) {
            branches.push(c.branch_id.to_string());
        }
    }
    crate::config::RegistryConfig {
        regions,
        default_region: None,
    }
}
