"""The one way fraudstack opens a Cassandra connection (explicit policies, protocol v5)."""

from __future__ import annotations

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

LOCAL_DATACENTER = "datacenter1"  # SimpleSnitch's datacenter, the single-node default


def cluster(host: str, port: int, timeout: float = 10.0) -> Cluster:
    """A driver ``Cluster`` for ``host:port``; call ``.connect()`` and ``.shutdown()``."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=LOCAL_DATACENTER)),
        request_timeout=timeout,
    )
    return Cluster(
        [host],
        port=port,
        protocol_version=5,
        connect_timeout=timeout,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
