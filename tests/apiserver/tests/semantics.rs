//! The server's API semantics, exercised through kube-rs (a second, independent client besides
//! kubectl): preconditions, generation, subresources, patches, server-side apply, dry run, field
//! validation, finalizers, watches, selectors, the request log, faults and the simulation.

mod support;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::Duration;
use support::api_error;
use test_apiserver::{ApiServer, Fault, FaultAction, Matcher, Platform, RolloutOutcome, Settings};

fn server() -> ApiServer {
    let s = ApiServer::new(Settings::default());
    s.seed_openshift(Platform::Aws).unwrap();
    s
}

fn client(s: &ApiServer) -> kube::Client {
    kube::Client::new(s.clone(), "default")
}

fn configs(s: &ApiServer) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("imageregistry.operator.openshift.io", "v1", "Config");
    Api::all_with(client(s), &ApiResource::from_gvk_with_plural(&gvk, "configs"))
}

fn config(name: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "imageregistry.operator.openshift.io/v1", "kind": "Config",
        "metadata": {"name": name},
        "spec": {"managementState": "Managed", "replicas": 1, "storage": {"emptyDir": {}}},
    }))
    .unwrap()
}

fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).unwrap()
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict_and_no_op_updates_keep_it() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "1"})))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let same = api.replace("a", &PostParams::default(), &created).await.unwrap();
    assert_eq!(
        same.metadata.resource_version.as_deref(),
        Some(rv.as_str()),
        "a no-op update is not stored"
    );
    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "2".to_string())].into());
    api.replace("a", &PostParams::default(), &changed).await.unwrap();
    let status = api_error(api.replace("a", &PostParams::default(), &changed).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(status.message.contains("the object has been modified"));
}

#[tokio::test]
async fn custom_resources_need_a_resource_version_to_update_and_track_generation() {
    let s = server();
    let api = configs(&s);
    let created = api.create(&PostParams::default(), &config("cluster")).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let mut no_rv = created.clone();
    no_rv.metadata.resource_version = None;
    let status = api_error(
        api.replace("cluster", &PostParams::default(), &no_rv)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("metadata.resourceVersion: Invalid value: 0: must be specified for an update")
    );
    let labelled = api
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );
    let respec = api
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(respec.metadata.generation, Some(2));
}

#[tokio::test]
async fn status_subresource_separates_spec_and_status() {
    let s = server();
    let api = configs(&s);
    api.create(&PostParams::default(), &config("cluster")).await.unwrap();
    let with_status =
        json!({"status": {"readyReplicas": 1, "storage": {}, "storageManaged": false}, "spec": {"replicas": 5}});
    let main = api
        .patch("cluster", &PatchParams::default(), &Patch::Merge(&with_status))
        .await
        .unwrap();
    assert_eq!(main.data["spec"]["replicas"], 5);
    assert!(main.data.get("status").is_none(), "the main resource ignores status");
    let sub = api.patch_status("cluster", &PatchParams::default(), &Patch::Merge(json!({"status": {"readyReplicas": 1, "storage": {}, "storageManaged": false}, "spec": {"replicas": 9}}))).await.unwrap();
    assert_eq!(sub.data["status"]["readyReplicas"], 1);
    assert_eq!(sub.data["spec"]["replicas"], 5, "/status ignores spec");
    assert_eq!(sub.metadata.generation, Some(2), "status writes keep the generation");
}

