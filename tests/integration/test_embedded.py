"""The embedded redis-server keeps its data across a restart, whichever binary runs it."""

from __future__ import annotations

from pathlib import Path

import redis as redis_sync

from factsvc.embedded import redis_server


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
