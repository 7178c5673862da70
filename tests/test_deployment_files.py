"""Static checks of docker-compose.yml, the Dockerfile and .dockerignore.

No Docker engine is needed: the files are parsed and compared with what the service reads.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from factsvc.cluster.nginx_config import render_compose
from factsvc.config import Settings
from factsvc.config.declaring import variables
from tests.support.servers import STRONG_SECRET

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

SERVICES = ("app", "nginx", "mongo", "redis", "redis-cache", "mailpit")
BACKENDS = ("mongo", "redis", "redis-cache")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|AUTH", re.IGNORECASE)
# A whole value that is one compose interpolation: ${NAME}, ${NAME:?message}, ${NAME?message}.
ONE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?\?)[^}]*)?\}")
ANY_REFERENCE = re.compile(r"\$\{[^}]*\}")
# Declared settings that serve only to build the default MONGODB_URI and REDIS_URL.
URL_PART_VARIABLES = {"MONGODB_HOST", "MONGODB_PORT", "REDIS_HOST", "REDIS_PORT", "REDIS_DB"}


# Loading


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def service(name: str) -> dict[str, Any]:
    services = load_compose().get("services") or {}
    assert name in services, f"no service {name!r} in docker-compose.yml"
    definition = services[name]
    assert isinstance(definition, dict), f"service {name!r} is not a mapping"
    return definition


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment, written either as a mapping or as a list of NAME=value."""
    raw = definition.get("environment") or {}
    if isinstance(raw, list):
        pairs = (str(item).partition("=") for item in raw)
        return {name: value for name, _, value in pairs}
    return {str(name): "" if value is None else str(value) for name, value in raw.items()}


def published_ports(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(host port, container port) for each entry of `ports`, short or long syntax."""
    result = []
    for entry in definition.get("ports") or []:
        if isinstance(entry, dict):
            result.append((str(entry.get("published", "")), str(entry.get("target", ""))))
            continue
        parts = str(entry).split("/")[0].split(":")
        host = parts[-2] if len(parts) >= 2 else ""
        result.append((host, parts[-1]))
    return result


def volume_mounts(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) for each entry of `volumes`, short or long syntax."""
    result = []
    for entry in definition.get("volumes") or []:
        if isinstance(entry, dict):
            result.append((str(entry.get("source", "")), str(entry.get("target", ""))))
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            result.append(("", parts[0]))  # an anonymous volume
        else:
            result.append((parts[0], parts[1]))
    return result


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


def variables_read_by_settings() -> set[str]:
    """The environment variables the Settings declarations name."""
    return set(variables(Settings))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def env_assignments(arguments: str) -> dict[str, str]:
    """ENV NAME=value NAME2="value 2" ..., or the legacy ENV NAME value."""
    words = shlex.split(arguments)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words)


# Services


@pytest.mark.parametrize("name", SERVICES)
def test_the_service_is_defined(name: str) -> None:
    service(name)


@pytest.mark.parametrize("name", SERVICES)
def test_the_service_has_a_healthcheck_with_a_test_command(name: str) -> None:
    healthcheck = service(name).get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False), f"{name} disables its healthcheck"
    test = healthcheck.get("test")
    if isinstance(test, str):
        assert test.strip(), f"{name}'s healthcheck test is empty"
        return
    assert isinstance(test, list), f"{name}'s healthcheck has no test"
    assert test[:1] in (["CMD"], ["CMD-SHELL"]), f"{name}'s healthcheck test is {test!r}"
    assert len(test) >= 2, f"{name}'s healthcheck test has no command"
    assert all(str(word).strip() for word in test[1:]), f"{name}'s healthcheck has empty words"


