//! `funnel hash-token <token>`: the SHA-256 to put in the tokens file.

#[derive(clap::Args)]
pub struct Args {
    /// The bearer token to hash.
    token: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    println!("{}", funnel::api::auth::hash_token(&args.token));
    Ok(())
}
