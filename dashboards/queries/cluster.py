"""The cluster, replication and I/O panels over Borealis' native series."""

from __future__ import annotations

from dashboards.queries.model import (
    BLUE,
    GREEN,
    ORANGE,
    RED,
    WAIT_TYPE_LEGEND,
    Board,
    Panel,
    Query,
)

NATIVE_SCOPE = (("cluster", "cluster"), ("instance", "db_instance"), ("role", "role"))
NATIVE_SOURCE = "borealis_up"

# --- overview ---------------------------------------------------------------------------

INSTANCE_UP = Panel(
    "Instances up",
    (Query("borealis_up{$scope}", "{db_instance}"),),
    "none",
    ((1, GREEN),),
    base_color=RED,
    description="1 when the instance answered the collector's last poll in time.",
    kind="stat",
    width=8,
)
TOPOLOGY = Panel(
    "Topology: instances by AZ and role",
    (Query("max by (cluster, az, role, db_instance) (borealis_up{$scope})", instant=True),),
    "none",
    ((1, GREEN),),
    base_color=RED,
    description="One row per instance: its AZ, its role and whether it is up (1).",
    kind="table",
    width=8,
)
WRITER = Panel(
    "Writer",
    (Query("borealis_instance_is_writer{$scope}", "{db_instance}"),),
    "none",
    ((1, ORANGE),),
    base_color=BLUE,
    description="1 for the writer, 0 for the readers: a failover shows as a swap.",
    kind="state",
    width=8,
)
QUORUM = Panel(
    "Storage quorum (segments)",
    (
        Query('borealis_sync_quorum_available{role="writer",$scope}', "available {db_instance}"),
        Query('borealis_sync_quorum_required{role="writer",$scope}', "required {db_instance}"),
    ),
    "none",
    ((4, GREEN),),
    base_color=RED,
    description="Storage segments acknowledging the writer's commits, and the quorum a "
    "commit waits for (4 of 6): below it, writes stall.",
    minimum=0,
)
CONNECTIONS = Panel(
    "Database connections (DatabaseConnections)",
    (Query("borealis_database_connections{$scope}", "{db_instance}"),),
    "short",
    ((80, ORANGE), (95, RED)),
    minimum=0,
)
CPU = Panel(
    "CPU utilisation (CPUUtilization)",
    (
        Query(
            "100 * rate(borealis_process_cpu_seconds_total{$scope}[$window]) "
            "/ borealis_process_cpus{$scope}",
            "{db_instance}",
        ),
    ),
    "percent",
    ((80, ORANGE), (95, RED)),
    minimum=0,
    maximum=100,
)
DB_LOAD_BY_WAIT = Panel(
    "DB load by wait event type (AAS)",
    (
        Query(
            "sum by (wait_event_type) (rate(borealis_db_load_seconds_total{$scope}[$window]))",
            WAIT_TYPE_LEGEND,
        ),
    ),
    "short",
    ((4, ORANGE), (8, RED)),
    description="Average active sessions, stacked by what they wait on (CPU when not waiting).",
    stacked=True,
    minimum=0,
)
COMMITS = Panel(
    "Commits per second (CommitThroughput)",
    (Query("rate(borealis_xact_commits_total{$scope}[$window])", "{db_instance}"),),
    "ops",
    ((1000, ORANGE), (5000, RED)),
    minimum=0,
)

OVERVIEW = Board(
    "borealis-overview",
    "Borealis / Cluster overview",
    "Topology, roles, health and load of the cluster's instances.",
    (
        ("Topology and health", (INSTANCE_UP, TOPOLOGY, WRITER, QUORUM)),
        ("Load", (DB_LOAD_BY_WAIT, CPU, CONNECTIONS, COMMITS)),
    ),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
)

# --- replication ------------------------------------------------------------------------

REPLICA_LAG = Panel(
    "Replica lag (AuroraReplicaLag)",
    (Query('1000 * borealis_replica_lag_seconds{role="reader",$scope}', "{db_instance}"),),
    "ms",
    ((100, ORANGE), (1000, RED)),
    description="How far each reader lags the writer in applying WAL.",
    minimum=0,
)
REPLICA_LAG_BYTES = Panel(
    "Replica lag, bytes",
    (Query('borealis_replica_lag_bytes{role="reader",$scope}', "{db_instance}"),),
    "bytes",
    ((16 * 2**20, ORANGE), (256 * 2**20, RED)),
    minimum=0,
)
STAGE_LAG = Panel(
    "Ship vs apply lag per reader",
    (Query('borealis_replica_stage_lag_seconds{role="reader",$scope}', "{db_instance} {stage}"),),
    "s",
    ((0.1, ORANGE), (1, RED)),
    description="Ship: WAL on its way to the reader's disk; apply: on its disk, not replayed.",
    stacked=True,
    minimum=0,
)
STAGE_LAG_BYTES = Panel(
    "Ship vs apply bytes per reader",
    (Query('borealis_replica_stage_lag_bytes{role="reader",$scope}', "{db_instance} {stage}"),),
    "bytes",
    ((16 * 2**20, ORANGE), (256 * 2**20, RED)),
    stacked=True,
    minimum=0,
)
DOWNSTREAM_LAG = Panel(
    "Downstreams seen from the writer (readers and storage segments)",
    (
        Query(
            'borealis_replication_lag_bytes{role="writer",$scope}',
            "{standby} {stage}",
        ),
    ),
    "bytes",
    ((16 * 2**20, ORANGE), (256 * 2**20, RED)),
    description="WAL bytes each downstream of the writer is behind, by stage.",
    minimum=0,
)
WAL_GENERATION = Panel(
    "WAL generated (TransactionLogsGeneration)",
    (Query('rate(borealis_wal_bytes_total{role="writer",$scope}[$window])', "{db_instance}"),),
    "Bps",
    ((64 * 2**20, ORANGE), (256 * 2**20, RED)),
    minimum=0,
)

