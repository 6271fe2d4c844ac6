//! Prints kustomize render figures: whole-process `skiff render` against
//! `kubectl kustomize` on the same trees (a ratio, median over the corpus), a
//! 70-object install the size of Argo CD's HA manifests (time and peak
//! memory of each process), and an in-process render of a generated
//! 1,000-resource overlay.
//!
//! `cargo bench --bench kustomize`

#[path = "../tests/support/kustomize_corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a command `n` times; returns the median wall time and the largest peak RSS (KiB).
// Each child is reaped by wait4, which also reports its peak memory.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut dyn FnMut() -> Command, n: usize) -> (Duration, i64) {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..n {
        let start = Instant::now();
        let child = cmd()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let pid = child.id() as i32;
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child with valid pointers.
        unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        times.push(start.elapsed());
        peak = peak.max(usage.ru_maxrss);
        assert_eq!(status, 0, "command failed");
    }
    times.sort();
    (times[n / 2], peak)
}

fn skiff(root: &Path, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skiff"));
    c.arg("render").arg("--root").arg(root).arg(dir);
    c
}

fn kubectl(dir: &Path) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("kustomize").arg(dir);
    c
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A base of `n` objects (Deployments, Services, ConfigMaps, ServiceAccounts,
/// RBAC) and an overlay with namespace, prefix, labels, images, replicas and a patch.
fn generated_tree(dir: &Path, n: usize) {
    let mut res = String::new();
    let mut names = Vec::new();
    for i in 0..n {
        let doc = match i % 5 {
            0 => format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      serviceAccountName: sa-{i}\n      containers:\n      - name: main\n        image: quay.io/argoproj/argocd:v2.13.0\n        args: [--loglevel, info]\n        envFrom:\n        - configMapRef: {{name: cfg-{i}}}\n        ports:\n        - containerPort: 8080\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n"),
            1 => format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector: {{app: app-{i}}}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"),
            2 => format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{}\ndata:\n  key: value-{i}\n  other: \"true\"\n", i - 2),
            3 => format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-{}\n", i - 3),
            _ => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: role-{i}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps, secrets]\n  verbs: [get, list, watch]\n"),
        };
        res.push_str(&doc);
        res.push_str("---\n");
        names.push(i);
    }
    write(dir, "base/all.yaml", &res);
    write(dir, "base/kustomization.yaml", "resources: [all.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [MODE=ha, TIMEOUT=30s]\n");
    write(
        dir,
        "overlay/kustomization.yaml",
        "resources: [../base]\nnamespace: argocd\nnamePrefix: ha-\nlabels:\n- pairs: {app.kubernetes.io/part-of: argocd}\n  includeSelectors: false\nimages:\n- name: quay.io/argoproj/argocd\n  newTag: v2.13.1\nreplicas:\n- {name: app-0, count: 3}\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n      path: /spec/template/spec/securityContext\n      value: {runAsNonRoot: true}\n",
    );
}

/// One level of an OpenAPI schema as controller-gen writes it: `width`
/// described properties, each an object `depth` levels down, strings at the leaves.
fn schema(out: &mut String, indent: usize, width: usize, depth: usize) {
    let pad = " ".repeat(indent);
    out.push_str(&format!("{pad}properties:\n"));
    for i in 0..width {
        out.push_str(&format!("{pad}  field{i}:\n"));
        out.push_str(&format!(
            "{pad}    description: |-\n{pad}      Field{i} configures one part of the source this object renders: when it is\n{pad}      unset the controller falls back to the defaults of its project, and when it is\n{pad}      set it must name an existing object in the same namespace.\n"
        ));
        if depth == 0 {
            out.push_str(&format!("{pad}    type: string\n"));
        } else {
            schema(out, indent + 4, width, depth - 1);
            out.push_str(&format!("{pad}    type: object\n"));
        }
    }
}

