//! Random kustomizations and patches never panic or hang the renderer: each
//! gets an error or a result. 400 generated trees from a fixed seed.

mod support;

use skiff::source::tree::DirTree;
use std::time::Duration;
use support::Rng;

const RESOURCES: &[&str] = &[
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: nginx, envFrom: [{configMapRef: {name: cm}}]}]\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
    "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Secret, metadata: {name: s}}]\n",
    "kind: [\n",
    "- a\n- b\n",
    "apiVersion: v1\nkind: ConfigMap\n",
    "a: &x [*x]\n",
    "",
    "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {items: [{name: a}]}\n",
];

const FIELDS: &[&str] = &[
    "namespace: team",
    "namespace: [1]",
    "namePrefix: p-",
    "nameSuffix: 7",
    "commonLabels: {a: b}",
    "commonLabels: [x]",
    "labels: [{pairs: {x: y}, includeSelectors: true}]",
    "labels: [{pairs: 5}]",
    "commonAnnotations: {n: 'v'}",
    "images: [{name: nginx, newTag: '2'}, {name: nginx, digest: sha256:x}]",
    "images: nope",
    "replicas: [{name: web, count: 3}, {count: 1}]",
    "configMapGenerator: [{name: g, literals: [a=1, b]}]",
    "configMapGenerator: [{name: g, literals: [a=1]}, {name: g, behavior: merge, literals: [c=2]}]",
    "secretGenerator: [{name: s2, literals: [p=q], type: x}]",
    "configMapGenerator: [{name: g2, files: [../../etc/passwd]}]",
    "patches: [{patch: '[{op: add, path: /metadata/labels/z, value: q}]', target: {kind: '.*'}}]",
    "patches: [{patch: '[{op: remove, path: /nope}]', target: {name: web}}]",
    "patches: [{patch: \"apiVersion: apps/v1\\nkind: Deployment\\nmetadata: {name: web}\\nspec: {replicas: 2}\"}]",
    "patches: [{patch: '$patch: delete', target: {kind: Service}}]",
    "patches: [{path: missing.yaml}]",
    "patches: [{patch: '{{{{', target: {kind: '(unclosed'}}]",
    "patchesStrategicMerge: [\"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: cm}\\ndata: {a: null}\"]",
    "patchesJson6902: [{target: {kind: ConfigMap, name: cm}, patch: '[{op: test, path: /data/a, value: c}]'}]",
    "components: [comp]",
    "resources: [sub]",
    "resources: [res.yaml, res.yaml]",
    "resources: [https://example.com/x]",
    "sortOptions: {order: fifo}",
    "sortOptions: {order: random}",
    "vars: []",
    "unknownField: 1",
    "transformers: [\"apiVersion: builtin\\nkind: LabelTransformer\\nmetadata: {name: l}\\nlabels: {t: x}\\nfieldSpecs: [{path: metadata/labels, create: true}]\"]",
    "transformers: [\"apiVersion: builtin\\nkind: NamespaceTransformer\\nmetadata: {name: n, namespace: z}\\nsetRoleBindingSubjects: sideways\"]",
    "transformers: [sub, res.yaml, 'kind: [']",
    "generators: [\"apiVersion: builtin\\nkind: ConfigMapGenerator\\nmetadata: {name: cm}\\nbehavior: merge\\nliterals: [z=1]\"]",
    "generators: [res.yaml]",
    "configurations: [res.yaml]",
    "configurations: [conf.yaml]",
    "crds: [res.yaml]",
    "buildMetadata: [originAnnotations, transformerAnnotations, managedByLabel]",
    "buildMetadata: [7]",
    "sortOptions: {order: legacy, legacySortOptions: {orderFirst: [Service], orderLast: 3}}",
    "replacements: [{path: res.yaml}]",
];

fn random_tree(rng: &mut Rng, dir: &std::path::Path) {
    let write = |p: &str, text: &str| {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let mut res = String::new();
    for i in 0..(1 + rng.next() % 3) {
        if i > 0 {
            res.push_str("---\n");
        }
        res.push_str(rng.pick(RESOURCES));
    }
    write("res.yaml", &res);
    write("sub/res.yaml", rng.pick(RESOURCES));
    write(
        "conf.yaml",
        rng.pick(&[
            "nameReference: [{kind: ConfigMap, fieldSpecs: [{path: spec/x, kind: Widget}]}]\n",
            "commonLabels: [{path: spec/items, create: true}]\nimages: [{path: spec/image}]\n",
            "nameReference: 3\n",
        ]),
    );
    write(
        "sub/kustomization.yaml",
        &format!("resources: [res.yaml]\n{}\n", rng.pick(FIELDS)),
    );
    write(
        "comp/kustomization.yaml",
        &format!("kind: Component\n{}\n", rng.pick(FIELDS)),
    );
    let mut k = String::from("resources: [res.yaml]\n");
    for _ in 0..(rng.next() % 5) {
        let f = rng.pick(FIELDS);
        if !k.contains(f.split(':').next().unwrap()) {
            k.push_str(f);
            k.push('\n');
        }
    }
    if rng.chance(7) {
        k = k.replace("resources: [res.yaml]\n", "resources: [sub, ../escape]\n");
    }
    write("kustomization.yaml", &k);
}

#[test]
fn random_kustomizations_never_panic_or_hang() {
    let mut rng = Rng(0x5eed_0fc0_ffee);
    let (mut ok, mut errors) = (0, 0);
    for i in 0..400 {
        let dir = tempfile::tempdir().unwrap();
        random_tree(&mut rng, dir.path());
        let root = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let tree = DirTree::new(&root).unwrap();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                skiff::render::kustomize::build(&tree, "").map(|m| m.len())
            }));
            let _ = tx.send(result.map_err(|_| ()));
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(Ok(_))) => ok += 1,
            Ok(Ok(Err(_))) => errors += 1,
            Ok(Err(())) => panic!(
                "tree {i} made the renderer panic: {}",
                std::fs::read_to_string(dir.path().join("kustomization.yaml")).unwrap()
            ),
            Err(_) => panic!(
                "tree {i} hung the renderer: {}",
                std::fs::read_to_string(dir.path().join("kustomization.yaml")).unwrap()
            ),
        }
    }
    println!("400 random trees: {ok} rendered, {errors} refused with an error");
    assert!(
        ok > 20 && errors > 20,
        "the generator explores both outcomes ({ok} ok, {errors} errors)"
    );
}
