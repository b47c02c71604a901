//! A claim the registry is to store on, checked against the cluster's storage classes before it
//! is created: the class exists (or there is a default), and where its provisioner is known, its
//! volumes offer the access mode asked for; a claim asking for a mode the class never offers
//! would sit Pending with the registry waiting on it.

use super::{AccessVerdict, access_verdict};
use crate::api::RolloutStrategy;
use k8s_openapi::api::storage::v1::StorageClass;

/// The annotation that marks a cluster's default class.
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

const RWO: &[&str] = &["ReadWriteOnce", "ReadWriteOncePod"];
const ANY: &[&str] = &["ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany", "ReadWriteMany"];

/// The access modes the volumes of a provisioner offer as a filesystem, where it is known:
/// block devices attach to one node; file services share.
pub fn offered_access_modes(provisioner: &str) -> Option<&'static [&'static str]> {
    Some(match provisioner {
        "ebs.csi.aws.com"
        | "kubernetes.io/aws-ebs"
        | "pd.csi.storage.gke.io"
        | "kubernetes.io/gce-pd"
        | "disk.csi.azure.com"
        | "kubernetes.io/azure-disk"
        | "cinder.csi.openstack.org"
        | "kubernetes.io/cinder"
        | "csi.vsphere.vmware.com"
        | "kubernetes.io/vsphere-volume"
        | "vpc.block.csi.ibm.io"
        | "topolvm.io"
        | "rbd.csi.ceph.com"
        | "openshift-storage.rbd.csi.ceph.com"
        | "kubernetes.io/no-provisioner" => RWO,
        "efs.csi.aws.com"
        | "filestore.csi.storage.gke.io"
        | "file.csi.azure.com"
        | "kubernetes.io/azure-file"
        | "manila.csi.openstack.org"
        | "cephfs.csi.ceph.com"
        | "openshift-storage.cephfs.csi.ceph.com"
        | "nfs.csi.k8s.io"
        | "vpc.file.csi.ibm.io" => ANY,
        _ => return None,
    })
}

/// What `storage set pvc` asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Wanted<'a> {
    pub class: Option<&'a str>,
    pub access_mode: &'a str,
    pub replicas: i32,
    pub strategy: Option<&'a RolloutStrategy>,
}

