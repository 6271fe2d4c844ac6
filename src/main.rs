use clap::Parser;

fn main() {
    let cli = skiff::cli::Cli::parse();
    if let Err(e) = skiff::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
