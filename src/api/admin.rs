//! AdminService: operations register managers, watch queues, read audit trails.

use super::convert::*;
use super::observe::bounded;
use super::{pb, Api, BoxStream};
use crate::api::error::ApiError;
use crate::domain::ManagerTier;
use crate::routing::{CustomerState, ListQuery, QueueStats, WatchList};
use crate::service::ExportedOutcome;
use futures::StreamExt;
use std::collections::HashMap;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

fn queue_stats_to_pb(stats: &QueueStats) -> pb::GetQueueStatsResponse {
    let mut queues = Vec::new();
    for q in &stats.queues {
        let owner = if q.owner.is_empty() {
            &q.region
        } else {
            &q.owner
        };
        let counted = q.buckets.high + q.buckets.medium + q.buckets.low;
        for (bucket, depth) in [
            (pb::Bucket::High, q.buckets.high),
            (pb::Bucket::Medium, q.buckets.medium),
            (pb::Bucket::Low, q.buckets.low),
            (pb::Bucket::Unspecified, q.depth.saturating_sub(counted)),
        ] {
            if depth > 0 {
                queues.push(pb::QueueStat {
                    region_id: q.region.clone(),
                    queue: queue_kind_to_pb(&q.queue) as i32,
                    owner_id: owner.clone(),
                    bucket: bucket as i32,
                    depth: depth as i64,
                    oldest_age_seconds: q.oldest_age_ms / 1000,
                });
            }
        }
    }
    let managers = stats
        .managers
        .iter()
        .map(|m| pb::ManagerLoad {
            manager_id: m.manager.clone(),
            tier: ManagerTier::parse(&m.tier)
                .map(tier_to_pb)
                .unwrap_or(pb::ManagerTier::Unspecified) as i32,
            region_id: m.region.clone(),
            held: m.held as i32,
            capacity: m.capacity as i32,
            pending_offers: m.pending_offers as i32,
            available: m.available,
        })
        .collect();
    pb::GetQueueStatsResponse { queues, managers }
}

fn model_info_to_pb(m: &crate::scoring::Manifest) -> pb::GetModelInfoResponse {
    let evaluation = match &m.evaluation {
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
            .collect(),
        _ => HashMap::new(),
    };
    pb::GetModelInfoResponse {
        model_version: m.model_version.clone(),
        text_model_version: m.files.text_model.version.clone(),
        tabular_model_version: m.files.tabular_model.version.clone(),
        intents: m.intents.iter().map(|i| intent_to_pb(i) as i32).collect(),
        high_threshold: m.buckets.high,
        medium_threshold: m.buckets.medium,
        max_transcript_chars: m.transcript.max_chars as i32,
        max_tokens: m.transcript.max_tokens as i32,
        features: m
            .features
            .iter()
            .map(|f| pb::FeatureSpec {
                name: wire_feature(&f.name),
                source: f.source.clone(),
                value_type: f.value_type.clone(),
                min: f.min,
                max: f.max,
                default_value: match &f.default {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                },
                description: f.description.clone(),
            })
            .collect(),
        evaluation,
    }
}

fn compliance_to_pb(c: &CustomerState) -> pb::CustomerCompliance {
    pb::CustomerCompliance {
        home_region_id: c.home.as_ref().map(|r| r.to_string()).unwrap_or_default(),
        do_not_contact: c.do_not_contact,
        complaint_cooloff_until: c
            .complaint_active
            .then(|| ms_to_timestamp(c.complaint_until)),
        recent_sales_contacts: c.recent_sales_contacts as i32,
    }
}

fn watch_list_from_pb(v: i32) -> Result<WatchList, ApiError> {
    match pb::WatchList::try_from(v) {
        Ok(pb::WatchList::Unassigned) => Ok(WatchList::Unassigned),
        Ok(pb::WatchList::Unplaceable) => Ok(WatchList::Unplaceable),
        Ok(pb::WatchList::Reengagement) => Ok(WatchList::Reengage),
        Ok(pb::WatchList::LeasesExpiring) => Ok(WatchList::Leases),
        Ok(pb::WatchList::CallbacksDue) => Ok(WatchList::Callbacks),
        _ => Err(ApiError::invalid(
            "list",
            "must be UNASSIGNED, UNPLACEABLE, REENGAGEMENT, LEASES_EXPIRING or CALLBACKS_DUE",
        )),
    }
}

