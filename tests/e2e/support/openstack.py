"""A small OpenStack on 127.0.0.1 for the Swift storage tests: Debian's Keystone (v3, fernet
tokens, SQLite) and a Swift all-in-one (one device, one replica) whose proxy checks every token
with Keystone (keystonemiddleware's auth_token, then keystoneauth) and serves bulk deletes.

Usage: openstack.py DIR. Prints one JSON line once both answer: the Keystone URL, the Swift
account URL prefix, the project and users made for the tests, an application credential. Runs
until its standard input closes; every server it started dies with it (PR_SET_PDEATHSIG).
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ADMIN_PASSWORD = "keystone-admin-secret"
USER = "registry"
USER_PASSWORD = "registry-user-secret"
PROJECT = "registry"
REGION = "RegionOne"

children = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def start(args, log):
    child = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
    )
    children.append(child)
    return child


def run(args, log):
    subprocess.run(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=True)


def wait_for(url, within=120):
    deadline = time.time() + within
    while True:
        for child in children:
            if child.poll() is not None:
                raise SystemExit(f"{child.args[0]} exited with {child.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.time() > deadline:
                raise SystemExit(f"{url} did not answer within {within}s")
            time.sleep(0.2)


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
        return answer.headers, (json.loads(text) if text else None)


def token(keystone, user, password, project):
    headers, _ = call(
        "POST",
        f"{keystone}/v3/auth/tokens",
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        },
    )
    return headers["X-Subject-Token"]


def keystone_conf(path, root):
    with open(path, "w") as f:
        f.write(
            f"""[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///{root}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {root}/fernet
[fernet_receipts]
key_repository = {root}/fernet
[credential]
key_repository = {root}/credential
"""
        )


def swift_confs(root, ports, keystone):
    devices = f"{root}/devices"
    os.makedirs(f"{devices}/d1", exist_ok=True)
    for kind in ("account", "container", "object"):
        with open(f"{root}/{kind}-server.conf", "w") as f:
            f.write(
                f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {ports[kind]}
workers = 0
devices = {devices}
mount_check = false
swift_dir = {root}
log_facility = LOG_LOCAL2
[pipeline:main]
pipeline = {kind}-server
[app:{kind}-server]
use = egg:swift#{kind}
"""
            )
    with open(f"{root}/proxy-server.conf", "w") as f:
        f.write(
            f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {ports['proxy']}
workers = 0
swift_dir = {root}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk authtoken keystoneauth copy dlo versioned_writes proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {keystone}/v3
auth_url = {keystone}
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = admin
username = admin
password = {ADMIN_PASSWORD}
delay_auth_decision = True
interface = public
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
[filter:bulk]
use = egg:swift#bulk
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
"""
        )


def main():
    root = os.path.abspath(sys.argv[1])
    os.makedirs(root, exist_ok=True)
    log = open(f"{root}/openstack.log", "w")
    ports = {name: free_port() for name in ("keystone", "proxy", "account", "container", "object")}
    keystone = f"http://127.0.0.1:{ports['keystone']}"
    swift = f"http://127.0.0.1:{ports['proxy']}"

    conf = f"{root}/keystone.conf"
    keystone_conf(conf, root)
    manage = ["keystone-manage", "--config-file", conf]
    run(manage + ["db_sync"], log)
    run(manage + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"], log)
    run(manage + ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"], log)
    run(
        manage
        + [
            "bootstrap",
            "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-public-url", f"{keystone}/v3",
            "--bootstrap-region-id", REGION,
        ],
        log,
    )
    start(["keystone-wsgi-public", "--host", "127.0.0.1", "--port", str(ports["keystone"]), "--", "--config-file", conf], log)

    swift_confs(root, ports, keystone)
    for kind in ("account", "container", "object"):
        builder = f"{root}/{kind}.builder"
        run(["swift-ring-builder", builder, "create", "8", "1", "1"], log)
        run(["swift-ring-builder", builder, "add", f"r1z1-127.0.0.1:{ports[kind]}/d1", "1"], log)
        run(["swift-ring-builder", builder, "rebalance"], log)
        start([f"swift-{kind}-server", f"{root}/{kind}-server.conf", "--verbose"], log)
    start(["swift-proxy-server", f"{root}/proxy-server.conf", "--verbose"], log)

    wait_for(f"{keystone}/v3")
    admin = token(keystone, "admin", ADMIN_PASSWORD, "admin")
    _, service = call("POST", f"{keystone}/v3/services", {"service": {"name": "swift", "type": "object-store"}}, admin)
    call(
        "POST",
        f"{keystone}/v3/endpoints",
        {
            "endpoint": {
                "service_id": service["service"]["id"],
                "interface": "public",
                "region_id": REGION,
                "url": f"{swift}/v1/AUTH_$(project_id)s",
            }
        },
        admin,
    )
    _, project = call("POST", f"{keystone}/v3/projects", {"project": {"name": PROJECT, "domain_id": "default"}}, admin)
    project_id = project["project"]["id"]
    _, user = call(
        "POST", f"{keystone}/v3/users", {"user": {"name": USER, "domain_id": "default", "password": USER_PASSWORD}}, admin
    )
    user_id = user["user"]["id"]
    _, roles = call("GET", f"{keystone}/v3/roles?name=member", None, admin)
    call("PUT", f"{keystone}/v3/projects/{project_id}/users/{user_id}/roles/{roles['roles'][0]['id']}", None, admin)
    own = token(keystone, USER, USER_PASSWORD, PROJECT)
    _, credential = call(
        "POST",
        f"{keystone}/v3/users/{user_id}/application_credentials",
        {"application_credential": {"name": "registry-storage"}},
        own,
    )
    wait_for(f"{swift}/healthcheck")

    print(
        json.dumps(
            {
                "keystone": keystone,
                "swift": f"{swift}/v1/AUTH_{project_id}",
                "region": REGION,
                "project": PROJECT,
                "project_id": project_id,
                "user": USER,
                "password": USER_PASSWORD,
                "application_credential_id": credential["application_credential"]["id"],
                "application_credential_secret": credential["application_credential"]["secret"],
            }
        ),
        flush=True,
    )
    sys.stdin.read()


if __name__ == "__main__":
    try:
        main()
    finally:
        for child in children:
            child.kill()
