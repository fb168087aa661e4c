//! Pushes "your offers changed" to the referral watchers of this process.
//! The scripts PUBLISH the manager's id on `<prefix>:offers` whenever an offer
//! is made to it or leaves it; one subscriber per process wakes that
//! manager's watchers, which then re-read their pending offers. On a Redis
//! Cluster, messages published on any node reach every node, so one node is
//! enough. Messages are only nudges: watchers also re-read on a timer, and
//! after a reconnect everyone is woken, so a lost message only delays.

use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct OfferEvents {
    by_manager: Mutex<HashMap<String, Arc<Notify>>>,
}

impl OfferEvents {
    /// The wake-up of `manager`'s watchers.
    pub fn watch(&self, manager: &str) -> Arc<Notify> {
        let mut map = self.by_manager.lock().expect("offer events lock");
        // Forget managers nobody watches any more.
        map.retain(|_, n| Arc::strong_count(n) > 1);
        map.entry(manager.to_string()).or_default().clone()
    }

    fn wake(&self, manager: &str) {
        if let Some(n) = self
            .by_manager
            .lock()
            .expect("offer events lock")
            .get(manager)
        {
            n.notify_waiters();
        }
    }

    fn wake_all(&self) {
        for n in self.by_manager.lock().expect("offer events lock").values() {
            n.notify_waiters();
        }
    }

    /// Subscribes (reconnecting as needed) until `stop` is cancelled.
    pub async fn run(
        self: Arc<Self>,
        client: redis::Client,
        channel: String,
        stop: CancellationToken,
    ) {
        while !stop.is_cancelled() {
            let subscribed = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                redis::RedisResult::Ok(pubsub)
            };
            match subscribed.await {
                Ok(pubsub) => {
                    // Whatever changed while we were not listening.
                    self.wake_all();
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            msg = messages.next() => match msg {
                                Some(msg) => {
                                    if let Ok(manager) = msg.get_payload::<String>() {
                                        self.wake(&manager);
                                    }
                                }
                                None => break, // connection lost
                            },
                            _ = stop.cancelled() => return,
                        }
                    }
                    tracing::warn!("offer events: subscription lost; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "offer events: cannot subscribe; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }
}
