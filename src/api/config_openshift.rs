//! `config.openshift.io/v1`: the cluster-wide Infrastructure, Image, Proxy and ClusterOperator
//! objects the registry reads and writes.

use super::meta::{Condition, Extra, NameRef};
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Optional string fields, camelCase, with unknown fields kept.
macro_rules! open_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            #[serde(flatten)]
            pub extra: Extra,
        }
    };
}

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "Infrastructure",
    plural = "infrastructures",
    status = "InfrastructureStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureSpec {
    #[serde(flatten)]
    pub extra: Extra,
}

open_struct!(InfrastructureStatus {
    infrastructure_name: String,
    /// Deprecated; `platformStatus.type` is authoritative.
    platform: String,
    platform_status: PlatformStatus,
    #[serde(rename = "apiServerURL")]
    api_server_url: String,
    #[serde(rename = "apiServerInternalURI")]
    api_server_internal_uri: String,
    control_plane_topology: String,
    /// `SingleReplica` forces one registry replica at bootstrap.
    infrastructure_topology: String,
});

open_struct!(PlatformStatus {
    #[serde(rename = "type")]
    type_: String,
    aws: AwsPlatformStatus,
    gcp: GcpPlatformStatus,
    azure: AzurePlatformStatus,
    ibmcloud: IbmCloudPlatformStatus,
    powervs: PowerVsPlatformStatus,
    openstack: OpenStackPlatformStatus,
    baremetal: Value,
    vsphere: Value,
    ovirt: Value,
    nutanix: Value,
    external: Value,
});

open_struct!(AwsPlatformStatus {
    region: String,
    service_endpoints: Vec<ServiceEndpoint>,
    resource_tags: Vec<ResourceTag>,
});

open_struct!(ServiceEndpoint {
    name: String,
    url: String
});

open_struct!(ResourceTag {
    key: String,
    value: String
});

open_struct!(GcpPlatformStatus {
    #[serde(rename = "projectID")]
    project_id: String,
    region: String,
    resource_labels: Vec<ResourceTag>,
    resource_tags: Vec<Value>,
});

open_struct!(AzurePlatformStatus {
    resource_group_name: String,
    network_resource_group_name: String,
    cloud_name: String,
    arm_endpoint: String,
    resource_tags: Vec<ResourceTag>,
});

open_struct!(IbmCloudPlatformStatus {
    location: String,
    resource_group_name: String,
    provider_type: String,
    service_endpoints: Vec<ServiceEndpoint>,
});

open_struct!(PowerVsPlatformStatus {
    region: String,
    zone: String,
    resource_group: String,
    service_endpoints: Vec<ServiceEndpoint>,
});

open_struct!(OpenStackPlatformStatus { cloud_name: String });

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "Image",
    plural = "images",
    status = "ImageStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// ConfigMap in `openshift-config` with one CA bundle per registry host (`host..port` keys).
    #[serde(default, rename = "additionalTrustedCA", skip_serializing_if = "Option::is_none")]
    pub additional_trusted_ca: Option<NameRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_registries_for_import: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_registry_hostnames: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_sources: Option<Value>,
    /// `Legacy` or `PreserveOriginal`; empty leaves it to the release's payload type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_stream_import_mode: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

open_struct!(ImageStatus {
    internal_registry_hostname: String,
    external_registry_hostnames: Vec<String>,
    image_stream_import_mode: String,
});

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "Proxy",
    plural = "proxies",
    status = "ProxyStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ProxySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    #[serde(default, rename = "trustedCA", skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<NameRef>,
    #[serde(flatten)]
    pub extra: Extra,
}

open_struct!(ProxyStatus {
    http_proxy: String,
    https_proxy: String,
    no_proxy: String
});

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "ClusterOperator",
    plural = "clusteroperators",
    status = "ClusterOperatorStatus",
    schema = "disabled"
)]
pub struct ClusterOperatorSpec {
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterOperatorStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<OperandVersion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_objects: Vec<RelatedObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OperandVersion {
    pub name: String,
    pub version: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RelatedObject {
    pub group: String,
    pub resource: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `apiservers.config.openshift.io/cluster`: the cluster's TLS security profile, which the
/// registry serves with.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "APIServer",
    plural = "apiservers",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct APIServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_security_profile: Option<TlsSecurityProfile>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Old`, `Intermediate`, `Modern`, or `Custom` with its own ciphers and minimum version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsSecurityProfile {
    #[serde(default, rename = "type")]
    pub profile_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<TlsProfileSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsProfileSpec {
    #[serde(default)]
    pub ciphers: Vec<String>,
    #[serde(default, rename = "minTLSVersion")]
    pub min_tls_version: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `clusterversions.config.openshift.io/version`: the release the cluster runs, whose payload type
/// (single architecture or `Multi`) decides how image streams import manifest lists.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "config.openshift.io",
    version = "v1",
    kind = "ClusterVersion",
    plural = "clusterversions",
    status = "ClusterVersionStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterVersionSpec {
    #[serde(flatten)]
    pub extra: Extra,
}

open_struct!(ClusterVersionStatus { desired: Release });

open_struct!(Release {
    version: String,
    /// `Multi` for a multi-architecture payload; empty for a single architecture.
    architecture: String,
});
