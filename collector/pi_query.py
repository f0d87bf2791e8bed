"""The Performance Insights API's semantics over the sample store (aurora-facts §2.7).

Each operation takes the decoded JSON request and returns the JSON response; a bad request
raises `PiError` with AWS's error code and a message that says what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collector.pi_catalog import (
    COUNTERS,
    FILTER_COLUMNS,
    GROUP_COLUMNS,
    GROUPS,
    LOAD_METRICS,
    STAT_FIELDS,
    STAT_METRICS,
    STATISTICS,
    STATS_PREFIX,
    WAIT_EVENT_NAME,
    CounterMetric,
    Kind,
    split_wait_event_name,
    wait_event_name,
)
from collector.pi_store import PiStore

PERIODS = (1, 60, 300, 3600, 86400)
MAX_POINTS = 100_000
MAX_ELEMENT_BYTES = 500  # PI truncates long SQL in responses
DEFAULT_GROUP_LIMIT = 10
MAX_GROUP_LIMIT = 25
IDENTIFIER = re.compile(r"^[a-zA-Z0-9-]+$")
TOKEN = re.compile(r"^offset-(\d+)$")

INVALID = "InvalidArgumentException"
NOT_AUTHORIZED = "NotAuthorizedException"


class PiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid(message: str) -> PiError:
    return PiError(INVALID, message)


@dataclass(frozen=True)
class Group:
    name: str
    dimensions: tuple[str, ...]
    limit: int | None

    @property
    def columns(self) -> tuple[str, ...]:
        return GROUP_COLUMNS[self.name]


Features = Callable[[str], dict[str, str]]


class PiQueries:
    def __init__(
        self,
        store: PiStore,
        identifiers: Sequence[str],
        *,
        sql_literals: bool,
        stats_interval_s: float,
        features: Features | None = None,
    ) -> None:
        self.store = store
        self.identifiers = set(identifiers)
        self.sql_literals = sql_literals
        self.stats_interval_s = stats_interval_s
        self.features = features
        self.operations: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "GetResourceMetrics": self.get_resource_metrics,
            "DescribeDimensionKeys": self.describe_dimension_keys,
            "GetDimensionKeyDetails": self.get_dimension_key_details,
            "GetResourceMetadata": self.get_resource_metadata,
            "ListAvailableResourceDimensions": self.list_available_resource_dimensions,
            "ListAvailableResourceMetrics": self.list_available_resource_metrics,
        }

    def call(self, operation: str, body: Any) -> dict[str, Any]:
        handler = self.operations.get(operation)
        if handler is None:
            raise PiError(
                "UnknownOperationException",
                f"Unknown operation {operation}; supported: {', '.join(sorted(self.operations))}",
            )
        if not isinstance(body, dict):
            raise PiError("SerializationException", "The request body must be a JSON object")
        return handler(body)

    # --- common arguments ---------------------------------------------------------

    def _resource(self, body: Mapping[str, Any]) -> str:
        _required(body, "ServiceType", "Identifier")
        service = body["ServiceType"]
        if service != "RDS":
            raise invalid(f"ServiceType {service!r} is not supported: use RDS")
        identifier = body["Identifier"]
        if not isinstance(identifier, str) or not IDENTIFIER.match(identifier):
            raise invalid("Identifier must match ^[a-zA-Z0-9-]+$ (the DbiResourceId)")
        if identifier not in self.identifiers:
            raise PiError(
                NOT_AUTHORIZED,
                f"You are not authorized to access resource {identifier} "
                "(no monitored instance has this DbiResourceId)",
            )
        return identifier

    def _range(self, body: Mapping[str, Any]) -> tuple[float, float, int, int, int]:
        """(start, end, period, aligned start, aligned end)."""
        _required(body, "StartTime", "EndTime")
        start = _timestamp(body["StartTime"], "StartTime")
        end = _timestamp(body["EndTime"], "EndTime")
        if start >= end:
            raise invalid("StartTime must be earlier than EndTime")
        period = body.get("PeriodInSeconds")
        if period is None:
            period = choose_period(end - start)
        elif period not in PERIODS:
            raise invalid(
                f"PeriodInSeconds {period!r} is not valid: use one of "
                f"{', '.join(str(p) for p in PERIODS)}"
            )
        aligned_start = int(math.floor(start / period) * period)
        aligned_end = int(math.ceil(end / period) * period)
        if (aligned_end - aligned_start) / period > MAX_POINTS:
            raise invalid(
                f"The range holds more than {MAX_POINTS} periods of {period} s: "
                "use a longer PeriodInSeconds or a shorter range"
            )
        return start, end, int(period), aligned_start, aligned_end

    def _group(self, spec: Any, name: str) -> Group:
        if not isinstance(spec, dict) or "Group" not in spec:
            raise invalid(f"{name} needs a Group (one of {', '.join(GROUPS)})")
        group = spec["Group"]
        if group not in GROUPS:
            raise invalid(f"{name}.Group {group!r} is not valid: use one of {', '.join(GROUPS)}")
        dimensions = spec.get("Dimensions") or list(GROUPS[group])
        for dimension in dimensions:
            if dimension not in GROUPS[group]:
                raise invalid(
                    f"Dimension {dimension!r} is not in group {group}: use "
                    f"{', '.join(GROUPS[group])}"
                )
        limit = spec.get("Limit")
        if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 25):
            raise invalid(f"{name}.Limit must be between 1 and 25")
        return Group(group, tuple(dimensions), limit)

    def _filters(self, spec: Any) -> list[tuple[str, str]]:
        if spec is None:
            return []
        if not isinstance(spec, dict):
            raise invalid("Filter must be a map of dimension name to value")
        out: list[tuple[str, str]] = []
        for dimension, value in spec.items():
            if not isinstance(value, str):
                raise invalid(f"Filter value for {dimension} must be a string")
            if dimension == WAIT_EVENT_NAME:
                wait_type, event = split_wait_event_name(value)
                out += [("wait_type", wait_type), ("wait_event", event)]
            elif dimension in FILTER_COLUMNS:
                out.append((FILTER_COLUMNS[dimension], value))
            else:
                known = ", ".join(sorted([*FILTER_COLUMNS, WAIT_EVENT_NAME]))
                raise invalid(f"Cannot filter on {dimension!r}; filterable dimensions: {known}")
        return out

    def _dimensions(
        self, group: Group, values: tuple[Any, ...], texts: Mapping[str, str]
    ) -> dict[str, str]:
        v = [str(x) for x in values]
        full: dict[str, str]
        if group.name == "db.wait_event":
            full = {"db.wait_event.name": wait_event_name(v[0], v[1]), "db.wait_event.type": v[0]}
        elif group.name == "db.wait_event_type":
            full = {"db.wait_event_type.name": v[0]}
        elif group.name == "db.sql_tokenized":
            full = {
                "db.sql_tokenized.id": v[0],
                "db.sql_tokenized.db_id": v[0],
                "db.sql_tokenized.statement": _truncate(texts.get(v[0], "")),
            }
        elif group.name == "db.sql":
            full = {
                "db.sql.id": v[0],
                "db.sql.db_id": v[1],
                "db.sql.statement": _truncate(texts.get(v[0]) or texts.get(v[1], "")),
                "db.sql.tokenized_id": v[1],
            }
        elif group.name in ("db.user", "db"):
            prefix = "db.user" if group.name == "db.user" else "db"
            full = {f"{prefix}.id": v[0], f"{prefix}.name": v[-1]}
        elif group.name == "db.host":
            full = {"db.host.id": v[0], "db.host.name": v[0]}
        else:  # db.application, db.session_type: one name
            full = {GROUPS[group.name][0]: v[0]}
        return {k: full[k] for k in group.dimensions if k in full}

    def _texts(self, group: Group, keys: Sequence[tuple[Any, ...]]) -> dict[str, str]:
        if group.name == "db.sql_tokenized":
            return self.store.digest_texts([k[0] for k in keys])
        if group.name == "db.sql":
            texts = self.store.digest_texts([k[1] for k in keys])
            if self.sql_literals:
                texts.update(self.store.statement_texts([k[0] for k in keys]))
            return texts
        return {}

    # --- GetResourceMetrics -------------------------------------------------------

    def get_resource_metrics(self, body: Mapping[str, Any]) -> dict[str, Any]:
        identifier = self._resource(body)
        _required(body, "MetricQueries")
        _, _, period, start, end = self._range(body)
        queries = body["MetricQueries"]
        if not isinstance(queries, list) or not 1 <= len(queries) <= 15:
            raise invalid("MetricQueries must hold 1 to 15 queries")
        alignment = body.get("PeriodAlignment", "END_TIME")
        if alignment not in ("END_TIME", "START_TIME"):
            raise invalid("PeriodAlignment must be END_TIME or START_TIME")
        offset = period if alignment == "END_TIME" else 0
        metric_list: list[dict[str, Any]] = []
        for query in queries:
            if not isinstance(query, dict) or not isinstance(query.get("Metric"), str):
                raise invalid("Each MetricQuery needs a Metric")
            metric = query["Metric"]
            if _load_metric(metric):
                metric_list += self._load_query(
                    identifier, query, start=start, end=end, period=period, offset=offset
                )
            else:
                counter, statistic = _counter_metric(metric)
                if query.get("GroupBy") is not None or query.get("Filter"):
                    raise invalid(
                        f"{metric}: GroupBy and Filter apply to db.load and db.sampledload only"
                    )
                metric_list.append(
                    self._counter_query(
                        identifier,
                        metric,
                        counter,
                        statistic,
                        start=start,
                        end=end,
                        period=period,
                        offset=offset,
                    )
                )
        return {
            "AlignedStartTime": start,
            "AlignedEndTime": end,
            "Identifier": identifier,
            "MetricList": metric_list,
        }

    def _load_query(
        self,
        identifier: str,
        query: Mapping[str, Any],
        *,
        start: int,
        end: int,
        period: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        metric = query["Metric"]
        filters = self._filters(query.get("Filter"))
        coverage = self.store.coverage(identifier, start, end, period)
        buckets = sorted(b for b, seconds in coverage.items() if seconds > 0)

        def points(load: Mapping[int, float]) -> list[dict[str, float]]:
            return [
                {"Timestamp": float(b + offset), "Value": load.get(b, 0.0) / coverage[b]}
                for b in buckets
            ]

        spec = query.get("GroupBy")
        if spec is None:
            rows = self.store.load_rows(identifier, start, end, (), filters, period=period)
            return [{"Key": {"Metric": metric}, "DataPoints": points(dict(rows))}]
        group = self._group(spec, "GroupBy")
        rows = self.store.load_rows(identifier, start, end, group.columns, filters, period=period)
        total: dict[int, float] = {}
        per_key: dict[tuple[Any, ...], dict[int, float]] = {}
        key_total: dict[tuple[Any, ...], float] = {}
        for row in rows:
            bucket, key, seconds = int(row[0]), tuple(row[1:-1]), float(row[-1])
            total[bucket] = total.get(bucket, 0.0) + seconds
            per_key.setdefault(key, {})[bucket] = seconds
            key_total[key] = key_total.get(key, 0.0) + seconds
        top = sorted(key_total, key=lambda k: (-key_total[k], k))[
            : group.limit or DEFAULT_GROUP_LIMIT
        ]
        texts = self._texts(group, top)
        out = [{"Key": {"Metric": metric}, "DataPoints": points(total)}]
        for key in top:
            out.append(
                {
                    "Key": {"Metric": metric, "Dimensions": self._dimensions(group, key, texts)},
                    "DataPoints": points(per_key[key]),
                }
            )
        return out

    def _counter_query(
        self,
        identifier: str,
        metric: str,
        counter: CounterMetric,
        statistic: str,
        *,
        start: int,
        end: int,
        period: int,
        offset: int,
    ) -> dict[str, Any]:
        lookback = 2 * self.stats_interval_s + 60
        snapshots = self.store.counters(identifier, start - lookback, end)
        values: list[tuple[float, float]] = []
        previous: tuple[float, float] | None = None
        for ts, data in snapshots:
            value = data.get(counter.source)
            if value is None:
                previous = None
                continue
            if counter.kind is Kind.GAUGE:
                values.append((ts, value))
            elif previous is not None and ts > previous[0] and value >= previous[1]:
                rate = (value - previous[1]) / (ts - previous[0])
                values.append((ts, rate * (60 if counter.kind is Kind.PER_MINUTE else 1)))
            previous = (ts, value)
        buckets: dict[int, list[float]] = {}
        for ts, value in values:
            if start <= ts < end:
                buckets.setdefault(int(ts // period) * period, []).append(value)
        reduce: dict[str, Callable[[list[float]], float]] = {
            "avg": lambda xs: sum(xs) / len(xs),
            "min": min,
            "max": max,
            "sum": sum,
        }
        return {
            "Key": {"Metric": metric},
            "DataPoints": [
                {"Timestamp": float(b + offset), "Value": reduce[statistic](xs)}
                for b, xs in sorted(buckets.items())
            ],
        }

    # --- DescribeDimensionKeys ----------------------------------------------------

    def describe_dimension_keys(self, body: Mapping[str, Any]) -> dict[str, Any]:
        identifier = self._resource(body)
        _required(body, "Metric", "GroupBy")
        _, _, period, start, end = self._range(body)
        if not _load_metric(body["Metric"]):
            raise invalid("Metric must be db.load.avg or db.sampledload.avg")
        group = self._group(body["GroupBy"], "GroupBy")
        partition = (
            self._group(body["PartitionBy"], "PartitionBy")
            if body.get("PartitionBy") is not None
            else None
        )
        filters = self._filters(body.get("Filter"))
        additional = _additional_metrics(body.get("AdditionalMetrics"), group)
        covered = sum(self.store.coverage(identifier, start, end, period).values())
        width = len(group.columns)
        columns = group.columns + (partition.columns if partition else ())
        rows = self.store.load_rows(identifier, start, end, columns, filters)
        key_total: dict[tuple[Any, ...], float] = {}
        split: dict[tuple[Any, ...], dict[tuple[Any, ...], float]] = {}
        partition_total: dict[tuple[Any, ...], float] = {}
        for row in rows:
            key, part, seconds = tuple(row[:width]), tuple(row[width:-1]), float(row[-1])
            key_total[key] = key_total.get(key, 0.0) + seconds
            if partition:
                split.setdefault(key, {})[part] = seconds
                partition_total[part] = partition_total.get(part, 0.0) + seconds
        ranked = sorted(key_total, key=lambda k: (-key_total[k], k))[
            : group.limit or MAX_GROUP_LIMIT
        ]
        first = _offset(body.get("NextToken"))
        page_size = body.get("MaxResults") or group.limit or MAX_GROUP_LIMIT
        page = ranked[first : first + page_size]

        def aas(seconds: float) -> float:
            return seconds / covered if covered > 0 else 0.0

        texts = self._texts(group, page)
        stats = self._stats_for(
            identifier, start, end, group=group, keys=page, additional=additional
        )
        keys = []
        partition_keys: list[tuple[Any, ...]] = []
        if partition:
            present = {p for k in page for p in split.get(k, {})}
            partition_keys = sorted(present, key=lambda p: (-partition_total[p], p))[
                : partition.limit or DEFAULT_GROUP_LIMIT
            ]
        for key in page:
            entry: dict[str, Any] = {
                "Dimensions": self._dimensions(group, key, texts),
                "Total": aas(key_total[key]),
            }
            if additional:
                entry["AdditionalMetrics"] = stats.get(key, {})
            if partition:
                entry["Partitions"] = [aas(split.get(key, {}).get(p, 0.0)) for p in partition_keys]
            keys.append(entry)
        response: dict[str, Any] = {
            "AlignedStartTime": start,
            "AlignedEndTime": end,
            "Keys": keys,
        }
        if partition:
            partition_texts = self._texts(partition, partition_keys)
            response["PartitionKeys"] = [
                {"Dimensions": self._dimensions(partition, p, partition_texts)}
                for p in partition_keys
            ]
        if first + page_size < len(ranked):
            response["NextToken"] = f"offset-{first + page_size}"
        return response

    def _stats_for(
        self,
        identifier: str,
        start: int,
        end: int,
        *,
        group: Group,
        keys: Sequence[tuple[Any, ...]],
        additional: Sequence[str],
    ) -> dict[tuple[Any, ...], dict[str, float]]:
        if not additional:
            return {}
        digest_of = {
            key: str(key[0] if group.name == "db.sql_tokenized" else key[1]) for key in keys
        }
        covered, sums = self.store.sql_stats(identifier, start, end, list(digest_of.values()))
        calls_at = STAT_FIELDS.index("calls")
        out: dict[tuple[Any, ...], dict[str, float]] = {}
        for key, digest_id in digest_of.items():
            found = sums.get(digest_id)
            values: dict[str, float] = {}
            for name in additional:
                stat = STAT_METRICS[name.removeprefix(STATS_PREFIX).removesuffix(".avg")]
                if found is None:
                    continue
                numerator = found[STAT_FIELDS.index(stat.numerator)]
                if stat.per_call:
                    if found[calls_at] > 0:
                        values[name] = numerator / found[calls_at]
                elif covered > 0:
                    values[name] = numerator / covered
            out[key] = values
        return out

    # --- the rest -----------------------------------------------------------------

    def get_dimension_key_details(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._resource(body)
        _required(body, "Group", "GroupIdentifier")
        group, key = body["Group"], body["GroupIdentifier"]
        if group not in ("db.sql", "db.sql_tokenized"):
            raise invalid(f"Group {group!r} has no details: use db.sql or db.sql_tokenized")
        statement = f"{group}.statement"
        for requested in body.get("RequestedDimensions") or [statement]:
            if requested not in (statement, "statement"):
                raise invalid(f"RequestedDimensions: {group} has only {statement}")
        text = ""
        if group == "db.sql" and self.sql_literals:
            text = self.store.statement_texts([key]).get(key, "")
        if not text:
            text = self.store.digest_texts([key]).get(key, "")
        if not text:
            raise invalid(f"No statement with {group}.id {key} in the retention period")
        return {"Dimensions": [{"Dimension": statement, "Value": text, "Status": "AVAILABLE"}]}

    def get_resource_metadata(self, body: Mapping[str, Any]) -> dict[str, Any]:
        identifier = self._resource(body)
        features = self.features(identifier) if self.features else {}
        return {
            "Identifier": identifier,
            "Features": {name: {"Status": status} for name, status in features.items()},
        }

    def list_available_resource_dimensions(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._resource(body)
        _required(body, "Metrics")
        metrics = body["Metrics"]
        if not isinstance(metrics, list) or not metrics:
            raise invalid("Metrics must list db.load and/or db.sampledload")
        out = []
        for metric in metrics:
            base = metric.removesuffix(".avg") if isinstance(metric, str) else metric
            if base not in LOAD_METRICS:
                raise invalid(f"Metric {metric!r} has no dimensions: use db.load or db.sampledload")
            groups = [
                {"Group": g, "Dimensions": [{"Identifier": d} for d in dims]}
                for g, dims in GROUPS.items()
            ]
            out.append({"Metric": base, "Groups": groups})
        return {"MetricDimensions": out}

    def list_available_resource_metrics(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._resource(body)
        _required(body, "MetricTypes")
        types = body["MetricTypes"]
        if not isinstance(types, list) or not types:
            raise invalid(
                "MetricTypes must list os, db, db.sql.stats and/or db.sql_tokenized.stats"
            )
        metrics: list[dict[str, str]] = []
        for kind in types:
            if kind in ("os", "db"):
                metrics += [
                    {"Metric": c.name, "Description": c.description, "Unit": c.unit}
                    for c in COUNTERS.values()
                    if c.name.startswith(kind + ".")
                ]
            elif kind == "db.sql_tokenized.stats":
                metrics += [
                    {"Metric": STATS_PREFIX + s.name, "Description": s.description, "Unit": s.unit}
                    for s in STAT_METRICS.values()
                ]
            elif kind != "db.sql.stats":
                raise invalid(
                    f"MetricTypes {kind!r} is not valid: use os, db, db.sql.stats or "
                    "db.sql_tokenized.stats"
                )
        first = _offset(body.get("NextToken"))
        size = body.get("MaxResults") or len(metrics)
        response: dict[str, Any] = {"Metrics": metrics[first : first + size]}
        if first + size < len(metrics):
            response["NextToken"] = f"offset-{first + size}"
        return response


# --- helpers --------------------------------------------------------------------------


def choose_period(seconds: float) -> int:
    """PI aims at roughly 100-200 points: the period whose count is closest to 150."""
    return min(PERIODS, key=lambda p: abs(math.log(max(seconds / p, 1e-9) / 150)))


def _required(body: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise invalid(f"Missing required parameter {name}")


def _timestamp(value: Any, name: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise invalid(f"{name} must be a timestamp (epoch seconds or ISO 8601)")


def _load_metric(metric: Any) -> bool:
    return metric in (f"{m}.avg" for m in LOAD_METRICS)


def _counter_metric(metric: str) -> tuple[CounterMetric, str]:
    base, _, statistic = metric.rpartition(".")
    if base in LOAD_METRICS:
        raise invalid(f"{metric}: DB load has only the avg statistic ({base}.avg)")
    counter = COUNTERS.get(base)
    if counter is None or statistic not in STATISTICS:
        raise invalid(
            f"Unknown metric {metric!r}: use db.load.avg, db.sampledload.avg or a counter from "
            "ListAvailableResourceMetrics with .avg, .min, .max or .sum"
        )
    return counter, statistic


def _additional_metrics(spec: Any, group: Group) -> list[str]:
    if not spec:
        return []
    if group.name not in ("db.sql_tokenized", "db.sql"):
        raise invalid("AdditionalMetrics need GroupBy db.sql_tokenized (or db.sql)")
    out = []
    for name in spec:
        stat = name.removeprefix(STATS_PREFIX).removesuffix(".avg") if isinstance(name, str) else ""
        if not (
            isinstance(name, str)
            and name.startswith(STATS_PREFIX)
            and name.endswith(".avg")
            and stat in STAT_METRICS
        ):
            raise invalid(
                f"AdditionalMetrics: {name!r} is not valid: use {STATS_PREFIX}<stat>.avg with "
                f"<stat> one of {', '.join(sorted(STAT_METRICS))}"
            )
        out.append(name)
    return out


def _offset(token: Any) -> int:
    if token is None:
        return 0
    found = TOKEN.match(token) if isinstance(token, str) else None
    if found is None:
        raise invalid("NextToken is not one this service returned")
    return int(found.group(1))


def _truncate(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_ELEMENT_BYTES:
        return text
    return data[:MAX_ELEMENT_BYTES].decode(errors="ignore")
