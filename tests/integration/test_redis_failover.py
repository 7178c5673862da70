"""A Redis master killed or paused under load, on a Redis Cluster and under Sentinel: every
answer is 200 or 503 code 10 (never a 500, never a hang), sessions elsewhere stay valid, and the
service works again without a restart once the replica has taken over. Prints the recovery
times."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import redis as redis_sync
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.embedded import LOOPBACK, ManagedServer
from factsvc.embedded_redis import RedisClusterServers, kill
from factsvc.embedded_sentinel import RedisSentinelServers
from factsvc.storage.redis_sessions import SESSION_PREFIX
from tests.support import redis_topologies as topologies
from tests.support.api import PASSWORD
from tests.support.lost_connections import REDIS_NODE_FAILURE
from tests.support.servers import AppFactory, with_settings

pytestmark = [pytest.mark.gen_test(timeout=120), *REDIS_NODE_FAILURE]

LOAD_CLIENTS = 4
# Longer than any answer may take: a request still open after this long is a hang.
CLIENT_TIMEOUT_SECONDS = 10.0
# How long the load goes on once the service answers again, and the longest wait for that.
SETTLED_SECONDS = 2.0
RECOVERY_DEADLINE_SECONDS = 30.0
# The status a load request gets when the client gave up on it (as Tornado's own 599).
NO_ANSWER = 599


@dataclass
class User:
    name: str
    token: str


@dataclass
class Answer:
    sent: float  # time.monotonic() when the request was sent
    at: float  # and when its answer came
    user: str
    path: str
    status: int
    code: int | None
    logined: bool | None


class Service:
    """The app under test, driven over real sockets by bounded requests."""

    def __init__(self, client: AsyncHTTPClient, base_url: str) -> None:
        self.client, self.base_url = client, base_url

    async def call(self, method: str, path: str, body: object = None, token: str = "") -> Answer:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        user = token or (body["username"] if isinstance(body, dict) else "")
        sent = time.monotonic()
        try:
            response = await self.client.fetch(
                self.base_url + path,
                method=method,
                body=None if method == "GET" else orjson.dumps(body),
                headers=headers,
                raise_error=False,
                request_timeout=CLIENT_TIMEOUT_SECONDS,
            )
        except Exception:  # a timeout or a reset: no answer, counted below
            return Answer(sent, time.monotonic(), user, path, NO_ANSWER, None, None)
        reply: dict[str, Any] = orjson.loads(response.body) if response.body else {}
        code, logined = reply.get("code"), reply.get("logined")
        return Answer(sent, time.monotonic(), user, path, response.code, code, logined)

    async def login(self, name: str) -> Answer:
        body = {"username": name, "password": PASSWORD, "session": "token"}
        return await self.call("POST", "/login", body)

    async def new_user(self) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        registered = await self.call("POST", "/register", {"username": name, "password": PASSWORD})
        assert registered.status == 201, registered
        response = await self.client.fetch(
            self.base_url + "/login",
            method="POST",
            body=orjson.dumps({"username": name, "password": PASSWORD, "session": "token"}),
            headers={"Content-Type": "application/json"},
        )
        return User(name, orjson.loads(response.body)["token"])


@dataclass
class Load:
    """LOAD_CLIENTS clients asking /isLogined (three in four) and /login for random users."""

    service: Service
    users: list[User]
    answers: list[Answer]

    async def run(self, until: asyncio.Event) -> None:
        await asyncio.gather(*(self._client(until, random.Random(n)) for n in range(LOAD_CLIENTS)))

    async def _client(self, until: asyncio.Event, rng: random.Random) -> None:
        while not until.is_set():
            user = rng.choice(self.users)
            if rng.random() < 0.25:
                answer = await self.service.login(user.name)
                answer.user = user.name
            else:
                answer = await self.service.call("GET", "/isLogined", token=user.token)
                answer.user = user.name
            self.answers.append(answer)


def assert_only_200_or_503_code_10(answers: list[Answer]) -> None:
    statuses: dict[tuple[str, int], int] = {}
    for answer in answers:
        key = (answer.path, answer.status)
        statuses[key] = statuses.get(key, 0) + 1
    slowest = max((answer.at - answer.sent for answer in answers), default=0.0)
    print(f"answers by (path, status): {statuses}; the slowest took {slowest:.2f} s")
    assert {answer.status for answer in answers} <= {200, 503}, statuses
    assert all(answer.code == 10 for answer in answers if answer.status == 503)


def sessions_on(node: ManagedServer) -> set[bytes]:
    with redis_sync.Redis(LOOPBACK, node.port, socket_timeout=2) as client:
        return set(client.keys(SESSION_PREFIX + "*"))


async def load_through(
    service: Service, users: list[User], kill_one: Any, recovered: Any
) -> tuple[list[Answer], float]:
    """Run the load, call `kill_one()` after a second of it, and go on until
    `recovered(answers, killed_at)` gives a time and SETTLED_SECONDS more have passed (or
    RECOVERY_DEADLINE_SECONDS). Returns the answers and the time of the kill."""
    answers: list[Answer] = []
    stop = asyncio.Event()
    running = asyncio.ensure_future(Load(service, users, answers).run(stop))
    await asyncio.sleep(1.0)
    killed_at = time.monotonic()
    kill_one()
    while time.monotonic() - killed_at < RECOVERY_DEADLINE_SECONDS:
        back = recovered(answers, killed_at)
        if back is not None and time.monotonic() - back > SETTLED_SECONDS:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await running
    return answers, killed_at


# --- Redis Cluster ---------------------------------------------------------------------------


@pytest.fixture
def cluster_settings(settings: Settings, own_redis_cluster: RedisClusterServers) -> Settings:
    return topologies.cluster_settings(settings, own_redis_cluster)


@pytest.fixture
def app(
    request: pytest.FixtureRequest, app_factory: AppFactory, settings: Settings
) -> tornado.web.Application:
    """The app on the topology the test names by its fixture (cluster or sentinel)."""
    names = ("cluster_settings", "sentinel_settings", "demoted_settings")
    name = next(n for n in names if n in request.fixturenames)
    topology_settings: Settings = request.getfixturevalue(name)
    # Every user comes from one client address, and users_on_every_master may register up to
    # 23 of them (its own bound) where REGISTER_CLIENT_MAX allows 20: by the odds, one run in a
    # hundred draws that many and gets 429. The registration limit is not what these test.
    return app_factory(with_settings(topology_settings, register_client_max=1000))


async def users_on_every_master(
    service: Service, cluster: RedisClusterServers
) -> dict[int, list[User]]:
    """Users logged in until every master holds some users' sessions: {master's port: users}."""
    by_master: dict[int, list[User]] = {node.port: [] for node in cluster.masters_now()}
    while min(len(users) for users in by_master.values()) < 2:
        before = {port: len(sessions_on(cluster.node_at(port))) for port in by_master}
        user = await service.new_user()
        after = {port: len(sessions_on(cluster.node_at(port))) for port in by_master}
        (port,) = [port for port in by_master if after[port] > before[port]]
        by_master[port].append(user)
        assert len(by_master) * 8 > sum(map(len, by_master.values())), "hash tags spread users"
    return by_master


def pause(node: ManagedServer) -> None:
    """SIGSTOP `node`: it neither answers nor refuses (a hung host or a partition)."""
    assert node.process is not None
    os.kill(node.process.pid, signal.SIGSTOP)


@pytest.mark.parametrize("failure", [kill, pause])
async def test_a_failed_cluster_master_gives_503_until_its_replica_serves_its_sessions(
    http_client: AsyncHTTPClient,
    base_url: str,
    cluster_settings: Settings,
    own_redis_cluster: RedisClusterServers,
    failure: Callable[[ManagedServer], None],
) -> None:
    service = Service(http_client, base_url)
    by_master = await users_on_every_master(service, own_redis_cluster)
    victim_port = next(iter(by_master))
    victims = {user.name for user in by_master[victim_port]}
    victim = own_redis_cluster.node_at(victim_port)
    users = [user for group in by_master.values() for user in group]

    def first_victim_success(answers: list[Answer], killed_at: float) -> float | None:
        return next(
            (a.at for a in answers if a.sent > killed_at and a.user in victims and a.status == 200),
            None,
        )

    try:
        answers, killed_at = await load_through(
            service, users, lambda: failure(victim), first_victim_success
        )
    finally:
        if victim.process is not None and victim.process.poll() is None:
            os.kill(victim.process.pid, signal.SIGCONT)  # so that it can be stopped
    assert_only_200_or_503_code_10(answers)
    back = first_victim_success(answers, killed_at)
    assert back is not None, "the killed master's users are served again"
    others = [a for a in answers if a.user not in victims]
    others_checked = [a for a in others if a.path == "/isLogined"]
    others_refused = [a for a in others if a.path == "/login" and a.status != 200]
    print(
        f"cluster (node timeout {own_redis_cluster.node_timeout_ms} ms, {failure.__name__}): "
        f"first success for the failed master's keys {back - killed_at:.2f} s after its "
        "failure; other masters' users: "
        f"{len(others_checked)} /isLogined, {len(others_refused)} of "
        f"{len(others) - len(others_checked)} /login refused (their login limits' keys "
        "may lie on the failed master)"
    )
    # The nodes keep serving the slots they have while one master is down
    # (cluster-require-full-coverage no): the other masters' sessions are never lost, and
    # almost always served (one 503 in about ten runs, on a busy machine).
    assert not [a for a in others_checked if a.logined is False]
    unavailable = [round(a.sent - killed_at, 2) for a in others_checked if a.status != 200]
    print(f"other masters' sessions unavailable at {unavailable} s after the failure")
    assert len(unavailable) <= len(others_checked) // 50
    after = [await service.call("GET", "/isLogined", token=user.token) for user in users]
    assert all(a.status == 200 for a in after)
    kept = sum(bool(a.logined) for a in after)
    print(f"sessions valid after the failover: {kept} of {len(users)}")
    assert (await service.call("GET", "/readyz")).status == 200


# --- Sentinel --------------------------------------------------------------------------------


@pytest.fixture
def sentinel_settings(settings: Settings, own_redis_sentinel: RedisSentinelServers) -> Settings:
    return topologies.sentinel_settings(settings, own_redis_sentinel)


@pytest.mark.parametrize("failure", [kill, pause])
async def test_a_failed_sentinel_master_gives_503_until_the_service_follows_the_new_one(
    http_client: AsyncHTTPClient,
    base_url: str,
    sentinel_settings: Settings,
    own_redis_sentinel: RedisSentinelServers,
    failure: Callable[[ManagedServer], None],
) -> None:
    service = Service(http_client, base_url)
    users = [await service.new_user() for _ in range(6)]
    old_master = own_redis_sentinel.master()
    with redis_sync.Redis(LOOPBACK, old_master.port) as client:
        assert client.wait(1, 2000) == 1, "the replica has every session so far"

    def all_success_since(answers: list[Answer], killed_at: float) -> float | None:
        failures = [a.at for a in answers if a.at > killed_at and a.status != 200]
        if not failures:
            return None  # not one failure yet: the failover has not begun to show
        return max(failures)

    try:
        answers, killed_at = await load_through(
            service, users, lambda: failure(old_master), all_success_since
        )
        assert own_redis_sentinel.master() is not old_master
    finally:
        if old_master.process is not None and old_master.process.poll() is None:
            os.kill(old_master.process.pid, signal.SIGCONT)  # back, to be demoted
    assert_only_200_or_503_code_10(answers)
    last_failure = all_success_since(answers, killed_at)
    assert last_failure is not None
    print(
        f"sentinel (down-after {own_redis_sentinel.down_after_ms} ms, {failure.__name__}): every "
        f"request succeeds from {last_failure - killed_at:.2f} s after the master's failure on"
    )
    after = [await service.call("GET", "/isLogined", token=user.token) for user in users]
    assert [(a.status, a.logined) for a in after] == [(200, True)] * len(users), (
        "sessions the replica had survive the failover"
    )
    assert (await service.call("GET", "/readyz")).status == 200


# --- A master demoted by Sentinel --------------------------------------------------------------


async def force_failover(group: RedisSentinelServers) -> ManagedServer:
    """SENTINEL FAILOVER (no agreement asked), then wait until the old master, demoted by the
    sentinels (at their next look at it, up to 10 s later), replicates the new one; returns the
    old master."""
    old = group.master()
    with redis_sync.Redis(LOOPBACK, group.sentinel_nodes[0].port, socket_timeout=2) as sentinel:
        sentinel.execute_command("SENTINEL FAILOVER", group.master_name)
    deadline = time.monotonic() + 30
    with redis_sync.Redis(LOOPBACK, old.port, socket_timeout=2, decode_responses=True) as client:
        while client.info("replication")["role"] != "slave":
            assert time.monotonic() < deadline, "the old master was not demoted"
            await asyncio.sleep(0.05)
    return old


@pytest.fixture
def demoted_settings(settings: Settings, own_redis_sentinel: RedisSentinelServers) -> Settings:
    """The service pointed at the Sentinel group's master as if it were a single server."""
    return with_settings(
        settings, redis_url=f"redis://{LOOPBACK}:{own_redis_sentinel.master().port}/0"
    )