def test_the_app_healthcheck_probes_healthz_with_python() -> None:
    test = service("app")["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert "python" in command
    assert "http://127.0.0.1:8888/healthz" in command
    assert "curl" not in command, "the slim image has no curl"


def test_the_app_waits_for_mongo_and_redis_to_be_healthy() -> None:
    depends_on = service("app").get("depends_on")
    assert isinstance(depends_on, dict), "app's depends_on must be a mapping with conditions"
    for backend in BACKENDS:
        assert backend in depends_on, f"app does not depend on {backend}"
        assert (depends_on[backend] or {}).get("condition") == "service_healthy", backend


@pytest.mark.parametrize("name", BACKENDS)
def test_the_backend_publishes_no_ports(name: str) -> None:
    definition = service(name)
    assert not definition.get("ports"), f"{name} publishes {definition.get('ports')!r}"
    assert definition.get("network_mode") != "host", f"{name} shares the host's network"


def test_only_nginx_publishes_port_8888_and_the_app_no_port_so_that_it_scales() -> None:
    assert published_ports(service("nginx")) == [("8888", "8080")]
    app = service("app")
    # A host port or a container name would stop `docker compose up --scale app=3`.
    assert not app.get("ports"), f"app publishes {app.get('ports')!r}"
    assert "container_name" not in app


def test_the_app_mails_through_mailpit_whose_web_ui_is_on_the_hosts_loopback_alone() -> None:
    env = environment(service("app"))
    assert env["SMTP_URL"] == "${SMTP_URL:-smtp://mailpit:1025}"
    assert Settings.from_env({"SMTP_URL": "smtp://mailpit:1025"}).smtp_url
    assert env["PUBLIC_BASE_URL"] == "${PUBLIC_BASE_URL:-http://127.0.0.1:8888}", (
        "the links open nginx's published port"
    )
    # Outside DEBUG, with SMTP_URL set, PUBLIC_BASE_URL is required: compose's defaults pass.
    defaults = {
        name: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", env[name])
        for name in ("DEBUG", "SMTP_URL", "PUBLIC_BASE_URL")
    }
    assert defaults["DEBUG"] == "false"
    production = Settings.from_env({**defaults, "SESSION_COOKIE_SECRET": STRONG_SECRET})
    assert production.public_base_url == "http://127.0.0.1:8888"
    mailpit = service("mailpit")
    assert str(mailpit.get("image", "")).startswith("axllent/mailpit:")
    assert mailpit.get("ports") == ["127.0.0.1:8025:8025"], "the web UI, for this host only"


def test_the_app_restarts_and_stops_gracefully() -> None:
    app = service("app")
    assert app.get("restart") == "unless-stopped"
    assert app.get("stop_grace_period") == "30s"


# nginx in front


def nginx_directives(text: str) -> dict[str, list[str]]:
    """Each directive of an nginx configuration with the arguments of each occurrence."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*([a-z_0-9]+)\s+([^;{#]*?)\s*;\s*", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def test_nginx_runs_deploy_nginx_conf_once_the_app_is_healthy() -> None:
    nginx = service("nginx")
    assert ("./deploy/nginx.conf", "/etc/nginx/nginx.conf") in volume_mounts(nginx)
    assert (nginx.get("depends_on") or {}).get("app", {}).get("condition") == "service_healthy"


def test_deploy_nginx_conf_is_the_rendering_of_the_settings() -> None:
    assert NGINX_CONF.read_text(encoding="utf-8") == render_compose(), (
        "deploy/nginx.conf is stale: python -m factsvc.cluster.nginx_config --write"
    )


def test_nginx_limits_agree_with_the_settings_defaults() -> None:
    directives = nginx_directives(NGINX_CONF.read_text(encoding="utf-8"))
    fields = Settings.model_fields
    # 0 (none) in nginx's internal error pages: the request's own location judged its body.
    assert [size for size in directives["client_max_body_size"] if size != "0"] == [
        str(fields["http_max_body_bytes"].default),
        str(fields["avatar_max_bytes"].default),  # PUT /account/avatar's location
    ]
    # One buffer of the whole limit: the request line and each header line fit in one.
    header_bytes = fields["http_max_header_bytes"].default
    assert directives["large_client_header_buffers"] == [f"1 {header_bytes}"]


def test_nginx_keeps_connections_to_the_app_and_passes_on_the_client() -> None:
    directives = nginx_directives(NGINX_CONF.read_text(encoding="utf-8"))
    assert directives["server"] == ["app:8888 max_fails=1 fail_timeout=2s"]
    assert directives["keepalive"], "no keep-alive to the app"
    assert directives["proxy_http_version"] == ["1.1"]
    headers = directives["proxy_set_header"]
    assert 'Connection ""' in headers
    # Replaced, not appended to: a client's own X-Forwarded-For never reaches the app.
    assert "X-Forwarded-For $remote_addr" in headers
    assert "X-Request-ID $factsvc_request_id" in headers
    assert directives["server_tokens"] == ["off"]
    assert directives["listen"] == ["8080"]


def test_nginx_retries_on_another_instance_only_what_is_safe_to_send_twice() -> None:
    directives = nginx_directives(NGINX_CONF.read_text(encoding="utf-8"))
    # Without non_idempotent: a POST that reached an instance is never sent to another.
    assert directives["proxy_next_upstream"] == ["error timeout"]
    # One other instance at most, so that a failing request never runs on every instance.
    assert directives["proxy_next_upstream_tries"] == ["2"]


def test_nginx_waits_for_an_answer_longer_than_any_request_may_take() -> None:
    directives = nginx_directives(NGINX_CONF.read_text(encoding="utf-8"))
    # A read timeout is retried (proxy_next_upstream timeout): it must exceed every wait the
    # service bounds, summed, so that a slow GET /fact is never run again elsewhere.
    fields = Settings.model_fields
    waits = (
        fields["fact_max_wait_seconds"].default
        + fields["bcrypt_max_wait_seconds"].default
        + fields["mongodb_timeout_ms"].default / 1000
        + fields["redis_pool_timeout_seconds"].default
        + fields["redis_timeout_seconds"].default
    )
    (timeout,) = directives["proxy_read_timeout"]
    seconds = re.fullmatch(r"(\d+)s", timeout)
    assert seconds, timeout
    assert int(seconds.group(1)) > waits + 10, "no room left to compute a large factorial"


def test_the_app_believes_x_forwarded_for_from_nginx_alone() -> None:
    address = service("nginx")["networks"]["default"]["ipv4_address"]
    assert environment(service("app")).get("TRUSTED_PROXIES") == f"{address}/32"
    default_address = re.fullmatch(r"\$\{NGINX_ADDRESS:-([^}]+)\}", address)
    assert default_address, address
    nginx = ipaddress.ip_address(default_address.group(1))
    configs = load_compose()["networks"]["default"]["ipam"]["config"]
    subnets = [config["subnet"] for config in configs]
    assert len(subnets) == 1, subnets
    default_subnet = re.fullmatch(r"\$\{STACK_SUBNET:-([^}]+)\}", subnets[0])
    assert default_subnet, subnets
    network = ipaddress.ip_network(default_subnet.group(1))
    assert network.is_private
    # Inside the stack's network, and neither its network address nor Docker's gateway.
    assert nginx in network
    assert nginx not in {network.network_address, network.network_address + 1}


def test_docker_compose_accepts_the_file() -> None:
    """Compose's own validation (schema and interpolation), without a Docker engine."""
    executable = shutil.which("docker-compose")
    assert executable, "docker-compose is missing: `make test-tools` installs Debian's package"
    secrets = (
        "SESSION_COOKIE_SECRET",
        "MONGO_ROOT_USERNAME",
        "MONGO_ROOT_PASSWORD",
        "REDIS_PASSWORD",
    )
    stand_ins = dict.fromkeys(secrets, "stand-in-value-0123456789abcdef0123456789abcdef")
    checked = subprocess.run(
        [executable, "-f", str(COMPOSE_FILE), "config", "-q"],
        env={"PATH": os.environ.get("PATH", "")} | stand_ins,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


# Secrets


def test_every_secret_variable_is_an_interpolation_not_a_literal() -> None:
    checked = []
    for name in SERVICES:
        for variable, value in environment(service(name)).items():
            if SECRET_NAME.search(variable):
                checked.append(variable)
                assert ONE_REFERENCE.fullmatch(value.strip()), (
                    f"{name}: {variable} must be a ${{...}} reference, not a literal"
                )
    assert "SESSION_COOKIE_SECRET" in checked
    assert "MONGO_INITDB_ROOT_PASSWORD" in checked


@pytest.mark.parametrize(
    ("variable", "scheme", "host"),
    [
        ("MONGODB_URI", "mongodb", "mongo"),
        ("REDIS_URL", "redis", "redis"),
        ("REDIS_CACHE_URL", "redis", "redis-cache"),
    ],
)
def test_the_backend_url_points_at_its_service_with_a_password_from_the_environment(
    variable: str, scheme: str, host: str
) -> None:
    value = environment(service("app")).get(variable)
    assert value, f"app does not set {variable}"
    references = ANY_REFERENCE.findall(value)
    # Stand-ins without URL punctuation, so that the URL parser sees the structure.
    for index, reference in enumerate(references):
        value = value.replace(reference, f"placeholder{index}x", 1)
    url = urlsplit(value)
    assert (url.scheme, url.hostname) == (scheme, host)
    assert url.password, f"{variable} carries no password"
    stand_in = re.fullmatch(r"placeholder(\d+)x", url.password)
    assert stand_in, f"{variable} holds a literal password"
    assert ONE_REFERENCE.fullmatch(references[int(stand_in.group(1))])


def mongodb_uri_options() -> dict[str, str]:
    """The query options of the app's MONGODB_URI."""
    query = urlsplit(ANY_REFERENCE.sub("x", environment(service("app"))["MONGODB_URI"])).query
    return dict(option.partition("=")[::2] for option in query.split("&"))


def test_the_mongodb_uri_authenticates_against_the_admin_database() -> None:
    assert mongodb_uri_options()["authSource"] == "admin"


# MongoDB as a one-node replica set

REPLICA_SET = "rs0"
KEY_FILE = "/data/db/replica-set.key"


def test_mongo_runs_as_the_replica_set_that_the_app_names() -> None:
    words = command_words("mongo")
    assert words[0] == "mongod"
    assert option(words, "--replSet") == REPLICA_SET
    assert mongodb_uri_options()["replicaSet"] == REPLICA_SET
    # A key file, which mongod requires of a replica set with authentication, on the volume.
    assert option(words, "--keyFile") == KEY_FILE
    assert ("mongo-data", "/data/db") in volume_mounts(service("mongo"))


def test_mongo_makes_its_key_file_once_for_mongod_alone_then_runs_the_entrypoint() -> None:
    entrypoint = [str(word) for word in service("mongo")["entrypoint"]]
    assert entrypoint[:2] == ["bash", "-c"]
    # Compose turns $$ into $ before the shell sees the script.
    script = entrypoint[2].replace("$$", "$")
    assert f"key={KEY_FILE}" in script
    assert 'if [ ! -s "$key" ]' in script, "an existing key is kept"
    assert 'chmod 400 "$key"' in script
    assert 'chown mongodb:mongodb "$key"' in script
    assert script.rstrip().endswith('exec docker-entrypoint.sh "$@"')
    checked = subprocess.run(
        ["bash", "-n", "-c", script], capture_output=True, text=True, check=False, timeout=10
    )
    assert checked.returncode == 0, checked.stderr


def mongo_healthcheck_script() -> str:
    test = [str(word) for word in service("mongo")["healthcheck"]["test"]]
    assert test[:4] == ["CMD", "mongosh", "--quiet", "--eval"], test
    assert len(test) == 5, test
    return test[4]


# Runs the healthcheck's script in Node with mongosh's db, rs, sleep, quit and process.env
# standing in for a server in the given state; prints what the script did, as JSON.
MONGOSH_STAND_IN = """
const [script, state] = [process.argv[1], JSON.parse(process.argv[2])];
const did = { auth: [], initiate: [], sleeps: 0 };
let initiated = state.initiated;
let hellos = 0;
const failure = (codeName) => Object.assign(new Error(codeName), { codeName });
const shell = {
  db: {
    getSiblingDB: (name) => ({ auth: (user, password) => did.auth.push([name, user, password]) }),
    hello: () => ({ isWritablePrimary: initiated && ++hellos > state.helloesBeforePrimary }),
  },
  rs: {
    status: () => {
      if (state.statusError) throw failure(state.statusError);
      if (!initiated) throw failure("NotYetInitialized");
      return { ok: 1 };
    },
    initiate: (config) => { did.initiate.push(config); initiated = true; return { ok: 1 }; },
  },
  sleep: () => { did.sleeps += 1; },
  quit: (code) => { throw { quit: code }; },
  process: { env: { MONGO_INITDB_ROOT_USERNAME: "root", MONGO_INITDB_ROOT_PASSWORD: "pw" } },
};
try {
  new Function(...Object.keys(shell), script)(...Object.values(shell));
  did.exit = "no quit";
} catch (error) {
  did.exit = error && "quit" in error ? error.quit : `threw ${error.codeName}`;
}
console.log(JSON.stringify(did));
"""


def run_mongo_healthcheck(**state: object) -> dict[str, Any]:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is missing: `make test-tools` installs Debian's nodejs"
    state = {"initiated": False, "helloesBeforePrimary": 0, "statusError": None} | state
    ran = subprocess.run(
        [node, "-e", MONGOSH_STAND_IN, mongo_healthcheck_script(), json.dumps(state)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert ran.returncode == 0, ran.stderr
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_the_mongo_healthcheck_initiates_a_new_set_with_the_member_the_app_reaches() -> None:
    did = run_mongo_healthcheck(initiated=False, helloesBeforePrimary=3)
    assert did["initiate"] == [{"_id": REPLICA_SET, "members": [{"_id": 0, "host": "mongo:27017"}]}]
    assert (
        urlsplit(ANY_REFERENCE.sub("x", environment(service("app"))["MONGODB_URI"])).port == 27017
    )
    assert did["auth"] == [["admin", "root", "pw"]], "credentials from the environment"
    assert did["exit"] == 0, "healthy once the primary is elected"
    assert 0 < did["sleeps"] <= 12


def test_the_mongo_healthcheck_leaves_an_initiated_set_alone() -> None:
    did = run_mongo_healthcheck(initiated=True)
    assert (did["initiate"], did["exit"]) == ([], 0)


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        # The image's first start runs mongod without --replSet to create the root user.
        ({"statusError": "NoReplicationEnabled"}, "threw NoReplicationEnabled"),
        # Still electing itself after about 3 s: unhealthy this time, asked again later.
        ({"initiated": True, "helloesBeforePrimary": 100}, 1),
    ],
)
def test_the_mongo_healthcheck_is_unhealthy_until_the_node_is_a_writable_primary(
    state: dict[str, object], outcome: object
) -> None:
    did = run_mongo_healthcheck(**state)
    assert did["initiate"] == []
    assert did["exit"] == outcome
    assert did["sleeps"] <= 12, "within the healthcheck's timeout"


def test_the_mongo_healthcheck_carries_no_credentials_on_its_command_line() -> None:
    test = service("mongo")["healthcheck"]["test"]
    words = [str(word) for word in test]
    assert not {"-u", "-p", "--username", "--password"} & set(words)
    assert not ANY_REFERENCE.search(" ".join(words)), "no value interpolated by Compose"
    assert "process.env.MONGO_INITDB_ROOT_PASSWORD" in mongo_healthcheck_script()


def test_the_redis_password_on_the_command_line_is_an_interpolation() -> None:
    command = service("redis").get("command")
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command or []]
    assert "--requirepass" in words, "redis runs without a password"
    password = words[words.index("--requirepass") + 1]
    assert ONE_REFERENCE.fullmatch(password), "redis --requirepass is given a literal"
    assert "--appendonly" in words
    assert words[words.index("--appendonly") + 1] == "yes"


def command_words(name: str) -> list[str]:
    command = service(name).get("command")
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command or []]


