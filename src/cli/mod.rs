//! The `skiff` command line: flags with env-var twins and `--help` text.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "skiff",
    version,
    about = "A small GitOps controller: keeps a Kubernetes cluster equal to a git repository."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print what skiff would apply for a directory of manifests.
    Render(RenderArgs),
    /// Print the Application CustomResourceDefinition as YAML.
    Crd,
    /// Print skiff's version.
    Version,
}

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// The directory to render.
    pub dir: PathBuf,
    /// Read subdirectories too.
    #[arg(long, env = "SKIFF_RENDER_RECURSE")]
    pub recurse: bool,
    /// Only files matching this glob (or `{a,b}` list).
    #[arg(long, default_value = "", env = "SKIFF_RENDER_INCLUDE")]
    pub include: String,
    /// Skip files matching this glob (or `{a,b}` list).
    #[arg(long, default_value = "", env = "SKIFF_RENDER_EXCLUDE")]
    pub exclude: String,
}

/// Runs a command; the error is printed by `main` and makes the exit code 1.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Version => {
            println!("skiff {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Crd => {
            print!("{}", crate::application::crd_yaml());
            Ok(())
        }
        Command::Render(args) => {
            let tree = crate::source::tree::DirTree::new(&args.dir).map_err(|e| e.to_string())?;
            let opts = crate::application::DirectorySource {
                recurse: args.recurse,
                include: args.include,
                exclude: args.exclude,
            };
            let manifests = crate::render::render(&tree, "", &opts).map_err(|e| e.to_string())?;
            let objects: Vec<serde_json::Value> = manifests.into_iter().map(|m| m.object).collect();
            print!("{}", crate::render::yaml_out::write_stream(&objects));
            Ok(())
        }
    }
}