#[tokio::test]
async fn strategic_merge_is_refused_on_custom_resources_only() {
    let s = server();
    let api = configs(&s);
    api.create(&PostParams::default(), &config("cluster")).await.unwrap();
    let status = api_error(
        api.patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(status.code, 415);
    let cms: Api<ConfigMap> = Api::default_namespaced(client(&s));
    cms.create(&PostParams::default(), &cm("a", json!({"x": "1"})))
        .await
        .unwrap();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Strategic(json!({"data": {"y": "2"}})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn server_side_apply_tracks_owners_and_reports_conflicts() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let mine =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1", "b": "2"}});
    let created = api
        .patch("owned", &PatchParams::apply("oc-registry"), &Patch::Apply(&mine))
        .await
        .unwrap();
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["oc-registry"]);
    let theirs =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "other"}});
    let status = api_error(
        api.patch("owned", &PatchParams::apply("someone-else"), &Patch::Apply(&theirs))
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 409);
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"oc-registry\" using v1: .data.a"
    );
    api.patch(
        "owned",
        &PatchParams::apply("someone-else").force(),
        &Patch::Apply(&theirs),
    )
    .await
    .unwrap();
    // oc-registry stops applying b: it is removed; a now belongs to someone else and stays.
    let fewer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {}});
    let after = api
        .patch("owned", &PatchParams::apply("oc-registry"), &Patch::Apply(&fewer))
        .await
        .unwrap();
    assert_eq!(after.data.unwrap(), [("a".to_string(), "other".to_string())].into());
    let missing_manager = api_error(
        api.patch("owned", &PatchParams::default(), &Patch::Apply(&mine))
            .await
            .unwrap_err(),
    );
    assert_eq!(missing_manager.code, 400);
}

#[tokio::test]
async fn dry_run_validates_without_storing() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let out = api.create(&dry, &cm("dry", json!({"a": "1"}))).await.unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert!(api.get_opt("dry").await.unwrap().is_none());
    let before = s.writes().len();
    let apply = PatchParams::apply("t").dry_run();
    api.patch(
        "dry",
        &apply,
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("dry").await.unwrap().is_none());
    assert_eq!(s.writes().len(), before + 1);
    assert_eq!(s.writes().last().unwrap().query_param("dryRun").as_deref(), Some("All"));
}

#[tokio::test]
async fn field_validation_strict_refuses_and_warn_prunes_unknown_fields() {
    let s = server();
    let api = configs(&s);
    let mut typo = config("cluster");
    typo.data["spec"]["replica"] = json!(3);
    let strict = PostParams {
        field_manager: None,
        dry_run: false,
    };
    let stored = api.create(&strict, &typo).await.unwrap();
    assert!(
        stored.data["spec"].get("replica").is_none(),
        "unknown fields are pruned by default (Warn)"
    );
    let warn = s.requests().last().unwrap().clone();
    assert_eq!(warn.status, 201);
    let client = client(&s);
    let req = http::Request::post("/apis/imageregistry.operator.openshift.io/v1/configs?fieldValidation=Strict")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&json!({"apiVersion": "imageregistry.operator.openshift.io/v1", "kind": "Config", "metadata": {"name": "other"}, "spec": {"replicas": 1, "replica": 3}})).unwrap())
        .unwrap();
    let status = api_error(client.request::<Value>(req).await.unwrap_err());
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "Config in version \"v1\" cannot be handled as a Config: strict decoding error: unknown field \"spec.replica\""
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let marked = api.get("held").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn selectors_filter_lists_and_unsupported_fields_are_refused() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        let mut c = cm(name, json!({}));
        c.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        api.create(&PostParams::default(), &c).await.unwrap();
    }
    let names =
        |l: kube::core::ObjectList<ConfigMap>| l.items.into_iter().filter_map(|c| c.metadata.name).collect::<Vec<_>>();
    assert_eq!(
        names(api.list(&ListParams::default().labels("tier=web")).await.unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier notin (web)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=b"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    let page = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = api
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    let bad = api_error(api.list(&ListParams::default().fields("data.x=1")).await.unwrap_err());
    assert_eq!(
        (bad.code, bad.message.as_str()),
        (400, "field label not supported: data.x")
    );
}

#[tokio::test]
async fn watches_resume_from_a_resource_version_and_expire_when_compacted() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let first = api.create(&PostParams::default(), &cm("w1", json!({}))).await.unwrap();
    let rv = first.metadata.resource_version.unwrap();
    api.create(&PostParams::default(), &cm("w2", json!({}))).await.unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    let Some(WatchEvent::Added(o)) = stream.try_next().await.unwrap() else {
        panic!("expected ADDED")
    };
    assert_eq!(
        o.metadata.name.as_deref(),
        Some("w2"),
        "resumes after the given resourceVersion"
    );
    api.delete("w1", &DeleteParams::default()).await.unwrap();
    let Some(WatchEvent::Deleted(o)) = stream.try_next().await.unwrap() else {
        panic!("expected DELETED")
    };
    assert_eq!(o.metadata.name.as_deref(), Some("w1"));

    s.compact();
    let mut expired = api.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    match expired.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410 Expired, got {other:?}"),
    }
}

