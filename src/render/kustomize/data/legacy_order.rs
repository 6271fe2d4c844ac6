// @generated from data/legacy-order.json by `SKIFF_REGENERATE=1 cargo test --lib generated`.
// Included by finish.rs; do not edit.
const ORDER_FIRST: &[Text] = &[
    Cow::Borrowed("Namespace"),
    Cow::Borrowed("ResourceQuota"),
    Cow::Borrowed("StorageClass"),
    Cow::Borrowed("CustomResourceDefinition"),
    Cow::Borrowed("ServiceAccount"),
    Cow::Borrowed("PodSecurityPolicy"),
    Cow::Borrowed("Role"),
    Cow::Borrowed("ClusterRole"),
    Cow::Borrowed("RoleBinding"),
    Cow::Borrowed("ClusterRoleBinding"),
    Cow::Borrowed("ConfigMap"),
    Cow::Borrowed("Secret"),
    Cow::Borrowed("Endpoints"),
    Cow::Borrowed("Service"),
    Cow::Borrowed("LimitRange"),
    Cow::Borrowed("PriorityClass"),
    Cow::Borrowed("PersistentVolume"),
    Cow::Borrowed("PersistentVolumeClaim"),
    Cow::Borrowed("Deployment"),
    Cow::Borrowed("StatefulSet"),
    Cow::Borrowed("CronJob"),
    Cow::Borrowed("PodDisruptionBudget"),
];
const ORDER_LAST: &[Text] = &[
    Cow::Borrowed("MutatingWebhookConfiguration"),
    Cow::Borrowed("ValidatingWebhookConfiguration"),
];