def option(words: list[str], name: str) -> str:
    assert name in words, f"no {name} in {words}"
    return words[words.index(name) + 1]


def test_the_cache_redis_is_bounded_evicts_lru_and_keeps_nothing_on_disk() -> None:
    words = command_words("redis-cache")
    assert ONE_REFERENCE.fullmatch(option(words, "--requirepass"))
    default = Settings.model_fields["fact_cache_max_bytes"].default
    bound = f"${{FACT_CACHE_MAX_BYTES:-{default}}}"
    assert option(words, "--maxmemory") == bound
    assert environment(service("app")).get("FACT_CACHE_MAX_BYTES") == bound
    assert option(words, "--maxmemory-policy") == "allkeys-lru"
    assert (option(words, "--save"), option(words, "--appendonly")) == ("", "no")
    assert not service("redis-cache").get("volumes"), "the cache keeps nothing"


# Volumes


def test_every_named_volume_is_declared_and_every_declared_volume_is_used() -> None:
    declared = set((load_compose().get("volumes") or {}).keys())
    used = {
        source
        for name in SERVICES
        for source, _ in volume_mounts(service(name))
        if is_named_volume(source)
    }
    assert used, "no service uses a named volume"
    assert used <= declared, f"used but not declared: {sorted(used - declared)}"
    assert declared <= used, f"declared but not used: {sorted(declared - used)}"


