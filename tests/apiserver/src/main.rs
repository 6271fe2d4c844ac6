//! Runs the test API server standalone so that a person can point kubectl at it:
//!
//! ```text
//! cargo run -p skiff-test-apiserver -- --listen 127.0.0.1:6443 --kubeconfig /tmp/kubeconfig
//! KUBECONFIG=/tmp/kubeconfig kubectl get namespaces
//! ```

use skiff_test_apiserver::{kubeconfig_yaml, TestApiServer};

fn usage() -> ! {
    eprintln!("usage: skiff-test-apiserver [--listen ADDR] [--kubeconfig PATH]\n\n  --listen ADDR       address to listen on (default 127.0.0.1:6443; env SKIFF_TEST_APISERVER_LISTEN)\n  --kubeconfig PATH   also write a kubeconfig for the server to PATH");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut listen =
        std::env::var("SKIFF_TEST_APISERVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:6443".into());
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage()),
            "--kubeconfig" => kubeconfig = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown argument {other:?}");
                usage()
            }
        }
    }
    let server = match TestApiServer::start_on(&listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1)
        }
    };
    if let Some(path) = kubeconfig {
        if let Err(e) = std::fs::write(&path, kubeconfig_yaml(&server.url())) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1)
        }
        println!("kubeconfig: {path}");
    }
    println!("test API server listening on {}", server.url());
    let _ = tokio::signal::ctrl_c().await;
}