#[tokio::test]
async fn watches_send_bookmarks_and_end_when_dropped() {
    let s = ApiServer::new(Settings {
        bookmark_interval: Duration::from_millis(50),
        ..Settings::default()
    });
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let mut stream = api.watch(&WatchParams::default(), "0").await.unwrap().boxed();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(event, Some(WatchEvent::Bookmark(_))), "{event:?}");
    // Give the stream's task time to wait on the drop signal, then drop every watch.
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.drop_watches();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch ended");
}

#[tokio::test]
async fn faults_inject_errors_conflicts_latency_and_dropped_connections() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    s.inject(
        Fault::new(
            Matcher::method("POST"),
            FaultAction::ServerError {
                code: 503,
                retry_after_seconds: 7,
            },
        )
        .times(1),
    );
    let status = api_error(
        api.create(&PostParams::default(), &cm("f", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (503, "ServiceUnavailable"));
    api.create(&PostParams::default(), &cm("f", json!({}))).await.unwrap();

    s.inject(Fault::new(Matcher::path("/configmaps/f"), FaultAction::Conflict).times(2));
    for _ in 0..2 {
        let status = api_error(
            api.patch("f", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}})))
                .await
                .unwrap_err(),
        );
        assert_eq!(status.code, 409);
    }
    api.patch("f", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}})))
        .await
        .unwrap();

    s.inject(Fault::new(Matcher::method("GET"), FaultAction::DropConnection).times(1));
    assert!(matches!(api.get("f").await.unwrap_err(), kube::Error::Service(_)));

    s.inject(Fault::new(Matcher::any(), FaultAction::Latency(Duration::from_millis(200))).times(1));
    let started = std::time::Instant::now();
    api.get("f").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));

    let failures: Vec<u16> = s
        .requests()
        .iter()
        .map(|r| r.status)
        .filter(|c| *c >= 400 || *c == 0)
        .collect();
    assert_eq!(
        failures,
        vec![503, 409, 409, 0],
        "the request log records each injected failure (0: dropped)"
    );
}

#[tokio::test]
async fn deployments_roll_out_or_fail_and_jobs_finish_on_request() {
    let s = server();
    let deploys: Api<Deployment> = Api::default_namespaced(client(&s));
    let spec = |name: &str| -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
        .unwrap()
    };
    s.simulation(|sim| sim.rollout_delay = Duration::from_millis(50));
    deploys.create(&PostParams::default(), &spec("good")).await.unwrap();
    let ready = kube::runtime::wait::await_condition(deploys.clone(), "good", |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref()?.ready_replicas) == Some(2)
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap()
        .unwrap();

    s.simulation(|sim| sim.rollout_outcome = RolloutOutcome::Fail);
    deploys.create(&PostParams::default(), &spec("bad")).await.unwrap();
    let failed = kube::runtime::wait::await_condition(deploys.clone(), "bad", |d: Option<&Deployment>| {
        d.and_then(|d| {
            d.status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Progressing")
                .and_then(|c| c.reason.clone())
        })
        .as_deref()
            == Some("ProgressDeadlineExceeded")
    });
    tokio::time::timeout(Duration::from_secs(10), failed)
        .await
        .unwrap()
        .unwrap();

    let jobs: Api<Job> = Api::namespaced(client(&s), "openshift-image-registry");
    let job: Job = serde_json::from_value(json!({"metadata": {"name": "prune-1"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}})).unwrap();
    jobs.create(&PostParams::default(), &job).await.unwrap();
    assert!(s.fail_job(
        "openshift-image-registry",
        "prune-1",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit"
    ));
    let got = jobs.get("prune-1").await.unwrap();
    let c = &got.status.unwrap().conditions.unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.reason.as_deref()),
        ("Failed", Some("BackoffLimitExceeded"))
    );
}

