//! `s3-proxy-local`: the API locally (`make run`), one event (`make invoke`),
//! or the embedded S3 store alone (`make store`).

use clap::{Parser, Subcommand};
use s3_proxy::local::{self, S3Endpoint, server};
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
    /// Address to listen on. Anything but loopback also needs --allow-remote:
    /// the local API and store have no authentication of their own.
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    host: IpAddr,
    /// Listen off loopback (with --host), knowing that anyone who can reach
    /// the address can read, write and delete everything served.
    #[arg(long, global = true)]
    allow_remote: bool,
    /// A host name to answer besides the address listened on and loopback
    /// names (requests naming any other Host get 421). Repeatable.
    #[arg(long = "allow-host", value_name = "NAME", global = true)]
    allow_hosts: Vec<String>,
    /// Folder of the embedded S3 store (kept across restarts; several
    /// processes may use one folder at once).
    #[arg(long, env = "DATA", default_value = ".local-data", global = true)]
    data: PathBuf,
    /// Port of the embedded store on 127.0.0.1 (where `cargo lambda watch`
    /// looks); `make run` takes any free port if it is in use.
    #[arg(long, env = "S3_PORT", default_value_t = 9100, global = true)]
    s3_port: u16,
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
    Store,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One event runs on one thread, as the Lambda runs it (and with less
    // memory: no worker threads); the servers get a worker per core.
    let runtime = match cli.command {
        Some(Command::Invoke { .. }) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run(&cli)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3-proxy-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match &cli.command {
        Some(Command::Invoke { event }) => {
            local::invoke(event, S3Endpoint::choose(cli.data.clone()))
                .await
                .map(|json| println!("{json}"))
        }
        Some(Command::Store) => {
            s3_proxy::telemetry::init_text();
            let addr = SocketAddr::new(cli.host, cli.s3_port);
            match server::check_exposure(addr, cli.allow_remote) {
                Ok(()) => local::serve_store(addr, &cli.data, &cli.allow_hosts).await,
                Err(e) => Err(e.into()),
            }
        }
        None => {
            s3_proxy::telemetry::init_text();
            let addr = SocketAddr::new(cli.host, cli.port);
            match server::check_exposure(addr, cli.allow_remote) {
                Ok(()) => {
                    let listen = local::Listen {
                        addr,
                        names: cli.allow_hosts.clone(),
                        store_port: cli.s3_port,
                    };
                    local::run(listen, S3Endpoint::choose(cli.data.clone()), &cli.stage).await
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
