//! `s3-proxy-local`: the API locally (`make run`) or one event (`make invoke`).

use clap::{Parser, Subcommand};
use s3_proxy::local::{self, S3Endpoint};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serves the s3-proxy API on loopback through an API Gateway REST emulator,
/// over an embedded S3 store (or the endpoint in AWS_ENDPOINT_URL_S3).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Address to listen on (keep it on loopback: the local API has no IAM auth).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Folder of the embedded S3 store (kept across restarts).
    #[arg(long, env = "DATA", default_value = ".local-data", global = true)]
    data: PathBuf,
    /// The API Gateway stage name: paths work with and without `/<stage>`.
    #[arg(long, env = "STAGE", default_value = "prod")]
    stage: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one event file through the handler and prints the response JSON.
    Invoke {
        /// A REST v1 (or HTTP API v2) proxy event, e.g. events/get-object.json.
        event: PathBuf,
    },
    /// Serves only the embedded S3 store (SigV4, static local credentials),
    /// e.g. for `cargo lambda watch` with AWS_ENDPOINT_URL_S3 pointing at it.
    Store {
        /// Port for the S3 endpoint.
        #[arg(long, env = "S3_PORT", default_value_t = 9100)]
        s3_port: u16,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Invoke { event }) => {
            local::invoke(event, S3Endpoint::choose(cli.data.clone()))
                .await
                .map(|json| println!("{json}"))
        }
        Some(Command::Store { s3_port }) => {
            s3_proxy::telemetry::init_text();
            local::serve_store(SocketAddr::new(cli.host, *s3_port), &cli.data).await
        }
        None => {
            s3_proxy::telemetry::init_text();
            let addr = SocketAddr::new(cli.host, cli.port);
            local::run(addr, S3Endpoint::choose(cli.data.clone()), &cli.stage).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3-proxy-local: {e}");
            ExitCode::FAILURE
        }
    }
}