async def test_a_single_server_demoted_to_replica_is_not_ready_and_refuses_with_503(
    http_client: AsyncHTTPClient,
    base_url: str,
    demoted_settings: Settings,
    own_redis_sentinel: RedisSentinelServers,
) -> None:
    service = Service(http_client, base_url)
    user = await service.new_user()
    assert (await service.call("GET", "/readyz")).status == 200
    await force_failover(own_redis_sentinel)
    ready = await service.call("GET", "/readyz")
    assert (ready.status, ready.code) == (503, 10), "a read-only replica is not ready"
    login = await service.login(user.name)
    assert (login.status, login.code) == (503, 10), "ReadOnlyError is a 503, not a 500"


async def test_a_sentinel_client_follows_a_demotion_to_the_new_master(
    http_client: AsyncHTTPClient,
    base_url: str,
    sentinel_settings: Settings,
    own_redis_sentinel: RedisSentinelServers,
) -> None:
    service = Service(http_client, base_url)
    user = await service.new_user()
    assert (await service.call("GET", "/readyz")).status == 200
    answers: list[Answer] = []
    demoted = asyncio.Event()

    async def probe() -> None:
        """/readyz and /login until both succeed after the demotion."""
        while True:
            pair = [await service.call("GET", "/readyz"), await service.login(user.name)]
            answers.extend(pair)
            if demoted.is_set() and [a.status for a in pair] == [200, 200]:
                return
            assert time.monotonic() - started < 60, "not ready on the new master"
            await asyncio.sleep(0.02)

    started = time.monotonic()
    probing = asyncio.ensure_future(probe())
    await force_failover(own_redis_sentinel)
    demoted_at = time.monotonic()
    demoted.set()
    await probing
    assert_only_200_or_503_code_10(answers)
    print(
        f"sentinel: old master demoted {demoted_at - started:.2f} s after SENTINEL FAILOVER; "
        f"ready and logging in {answers[-1].at - demoted_at:.2f} s after the demotion"
    )