#[tokio::test]
async fn objects_in_missing_namespaces_and_names_are_refused_like_the_apiserver() {
    let s = server();
    let api: Api<ConfigMap> = Api::namespaced(client(&s), "nowhere");
    let status = api_error(
        api.create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let status = api_error(
        api.create(&PostParams::default(), &cm("Bad_Name", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
    );
    let status = api_error(api.get("absent").await.unwrap_err());
    assert_eq!(
        (status.code, status.reason.as_str(), status.message.as_str()),
        (404, "NotFound", "configmaps \"absent\" not found")
    );
}

#[tokio::test]
async fn cel_validation_rules_of_the_crds_are_enforced_including_transition_rules() {
    let s = server();
    let api = configs(&s);
    let mut azure = config("cluster");
    azure.data["spec"]["storage"] =
        json!({"azure": {"networkAccess": {"type": "External", "internal": {"vnetName": "v"}}}});
    let status = api_error(api.create(&PostParams::default(), &azure).await.unwrap_err());
    assert_eq!(status.code, 422);
    assert!(
        status.message.contains(
            "spec.storage.azure.networkAccess: Invalid value: \"object\": internal is forbidden when type is not Internal"
        ),
        "{}",
        status.message
    );
    api.create(&PostParams::default(), &config("cluster")).await.unwrap();
    let status_of =
        |rev: i64| json!({"status": {"latestAvailableRevision": rev, "storage": {}, "storageManaged": false}});
    api.patch_status("cluster", &PatchParams::default(), &Patch::Merge(status_of(3)))
        .await
        .unwrap();
    let status = api_error(
        api.patch_status("cluster", &PatchParams::default(), &Patch::Merge(status_of(2)))
            .await
            .unwrap_err(),
    );
    assert!(
        status
            .message
            .contains("status.latestAvailableRevision: Invalid value: \"integer\": must only increase"),
        "{}",
        status.message
    );
}

/// Creates `owner-SUFFIX` and `dependent-SUFFIX`, which it owns.
async fn family(api: &Api<ConfigMap>, suffix: &str) {
    let owner = api
        .create(&PostParams::default(), &cm(&format!("owner-{suffix}"), json!({})))
        .await
        .unwrap();
    let mut dependent = cm(&format!("dependent-{suffix}"), json!({}));
    dependent.metadata.owner_references = Some(vec![
        serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name,
            "uid": owner.metadata.uid, "blockOwnerDeletion": true}),
        )
        .unwrap(),
    ]);
    api.create(&PostParams::default(), &dependent).await.unwrap();
}

#[tokio::test]
async fn owners_are_deleted_in_the_background_in_the_foreground_or_orphaning_as_asked() {
    let s = server();
    let api: Api<ConfigMap> = Api::default_namespaced(client(&s));
    let exists = async |name: &str| api.get_opt(name).await.unwrap();

    // Background: the owner goes at once, the dependent after it.
    family(&api, "bg").await;
    api.delete("owner-bg", &DeleteParams::background()).await.unwrap();
    assert!(exists("owner-bg").await.is_none());
    assert!(exists("dependent-bg").await.is_none());

    // Orphan: the dependent stays, without the reference.
    family(&api, "orphan").await;
    api.delete("owner-orphan", &DeleteParams::orphan()).await.unwrap();
    assert!(exists("owner-orphan").await.is_none());
    let orphan = exists("dependent-orphan").await.unwrap();
    assert!(orphan.metadata.owner_references.is_none_or(|r| r.is_empty()));

    // With the collector paused, foreground deletion waits behind its finalizer, and the
    // dependents of a background deletion stay.
    s.pause_garbage_collector();
    family(&api, "fg").await;
    api.delete("owner-fg", &DeleteParams::foreground()).await.unwrap();
    let waiting = exists("owner-fg").await.unwrap();
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(
        waiting.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert!(exists("dependent-fg").await.is_some());
    family(&api, "later").await;
    api.delete("owner-later", &DeleteParams::background()).await.unwrap();
    assert!(exists("dependent-later").await.is_some());
    s.resume_garbage_collector();
    for name in ["owner-fg", "dependent-fg", "dependent-later"] {
        assert!(exists(name).await.is_none(), "{name}");
    }
}
