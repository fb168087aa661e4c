//! ONNX Runtime: the process's one environment and how a session is opened.

use super::ScoringError;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use std::sync::OnceLock;

/// The process's one ONNX Runtime environment (a second one cannot be made).
static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Initialises ONNX Runtime once, from `library` if given, else from
/// `ORT_DYLIB_PATH` or a `libonnxruntime.so` next to the executable.
pub fn environment(
    library: Option<&std::path::Path>,
) -> Result<&'static ort::environment::Environment, ScoringError> {
    ENVIRONMENT
        .get_or_init(|| {
            let builder = match library {
                Some(path) => {
                    ort::init_from(path).map_err(|e| format!("{}: {e}", path.display()))?
                }
                None => ort::init(),
            };
            builder
                .with_name("funnel")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ScoringError::Runtime(format!("cannot initialise ONNX Runtime: {e}")))
}

pub(super) fn open_session(
    env: &ort::environment::Environment,
    path: &std::path::Path,
    threads: usize,
) -> ort::Result<Session> {
    Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?
        .with_inter_threads(1)?
        .commit_from_file(path)
}
