//! Debian's Keystone and Swift on 127.0.0.1 (`openstack.py` beside this file starts them): a
//! real v3 identity service and a Swift proxy that checks every token with it.

use super::services::{Answer, Service, http, unavailable};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

/// What `openstack.py` made: the URLs, the project and user, an application credential.
pub struct OpenStack {
    _service: Service,
    pub keystone: String,
    /// The project's Swift account, `http://127.0.0.1:PORT/v1/AUTH_<project>`.
    pub swift: String,
    pub region: String,
    pub project: String,
    pub user: String,
    pub password: String,
    pub credential_id: String,
    pub credential_secret: String,
}

fn installed() -> bool {
    ["keystone-manage", "swift-proxy-server"].iter().all(|program| {
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Starts Keystone and Swift, keeping their data in `dir`; `None` when they are not installed
/// (outside CI).
pub fn start(dir: &std::path::Path) -> Option<OpenStack> {
    if !installed() {
        unavailable("Keystone and Swift (Debian keystone, swift-proxy, python3-keystonemiddleware)");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/support/openstack.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting openstack.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.trim().is_empty() {
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let log = std::fs::read_to_string(dir.join("openstack.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!("Keystone and Swift did not start: {err}\n{}", tail.join("\n"));
    }
    let made: Value = serde_json::from_str(&line).unwrap();
    let s = |k: &str| made[k].as_str().unwrap().to_string();
    Some(OpenStack {
        keystone: s("keystone"),
        swift: s("swift"),
        region: s("region"),
        project: s("project"),
        user: s("user"),
        password: s("password"),
        credential_id: s("application_credential_id"),
        credential_secret: s("application_credential_secret"),
        _service: Service::new(child, String::new()),
    })
}

impl OpenStack {
    /// A token of the tests' user, scoped to the project.
    pub fn token(&self) -> String {
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.user, "domain": {"id": "default"}, "password": self.password}}},
            "scope": {"project": {"name": self.project, "domain": {"id": "default"}}}}});
        let answer = http(
            "POST",
            &format!("{}/v3/auth/tokens", self.keystone),
            &[("Content-Type", "application/json")],
            &body.to_string(),
        );
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.header("x-subject-token").unwrap().to_string()
    }

    /// A call to the project's Swift account (`path` below it) with the tests' own token.
    pub fn swift(&self, method: &str, path: &str, body: &str) -> Answer {
        self.swift_with(method, path, &[], body)
    }

    /// As [`OpenStack::swift`], with `headers`.
    pub fn swift_with(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let token = self.token();
        let mut all = vec![("X-Auth-Token", token.as_str())];
        all.extend_from_slice(headers);
        http(method, &format!("{}{path}", self.swift), &all, body)
    }
}
