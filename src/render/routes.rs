//! The registry's Routes: `default-route` when `spec.defaultRoute` is set, and one per
//! `spec.routes` entry, reencrypting to the Service.

use super::{Desired, Kind, Problem};
use crate::render::inputs::Inputs;
use serde_json::json;

pub const DEFAULT_ROUTE: &str = "default-route";
pub use crate::state::ROUTE_OWNER_ANNOTATION;

#[derive(Default)]
pub(crate) struct RenderedRoutes {
    pub objects: Vec<Desired>,
    pub problems: Vec<super::Problem>,
}

/// The names of the Routes the Config asks for, whether or not they can be rendered.
pub fn wanted(spec: &crate::api::ConfigSpec) -> Vec<String> {
    let default = (spec.default_route == Some(true)).then(|| DEFAULT_ROUTE.to_string());
    default
        .into_iter()
        .chain(spec.routes.iter().flatten().map(|r| r.name.clone()))
        .collect()
}

pub fn render(inputs: &Inputs) -> RenderedRoutes {
    let spec = &inputs.config.spec;
    let mut out = RenderedRoutes::default();
    if spec.default_route == Some(true) {
        out.objects.push(route(DEFAULT_ROUTE, None, None));
    }
    for r in spec.routes.iter().flatten() {
        // A name that is not an object name never reaches a request path.
        if let Err(e) = crate::validate::object_name(&r.name) {
            out.problems
                .push(Problem::new("Error", format!("spec.routes: route {e}")));
            continue;
        }
        let tls = match r.secret_name.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(secret) => match inputs.route_secrets.get(secret) {
                None => {
                    out.problems.push(Problem::new(
                        "Error",
                        format!(
                            "route {}: secret \"openshift-image-registry/{secret}\" not found; create it with keys tls.crt and tls.key",
                            r.name
                        ),
                    ));
                    continue;
                }
                Some(data) => {
                    let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
                    let missing: Vec<&str> = ["tls.crt", "tls.key"]
                        .into_iter()
                        .filter(|k| data.get(*k).is_none_or(|v| v.is_empty()))
                        .collect();
                    if !missing.is_empty() {
                        out.problems.push(Problem::new(
                            "Error",
                            format!(
                                "route {}: secret \"openshift-image-registry/{secret}\" lacks {}",
                                r.name,
                                missing.join(" and ")
                            ),
                        ));
                        continue;
                    }
                    Some((text("tls.crt"), text("tls.key"), text("tls.cacrt")))
                }
            },
        };
        out.objects.push(route(&r.name, r.hostname.as_deref(), tls));
    }
    out
}

type Tls = (Option<String>, Option<String>, Option<String>);

fn route(name: &str, host: Option<&str>, tls: Option<Tls>) -> Desired {
    let mut tls_spec = json!({"termination": "reencrypt"});
    if let Some((cert, key, ca)) = tls {
        for (field, value) in [("certificate", cert), ("key", key), ("caCertificate", ca)] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                tls_spec[field] = json!(v);
            }
        }
    }
    let mut spec = json!({
        "to": {"kind": "Service", "name": "image-registry", "weight": 100},
        "port": {"targetPort": "5000-tcp"},
        "tls": tls_spec,
        "wildcardPolicy": "None",
    });
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        spec["host"] = json!(h);
    }
    Desired::new(
        Kind::Route,
        name,
        json!({"metadata": {"annotations": {ROUTE_OWNER_ANNOTATION: "true"}}, "spec": spec}),
    )
}