@pytest.mark.parametrize(
    ("name", "target"), [("app", "/data"), ("mongo", "/data/db"), ("redis", "/data")]
)
def test_the_service_keeps_its_data_in_a_named_volume(name: str, target: str) -> None:
    sources = [source for source, mounted in volume_mounts(service(name)) if mounted == target]
    assert sources, f"{name} mounts nothing on {target}"
    assert is_named_volume(sources[0]), f"{name} mounts {sources[0]!r} on {target}"


# The app's settings


def test_the_variable_list_is_read_from_the_settings_declarations() -> None:
    names = variables_read_by_settings()
    assert {"DEBUG", "PATH_DATA", "SESSION_COOKIE_SECRET", "MONGODB_URI", "REDIS_URL"} <= names
    assert names >= URL_PART_VARIABLES


def test_every_variable_the_app_sets_is_one_that_settings_reads() -> None:
    known = variables_read_by_settings() | URL_PART_VARIABLES
    unknown = sorted(set(environment(service("app"))) - known)
    assert not unknown, f"app sets variables that Settings.from_env ignores: {unknown}"


def test_the_app_runs_without_debug_and_keeps_its_data_on_its_volume() -> None:
    app = service("app")
    env = environment(app)
    assert env.get("DEBUG") == "false"
    assert env.get("PATH_DATA") in {target for _, target in volume_mounts(app)}


