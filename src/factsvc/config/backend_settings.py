"""The settings of the backends: MongoDB, and Redis in each of its topologies."""

from __future__ import annotations

from typing import Annotated

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, field_validator

from factsvc.config.addresses import Host, Url, url_or_built
from factsvc.config.declaring import Area, setting, variable_of
from factsvc.config.loading import DeclaredSettings
from factsvc.config.redis_topology import HOST_PORTS, TOPOLOGIES, url_problem
from factsvc.config.rules import DatabaseName, Number, WholeNumber, refused_by_relation
from factsvc.config.setting_types import AnyText, Count, Port, Timeout

A = Area
MongoUri = Annotated[str, Url(("mongodb://", "mongodb+srv://"))]
RedisUrl = Annotated[str, Url(("redis://", "rediss://", "unix://"))]
Topology = Annotated[str, TOPOLOGIES]
HostPorts = Annotated[tuple[str, ...], HOST_PORTS]


class MongoSettings(DeclaredSettings):
    """The area "MongoDB" of Settings; MONGODB_URI built from host and port when empty."""

    mongodb_host: Annotated[str, Host()] = setting("MONGODB_HOST", "localhost", A.MONGODB)
    """MongoDB host, when MONGODB_URI is empty"""
    mongodb_port: Port = setting("MONGODB_PORT", 27017, A.MONGODB)
    """MongoDB port, when MONGODB_URI is empty"""
    mongodb_name: Annotated[str, DatabaseName()] = setting("MONGODB_NAME", "factsvc", A.MONGODB)
    """database name"""
    mongodb_uri: MongoUri = setting("MONGODB_URI", "", A.MONGODB, secret=True)
    """connection string (it may carry credentials); empty: mongodb://MONGODB_HOST:MONGODB_PORT/"""
    mongodb_timeout_ms: Annotated[int, WholeNumber(100, 60_000)] = setting(
        "MONGODB_TIMEOUT_MS", 1500, A.MONGODB
    )
    """server selection, connect and operation timeout"""

    @field_validator("mongodb_uri", mode="wrap")
    @classmethod
    def _mongodb_uri_from_parts(
        cls, uri: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return url_or_built(uri, check, info, "mongodb://{}:{}/", "mongodb_host", "mongodb_port")


class RedisSettings(DeclaredSettings):
    """The area "Redis" of Settings: the state's and the cache's servers and topologies."""

    redis_host: Annotated[str, Host()] = setting("REDIS_HOST", "localhost", A.REDIS)
    """Redis host, when REDIS_URL is empty"""
    redis_port: Port = setting("REDIS_PORT", 6379, A.REDIS)
    """Redis port, when REDIS_URL is empty"""
    redis_db: Annotated[int, WholeNumber(0, 15)] = setting("REDIS_DB", 0, A.REDIS)
    """Redis database number, when REDIS_URL is empty"""
    redis_url: RedisUrl = setting("REDIS_URL", "", A.REDIS, secret=True)
    """connection URL (it may carry credentials); empty: redis://REDIS_HOST:REDIS_PORT/REDIS_DB"""
    redis_cache_url: RedisUrl = setting("REDIS_CACHE_URL", "", A.REDIS, secret=True)
    """the factorial cache's server (it may carry credentials); empty: REDIS_URL's"""
    redis_timeout_seconds: Timeout = setting("REDIS_TIMEOUT_SECONDS", 0.5, A.REDIS)
    """connect and command timeout"""
    redis_max_connections: Count = setting("REDIS_MAX_CONNECTIONS", 256, A.REDIS)
    """connections per process"""
    redis_pool_timeout_seconds: Annotated[float, Number(0.05, 60.0)] = setting(
        "REDIS_POOL_TIMEOUT_SECONDS", 5.0, A.REDIS
    )
    """how long a command waits for a free connection of the pool"""
    redis_topology: Topology = setting("REDIS_TOPOLOGY", "single", A.REDIS)
    """single: REDIS_URL's server; cluster: a Redis Cluster, REDIS_URL a node; or sentinel"""
    redis_cluster_nodes: HostPorts = setting("REDIS_CLUSTER_NODES", (), A.REDIS)
    """cluster: more nodes to discover it from, beside REDIS_URL's (whose credentials all use)"""
    redis_sentinel_master: AnyText = setting("REDIS_SENTINEL_MASTER", "", A.REDIS)
    """sentinel: the master's name in REDIS_SENTINELS; REDIS_URL gives scheme, credentials, db"""
    redis_cache_topology: Topology = setting("REDIS_CACHE_TOPOLOGY", "single", A.REDIS)
    """REDIS_CACHE_URL's topology, as REDIS_TOPOLOGY's; single and REDIS_URL's: the state's"""
    redis_cache_cluster_nodes: HostPorts = setting("REDIS_CACHE_CLUSTER_NODES", (), A.REDIS)
    """cluster: more nodes of the cache's cluster, beside REDIS_CACHE_URL's"""
    redis_cache_sentinel_master: AnyText = setting("REDIS_CACHE_SENTINEL_MASTER", "", A.REDIS)
    """sentinel: the cache master's name in REDIS_SENTINELS"""
    redis_sentinels: HostPorts = setting("REDIS_SENTINELS", (), A.REDIS)
    """the sentinels watching every sentinel master (either topology sentinel: required)"""
    redis_sentinel_password: AnyText = setting("REDIS_SENTINEL_PASSWORD", "", A.REDIS, secret=True)
    """the sentinels' AUTH password; empty: sentinels without AUTH"""

    @field_validator("redis_url", mode="wrap")
    @classmethod
    def _redis_url_from_parts(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return url_or_built(
            url, check, info, "redis://{}:{}/{}", "redis_host", "redis_port", "redis_db"
        )

    @field_validator("redis_cache_url", mode="wrap")
    @classmethod
    def _cache_on_the_state_server_by_default(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return check(url) if url else info.data.get("redis_url", url)

    @field_validator("redis_topology", "redis_cache_topology")
    @classmethod
    def _served_by_its_url(cls, topology: str, info: ValidationInfo) -> str:
        url = info.data.get(
            "redis_cache_url" if info.field_name == "redis_cache_topology" else "redis_url"
        )
        problem = url and url_problem(topology, url)
        if problem:
            raise refused_by_relation(problem)
        return topology

    @field_validator("redis_sentinel_master", "redis_cache_sentinel_master")
    @classmethod
    def _named_for_sentinel(cls, name: str, info: ValidationInfo) -> str:
        topology = "redis_cache_topology" if "cache" in str(info.field_name) else "redis_topology"
        if info.data.get(topology) == "sentinel" and not name.strip():
            raise refused_by_relation(
                f"required when {variable_of(cls.model_fields[topology])} is sentinel"
            )
        return name.strip()

    @field_validator("redis_sentinels")
    @classmethod
    def _given_for_sentinel(
        cls, sentinels: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        topologies = ("redis_topology", "redis_cache_topology")
        if not sentinels and "sentinel" in (info.data.get(name) for name in topologies):
            variables = " or ".join(variable_of(cls.model_fields[name]) for name in topologies)
            raise refused_by_relation(f"required when {variables} is sentinel")
        return sentinels
