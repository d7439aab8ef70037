//! The `scimd` binary: parse the command line and hand over to the library.

/// Memory freed after a burst of large responses goes back to the system (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = scimd::cli::Cli::parse_args();
    match scimd::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<scimd::cli::RowsRefused>().is_some() => {
            eprintln!("scimd: {e:#}");
            std::process::ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("scimd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