# Dockerfile


def test_the_image_is_based_on_python_3_11_slim() -> None:
    image = final_stage()[0][1].split()[0]
    assert image in {"python:3.11-slim", "docker.io/library/python:3.11-slim"}


def test_the_dockerfile_runs_as_a_non_root_user() -> None:
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "the final stage has no USER"
    user = users[-1].split(":")[0].strip()
    assert user not in {"", "root", "0"}, f"the image runs as {users[-1]!r}"


def test_the_dockerfile_cmd_is_an_exec_form_json_array() -> None:
    commands = [arguments for keyword, arguments in final_stage() if keyword == "CMD"]
    assert commands, "the final stage has no CMD"
    try:
        command = json.loads(commands[-1])
    except json.JSONDecodeError:
        pytest.fail(f"CMD is in shell form: {commands[-1]}")
    assert command == ["factsvc", "serve"]


def test_the_dockerfile_sets_debug_false() -> None:
    env: dict[str, str] = {}
    for keyword, arguments in final_stage():
        if keyword == "ENV":
            env.update(env_assignments(arguments))
    assert env.get("DEBUG") == "false"


def test_the_dockerfile_installs_the_project_without_extras() -> None:
    installs = [
        arguments
        for keyword, arguments in dockerfile_instructions()
        if keyword == "RUN" and "pip install" in arguments
    ]
    assert any(re.search(r"pip install\s+\.(\s|$)", run) for run in installs), installs
    assert not any("[" in run for run in installs), f"extras installed: {installs}"


def test_the_dockerfile_exposes_8888() -> None:
    exposed = [arguments for keyword, arguments in final_stage() if keyword == "EXPOSE"]
    assert any("8888" in arguments.split() for arguments in exposed)


@pytest.mark.parametrize(
    "pattern", [".venv", "data", ".git", "tests", ".env", "**/__pycache__", ".pytest_cache"]
)
def test_the_dockerignore_excludes(pattern: str) -> None:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    assert pattern in {line.strip() for line in lines}


def test_env_example_lists_every_variable_that_settings_reads() -> None:
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert variables_read_by_settings() <= listed
