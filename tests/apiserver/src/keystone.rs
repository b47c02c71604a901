//! The simulated OpenStack cloud's identity service (Keystone v3 `POST /v3/auth/tokens`), served by
//! the same server so that tools can ask it what the operator asks: whether the service catalog
//! offers object storage (Swift). The seeded `clouds.yaml` points here once the server listens.

use crate::server::{ApiServer, Body, full};
use crate::store::ObjectKey;
use base64::Engine as _;
use bytes::Bytes;
use http::{Response, StatusCode, header};
use serde_json::{Value, json};

/// The application credential seeded into `clouds.yaml`.
pub const CREDENTIAL_ID: &str = "simulated";
pub const CREDENTIAL_SECRET: &str = "simulated";

fn respond(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            "X-Subject-Token",
            if status == StatusCode::CREATED {
                "gAAAAABsimulatedtoken"
            } else {
                ""
            },
        )
        .body(full(serde_json::to_vec(body).expect("serialisable")))
        .expect("valid response")
}

fn endpoint(type_: &str, name: &str, url: &str) -> Value {
    json!({"type": type_, "name": name, "endpoints": [{"interface": "public", "region": "regionOne", "region_id": "regionOne", "url": url}]})
}

impl ApiServer {
    /// Answers `POST /v3/auth/tokens` for the simulated OpenStack cloud.
    pub(crate) fn keystone_tokens(&self, body: &Bytes) -> Response<Body> {
        let Some(swift) = *self.shared.openstack_swift.lock().unwrap() else {
            return respond(
                StatusCode::NOT_FOUND,
                &json!({"error": {"code": 404, "title": "Not Found", "message": "this cluster is not on OpenStack"}}),
            );
        };
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let credential = request.pointer("/auth/identity/application_credential");
        let authenticated = credential.and_then(|c| c.get("id")).and_then(Value::as_str) == Some(CREDENTIAL_ID)
            && credential.and_then(|c| c.get("secret")).and_then(Value::as_str) == Some(CREDENTIAL_SECRET);
        if !authenticated {
            return respond(
                StatusCode::UNAUTHORIZED,
                &json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
            );
        }
        let mut catalog = vec![
            endpoint("identity", "keystone", "https://keystone.sim.example.com:5000"),
            endpoint("compute", "nova", "https://nova.sim.example.com:8774/v2.1"),
            endpoint("volumev3", "cinderv3", "https://cinder.sim.example.com:8776/v3"),
            endpoint("network", "neutron", "https://neutron.sim.example.com:9696"),
        ];
        if swift {
            catalog.push(endpoint(
                "object-store",
                "swift",
                "https://swift.sim.example.com:8080/v1/AUTH_sim",
            ));
        }
        respond(
            StatusCode::CREATED,
            &json!({"token": {"methods": ["application_credential"], "expires_at": "2099-01-01T00:00:00.000000Z", "catalog": catalog}}),
        )
    }

    /// Points the seeded `clouds.yaml` at this server's identity endpoint (with the CA that signs
    /// the server's certificate as the credentials' `cacert`, as OpenStack installs provide it).
    pub(crate) fn point_identity_at(&self, url: &str, ca_pem: Option<&str>) {
        if self.shared.openstack_swift.lock().unwrap().is_none() {
            return;
        }
        let key = ObjectKey::new(
            "",
            "secrets",
            crate::seeds::REGISTRY_NAMESPACE,
            "installer-cloud-credentials",
        );
        let mut store = self.shared.store.lock().unwrap();
        let Some(mut secret) = store.get(&key).cloned() else {
            return;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let Some(text) = secret
            .pointer("/data/clouds.yaml")
            .and_then(Value::as_str)
            .and_then(|d| b64.decode(d).ok())
        else {
            return;
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        let rewritten: Vec<String> = text
            .lines()
            .map(|l| match l.find("auth_url:") {
                Some(i) => format!("{}auth_url: {url}/v3", &l[..i]),
                None => l.to_string(),
            })
            .collect();
        secret["data"]["clouds.yaml"] = json!(b64.encode(rewritten.join("\n") + "\n"));
        if let Some(ca) = ca_pem {
            secret["data"]["cacert"] = json!(b64.encode(ca));
        }
        store.put(key, secret);
        // The installed registry was rendered from those credentials: it names the same endpoint.
        let key = ObjectKey::new(
            "apps",
            "deployments",
            crate::seeds::REGISTRY_NAMESPACE,
            "image-registry",
        );
        if let Some(mut deployment) = store.get(&key).cloned()
            && let Some(env) = deployment
                .pointer_mut("/spec/template/spec/containers/0/env")
                .and_then(Value::as_array_mut)
            && let Some(var) = env.iter_mut().find(|v| v["name"] == "REGISTRY_STORAGE_SWIFT_AUTHURL")
        {
            var["value"] = json!(format!("{url}/v3"));
            store.put(key, deployment);
        }
    }
}