REPLICATION = Board(
    "borealis-replication",
    "Borealis / Replication",
    "Lag per reader in time and bytes, split into shipping and applying, and the writer's "
    "view of every downstream.",
    (
        ("Lag per reader", (REPLICA_LAG, REPLICA_LAG_BYTES, STAGE_LAG, STAGE_LAG_BYTES)),
        ("Writer", (DOWNSTREAM_LAG, WAL_GENERATION, QUORUM)),
    ),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
)

# --- I/O --------------------------------------------------------------------------------


def _per_instance(expr: str) -> str:
    """One series per instance across role changes: the `role` label summed away (a failover
    starts a new series under the new role; the page marks the writer's spans instead)."""
    return f"sum without (role) ({expr})"


# 1 while an instance is the writer: the I/O page shades those spans.
WRITER_SPANS = "max without (role) (borealis_instance_is_writer)"

READ_IOPS = Panel(
    "Read IOPS (ReadIOPS)",
    (Query(_per_instance("rate(borealis_blocks_read_total{$scope}[$window])"), "{db_instance}"),),
    "iops",
    ((5000, ORANGE), (20000, RED)),
    minimum=0,
)
WRITE_IOPS = Panel(
    "Write IOPS (WriteIOPS: log records)",
    (Query(_per_instance("rate(borealis_wal_records_total{$scope}[$window])"), "{db_instance}"),),
    "iops",
    ((5000, ORANGE), (20000, RED)),
    minimum=0,
)
READ_THROUGHPUT = Panel(
    "Read throughput (ReadThroughput)",
    (
        Query(
            _per_instance(
                "rate(borealis_blocks_read_total{$scope}[$window])"
                " * borealis_block_size_bytes{$scope}"
            ),
            "{db_instance}",
        ),
    ),
    "Bps",
    ((64 * 2**20, ORANGE), (256 * 2**20, RED)),
    minimum=0,
)
WRITE_THROUGHPUT = Panel(
    "Write throughput (WriteThroughput: WAL)",
    (Query(_per_instance("rate(borealis_wal_bytes_total{$scope}[$window])"), "{db_instance}"),),
    "Bps",
    ((64 * 2**20, ORANGE), (256 * 2**20, RED)),
    minimum=0,
)
READ_LATENCY = Panel(
    "Read latency (ReadLatency)",
    (
        Query(
            _per_instance("rate(borealis_block_read_seconds_total{$scope}[$window])")
            + " / clamp_min("
            + _per_instance("rate(borealis_blocks_read_total{$scope}[$window])")
            + ", 1e-9)",
            "{db_instance}",
        ),
    ),
    "s",
    ((0.01, ORANGE), (0.05, RED)),
    description="Average time per block read (track_io_timing).",
    minimum=0,
)
WRITE_LATENCY = Panel(
    "Write latency (WriteLatency: WAL writes)",
    (
        Query(
            _per_instance("rate(borealis_wal_write_seconds_total{$scope}[$window])")
            + " / clamp_min("
            + _per_instance("rate(borealis_wal_writes_total{$scope}[$window])")
            + ", 1e-9)",
            "{db_instance}",
        ),
    ),
    "s",
    ((0.01, ORANGE), (0.05, RED)),
    minimum=0,
)
DISK_QUEUE = Panel(
    "Disk queue depth (DiskQueueDepth)",
    (
        Query(
            "sum without (device, role) "
            "(rate(borealis_disk_io_weighted_seconds_total{$scope}[$window]))",
            "{db_instance}",
        ),
    ),
    "short",
    ((4, ORANGE), (16, RED)),
    minimum=0,
)
VOLUME_IOPS = Panel(
    "Volume I/O per second (VolumeReadIOPs, VolumeWriteIOPs)",
    (
        Query(
            "sum by (cluster) (rate(borealis_blocks_read_total{$scope}[$window]))",
            "read {cluster}",
        ),
        Query(
            'sum by (cluster) (rate(borealis_wal_writes_total{role="writer",$scope}[$window]))',
            "write {cluster}",
        ),
    ),
    "iops",
    ((5000, ORANGE), (20000, RED)),
    description="Reads from storage by every instance and the writer's WAL writes: the "
    "cluster volume's I/O (CloudWatch bills it per 5 minutes).",
    minimum=0,
)
VOLUME_BYTES = Panel(
    "Volume bytes used (VolumeBytesUsed)",
    (
        Query(
            'max by (cluster) (borealis_databases_size_bytes{role="writer",$scope} '
            '+ borealis_wal_directory_bytes{role="writer",$scope})',
            "{cluster}",
        ),
    ),
    "bytes",
    ((64 * 2**30, ORANGE), (128 * 2**30, RED)),
    minimum=0,
)

IO = Board(
    "borealis-io",
    "Borealis / I/O",
    "IOPS, throughput and latency per instance, and the shared volume's I/O.",
    (
        ("Operations", (READ_IOPS, WRITE_IOPS, READ_THROUGHPUT, WRITE_THROUGHPUT)),
        ("Latency", (READ_LATENCY, WRITE_LATENCY, DISK_QUEUE)),
        ("Volume", (VOLUME_IOPS, VOLUME_BYTES)),
    ),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
)
