//! Compiles proto/ with the pure-Rust protox (no protoc needed) and keeps the
//! descriptor set for gRPC reflection.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/funnel/v1/common.proto",
        "proto/funnel/v1/intake.proto",
        "proto/funnel/v1/remote_desk.proto",
        "proto/funnel/v1/referrals.proto",
        "proto/funnel/v1/cockpit.proto",
        "proto/funnel/v1/admin.proto",
    ];
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("funnel_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
