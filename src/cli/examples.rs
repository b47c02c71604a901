//! The examples every command's help ends with: ready-to-run command lines, the documented
//! procedures among them. Written with the canonical name; help shows them in the name the
//! program was invoked as.

/// The examples of the command at `path` (the command names below the program, separated by
/// spaces; "" for the program itself), as kubectl writes them: a comment, then the command.
pub fn of(path: &str) -> Option<&'static str> {
    Some(match path {
        "" => {
            "  # What state is the registry in, and what is missing?
  oc-registry status

  # Every known misconfiguration, each with the command that fixes it
  oc-registry doctor

  # Make the cluster match the registry's configuration
  oc-registry reconcile"
        }
        "status" => {
            "  # The registry's state, as a summary
  oc-registry status

  # As data, for scripts
  oc-registry status -o json"
        }
        "doctor" => {
            "  # Diagnose the registry
  oc-registry doctor

  # The findings as data (exit status 2 when there are errors)
  oc-registry doctor -o yaml"
        }
        "bootstrap" => {
            "  # See what would be created on this cluster's platform
  oc-registry bootstrap --dry-run

  # Create the registry Config and ImagePruner
  oc-registry bootstrap"
        }
        "reconcile" => {
            "  # Apply the configuration once and wait for the rollout
  oc-registry reconcile --wait --timeout 5m

  # See what a pass would write, without writing
  oc-registry reconcile --dry-run

  # Reconcile continuously, as the operator does (stop it first)
  oc-registry reconcile --watch

  # Tear down a Removed registry and its Managed storage, confirmed
  oc-registry reconcile --yes"
        }
        "diff" => {
            "  # What reconcile would change, as a unified diff
  oc-registry diff

  # In another diff program
  KUBECTL_EXTERNAL_DIFF=meld oc-registry diff"
        }
        "render" => {
            "  # Every registry object for a Config and an Infrastructure in a file, with no cluster
  oc-registry render -f cluster-objects.yaml

  # As JSON
  oc-registry render -f cluster-objects.yaml -o json"
        }
        "manifests" => {
            "  # The in-cluster reconciler, two replicas with leader election
  oc-registry manifests --image quay.io/example/oc-registry:v1 --replicas 2"
        }
        "set" => {
            "  # Run two replicas
  oc-registry set replicas 2

  # Expose the registry outside the cluster (the default route)
  oc-registry set default-route true"
        }
        "set management-state" => {
            "  # Run the registry again on bare metal after it was Removed: give it storage, then manage it
  oc-registry storage set pvc
  oc-registry set management-state Managed

  # Remove the registry but keep its images
  oc-registry set storage-management-state Unmanaged
  oc-registry set management-state Removed"
        }
        "set log-level" => {
            "  # Log every request the registry serves
  oc-registry set log-level Debug"
        }
        "set logging" => {
            "  # The deprecated numeric level (prefer set log-level)
  oc-registry set logging 2"
        }
        "set read-only" => {
            "  # Stop pushes during a storage migration
  oc-registry set read-only true"
        }
        "set disable-redirect" => {
            "  # Serve blobs through the registry instead of redirecting clients to the storage
  oc-registry set disable-redirect true"
        }
        "set replicas" => {
            "  # Two replicas (needs storage every replica can share)
  oc-registry set replicas 2

  # See the change without making it
  oc-registry set replicas 3 --dry-run"
        }
        "set rollout-strategy" => {
            "  # Stop the old pod before the new one starts (a ReadWriteOnce claim)
  oc-registry set rollout-strategy Recreate"
        }
        "set default-route" => {
            "  # Expose the registry at default-route-openshift-image-registry.<apps domain>
  oc-registry set default-route true"
        }
        "set proxy" => {
            "  # Reach the storage through a proxy, except for internal hosts
  oc-registry set proxy --https http://proxy.example.com:3128 --no-proxy .cluster.local,10.0.0.0/16

  # Back to the cluster proxy
  oc-registry set proxy --clear"
        }
        "set requests" => {
            "  # At most 100 concurrent pulls per pod, 500 more queued for up to a minute
  oc-registry set requests read --max-running 100 --max-in-queue 500 --max-wait-in-queue 1m"
        }
        "set node-selector" => {
            "  # Run the registry on infrastructure nodes
  oc-registry set node-selector node-role.kubernetes.io/infra=

  # Remove that label again
  oc-registry set node-selector node-role.kubernetes.io/infra-"
        }
        "set tolerations" => {
            "  # Tolerate the infrastructure nodes' taint
  oc-registry set tolerations node-role.kubernetes.io/infra:NoSchedule

  # Remove every toleration
  oc-registry set tolerations --clear"
        }
        "set resources" => {
            "  # Requests and limits of the registry's container
  oc-registry set resources --requests cpu=200m,memory=512Mi --limits memory=2Gi"
        }
        "set operator-log-level" => {
            "  # More detail from the operator (or reconciler) managing the registry
  oc-registry set operator-log-level Debug"
        }
        "set topology-spread" => {
            "  # Spread the registry's pods over zones, and over nodes when the scheduler can
  oc-registry set topology-spread topology.kubernetes.io/zone kubernetes.io/hostname:1:ScheduleAnyway

  # Back to the default spreading
  oc-registry set topology-spread --clear"
        }
        "set affinity" => {
            "  # Never two registry pods on one node
  oc-registry set affinity --anti-affinity required

  # Any affinity, from a file
  oc-registry set affinity -f affinity.yaml"
        }
        "set storage-management-state" => {
            "  # Keep the storage (and its images) when the registry is removed
  oc-registry set storage-management-state Unmanaged"
        }
        "routes" => {
            "  # The registry's routes
  oc-registry routes list"
        }
        "routes add" => {
            "  # A route with its own hostname and certificate
  kubectl create secret tls registry-tls -n openshift-image-registry --cert=tls.crt --key=tls.key
  oc-registry routes add public-registry --hostname registry.apps.example.com --secret registry-tls"
        }
        "routes remove" => {
            "  # Remove a route the registry no longer serves on
  oc-registry routes remove public-registry"
        }
        "routes list" => {
            "  # The routes, with their hosts and whether they are admitted
  oc-registry routes list"
        }
        "pruner" => {
            "  # When the pruner runs next and how its last run went
  oc-registry pruner status"
        }
        "pruner set" => {
            "  # Prune every night at two, keeping three revisions of each tag
  oc-registry pruner set --schedule '0 2 * * *' --keep-tag-revisions 3"
        }
        "pruner suspend" => {
            "  # No pruning until resumed
  oc-registry pruner suspend"
        }
        "pruner resume" => {
            "  # Prune on the schedule again
  oc-registry pruner resume"
        }
        "pruner status" => {
            "  # The schedule, the next and last runs, the command it runs
  oc-registry pruner status"
        }
        "pruner clear-failed" => {
            "  # After fixing what made it fail: clear the failed jobs that keep the registry Degraded
  oc-registry pruner clear-failed"
        }
        "http-secret" => {
            "  # Rotate the secret that signs upload state
  oc-registry http-secret rotate"
        }
        "http-secret rotate" => {
            "  # Rotate it (uploads in progress restart)
  oc-registry http-secret rotate"
        }
        "storage" => {
            "  # Store in a claim the registry creates
  oc-registry storage set pvc

  # Supply S3 credentials from the environment
  oc-registry storage credentials set s3 access-key=env:AWS_ACCESS_KEY_ID secret-key=env:AWS_SECRET_ACCESS_KEY"
        }
        "storage set" => {
            "  # An S3 bucket of your own, in its region
  oc-registry storage set s3 --bucket my-registry --region eu-west-1"
        }
        "storage set s3" => {
            "  # A bucket the registry creates and owns
  oc-registry storage set s3 --region us-east-1

  # An S3-compatible store with its own CA
  oc-registry storage set s3 --bucket registry --region-endpoint https://s3.example.com --trusted-ca s3-ca"
        }
        "storage set gcs" => {
            "  # A bucket in a project of your choice
  oc-registry storage set gcs --bucket my-registry --project-id my-project --region us-central1"
        }
        "storage set azure" => {
            "  # A container in an existing storage account
  oc-registry storage set azure --account-name myaccount --container registry"
        }
        "storage set swift" => {
            "  # A container in OpenStack Swift, authenticating with Keystone v3
  oc-registry storage set swift --auth-url https://keystone.example.com:5000/v3 --auth-version 3 --container registry"
        }
        "storage set pvc" => {
            "  # A claim the registry creates (100Gi, ReadWriteMany)
  oc-registry storage set pvc

  # An existing claim
  oc-registry storage set pvc --claim registry-storage

  # A 200Gi shared claim in a file storage class, created now and checked against the class
  oc-registry storage set pvc --size 200Gi --storage-class efs-sc --access-mode ReadWriteMany"
        }
        "storage set empty-dir" => {
            "  # Node-local storage that is lost with the pod: for tests only
  oc-registry storage set empty-dir"
        }
        "storage set ibmcos" => {
            "  # A bucket in IBM Cloud Object Storage
  oc-registry storage set ibmcos --bucket my-registry --location us-east"
        }
        "storage credentials" => {
            "  # Which credentials the registry uses (values never shown)
  oc-registry storage credentials show"
        }
        "storage credentials set" => {
            "  # S3 keys from the environment
  oc-registry storage credentials set s3 access-key=env:AWS_ACCESS_KEY_ID secret-key=env:AWS_SECRET_ACCESS_KEY

  # A GCS service account key from a file
  oc-registry storage credentials set gcs keyfile=@service-account.json"
        }
        "storage credentials show" => {
            "  # Where the credentials come from, and which keys are set
  oc-registry storage credentials show"
        }
        "storage credentials unset" => {
            "  # Go back to the credentials the cloud credential operator mints
  oc-registry storage credentials unset"
        }
        "trust" => {
            "  # The registries whose CAs are trusted
  oc-registry trust list"
        }
        "trust add" => {
            "  # Trust the CA of a registry on port 5000
  oc-registry trust add registry.example.com:5000 --ca-file ca.crt"
        }
        "trust remove" => {
            "  # Trust that registry's CA no more
  oc-registry trust remove registry.example.com:5000"
        }
        "trust list" => {
            "  # The trusted registries and their certificates' expiry
  oc-registry trust list"
        }
        "info" => {
            "  # The hostname to push to
  oc-registry info

  # The public one, checked to answer
  oc-registry info --public --check"
        }
        "login" => {
            "  # Log in with this session's token
  oc-registry login

  # Log in as a service account of a project
  oc-registry login -z builder -n my-project"
        }
        "wait" => {
            "  # Until the registry is available, for up to five minutes
  oc-registry wait --for condition=Available --timeout 5m

  # Until two replicas are ready and nothing is degraded
  oc-registry wait --for jsonpath='{.status.readyReplicas}'=2 --for condition=Degraded=false"
        }
        "events" => {
            "  # What happened to the registry lately
  oc-registry events

  # Only warnings, and new ones as they come
  oc-registry events --types Warning -w"
        }
        "logs" => {
            "  # Every registry pod's log, each line naming its pod
  oc-registry logs

  # Follow them as they are written, from the last 20 lines
  oc-registry logs -f --tail 20

  # The log of a registry container before it restarted
  oc-registry logs --previous

  # The pruner's last run
  oc-registry logs pruner"
        }
        "policy" => {
            "  # The policy modules in effect
  oc-registry policy list"
        }
        "policy list" => {
            "  # Each module, its hooks and its digest
  oc-registry policy list"
        }
        "policy eval" => {
            "  # What the storage policy decides for this cluster
  oc-registry policy eval storage --from-cluster

  # Try a module out on an input file
  oc-registry policy eval admission -f change.json --module ./my-policy.wasm"
        }
        "policy check" => {
            "  # Check that a module loads and answers within the limits
  oc-registry policy check ./my-policy.wasm"
        }
        "policy new" => {
            "  # Start a policy module in Rust
  oc-registry policy new keep-replicas"
        }
        "completion" => {
            "  # Completion in the current bash session
  source <(oc-registry completion bash)

  # For every zsh session
  oc-registry completion zsh > \"${fpath[1]}/_oc-registry\""
        }
        "version" => {
            "  # The version, commit and policy ABI
  oc-registry version -o json"
        }
        "options" => {
            "  # The options every command accepts
  oc-registry options"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::of;
    use crate::cli::Cli;
    use clap::CommandFactory;

    /// Every command at and below `command` (at `path`), with its path.
    fn walk(command: &clap::Command, path: String, out: &mut Vec<String>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, format!("{path} {}", sub.get_name()).trim_start().to_string(), out);
        }
        out.push(path);
    }

    /// The command line an example line runs, from `oc-registry` up to a shell operator.
    fn command_line(line: &str) -> Option<Vec<String>> {
        let start = line.find("oc-registry ")?;
        let rest = &line[start..];
        let end = rest.find(['|', '>', ')']).unwrap_or(rest.len());
        shlex::split(&rest[..end])
    }

    #[test]
    fn every_command_has_examples_and_every_example_parses() {
        let mut paths = Vec::new();
        walk(&Cli::command(), String::new(), &mut paths);
        assert!(paths.len() > 50, "{paths:?}");
        for path in paths {
            let examples = of(&path).unwrap_or_else(|| panic!("`{path}` has no examples"));
            let mut commands = 0;
            for line in examples
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let Some(argv) = command_line(line) else { continue };
                commands += 1;
                if let Err(e) = Cli::command().try_get_matches_from(&argv) {
                    panic!("the example `{line}` of `{path}` does not parse: {e}");
                }
            }
            assert!(commands > 0, "`{path}` has no example running it");
            if !path.is_empty() {
                assert!(
                    examples.contains(&format!("oc-registry {path}")),
                    "`{path}`: no example of itself"
                );
            }
        }
    }
}
