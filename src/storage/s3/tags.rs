//! The bucket's tags, as the operator sets them: the cluster's ownership tag, its name, and the
//! Infrastructure's `resourceTags`, merged into what the bucket has (a tag is never removed), plus
//! this program's own mark on buckets it created.

use std::collections::BTreeMap;

/// This program's mark on a bucket it created, so that status can say who created it.
pub const CREATED_BY: (&str, &str) = ("oc-registry/created-by", "oc-registry");

/// Set when a removal begins, so that a later run knows it finishes an interrupted one.
pub const REMOVAL_STARTED: &str = "oc-registry/removal-started";

/// The cluster's ownership tag key.
pub fn cluster_key(infrastructure_name: &str) -> String {
    format!("kubernetes.io/cluster/{infrastructure_name}")
}

/// Whether a user tag key is one the operator refuses: it would pass for the cluster's own.
pub fn forbidden(key: &str) -> bool {
    key == "Name" || key.starts_with("kubernetes.io/") || key.starts_with("openshift.io/")
}

/// The tags the bucket should carry: what it has, with the cluster's tags and the allowed
/// resource tags set over them. Returns them and the resource tag keys refused.
pub fn merged(
    existing: &BTreeMap<String, String>,
    infrastructure_name: &str,
    resource_tags: &[(String, String)],
    created_here: bool,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut tags = existing.clone();
    let mut refused = Vec::new();
    for (k, v) in resource_tags {
        if forbidden(k) {
            refused.push(k.clone());
        } else {
            tags.insert(k.clone(), v.clone());
        }
    }
    tags.insert(cluster_key(infrastructure_name), "owned".into());
    tags.insert("Name".into(), format!("{infrastructure_name}-image-registry"));
    if created_here {
        tags.insert(CREATED_BY.0.into(), CREATED_BY.1.into());
    }
    (tags, refused)
}

/// Who created a bucket, by its tags.
pub fn creator(tags: &BTreeMap<String, String>, infrastructure_name: &str) -> super::super::cloud::Creator {
    use super::super::cloud::Creator;
    if tags.get(CREATED_BY.0).map(String::as_str) == Some(CREATED_BY.1) {
        Creator::ThisProgram
    } else if tags.get(&cluster_key(infrastructure_name)).map(String::as_str) == Some("owned") {
        Creator::Operator
    } else {
        Creator::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::cloud::Creator;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tags_merge_and_never_drop() {
        let existing = map(&[("team", "a"), ("cost-center", "1")]);
        let resource = vec![
            ("cost-center".to_string(), "2".to_string()),
            ("Name".to_string(), "mine".to_string()),
            ("kubernetes.io/x".to_string(), "y".to_string()),
            ("openshift.io/z".to_string(), "w".to_string()),
        ];
        let (tags, refused) = merged(&existing, "sim-7xk2p", &resource, true);
        assert_eq!(
            tags,
            map(&[
                ("team", "a"),
                ("cost-center", "2"),
                ("kubernetes.io/cluster/sim-7xk2p", "owned"),
                ("Name", "sim-7xk2p-image-registry"),
                ("oc-registry/created-by", "oc-registry"),
            ])
        );
        assert_eq!(refused, ["Name", "kubernetes.io/x", "openshift.io/z"]);
        let (tags, _) = merged(&existing, "sim-7xk2p", &[], false);
        assert!(!tags.contains_key(CREATED_BY.0));
    }

    #[test]
    fn creators() {
        assert_eq!(creator(&map(&[CREATED_BY]), "c"), Creator::ThisProgram);
        assert_eq!(
            creator(&map(&[("kubernetes.io/cluster/c", "owned")]), "c"),
            Creator::Operator
        );
        assert_eq!(
            creator(&map(&[("kubernetes.io/cluster/other", "owned")]), "c"),
            Creator::Other
        );
        assert_eq!(creator(&map(&[]), "c"), Creator::Other);
    }
}
