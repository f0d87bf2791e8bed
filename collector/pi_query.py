"""The Performance Insights API's semantics over the sample store (aurora-facts §2.7).

Each operation takes its validated request (collector.pi_requests) and returns the JSON
response; what only the store can refuse raises `PiError` with AWS's error code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from collector.pi_catalog import (
    COUNTERS,
    GROUPS,
    STAT_FIELDS,
    STAT_METRICS,
    STATS_PREFIX,
    CounterMetric,
    Kind,
    dimension_values,
)
from collector.pi_requests import (
    DEFAULT_GROUP_LIMIT,
    MAX_GROUP_LIMIT,
    NOT_AUTHORIZED,
    DescribeDimensionKeys,
    GetDimensionKeyDetails,
    GetResourceMetadata,
    GetResourceMetrics,
    GroupSpec,
    ListAvailableResourceDimensions,
    ListAvailableResourceMetrics,
    MetricQuery,
    PiError,
    ResourceRequest,
    counter_metric,
    filter_columns,
    invalid,
    is_load_metric,
    token_offset,
)
from collector.pi_store import PiStore

Features = Callable[[str], dict[str, str]]
Operation = tuple[type[BaseModel], Callable[[Any], dict[str, Any]]]


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
        self.operations: dict[str, Operation] = {
            "GetResourceMetrics": (GetResourceMetrics, self.get_resource_metrics),
            "DescribeDimensionKeys": (DescribeDimensionKeys, self.describe_dimension_keys),
            "GetDimensionKeyDetails": (GetDimensionKeyDetails, self.get_dimension_key_details),
            "GetResourceMetadata": (GetResourceMetadata, self.get_resource_metadata),
            "ListAvailableResourceDimensions": (
                ListAvailableResourceDimensions,
                self.list_available_resource_dimensions,
            ),
            "ListAvailableResourceMetrics": (
                ListAvailableResourceMetrics,
                self.list_available_resource_metrics,
            ),
        }

    def call(self, operation: str, body: Any) -> dict[str, Any]:
        """The response to `operation` with the decoded JSON `body`; a body that does not fit
        the operation's request model raises pydantic's ValidationError."""
        found = self.operations.get(operation)
        if found is None:
            raise PiError(
                "UnknownOperationException",
                f"Unknown operation {operation}; supported: {', '.join(sorted(self.operations))}",
            )
        model, handler = found
        return handler(model.model_validate(body))

    def _resource(self, request: ResourceRequest) -> str:
        if request.identifier not in self.identifiers:
            raise PiError(
                NOT_AUTHORIZED,
                f"You are not authorized to access resource {request.identifier} "
                "(no monitored instance has this DbiResourceId)",
            )
        return request.identifier

    def _dimensions(
        self, group: GroupSpec, values: tuple[Any, ...], texts: Mapping[str, str]
    ) -> dict[str, str]:
        return dimension_values(group.group, group.names, values, texts)

    def _texts(self, group: GroupSpec, keys: Sequence[tuple[Any, ...]]) -> dict[str, str]:
        if group.group == "db.sql_tokenized":
            return self.store.digest_texts([k[0] for k in keys])
        if group.group == "db.sql":
            texts = self.store.digest_texts([k[1] for k in keys])
            if self.sql_literals:
                texts.update(self.store.statement_texts([k[0] for k in keys]))
            return texts
        return {}

    # --- GetResourceMetrics -------------------------------------------------------

    def get_resource_metrics(self, request: GetResourceMetrics) -> dict[str, Any]:
        identifier = self._resource(request)
        period, start, end = request.period, request.aligned_start, request.aligned_end
        offset = period if request.period_alignment == "END_TIME" else 0
        metric_list: list[dict[str, Any]] = []
        for query in request.metric_queries:
            if is_load_metric(query.metric):
                metric_list += self._load_query(
                    identifier, query, start=start, end=end, period=period, offset=offset
                )
            else:
                counter, statistic = counter_metric(query.metric)
                metric_list.append(
                    self._counter_query(
                        identifier,
                        query.metric,
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
        query: MetricQuery,
        *,
        start: int,
        end: int,
        period: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        metric = query.metric
        filters = filter_columns(query.filter)
        coverage = self.store.coverage(identifier, start, end, period)
        buckets = sorted(b for b, seconds in coverage.items() if seconds > 0)

        def points(load: Mapping[int, float]) -> list[dict[str, float]]:
            return [
                {"Timestamp": float(b + offset), "Value": load.get(b, 0.0) / coverage[b]}
                for b in buckets
            ]

        group = query.group_by
        if group is None:
            rows = self.store.load_rows(identifier, start, end, (), filters, period=period)
            return [{"Key": {"Metric": metric}, "DataPoints": points(dict(rows))}]
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

    def describe_dimension_keys(self, request: DescribeDimensionKeys) -> dict[str, Any]:
        identifier = self._resource(request)
        period, start, end = request.period, request.aligned_start, request.aligned_end
        group, partition = request.group_by, request.partition_by
        filters = filter_columns(request.filter)
        additional = request.additional_metrics or []
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
        first = token_offset(request.next_token)
        page_size = request.max_results or group.limit or MAX_GROUP_LIMIT
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
        group: GroupSpec,
        keys: Sequence[tuple[Any, ...]],
        additional: Sequence[str],
    ) -> dict[tuple[Any, ...], dict[str, float]]:
        if not additional:
            return {}
        digest_of = {
            key: str(key[0] if group.group == "db.sql_tokenized" else key[1]) for key in keys
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

    def get_dimension_key_details(self, request: GetDimensionKeyDetails) -> dict[str, Any]:
        self._resource(request)
        group, key, statement = request.group, request.group_identifier, request.statement
        text = ""
        if group == "db.sql" and self.sql_literals:
            text = self.store.statement_texts([key]).get(key, "")
        if not text:
            text = self.store.digest_texts([key]).get(key, "")
        if not text:
            raise invalid(f"No statement with {group}.id {key} in the retention period")
        return {"Dimensions": [{"Dimension": statement, "Value": text, "Status": "AVAILABLE"}]}

    def get_resource_metadata(self, request: GetResourceMetadata) -> dict[str, Any]:
        identifier = self._resource(request)
        features = self.features(identifier) if self.features else {}
        return {
            "Identifier": identifier,
            "Features": {name: {"Status": status} for name, status in features.items()},
        }

    def list_available_resource_dimensions(
        self, request: ListAvailableResourceDimensions
    ) -> dict[str, Any]:
        self._resource(request)
        groups = [
            {"Group": g, "Dimensions": [{"Identifier": d} for d in dims]}
            for g, dims in GROUPS.items()
        ]
        return {"MetricDimensions": [{"Metric": m, "Groups": groups} for m in request.metrics]}

    def list_available_resource_metrics(
        self, request: ListAvailableResourceMetrics
    ) -> dict[str, Any]:
        self._resource(request)
        metrics: list[dict[str, str]] = []
        for kind in request.metric_types:
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
        first = token_offset(request.next_token)
        size = request.max_results or len(metrics)
        response: dict[str, Any] = {"Metrics": metrics[first : first + size]}
        if first + size < len(metrics):
            response["NextToken"] = f"offset-{first + size}"
        return response
