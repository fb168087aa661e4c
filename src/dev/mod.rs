//! Shared by the demo, the load generator, tests and benches: private Redis
//! servers, a local server, and sample data. Not used by `funnel serve`.

pub mod sample;
