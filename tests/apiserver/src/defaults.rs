//! Server-side defaults, as kube-apiserver v1.36 sets them (checked against the
//! shared recordings), so that diff noise in tests is the real noise.

use base64::Engine;
use serde_json::{json, Map, Value};

/// Applies the defaults of `kind` to `obj` in place. Works on partial objects
/// (an applied configuration): only fills in below parents that exist.
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("apps", "Deployment") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "replicas", json!(1));
                let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
                if let Some(st) = strategy.as_object_mut() {
                    set(st, "type", json!("RollingUpdate"));
                    if st["type"] == "RollingUpdate" {
                        let ru = st.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            set(ru, "maxUnavailable", json!("25%"));
                            set(ru, "maxSurge", json!("25%"));
                        }
                    }
                }
                set(spec, "revisionHistoryLimit", json!(10));
                set(spec, "progressDeadlineSeconds", json!(600));
                pod_template(spec);
            }
            set(map, "status", json!({}));
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "replicas", json!(1));
                pod_template(spec);
                set(spec, "podManagementPolicy", json!("OrderedReady"));
                set(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                set(spec, "revisionHistoryLimit", json!(10));
                set(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                if let Some(Value::Array(claims)) = spec.get_mut("volumeClaimTemplates") {
                    for c in claims.iter_mut().filter_map(Value::as_object_mut) {
                        set(c, "apiVersion", json!("v1"));
                        set(c, "kind", json!("PersistentVolumeClaim"));
                        if let Some(cs) = obj_at(c, "spec") {
                            set(cs, "volumeMode", json!("Filesystem"));
                        }
                        set(c, "status", json!({"phase": "Pending"}));
                    }
                }
            }
            set(
                map,
                "status",
                json!({"replicas": 0, "availableReplicas": 0}),
            );
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj_at(map, "spec") {
                pod_template(spec);
                set(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
                set(spec, "revisionHistoryLimit", json!(10));
            }
            set(
                map,
                "status",
                json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
            );
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "replicas", json!(1));
                pod_template(spec);
            }
            set(map, "status", json!({"replicas": 0}));
        }
        ("batch", "Job") => {
            if let Some(spec) = obj_at(map, "spec") {
                job_spec(spec);
            }
            set(map, "status", json!({}));
        }
        ("batch", "CronJob") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "concurrencyPolicy", json!("Allow"));
                set(spec, "suspend", json!(false));
                if let Some(jt) = obj_at(spec, "jobTemplate") {
                    set(jt, "metadata", json!({}));
                    if let Some(js) = obj_at(jt, "spec") {
                        if let Some(t) = obj_at(js, "template") {
                            set(t, "metadata", json!({}));
                            if let Some(ps) = obj_at(t, "spec") {
                                pod_spec(ps);
                            }
                        }
                    }
                }
                set(spec, "successfulJobsHistoryLimit", json!(3));
                set(spec, "failedJobsHistoryLimit", json!(1));
            }
            set(map, "status", json!({}));
        }
        ("", "Pod") => {
            if let Some(spec) = obj_at(map, "spec") {
                pod_spec(spec);
                set(spec, "enableServiceLinks", json!(true));
                set(spec, "priority", json!(0));
                set(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
            set(
                map,
                "status",
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        ("", "Service") => {
            if let Some(spec) = obj_at(map, "spec") {
                service_spec(spec);
            }
            set(map, "status", json!({"loadBalancer": {}}));
        }
        ("", "Secret") => {
            set(map, "type", json!("Opaque"));
            if let Some(Value::Object(string_data)) = map.remove("stringData") {
                let data = map.entry("data").or_insert_with(|| json!({}));
                if let Some(data) = data.as_object_mut() {
                    for (k, v) in string_data {
                        let text = v.as_str().unwrap_or_default();
                        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                        data.insert(k, Value::String(encoded));
                    }
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "volumeMode", json!("Filesystem"));
            }
            set(map, "status", json!({"phase": "Pending"}));
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set(spec, "volumeMode", json!("Filesystem"));
            }
            set(map, "status", json!({"phase": "Pending"}));
        }
        ("", "Namespace") => {
            let name = map
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .map(String::from);
            if let (Some(name), Some(meta)) = (name, obj_at(map, "metadata")) {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(labels) = labels.as_object_mut() {
                    labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
                }
            }
            set(map, "status", json!({"phase": "Active"}));
        }
        ("networking.k8s.io", "Ingress") => {
            set(map, "status", json!({"loadBalancer": {}}));
        }
        ("storage.k8s.io", "StorageClass") => {
            set(map, "reclaimPolicy", json!("Delete"));
            set(map, "volumeBindingMode", json!("Immediate"));
        }
        ("policy", "PodDisruptionBudget") => {
            set(
                map,
                "status",
                json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
            );
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "minReplicas", json!(1));
            }
            set(
                map,
                "status",
                json!({"currentReplicas": 0, "desiredReplicas": 0}),
            );
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if let Some(spec) = obj_at(map, "spec") {
                set(spec, "conversion", json!({"strategy": "None"}));
            }
        }
        _ => {}
    }
}