fn exported_to_pb(o: ExportedOutcome) -> pb::ExportOutcomesResponse {
    let ExportedOutcome {
        region,
        cursor,
        lead_id,
        state,
        training_records,
    } = o;
    pb::ExportOutcomesResponse {
        region_id: region.to_string(),
        cursor,
        lead_id,
        final_state: state.map_or(pb::LeadState::Unspecified, state_to_pb) as i32,
        training_records,
    }
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for Api {
    type ExportOutcomesStream = BoxStream<pb::ExportOutcomesResponse>;

    async fn export_outcomes(
        &self,
        req: Request<pb::ExportOutcomesRequest>,
    ) -> Result<Response<Self::ExportOutcomesStream>, Status> {
        self.observed("ExportOutcomes", async {
            self.admin(&req)?;
            let pb::ExportOutcomesRequest {
                region_id: r,
                after,
            } = req.into_inner();
            let region = match r.as_str() {
                "" if !after.is_empty() => {
                    return Err(ApiError::invalid("region_id", "is required with after"))
                }
                "" => None,
                r => Some(region_id(r, "region_id")?),
            };
            if !after.is_empty() {
                log_cursor(&after, "after")?;
            }
            let outcomes =
                self.funnel
                    .export_outcomes(region, after, self.shutdown.clone(), &self.tasks);
            let stream = ReceiverStream::new(outcomes).map(|o| {
                o.map(exported_to_pb)
                    .map_err(|e| Status::from(ApiError::from(e)))
            });
            Ok(Box::pin(stream) as Self::ExportOutcomesStream)
        })
        .await
    }

    async fn acknowledge_export(
        &self,
        req: Request<pb::AcknowledgeExportRequest>,
    ) -> Result<Response<pb::AcknowledgeExportResponse>, Status> {
        self.observed("AcknowledgeExport", async {
            self.admin(&req)?;
            let pb::AcknowledgeExportRequest {
                region_id: r,
                cursor,
            } = req.into_inner();
            let region = region_id(&r, "region_id")?;
            let cursor = log_cursor(&cursor, "cursor")?;
            let cursor = self.funnel.acknowledge_export(&region, &cursor).await?;
            Ok(pb::AcknowledgeExportResponse {
                region_id: region.to_string(),
                cursor,
            })
        })
        .await
    }

    async fn list_leads(
        &self,
        req: Request<pb::ListLeadsRequest>,
    ) -> Result<Response<pb::ListLeadsResponse>, Status> {
        self.observed("ListLeads", async {
            self.admin(&req)?;
            let pb::ListLeadsRequest {
                region_id: region,
                list,
                page_size,
                page_token,
            } = req.into_inner();
            let region = region_id(&region, "region_id")?;
            let list = watch_list_from_pb(list)?;
            let size = match page_size {
                0 => 50,
                n => bounded(n, 1, 100, "page_size")? as u64,
            };
            // The token is the offset of the next page (opaque to clients).
            let offset: u64 = match page_token.as_str() {
                "" => 0,
                t => t
                    .parse()
                    .map_err(|_| ApiError::invalid("page_token", "not a token this server gave"))?,
            };
            let page = self
                .funnel
                .list_leads(
                    &region,
                    ListQuery {
                        list,
                        offset,
                        count: size,
                    },
                )
                .await?;
            let next = offset + page.items.len() as u64;
            Ok(pb::ListLeadsResponse {
                leads: page
                    .items
                    .iter()
                    .map(|i| pb::ListedLead {
                        lead: Some(summary_to_pb(&i.lead, None)),
                        note: i.note.clone(),
                        at: Some(ms_to_timestamp(i.at)),
                    })
                    .collect(),
                next_page_token: if next < page.total && !page.items.is_empty() {
                    next.to_string()
                } else {
                    String::new()
                },
                total: page.total as i64,
            })
        })
        .await
    }

    async fn get_customer_compliance(
        &self,
        req: Request<pb::GetCustomerComplianceRequest>,
    ) -> Result<Response<pb::GetCustomerComplianceResponse>, Status> {
        self.observed("GetCustomerCompliance", async {
            self.admin(&req)?;
            let pb::GetCustomerComplianceRequest { customer_id } = req.into_inner();
            let c = customer_id_from(&customer_id)?;
            let state = self.funnel.customer(&c).await?;
            Ok(pb::GetCustomerComplianceResponse {
                compliance: Some(compliance_to_pb(&state)),
            })
        })
        .await
    }

    async fn set_customer_compliance(
        &self,
        req: Request<pb::SetCustomerComplianceRequest>,
    ) -> Result<Response<pb::SetCustomerComplianceResponse>, Status> {
        self.observed("SetCustomerCompliance", async {
            self.admin(&req)?;
            let pb::SetCustomerComplianceRequest {
                customer_id,
                do_not_contact,
                clear_complaint,
            } = req.into_inner();
            let c = customer_id_from(&customer_id)?;
            let state = self
                .funnel
                .set_customer(&c, do_not_contact, clear_complaint)
                .await?;
            Ok(pb::SetCustomerComplianceResponse {
                compliance: Some(compliance_to_pb(&state)),
            })
        })
        .await
    }

    async fn upsert_manager(
        &self,
        req: Request<pb::UpsertManagerRequest>,
    ) -> Result<Response<pb::UpsertManagerResponse>, Status> {
        self.observed("UpsertManager", async {
            self.admin(&req)?;
            let pb::UpsertManagerRequest { manager } = req.into_inner();
            let m = manager.ok_or_else(|| ApiError::invalid("manager", "is required"))?;
            let stored = self.funnel.upsert_manager(&manager_from_pb(m)?).await?;
            Ok(pb::UpsertManagerResponse {
                manager: Some(manager_to_pb(&stored)),
            })
        })
        .await
    }

    async fn set_availability(
        &self,
        req: Request<pb::SetAvailabilityRequest>,
    ) -> Result<Response<pb::SetAvailabilityResponse>, Status> {
        self.observed("SetAvailability", async {
            self.admin(&req)?;
            let pb::SetAvailabilityRequest {
                manager_id: id,
                available,
            } = req.into_inner();
            let m = self
                .funnel
                .set_availability(&manager_id(&id, "manager_id")?, available)
                .await?;
            Ok(pb::SetAvailabilityResponse {
                manager: Some(manager_to_pb(&m)),
            })
        })
        .await
    }

    async fn get_manager(
        &self,
        req: Request<pb::GetManagerRequest>,
    ) -> Result<Response<pb::GetManagerResponse>, Status> {
        self.observed("GetManager", async {
            self.admin(&req)?;
            let pb::GetManagerRequest { manager_id: id } = req.into_inner();
            let m = self
                .funnel
                .get_manager(&manager_id(&id, "manager_id")?)
                .await?;
            Ok(pb::GetManagerResponse {
                manager: Some(manager_to_pb(&m)),
            })
        })
        .await
    }

    async fn get_queue_stats(
        &self,
        req: Request<pb::GetQueueStatsRequest>,
    ) -> Result<Response<pb::GetQueueStatsResponse>, Status> {
        self.observed("GetQueueStats", async {
            self.admin(&req)?;
            let pb::GetQueueStatsRequest { region_id: region } = req.into_inner();
            let region = region
                .as_deref()
                .map(|r| region_id(r, "region_id"))
                .transpose()?;
            let stats = self.funnel.queue_stats(region.as_ref()).await?;
            Ok(queue_stats_to_pb(&stats))
        })
        .await
    }

    async fn get_audit_trail(
        &self,
        req: Request<pb::GetAuditTrailRequest>,
    ) -> Result<Response<pb::GetAuditTrailResponse>, Status> {
        self.observed("GetAuditTrail", async {
            self.admin(&req)?;
            let pb::GetAuditTrailRequest { lead_id: id } = req.into_inner();
            let events = self.funnel.audit_trail(&lead_id(&id)?).await?;
            Ok(pb::GetAuditTrailResponse {
                events: events.iter().map(audit_to_pb).collect(),
            })
        })
        .await
    }

    async fn get_model_info(
        &self,
        req: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::GetModelInfoResponse>, Status> {
        self.observed("GetModelInfo", async {
            self.principal(&req)?;
            Ok(model_info_to_pb(self.funnel.model()))
        })
        .await
    }
    async fn register_region(
        &self,
        req: Request<pb::RegisterRegionRequest>,
    ) -> Result<Response<pb::RegisterRegionResponse>, Status> {
        self.observed("RegisterRegion", async {
            self.admin(&req)?;
            let pb::RegisterRegionRequest {
                region_id: raw,
                display_name,
            } = req.into_inner();
            let r = region_id(&raw, "region_id")?;
            let reg = self.funnel.register_region(&r, &display_name).await?;
            Ok(pb::RegisterRegionResponse {
                region: Some(region_to_pb(&r, &reg)),
            })
        })
        .await
    }

    async fn register_branch(
        &self,
        req: Request<pb::RegisterBranchRequest>,
    ) -> Result<Response<pb::RegisterBranchResponse>, Status> {
        self.observed("RegisterBranch", async {
            self.admin(&req)?;
            let pb::RegisterBranchRequest {
                region_id: raw_region,
                branch_id: raw_branch,
            } = req.into_inner();
            let r = region_id(&raw_region, "region_id")?;
            let b = branch_id(&raw_branch, "branch_id")?;
            let reg = self.funnel.register_branch(&r, &b).await?;
            Ok(pb::RegisterBranchResponse {
                region: Some(region_to_pb(&r, &reg)),
            })
        })
        .await
    }

    async fn list_regions(
        &self,
        req: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        self.observed("ListRegions", async {
            self.admin(&req)?;
            let pb::ListRegionsRequest {} = req.into_inner();
            let registry = self.funnel.regions().await?;
            Ok(pb::ListRegionsResponse {
                regions: registry
                    .regions
                    .iter()
                    .map(|(r, reg)| region_to_pb(r, reg))
                    .collect(),
            })
        })
        .await
    }

    async fn get_funnel_report(
        &self,
        req: Request<pb::GetFunnelReportRequest>,
    ) -> Result<Response<pb::GetFunnelReportResponse>, Status> {
        self.observed("GetFunnelReport", async {
            self.admin(&req)?;
            let q = funnel_query_from_pb(req.into_inner(), self.funnel.today())?;
            let report = self.funnel.funnel_report(&q).await?;
            Ok(funnel_report_to_pb(&report))
        })
        .await
    }
}
