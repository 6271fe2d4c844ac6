//! skiff: a small GitOps continuous-delivery controller for Kubernetes.
//!
//! The controller itself lands with issue 3; for now the binary only reports its version.

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("version") | Some("--version") => println!("skiff {}", env!("CARGO_PKG_VERSION")),
        _ => {
            eprintln!("usage: skiff version");
            std::process::exit(2);
        }
    }
}
