use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = skiff::cli::Cli::parse();
    if let Err(e) = skiff::cli::run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
