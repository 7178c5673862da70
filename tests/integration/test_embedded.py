"""The embedded redis-servers: state keeps its data across a restart, whichever binary runs
it; the cache evicts within its bound and keeps nothing."""

from __future__ import annotations

from pathlib import Path

import redis as redis_sync

from factsvc.embedded import EmbeddedBackends, redis_cache_server, redis_server


def test_the_embedded_redis_saves_its_data_and_finds_it_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = redis_server(data_dir, tmp_path)
    server.start()
    try:
        server.wait_until_listening()
        client = redis_sync.Redis(host="127.0.0.1", port=server.port)
        assert client.config_get("save") == {"save": "60 1"}
        client.set("kept", "yes")
        client.close()
    finally:
        server.stop()
    assert (data_dir / "dump.rdb").exists()

    restarted = redis_server(data_dir, tmp_path, port=server.port)
    restarted.start()
    try:
        restarted.wait_until_listening()
        client = redis_sync.Redis(host="127.0.0.1", port=restarted.port)
        assert client.get("kept") == b"yes"
        client.close()
    finally:
        restarted.stop()


def test_the_embedded_cache_redis_evicts_within_its_bound_and_keeps_nothing_on_disk(
    tmp_path: Path,
) -> None:
    server = redis_cache_server(tmp_path / "cache", tmp_path, 5 << 20)
    server.start()
    try:
        server.wait_until_listening()
        client = redis_sync.Redis(host="127.0.0.1", port=server.port)
        config = client.config_get("*")
        client.set("kept", "until evicted")
        client.close()
    finally:
        server.stop()
    assert config["maxmemory"] == str(5 << 20)
    assert config["maxmemory-policy"] == "allkeys-lru"
    assert (config["save"], config["appendonly"]) == ("", "no")
    assert list((tmp_path / "cache").iterdir()) == [], "no RDB or AOF file"


def test_serve_embedded_runs_the_cache_on_a_redis_of_its_own(tmp_path: Path) -> None:
    backends = EmbeddedBackends.start(tmp_path / "data", tmp_path, cache_max_bytes=3 << 20)
    try:
        assert backends.redis_cache_url != backends.redis_url
        cache = redis_sync.Redis.from_url(backends.redis_cache_url)
        state = redis_sync.Redis.from_url(backends.redis_url)
        assert cache.config_get("maxmemory") == {"maxmemory": str(3 << 20)}
        assert state.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        cache.close()
        state.close()
    finally:
        backends.stop()
