use clap::Parser;

fn main() {
    let cli = skiff::cli::Cli::parse();
    match skiff::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(failed) => {
            eprintln!("error: {}", failed.message);
            std::process::exit(failed.code);
        }
    }
}