/// The class a claim would be provisioned by (the one named, else the default), checked; the
/// error names what to pass instead.
pub fn check(wanted: &Wanted, classes: &[StorageClass], program: &str) -> Result<String, String> {
    let name_of = |c: &StorageClass| c.metadata.name.clone().unwrap_or_default();
    let is_default = |c: &StorageClass| {
        c.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DEFAULT_CLASS))
            .is_some_and(|v| v == "true")
    };
    let listed = || {
        let names: Vec<String> = classes
            .iter()
            .map(|c| {
                if is_default(c) {
                    format!("{} (default)", name_of(c))
                } else {
                    name_of(c)
                }
            })
            .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let class = match wanted.class {
        Some(name) => classes.iter().find(|c| name_of(c) == name).ok_or_else(|| {
            format!(
                "--storage-class: storage class {name:?} does not exist; the cluster has: {}",
                listed()
            )
        })?,
        None => classes.iter().find(|c| is_default(c)).ok_or_else(|| {
            format!(
                "--storage-class: the cluster has no default storage class; name one (the cluster has: {})",
                listed()
            )
        })?,
    };
    let name = name_of(class);
    let mode = wanted.access_mode;
    if let Some(offered) = offered_access_modes(&class.provisioner)
        && !offered.contains(&mode)
    {
        let others: Vec<String> = classes
            .iter()
            .filter(|c| offered_access_modes(&c.provisioner).is_some_and(|o| o.contains(&mode)))
            .map(name_of)
            .collect();
        let instead = if others.is_empty() {
            String::new()
        } else {
            format!(
                ", or a class that offers it: --storage-class {}",
                others.join(" or --storage-class ")
            )
        };
        return Err(format!(
            "--access-mode: storage class {name} (provisioner {}) offers {} only: a {mode} claim would stay Pending; \
             use --access-mode ReadWriteOnce (one replica, rolled out by Recreate){instead}",
            class.provisioner,
            offered.join(", "),
        ));
    }
    match access_verdict(&[mode.to_string()], wanted.replicas, wanted.strategy) {
        AccessVerdict::Usable => Ok(name),
        AccessVerdict::TooManyReplicas => Err(format!(
            "--access-mode: a {mode} claim serves one registry pod and the registry runs {}: \
             run `{program} set replicas 1` first, or use --access-mode ReadWriteMany",
            wanted.replicas
        )),
        AccessVerdict::NeedsRecreate => Err(format!(
            "--access-mode: a {mode} claim cannot be shared by the old and new pod of a rolling update: \
             run `{program} set rollout-strategy Recreate` first, or use --access-mode ReadWriteMany"
        )),
        AccessVerdict::NoUsableMode => Err(format!(
            "--access-mode: the registry writes to its claim: use ReadWriteMany, ReadWriteOnce or ReadWriteOncePod, not {mode}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(name: &str, provisioner: &str, default: bool) -> StorageClass {
        let mut c: StorageClass = serde_json::from_value(json!({
            "metadata": {"name": name}, "provisioner": provisioner,
        }))
        .unwrap();
        if default {
            c.metadata.annotations = Some([(DEFAULT_CLASS.to_string(), "true".to_string())].into());
        }
        c
    }

    #[test]
    fn a_claim_is_checked_against_its_class() {
        let aws = [
            class("gp3-csi", "ebs.csi.aws.com", true),
            class("efs-sc", "efs.csi.aws.com", false),
        ];
        let unknown = [class("x", "example.com/x", false)];
        let recreate = RolloutStrategy::from("Recreate");
        let want = |class: Option<&'static str>, mode: &'static str, replicas: i32, strategy| Wanted {
            class,
            access_mode: mode,
            replicas,
            strategy,
        };
        let cases: Vec<(Wanted, &[StorageClass], Result<&str, &str>)> = vec![
            (
                want(None, "ReadWriteMany", 2, None),
                &aws,
                Err(
                    "storage class gp3-csi (provisioner ebs.csi.aws.com) offers ReadWriteOnce, ReadWriteOncePod only: a ReadWriteMany claim would stay Pending; use --access-mode ReadWriteOnce (one replica, rolled out by Recreate), or a class that offers it: --storage-class efs-sc",
                ),
            ),
            (want(Some("efs-sc"), "ReadWriteMany", 2, None), &aws, Ok("efs-sc")),
            (want(None, "ReadWriteOnce", 1, Some(&recreate)), &aws, Ok("gp3-csi")),
            (
                want(None, "ReadWriteOnce", 2, Some(&recreate)),
                &aws,
                Err("the registry runs 2: run `oc-registry set replicas 1` first"),
            ),
            (
                want(None, "ReadWriteOnce", 1, None),
                &aws,
                Err("run `oc-registry set rollout-strategy Recreate` first"),
            ),
            (
                want(Some("fast"), "ReadWriteMany", 1, None),
                &aws,
                Err("storage class \"fast\" does not exist; the cluster has: gp3-csi (default), efs-sc"),
            ),
            (
                want(None, "ReadWriteMany", 1, None),
                &aws[1..],
                Err("the cluster has no default storage class; name one (the cluster has: efs-sc)"),
            ),
            (
                want(None, "ReadWriteMany", 1, None),
                &[],
                Err("(the cluster has: none)"),
            ),
            // An unknown provisioner cannot be judged: the claim is made as asked.
            (want(Some("x"), "ReadWriteMany", 3, None), &unknown, Ok("x")),
            (
                want(Some("x"), "ReadOnlyMany", 1, None),
                &unknown,
                Err("not ReadOnlyMany"),
            ),
        ];
        for (wanted, classes, expected) in cases {
            match (check(&wanted, classes, "oc-registry"), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{wanted:?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{wanted:?}: {got}"),
                (got, want) => panic!("{wanted:?}: {got:?}, expected {want:?}"),
            }
        }
    }
}
