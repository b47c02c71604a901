use crate::commands::{ConnectionArgs, PolicyArgs};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Configure and reconcile the OpenShift image registry",
    long_about = "Configure and reconcile the OpenShift image registry.\n\n\
        Reads and writes configs.imageregistry.operator.openshift.io/cluster and the objects the \
        registry runs on in the openshift-image-registry namespace, using your kubeconfig as kubectl does.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the registry's state: management state, storage, replicas, routes, conditions,
    /// what is missing, the pruner and the image-registry ClusterOperator.
    #[command(
        long_about = "Show the registry's state: management state, storage kind and location (never \
        credentials), replicas ready and desired, routes, read-only mode, conditions, what is missing and how \
        to supply it, the pruner's schedule and last result, and the image-registry ClusterOperator.\n\n\
        Exit status: 0 healthy; 1 the command failed (bad flags, cluster unreachable); 2 degraded or \
        incomplete; 3 no registry (not bootstrapped, Removed, or not an OpenShift cluster)."
    )]
    Status(crate::commands::status::StatusArgs),

    /// Diagnose the registry: every known misconfiguration, each with the command that fixes it
    #[command(
        long_about = "Diagnose the registry without changing anything: more than one storage driver, \
        Removed with Managed storage, a ReadWriteOnce claim against several replicas or RollingUpdate, \
        emptyDir with several replicas, two replicas on fewer than two schedulable nodes, missing \
        credential keys, route secrets without tls.crt/tls.key or routes not admitted, trusted-CA keys \
        with ':' or a CA ConfigMap outside openshift-config, a failing or suspended pruner, errors hidden \
        in Progressing, and the ClusterOperator's degradations. Each finding names the field and the \
        command that fixes it.\n\n\
        Exit status: 0 nothing found; 1 the command failed; 2 warnings only; 3 at least one error."
    )]
    Doctor(crate::commands::doctor::DoctorArgs),

    /// Create the registry Config and ImagePruner from the platform when they do not exist
    #[command(
        long_about = "Create configs.imageregistry.operator.openshift.io/cluster from the detected platform \
        when it does not exist, as the operator does: the storage policy decides the storage, replicas and \
        management state (Removed on platforms without storage, with the ImageRegistryRemoved alert), a claim \
        when the policy asks for one, and the default ImagePruner. When information is missing the Config is \
        still created, and its status says what is missing and which command supplies it. Idempotent."
    )]
    Bootstrap(crate::commands::reconcile::BootstrapArgs),

    /// Make the cluster match the registry Config: render, apply, tear down, report status
    #[command(
        long_about = "Make the cluster match configs.imageregistry.operator.openshift.io/cluster, as the \
        Image Registry Operator does. Bootstraps a missing Config first. Managed: completes the Config \
        (httpSecret, storage names), renders every registry object in openshift-image-registry and applies \
        it with server-side apply (only objects that differ are written), deletes owned objects no longer \
        wanted, and writes the Config's, the ImagePruner's and the image-registry ClusterOperator's status. \
        Removed: deletes every object the registry owns; Managed storage is deleted only with --yes or an \
        interactive confirmation. Unmanaged: writes status only.\n\n\
        Exit status: 0 reconciled (and, with --wait, rolled out); 1 the command failed; 2 reconciled \
        incompletely (the errors are printed and in status); 3 --wait saw the rollout fail; 4 --wait timed \
        out; 5 storage deletion was not confirmed; 6 the Image Registry Operator runs (see --take-over)."
    )]
    Reconcile(crate::commands::reconcile::ReconcileArgs),

    /// Show what reconcile would change, as kubectl diff does (secret values masked)
    #[command(
        long_about = "Show what reconcile would change, as kubectl diff does: a unified diff per object \
        between what the cluster holds and what it would hold after reconcile, predicted by a server-side \
        dry run. Where the operator wrote an object, the preview includes taking its fields over, as \
        reconcile does. Secret values (Secret data, route keys, the httpSecret) are shown as ***.\n\n\
        KUBECTL_EXTERNAL_DIFF names another diff program, as for kubectl diff: it is run with its \
        arguments and two directories, live and merged, holding one YAML file per object.\n\n\
        Exit status: 0 no differences; 1 differences found; above 1 an error."
    )]
    Diff(crate::commands::diff::DiffArgs),

    /// Render every registry object from a Config and an Infrastructure file, with no cluster
    #[command(
        long_about = "Render the full manifest set reconcile would apply, offline: from files holding \
        configs.imageregistry.operator.openshift.io/cluster and infrastructures.config.openshift.io/cluster \
        (and optionally the namespace, Secrets, ConfigMaps, Nodes and the operator Deployment, as `oc get -o yaml` \
        prints them). The built-in and locally configured policies decide storage and pruning. Secret values \
        are shown as ***. Exits 2 when some objects cannot be rendered (the reasons go to stderr)."
    )]
    Render(crate::commands::render::RenderArgs),

    /// Print the manifests that run `reconcile --watch` in the cluster (least-privilege RBAC)
    #[command(
        long_about = "Print the objects that run `oc-registry reconcile --watch` inside the cluster: a \
        ServiceAccount, a ClusterRole and Roles granting only what reconciling needs, their bindings, and a \
        Deployment whose replicas elect one leader through a Lease in openshift-image-registry. Apply with \
        `oc apply -f -`. Scale the operator's own Deployment to zero first, or the two will take turns."
    )]
    Manifests(crate::commands::manifests::ManifestsArgs),

    /// Change one registry setting: management state, log level, replicas, proxy, requests, …
    #[command(
        subcommand,
        long_about = "Change one setting of configs.imageregistry.operator.openshift.io/cluster. Only the \
        fields of that setting are patched, under a resourceVersion precondition (a concurrent edit is \
        redone on a fresh read, never lost). The result is checked before it is written: a change that \
        would leave the registry misconfigured is refused with the field and the fix, and the admission \
        policies in effect must allow it. --dry-run shows the change without making it."
    )]
    Set(crate::commands::set::SetCommand),

    /// The registry's extra routes: add, remove, list
    #[command(subcommand)]
    Routes(crate::commands::routes::RoutesCommand),

    /// The image pruner: set, suspend, resume, status, clear-failed
    #[command(subcommand)]
    Pruner(crate::commands::pruner::PrunerCommand),

    /// The registry's HTTP secret (it signs upload state): rotate
    #[command(subcommand)]
    HttpSecret(crate::commands::http_secret::HttpSecretCommand),

    /// Where the registry stores images (set DRIVER …) and the credentials it uses
    #[command(subcommand)]
    Storage(crate::commands::storage::StorageCommand),

    /// The CAs trusted for other registries: add, remove, list
    #[command(
        subcommand,
        long_about = "The CAs the cluster trusts when it pulls from or imports other \
        registries: one key per registry (host..port) in a ConfigMap in openshift-config, named by \
        images.config.openshift.io/cluster spec.additionalTrustedCA (registry-cas when none is named yet). \
        Certificates are checked before anything is written: every one must be a CA certificate; an \
        expired or not yet valid one is warned about."
    )]
    Trust(crate::commands::trust::TrustCommand),

    /// Print the integrated registry's hostname (as `oc registry info`)
    #[command(
        long_about = "Print the integrated registry's hostname: the public one when the registry \
        has one, else the internal one, as `oc registry info` does, read from \
        images.config.openshift.io/cluster (so it also works before any image stream exists). --check \
        also asks the registry's /v2/ endpoint."
    )]
    Info(crate::commands::info::InfoArgs),

    /// Save credentials for the integrated registry in ~/.docker/config.json (as `oc registry login`)
    #[command(
        long_about = "Save credentials for the integrated registry in a container tools' auth \
        file (~/.docker/config.json unless --to), as `oc registry login` does: the session's bearer \
        token as user \"user\", a service account's token (-z), or --auth-basic USER:PASSWORD. The \
        credentials are checked against the registry first (--skip-check to skip), merged into the \
        file's auths, and the file is written with mode 0600. The registry is the public hostname when \
        there is one, else the internal one (noted on stderr), or --registry."
    )]
    Login(crate::commands::login::LoginArgs),

    /// Wait until the registry Config meets conditions, as kubectl wait does
    Wait(crate::commands::wait::WaitArgs),

    /// Print the registry's recent events (openshift-image-registry), as kubectl events does
    Events(crate::commands::events::EventsArgs),

    /// Print the logs of the registry's pods (or of the pruner's last run), as kubectl logs does
    Logs(crate::commands::logs::LogsArgs),

    /// Policy modules: list those in effect, run a hook, check a module, start a new one
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),

    /// Print the shell completion script for bash, zsh or fish
    #[command(long_about = "Print the shell completion script for bash, zsh or fish.\n\n\
        bash:  source <(oc-registry completion bash)\n\
        zsh:   oc-registry completion zsh > \"${fpath[1]}/_oc-registry\"\n\
        fish:  oc-registry completion fish | source\n\n\
        As a kubectl plugin, `kubectl registry <TAB>` completes through the kubectl_complete-registry \
        executable installed beside kubectl-registry, with kubectl's own completion.")]
    Completion {
        #[arg(value_enum)]
        shell: crate::cli::complete::Shell,
    },

    /// Print the version, git commit, wasmtime version and policy ABI version
    Version(crate::commands::version::VersionArgs),

    /// Print the options every command accepts (connection, verbosity, policies)
    Options,
}
