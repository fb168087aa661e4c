//! The robot's interaction: wire ↔ domain.

use super::*;

/// A robot's interaction, validated.
pub fn interaction_from_pb(i: pb::Interaction) -> Result<Interaction, ApiError> {
    // Destructured whole: a field added to the proto is a compile error here.
    let pb::Interaction {
        interaction_id,
        customer_id,
        campaign_id,
        product,
        region_id,
        branch_id,
        relationship_manager_id,
        remote_manager_id,
        do_not_contact,
        turns: wire_turns,
        features,
        call,
        started_at,
    } = i;
    let mut turns = Vec::with_capacity(wire_turns.len());
    for (n, t) in wire_turns.into_iter().enumerate() {
        let pb::Turn {
            speaker,
            text,
            offset_ms,
        } = t;
        let speaker = match pb::Speaker::try_from(speaker) {
            Ok(pb::Speaker::Robot) => Speaker::Robot,
            Ok(pb::Speaker::Customer) => Speaker::Customer,
            _ => {
                return Err(bad(
                    format!("interaction.turns[{n}].speaker"),
                    "must be ROBOT or CUSTOMER",
                ))
            }
        };
        if offset_ms < 0 {
            return Err(bad(
                format!("interaction.turns[{n}].offset_ms"),
                "must not be negative",
            ));
        }
        turns.push(TurnRecord {
            speaker,
            text,
            offset_ms,
        });
    }
    let pb::CustomerFeatures {
        aum_band,
        age_band,
        tenure_years,
        products_held,
        digital_logins_30d,
        past_campaign_contacts,
        past_campaign_responses,
        risk_assessment,
    } = features.unwrap_or_default();
    let risk = match risk_assessment.map(pb::RiskAssessment::try_from) {
        None | Some(Ok(pb::RiskAssessment::Unspecified)) => None,
        Some(Ok(pb::RiskAssessment::None)) => Some("none".to_string()),
        Some(Ok(pb::RiskAssessment::Expired)) => Some("expired".to_string()),
        Some(Ok(pb::RiskAssessment::Valid)) => Some("valid".to_string()),
        Some(Err(_)) => return Err(bad("interaction.features.risk_assessment", "unknown value")),
    };
    let pb::CallMetadata {
        duration_seconds,
        hour_of_day,
        channel,
    } = call.unwrap_or_default();
    let channel = match pb::Channel::try_from(channel) {
        Ok(pb::Channel::Unspecified) => None,
        Ok(pb::Channel::OutboundVoice) => Some("outbound_voice".to_string()),
        Ok(pb::Channel::InboundVoice) => Some("inbound_voice".to_string()),
        Ok(pb::Channel::Chat) => Some("chat".to_string()),
        Err(_) => return Err(bad("interaction.call.channel", "unknown value")),
    };
    // Optional: 0 when the robot does not know it.
    let started_at = started_at.as_ref().map_or(0, timestamp_to_ms);
    Ok(Interaction {
        interaction_id: required_id(
            &interaction_id,
            "interaction.interaction_id",
            InteractionId::parse,
        )?,
        customer_id: required_id(&customer_id, "interaction.customer_id", CustomerId::parse)?,
        campaign_id: required_id(&campaign_id, "interaction.campaign_id", CampaignId::parse)?,
        product: product_from_pb(product, "interaction.product")?,
        region_id: required_id(&region_id, "interaction.region_id", RegionId::parse)?,
        branch_id: required_id(&branch_id, "interaction.branch_id", BranchId::parse)?,
        relationship_manager_id: optional_id(
            &relationship_manager_id,
            "interaction.relationship_manager_id",
            ManagerId::parse,
        )?,
        remote_manager_id: optional_id(
            &remote_manager_id,
            "interaction.remote_manager_id",
            ManagerId::parse,
        )?,
        do_not_contact,
        turns,
        features: CustomerFeatures {
            aum_band: aum_band.map(f64::from),
            age_band: age_band.map(f64::from),
            tenure_years,
            products_held: products_held.map(f64::from),
            digital_logins_30d,
            past_campaign_contacts: past_campaign_contacts.map(f64::from),
            past_campaign_responses: past_campaign_responses.map(f64::from),
            risk_assessment: risk,
        },
        call: CallMetadata {
            duration_s: duration_seconds,
            hour_of_day: hour_of_day.map(f64::from),
            channel,
        },
        started_at_ms: started_at,
    })
}

/// The domain interaction back to the wire (GetLead, and the CLI client).
pub fn interaction_to_pb(i: &Interaction) -> pb::Interaction {
    let risk = i.features.risk_assessment.as_deref().map(|r| match r {
        "none" => pb::RiskAssessment::None as i32,
        "expired" => pb::RiskAssessment::Expired as i32,
        "valid" => pb::RiskAssessment::Valid as i32,
        _ => pb::RiskAssessment::Unspecified as i32,
    });
    let channel = match i.call.channel.as_deref() {
        Some("outbound_voice") => pb::Channel::OutboundVoice,
        Some("inbound_voice") => pb::Channel::InboundVoice,
        Some("chat") => pb::Channel::Chat,
        _ => pb::Channel::Unspecified,
    };
    // Feature values were validated as whole numbers where the proto has ints.
    let int = |v: Option<f64>| v.map(|x| x as i32);
    pb::Interaction {
        interaction_id: i.interaction_id.to_string(),
        customer_id: i.customer_id.to_string(),
        campaign_id: i.campaign_id.to_string(),
        product: product_to_pb(i.product) as i32,
        region_id: i.region_id.to_string(),
        branch_id: i.branch_id.to_string(),
        relationship_manager_id: i.relationship_manager_id.as_ref().map(|m| m.to_string()),
        remote_manager_id: i.remote_manager_id.as_ref().map(|m| m.to_string()),
        do_not_contact: i.do_not_contact,
        turns: i
            .turns
            .iter()
            .map(|t| pb::Turn {
                speaker: match t.speaker {
                    Speaker::Robot => pb::Speaker::Robot,
                    Speaker::Customer => pb::Speaker::Customer,
                } as i32,
                text: t.text.clone(),
                offset_ms: t.offset_ms,
            })
            .collect(),
        features: Some(pb::CustomerFeatures {
            aum_band: int(i.features.aum_band),
            age_band: int(i.features.age_band),
            tenure_years: i.features.tenure_years,
            products_held: int(i.features.products_held),
            digital_logins_30d: i.features.digital_logins_30d,
            past_campaign_contacts: int(i.features.past_campaign_contacts),
            past_campaign_responses: int(i.features.past_campaign_responses),
            risk_assessment: risk,
        }),
        call: Some(pb::CallMetadata {
            duration_seconds: i.call.duration_s,
            hour_of_day: int(i.call.hour_of_day),
            channel: channel as i32,
        }),
        started_at: (i.started_at_ms != 0).then(|| ms_to_timestamp(i.started_at_ms)),
    }
}
