//! The referral watch: an offline manager's pending offers as a stream of
//! changes. Woken by the scripts' pub/sub nudges (any replica), re-read on a
//! timer as a fallback; a reconnecting client is resent what is pending.

use super::{Funnel, FunnelError};
use crate::domain::{LeadId, LeadState, ManagerId};
use crate::routing::{LeadRecord, PendingOffer};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why an offer left a manager's pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawReason {
    TimedOut,
    ManagerUnavailable,
    /// Taken back for another reason (the customer's next call, a closed lead).
    Superseded,
}

/// One change of a manager's pending offers.
#[derive(Debug, Clone)]
pub enum ReferralChange {
    Offered {
        offer: PendingOffer,
        lead: Box<LeadRecord>,
        /// Why it was offered (the latest audit reason).
        reason: String,
    },
    Withdrawn {
        offer_id: String,
        lead_id: LeadId,
        reason: WithdrawReason,
    },
    /// Everything pending at connection time has been sent.
    Synced { pending: usize },
}

/// Why an offer this manager no longer has went away; `None` when the
/// manager accepted or declined it (nothing to tell).
fn withdraw_reason(rec: Option<&LeadRecord>, me: &ManagerId) -> Option<WithdrawReason> {
    let Some(rec) = rec else {
        return Some(WithdrawReason::Superseded);
    };
    let last = rec.history.iter().rev().find(|e| {
        e.manager == me.as_str()
            && matches!(
                e.action.as_str(),
                "offer_timed_out" | "offer_withdrawn" | "declined" | "accepted"
            )
    });
    match last.map(|e| e.action.as_str()) {
        Some("accepted") | Some("declined") => None,
        Some("offer_timed_out") => Some(WithdrawReason::TimedOut),
        Some("offer_withdrawn") => Some(WithdrawReason::ManagerUnavailable),
        _ => Some(WithdrawReason::Superseded),
    }
}

type Tx = mpsc::Sender<Result<ReferralChange, FunnelError>>;

impl Funnel {
    /// Streams `me`'s offer changes until the receiver is dropped, Redis
    /// fails (an error, then the end: the client reconnects and resyncs) or
    /// `stop` is cancelled (ends with [`FunnelError::ShuttingDown`]).
    pub fn watch_referrals(
        self: &Arc<Self>,
        me: ManagerId,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> mpsc::Receiver<Result<ReferralChange, FunnelError>> {
        let (tx, rx) = mpsc::channel(64);
        let funnel = self.clone();
        tasks.spawn(async move { funnel.watch_loop(me, stop, tx).await });
        rx
    }

    async fn watch_loop(&self, me: ManagerId, stop: CancellationToken, tx: Tx) {
        let mut known: HashMap<String, LeadId> = HashMap::new();
        let mut synced = false;
        let wake = self.offer_events.watch(me.as_str());
        loop {
            // Register for wake-ups before reading, so no change is missed.
            let changed = wake.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.sync_offers(&me, &mut known, &tx).await {
                Ok(true) => {}
                Ok(false) => return, // the client went away
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            if !synced {
                synced = true;
                let change = ReferralChange::Synced {
                    pending: known.len(),
                };
                if tx.send(Ok(change)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep(self.watch_poll) => {}
                _ = tx.closed() => return,
                _ = stop.cancelled() => {
                    let _ = tx.send(Err(FunnelError::ShuttingDown)).await;
                    return;
                }
            }
        }
    }

    /// Sends what changed since `known`; false when the receiver is gone.
    async fn sync_offers(
        &self,
        me: &ManagerId,
        known: &mut HashMap<String, LeadId>,
        tx: &Tx,
    ) -> Result<bool, FunnelError> {
        let pending = self.router.pending_offers(me).await?;
        for o in &pending {
            if known.contains_key(&o.offer_id) {
                continue;
            }
            let Ok(rec) = self.router.get_lead(&o.lead_id).await else {
                continue;
            };
            // Between the reads the offer may have moved on: never show a
            // lead to a manager it is not offered to.
            let l = &rec.lead;
            let still_mine = l.state == LeadState::ReferralOffered
                && l.owner.as_ref() == Some(me)
                && l.offer_id.as_deref() == Some(o.offer_id.as_str());
            if !still_mine {
                continue;
            }
            known.insert(o.offer_id.clone(), o.lead_id.clone());
            let change = ReferralChange::Offered {
                offer: o.clone(),
                // Why it was offered: the last move, not the sweeper's
                // "about to time out" warning.
                reason: rec
                    .history
                    .iter()
                    .rev()
                    .find(|e| e.action != "offer_expiring")
                    .map(|e| e.reason.clone())
                    .unwrap_or_default(),
                lead: Box::new(rec),
            };
            if tx.send(Ok(change)).await.is_err() {
                return Ok(false);
            }
        }
        let gone: Vec<(String, LeadId)> = known
            .iter()
            .filter(|(id, _)| !pending.iter().any(|o| &o.offer_id == *id))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (offer_id, lead_id) in gone {
            known.remove(&offer_id);
            let rec = self.router.get_lead(&lead_id).await.ok();
            if let Some(reason) = withdraw_reason(rec.as_ref(), me) {
                let change = ReferralChange::Withdrawn {
                    offer_id,
                    lead_id,
                    reason,
                };
                if tx.send(Ok(change)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