/// An install the size of Argo CD's `manifests/ha/cluster-install`: three
/// large CRDs (most of its ~2 MB, as Application and ApplicationSet are), and
/// 67 more objects, with an overlay as users write one over it. Returns the
/// bytes of YAML the build reads.
fn argo_cd_sized_tree(dir: &Path) -> usize {
    let mut crds = String::new();
    for (kind, width) in [("Application", 6), ("ApplicationSet", 7), ("AppProject", 5)] {
        let plural = format!("{}s", kind.to_lowercase());
        crds.push_str(&format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  labels:\n    app.kubernetes.io/name: {plural}.argoproj.io\n    app.kubernetes.io/part-of: argocd\n  name: {plural}.argoproj.io\nspec:\n  group: argoproj.io\n  names:\n    kind: {kind}\n    plural: {plural}\n  scope: Namespaced\n  versions:\n  - name: v1alpha1\n    schema:\n      openAPIV3Schema:\n"
        ));
        schema(&mut crds, 8, width, 3);
        crds.push_str("        type: object\n    served: true\n    storage: true\n    subresources: {}\n---\n");
    }
    write(dir, "base/crds.yaml", &crds);
    generated_tree(dir, 67);
    write(
        dir,
        "base/kustomization.yaml",
        "resources: [crds.yaml, all.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [MODE=ha, TIMEOUT=30s]\n",
    );
    ["base/crds.yaml", "base/all.yaml"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len() as usize)
        .sum()
}

fn main() {
    // 1. In process (first, while the machine is quiet): a 1,000-resource overlay.
    let big = tempfile::tempdir().unwrap();
    generated_tree(big.path(), 1000);
    let tree = skiff::source::tree::DirTree::new(big.path()).unwrap();
    let render = || {
        skiff::render::kustomize::build(&tree, "overlay")
            .unwrap()
            .len()
    };
    // The first renders also grow the heap (page faults): shown apart, as a
    // running controller renders into a heap that is already grown.
    let start = Instant::now();
    render();
    let first = start.elapsed();
    for _ in 0..2 {
        render();
    }
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..31 {
        let start = Instant::now();
        count = render();
        times.push(start.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "in-process render of a {count}-object overlay: median {:.1} ms, fastest {:.1} ms, first {:.1} ms (goal <= 10 ms)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(first)
    );

    // 2. The corpus (the parity test's trees: each overlay of a case is one): process against process.
    let trees: Vec<(PathBuf, PathBuf)> = corpus::corpus()
        .into_iter()
        .map(|(_, repo, dir)| (repo, dir))
        .collect();
    let mut ratios = Vec::new();
    for (repo, dir) in &trees {
        let (s, _) = measure(&mut || skiff(repo, dir), 5);
        let (k, _) = measure(&mut || kubectl(dir), 5);
        ratios.push(k.as_secs_f64() / s.as_secs_f64());
    }
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "corpus ({} trees): kubectl kustomize / skiff render, whole process: median {:.1}x (min {:.1}x, max {:.1}x; goal >= 20x)",
        ratios.len(),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );

    // 3. An install the size of Argo CD's HA cluster install (70 objects, ~2 MB).
    let work = tempfile::tempdir().unwrap();
    let bytes = argo_cd_sized_tree(work.path());
    let overlay = work.path().join("overlay");
    let objects = skiff::render::kustomize::build(
        &skiff::source::tree::DirTree::new(work.path()).unwrap(),
        "overlay",
    )
    .unwrap()
    .len();
    let (s, s_mem) = measure(&mut || skiff(work.path(), &overlay), 11);
    let (k, k_mem) = measure(&mut || kubectl(&overlay), 5);
    println!(
        "Argo CD HA-sized install ({objects} objects, {:.1} MB, mostly CRDs): skiff render {:.1} ms, {:.1} MiB peak; kubectl kustomize {:.0} ms, {:.1} MiB peak (goal: <= 30 ms, <= 25 MiB)",
        bytes as f64 / 1e6,
        s.as_secs_f64() * 1000.0,
        s_mem as f64 / 1024.0,
        k.as_secs_f64() * 1000.0,
        k_mem as f64 / 1024.0
    );
}
