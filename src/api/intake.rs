//! IntakeService: the robot posts interactions, one by one or as a stream.

use super::convert::*;
use super::observe::ApiResult;
use super::{pb, Api};
use crate::api::error::ApiError;
use futures::stream::{FuturesUnordered, StreamExt};
use std::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use pb::submit_interactions_response::ItemResult;

impl Api {
    async fn decode_and_submit(
        &self,
        interaction: Option<pb::Interaction>,
    ) -> ApiResult<pb::SubmitInteractionResponse> {
        let t0 = Instant::now();
        let interaction =
            interaction.ok_or_else(|| ApiError::invalid("interaction", "is required"))?;
        let interaction = interaction_from_pb(interaction)?;
        self.funnel.metrics().observe_stage("decode", t0.elapsed());
        let submitted = self.funnel.submit(interaction).await?;
        Ok(submitted_to_pb(&submitted))
    }

    async fn submit_item(
        &self,
        item: pb::SubmitInteractionsRequest,
    ) -> pb::SubmitInteractionsResponse {
        let pb::SubmitInteractionsRequest {
            sequence,
            interaction,
        } = item;
        let interaction_id = interaction
            .as_ref()
            .map(|i| i.interaction_id.clone())
            .unwrap_or_default();
        let result = match self.decode_and_submit(interaction).await {
            Ok(r) => ItemResult::Result(r),
            Err(e) => {
                let s = Status::from(e);
                ItemResult::Error(pb::ItemError {
                    code: s.code() as i32,
                    message: s.message().to_string(),
                })
            }
        };
        pb::SubmitInteractionsResponse {
            sequence,
            interaction_id,
            item_result: Some(result),
        }
    }
}

use super::BoxStream;

#[tonic::async_trait]
impl pb::intake_service_server::IntakeService for Api {
    async fn submit_interaction(
        &self,
        req: Request<pb::SubmitInteractionRequest>,
    ) -> Result<Response<pb::SubmitInteractionResponse>, Status> {
        self.observed("SubmitInteraction", async {
            self.robot(&req)?;
            let pb::SubmitInteractionRequest { interaction } = req.into_inner();
            self.decode_and_submit(interaction).await
        })
        .await
    }

    type SubmitInteractionsStream = BoxStream<pb::SubmitInteractionsResponse>;

    async fn submit_interactions(
        &self,
        req: Request<Streaming<pb::SubmitInteractionsRequest>>,
    ) -> Result<Response<Self::SubmitInteractionsStream>, Status> {
        self.observed("SubmitInteractions", async {
            self.robot(&req)?;
            let mut inbound = req.into_inner();
            let window = self.stream_window;
            let (tx, rx) = tokio::sync::mpsc::channel(window);
            let api = self.clone();
            // At most `window` items in flight: the inbound stream is not read
            // further until results are sent, which is the back-pressure.
            // Tracked, so that shutdown waits for the items in flight.
            self.tasks.spawn(async move {
                let mut in_flight = FuturesUnordered::new();
                let mut open = true;
                loop {
                    tokio::select! {
                        // On shutdown, stop reading: finish what is in flight.
                        _ = api.shutdown.cancelled(), if open => open = false,
                        item = inbound.next(), if open && in_flight.len() < window => match item {
                            Some(Ok(item)) => {
                                let api = api.clone();
                                in_flight.push(async move { api.submit_item(item).await });
                            }
                            Some(Err(status)) => {
                                let _ = tx.send(Err(status)).await;
                                open = false;
                            }
                            None => open = false,
                        },
                        Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                            if tx.send(Ok(done)).await.is_err() {
                                return; // client went away
                            }
                        }
                        else => break,
                    }
                }
            });
            Ok(Box::pin(ReceiverStream::new(rx)) as Self::SubmitInteractionsStream)
        })
        .await
    }
}
