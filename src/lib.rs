//! funnel: scores AI-robot customer conversations and routes leads down a
//! three-tier funnel (branch referral, remote nurture queue, incubation),
//! keeping every queue, lease and assignment in Redis.
//!
//! Data flows one way: `api` (gRPC) → `service` → `scoring` (ONNX) and
//! `routing` (Redis). `domain` knows none of them.

pub mod api;
pub mod app;
pub mod client;
pub mod config;
pub mod demo;
pub mod dev;
pub mod domain;
pub mod loadgen;
pub mod routing;
pub mod scoring;
pub mod service;
pub mod telemetry;
pub mod tls;
pub mod web;
pub mod webhooks;