/// What the registry strategies and admission add on create, after the field
/// manager has recorded the write (so nobody owns these fields).
pub fn prepare_for_create(group: &str, kind: &str, obj: &mut Value, serial: u64) {
    match (group, kind) {
        ("", "Namespace") => {
            if let Some(map) = obj.as_object_mut() {
                set(map, "spec", json!({"finalizers": ["kubernetes"]}));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(map) = obj.as_object_mut() {
                add_finalizer(map, "kubernetes.io/pvc-protection");
            }
        }
        ("", "PersistentVolume") => {
            if let Some(map) = obj.as_object_mut() {
                add_finalizer(map, "kubernetes.io/pv-protection");
            }
        }
        ("batch", "Job") => job_selector(obj),
        ("apps", "DaemonSet") => {
            if let Some(map) = obj.as_object_mut() {
                if let Some(meta) = obj_at(map, "metadata") {
                    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
                    if let Some(a) = annotations.as_object_mut() {
                        a.entry("deprecated.daemonset.template.generation")
                            .or_insert(json!("1"));
                    }
                }
            }
        }
        ("", "Service") => allocate(obj, serial),
        _ => {}
    }
}

fn obj_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

fn set(map: &mut Map<String, Value>, key: &str, value: Value) {
    if !map.contains_key(key) || map[key].is_null() {
        map.insert(key.to_string(), value);
    }
}

fn add_finalizer(map: &mut Map<String, Value>, finalizer: &str) {
    let Some(meta) = obj_at(map, "metadata") else {
        return;
    };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut() {
        if !list.iter().any(|f| f == finalizer) {
            list.push(json!(finalizer));
        }
    }
}

fn pod_template(spec: &mut Map<String, Value>) {
    if let Some(t) = obj_at(spec, "template") {
        if let Some(ps) = obj_at(t, "spec") {
            pod_spec(ps);
        }
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    set(spec, "parallelism", json!(1));
    set(spec, "completions", json!(1));
    set(spec, "backoffLimit", json!(6));
    if let Some(t) = obj_at(spec, "template") {
        if let Some(ps) = obj_at(t, "spec") {
            pod_spec(ps);
        }
    }
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
}

/// Job's generated selector and labels, which depend on the object's uid.
fn job_selector(obj: &mut Value) {
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let manual = obj.pointer("/spec/manualSelector") == Some(&Value::Bool(true));
    if manual || obj.pointer("/spec/selector").is_some() {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            set(spec, "manualSelector", json!(manual));
        }
        return;
    }
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    });
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let l = meta.entry("labels").or_insert_with(|| json!({}));
        if let (Some(l), Some(add)) = (l.as_object_mut(), labels.as_object()) {
            for (k, v) in add {
                l.entry(k.clone()).or_insert(v.clone());
            }
        }
    }
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        let mut ordered = Map::new();
        for (k, v) in std::mem::take(spec) {
            if k == "template" {
                ordered.insert(
                    "selector".into(),
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
                );
                ordered.insert("manualSelector".into(), json!(false));
            }
            ordered.insert(k, v);
        }
        *spec = ordered;
        if let Some(t) = obj_at(spec, "template") {
            let meta = t.entry("metadata").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                let l = meta.entry("labels").or_insert_with(|| json!({}));
                if let (Some(l), Some(add)) = (l.as_object_mut(), labels.as_object()) {
                    for (k, v) in add {
                        l.entry(k.clone()).or_insert(v.clone());
                    }
                }
            }
        }
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            volume(v);
        }
    }
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    if spec.contains_key("serviceAccountName") {
        let sa = spec["serviceAccountName"].clone();
        set(spec, "serviceAccount", sa);
    }
    set(spec, "securityContext", json!({}));
    set(spec, "schedulerName", json!("default-scheduler"));
}

