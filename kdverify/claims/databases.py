"""Example databases named on the command line: a directory (every worker of a cluster must reach
its path) or ``redis://HOST:PORT[/DB]``, hypothesis's :class:`RedisExampleDatabase` shared by every
machine that reaches the server. They only speed searches up — a hunt replays what an earlier one
found — while kdverify's certificates stay the durable record, since hypothesis's stored choice
sequences can go stale across versions."""

from __future__ import annotations

from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from kdverify.errors import ClusterUnavailable, InvalidArgument, MissingDependency

__all__ = ["MIN_REDIS", "check_database", "open_database"]

MIN_REDIS = (6, 2)
"""The oldest Redis server hypothesis's database supports."""


def open_database(spec: str) -> ExampleDatabase:
    """The database ``spec`` names: a ``redis://`` URL or a directory path."""
    if not spec.startswith("redis://"):
        return DirectoryBasedExampleDatabase(str(Path(spec)))
    try:
        from hypothesis.extra.redis import RedisExampleDatabase
        from redis import Redis
    except ImportError:
        raise MissingDependency(f"--database {spec} needs the redis package: pip install 'kdverify[dask]'") from None
    return RedisExampleDatabase(Redis.from_url(spec, socket_connect_timeout=5))


def check_database(spec: str) -> None:
    """Fail early, with a clear message, when a ``redis://`` database does not answer or is older
    than :data:`MIN_REDIS` (a directory needs no check: it is created when first written)."""
    if not spec.startswith("redis://"):
        return
    database = open_database(spec)
    from redis.exceptions import RedisError

    try:
        version = str(database.redis.info("server")["redis_version"])  # type: ignore[attr-defined]
    except (RedisError, ValueError) as error:
        raise ClusterUnavailable(f"--database {spec}: no Redis server answers there ({error})") from None
    found = tuple(int(part) for part in version.split(".")[:2])
    if found < MIN_REDIS:
        raise InvalidArgument(
            f"--database {spec}: Redis {version} is too old; hypothesis's database needs "
            f"{'.'.join(map(str, MIN_REDIS))} or later"
        )
