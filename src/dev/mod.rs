//! Shared by the demo, the load generator, tests and benches: private Redis
//! servers, a local server, manager rosters with their tokens, and sample
//! data. Not used by `funnel serve`.

mod cluster;
pub mod redis;
pub mod roster;
pub mod sample;
pub mod server;