fn container(c: &mut Map<String, Value>) {
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set(p, "protocol", json!("TCP"));
        }
    }
    if let Some(Value::Array(env)) = c.get_mut("env") {
        for e in env.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(fr) = e
                .get_mut("valueFrom")
                .and_then(Value::as_object_mut)
                .and_then(|vf| vf.get_mut("fieldRef"))
                .and_then(Value::as_object_mut)
            {
                set(fr, "apiVersion", json!("v1"));
            }
        }
    }
    set(c, "resources", json!({}));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = obj_at(c, probe) {
            if let Some(h) = obj_at(p, "httpGet") {
                set(h, "scheme", json!("HTTP"));
            }
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
        }
    }
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let tag = if last.contains('@') {
        Some("digest")
    } else {
        last.split_once(':').map(|(_, t)| t)
    };
    let policy = match tag {
        None | Some("latest") => "Always",
        _ => "IfNotPresent",
    };
    set(c, "imagePullPolicy", json!(policy));
}

fn volume(v: &mut Map<String, Value>) {
    for (source, field) in [
        ("configMap", "defaultMode"),
        ("secret", "defaultMode"),
        ("projected", "defaultMode"),
        ("downwardAPI", "defaultMode"),
    ] {
        if let Some(s) = obj_at(v, source) {
            set(s, field, json!(420));
        }
    }
    if let Some(h) = obj_at(v, "hostPath") {
        set(h, "type", json!(""));
    }
}

fn service_spec(spec: &mut Map<String, Value>) {
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set(p, "protocol", json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                set(p, "targetPort", port);
            }
        }
    }
    set(spec, "type", json!("ClusterIP"));
    set(spec, "sessionAffinity", json!("None"));
    let ty = spec["type"].as_str().unwrap_or_default().to_string();
    if ty == "NodePort" || ty == "LoadBalancer" {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        set(spec, "ipFamilies", json!(["IPv4"]));
        set(spec, "ipFamilyPolicy", json!("SingleStack"));
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
}

/// Values the server allocates once, on create: cluster IPs and node ports.
fn allocate(obj: &mut Value, serial: u64) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if ty != "ExternalName" && spec.get("clusterIP").is_none() {
        let ip = format!("10.96.{}.{}", (serial / 250) % 256, serial % 250 + 2);
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
    } else if let Some(ip) = spec.get("clusterIP").cloned() {
        spec.entry("clusterIPs").or_insert_with(|| json!([ip]));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, p) in ports
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .enumerate()
            {
                let port = 30000 + ((serial * 7 + i as u64) % 2768);
                p.entry("nodePort").or_insert(json!(port));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults_match_the_recorded_server() {
        let mut d = json!({"spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}});
        apply("apps", "Deployment", &mut d);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(
            d["spec"]["template"]["spec"]["schedulerName"],
            "default-scheduler"
        );
    }

    #[test]
    fn latest_and_untagged_images_are_always_pulled() {
        for (image, policy) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("reg:5000/nginx", "Always"),
            ("reg:5000/nginx:1", "IfNotPresent"),
        ] {
            let mut c = json!({"image": image});
            container(c.as_object_mut().unwrap());
            assert_eq!(c["imagePullPolicy"], policy, "{image}");
        }
    }

    #[test]
    fn secrets_turn_string_data_into_data() {
        let mut s = json!({"stringData": {"username": "demo"}});
        apply("", "Secret", &mut s);
        assert_eq!(
            s,
            json!({"type": "Opaque", "data": {"username": "ZGVtbw=="}})
        );
    }
}
