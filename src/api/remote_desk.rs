//! RemoteDeskService: remote managers pull leads under a lease and act on them.

use super::auth::Principal;
use super::convert::*;
use super::observe::{bounded, require, Fenced};
use super::{pb, Api};
use crate::domain::RequestId;
use crate::routing::Completion;
use crate::service::Reader;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// Who reads a lead, in the core's terms.
pub fn reader(p: Principal) -> Reader {
    match p {
        Principal::Admin => Reader::Admin,
        Principal::RemoteManager(m) | Principal::OfflineManager(m) => Reader::Manager(m),
        Principal::Robot => Reader::Robot,
    }
}

#[tonic::async_trait]
impl pb::remote_desk_service_server::RemoteDeskService for Api {
    async fn pull_leads(
        &self,
        req: Request<pb::PullLeadsRequest>,
    ) -> Result<Response<pb::PullLeadsResponse>, Status> {
        self.observed("PullLeads", async {
            let me = self.remote(&req)?;
            let pb::PullLeadsRequest {
                max_leads,
                lease_seconds,
                request_id,
            } = req.into_inner();
            let request_id = match request_id.as_str() {
                "" => RequestId::generate(),
                id => request_id_from(id)?,
            };
            let max = bounded(max_leads, 1, 50, "max_leads")?;
            let lease = lease_seconds
                .map(|s| bounded(s, 60, 3600, "lease_seconds"))
                .transpose()?
                .map(|s| Duration::from_secs(s as u64));
            let leases = self.funnel.pull(&me, max, lease, &request_id).await?;
            // The pull script answers what the list shows: no further reads.
            let leads = leases
                .iter()
                .map(|l| pb::LeasedLead {
                    lead: Some(summary_to_pb(&l.lead, None)),
                    lease_id: l.lease_id.clone(),
                    lease_expires_at: Some(ms_to_timestamp(l.expires_at)),
                })
                .collect();
            Ok(pb::PullLeadsResponse { leads })
        })
        .await
    }

    async fn list_my_leads(
        &self,
        req: Request<pb::ListMyLeadsRequest>,
    ) -> Result<Response<pb::ListMyLeadsResponse>, Status> {
        self.observed("ListMyLeads", async {
            let me = self.remote(&req)?;
            let pb::ListMyLeadsRequest {} = req.into_inner();
            let work = self.funnel.my_work(&me).await?;
            let leads = work
                .held
                .iter()
                .map(|a| pb::LeasedLead {
                    lead: Some(summary_to_pb(&a.lead, None)),
                    lease_id: a.lead.lease_id.clone().unwrap_or_default(),
                    lease_expires_at: Some(ms_to_timestamp(a.due_at)),
                })
                .collect();
            let due_call_backs = work
                .callbacks
                .iter()
                .map(|a| pb::DueCallBack {
                    lead: Some(summary_to_pb(&a.lead, None)),
                    due_at: Some(ms_to_timestamp(a.due_at)),
                })
                .collect();
            Ok(pb::ListMyLeadsResponse {
                leads,
                due_call_backs,
            })
        })
        .await
    }

    async fn get_lead(
        &self,
        req: Request<pb::GetLeadRequest>,
    ) -> Result<Response<pb::GetLeadResponse>, Status> {
        self.observed("GetLead", async {
            let who = reader(self.principal(&req)?);
            let pb::GetLeadRequest { lead_id: id } = req.into_inner();
            let rec = self.funnel.get_lead(&who, &lead_id(&id)?).await?;
            Ok(pb::GetLeadResponse {
                lead: Some(lead_to_pb(&rec)),
            })
        })
        .await
    }

    async fn complete_lead(
        &self,
        req: Request<pb::CompleteLeadRequest>,
    ) -> Result<Response<pb::CompleteLeadResponse>, Status> {
        self.observed("CompleteLead", async {
            let me = self.remote(&req)?;
            let pb::CompleteLeadRequest {
                lead_id,
                lease_id,
                outcome,
                callback_at,
                note,
            } = req.into_inner();
            let call = Fenced::new(me, &lead_id, lease_id, "lease_id")?;
            let completion = Completion {
                outcome: remote_outcome_from_pb(outcome)?,
                callback_at: callback_at.as_ref().map(timestamp_to_ms),
                note: &note,
            };
            let moved = self.funnel.complete(call.lease(), completion).await?;
            let (state, destination) = moved_to_pb(&moved);
            Ok(pb::CompleteLeadResponse {
                state: state as i32,
                destination,
            })
        })
        .await
    }

    async fn release_lead(
        &self,
        req: Request<pb::ReleaseLeadRequest>,
    ) -> Result<Response<pb::ReleaseLeadResponse>, Status> {
        self.observed("ReleaseLead", async {
            let me = self.remote(&req)?;
            let pb::ReleaseLeadRequest { lead_id, lease_id } = req.into_inner();
            let call = Fenced::new(me, &lead_id, lease_id, "lease_id")?;
            self.funnel.release(call.lease()).await?;
            Ok(pb::ReleaseLeadResponse {})
        })
        .await
    }

    async fn extend_lease(
        &self,
        req: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        self.observed("ExtendLease", async {
            let me = self.remote(&req)?;
            let pb::ExtendLeaseRequest {
                lead_id,
                lease_id,
                extend_seconds,
            } = req.into_inner();
            let call = Fenced::new(me, &lead_id, lease_id, "lease_id")?;
            let by = bounded(extend_seconds, 1, 3600, "extend_seconds")?;
            let until = self
                .funnel
                .extend(call.lease(), Duration::from_secs(by as u64))
                .await?;
            Ok(pb::ExtendLeaseResponse {
                lease_expires_at: Some(ms_to_timestamp(until)),
            })
        })
        .await
    }

    async fn escalate_lead(
        &self,
        req: Request<pb::EscalateLeadRequest>,
    ) -> Result<Response<pb::EscalateLeadResponse>, Status> {
        self.observed("EscalateLead", async {
            let me = self.remote(&req)?;
            let pb::EscalateLeadRequest {
                lead_id,
                lease_id,
                reason,
            } = req.into_inner();
            let call = Fenced::new(me, &lead_id, lease_id, "lease_id")?;
            require(&reason, "reason")?;
            let moved = self.funnel.escalate(call.lease(), &reason).await?;
            Ok(pb::EscalateLeadResponse {
                destination: moved_to_pb(&moved).1,
            })
        })
        .await
    }
}
