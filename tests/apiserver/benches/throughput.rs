//! Prints how fast the test API server is where skiff's scale tests lean on it:
//! server-side applies per second while it fills up to 10,000 objects, and the
//! latency from a write to its delivery on each of 1,000 open watches.
//!
//! `cargo bench -p skiff-test-apiserver --bench throughput`

use serde_json::json;
use skiff_test_apiserver::TestApiServer;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OBJECTS: usize = 10_000;
const WATCHES: usize = 1_000;
const WRITES: usize = 20;
const CONCURRENCY: usize = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = TestApiServer::start().await;
    let base = server.url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(WATCHES + CONCURRENCY)
        .build()
        .unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}});
    http.post(format!("{base}/api/v1/namespaces"))
        .json(&ns)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    // 1. Server-side apply throughput.
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, base, next) = (http.clone(), base.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= OBJECTS {
                        return;
                    }
                    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("cm-{i}"), "labels": {"bench": "fill", "shard": (i % 10).to_string()}},
                        "data": {"index": i.to_string(), "payload": "x".repeat(200)}});
                    let resp = http
                        .patch(format!("{base}/api/v1/namespaces/bench/configmaps/cm-{i}?fieldManager=bench&force=true"))
                        .header("Content-Type", "application/apply-patch+yaml")
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success(), "apply failed: {}", resp.status());
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = start.elapsed();
    println!(
        "apply: {OBJECTS} ConfigMaps by server-side apply, {CONCURRENCY} clients: {:.2} s, {:.0} objects/s",
        elapsed.as_secs_f64(),
        OBJECTS as f64 / elapsed.as_secs_f64()
    );

    let start = Instant::now();
    let resp = http
        .get(format!("{base}/api/v1/namespaces/bench/configmaps"))
        .send()
        .await
        .unwrap();
    let list: serde_json::Value = resp.json().await.unwrap();
    println!(
        "list: {} objects in {:.0} ms",
        list["items"].as_array().map_or(0, |a| a.len()),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    // 2. Watch fan-out: 1,000 watches, each sees every write.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let ready = Arc::new(tokio::sync::Barrier::new(WATCHES + 1));
    for _ in 0..WATCHES {
        let (http, base, rv, tx, ready) = (
            http.clone(),
            base.clone(),
            rv.clone(),
            tx.clone(),
            ready.clone(),
        );
        tokio::spawn(async move {
            let mut resp = http
                .get(format!("{base}/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion={rv}&labelSelector=bench%3Dping&timeoutSeconds=120"))
                .send()
                .await
                .unwrap();
            ready.wait().await;
            let mut buf = Vec::new();
            let mut seen = 0;
            while let Ok(Some(chunk)) = resp.chunk().await {
                let now = Instant::now();
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    let event: serde_json::Value = serde_json::from_slice(&line).unwrap();
                    if let Some(n) = event["object"]["data"]["n"].as_str() {
                        let _ = tx.send((n.parse().unwrap(), now));
                        seen += 1;
                    }
                }
                if seen == WRITES {
                    return;
                }
            }
        });
    }
    drop(tx);
    ready.wait().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut written = Vec::with_capacity(WRITES);
    for n in 0..WRITES {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("ping-{n}"), "labels": {"bench": "ping"}}, "data": {"n": n.to_string()}});
        let sent = Instant::now();
        http.post(format!("{base}/api/v1/namespaces/bench/configmaps"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        written.push(sent);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = Vec::with_capacity(WATCHES * WRITES);
    while let Some((n, at)) = rx.recv().await {
        latencies.push(at.saturating_duration_since(written[n]));
    }
    latencies.sort();
    println!(
        "watch fan-out: {} deliveries ({WATCHES} watches x {WRITES} writes, {OBJECTS} objects stored): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
    assert_eq!(
        latencies.len(),
        WATCHES * WRITES,
        "every watch saw every write"
    );
}
