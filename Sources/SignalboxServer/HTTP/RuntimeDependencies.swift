import Prometheus
import SignalboxCore

/// What the HTTP API needs of the rules runtime and the record store, each optional: a missing one
/// answers its endpoints with 503 and says what is missing.
package struct RuntimeDependencies: Sendable {
    /// Where published messages go.
    package var ingest: (any MessageIngest)?
    /// The running rules.
    package var rules: (any RulesControl)?
    /// The tables `persist` writes.
    package var records: (any RecordStorage)?
    /// The registry `GET /metrics` shows.
    package var metrics: PrometheusCollectorRegistry
    /// The ingest counters, kept in ``metrics``.
    package var ingestMetrics: IngestMetrics

    /// Bundles the dependencies; the metrics registry is the process-wide one by default.
    package init(
        ingest: (any MessageIngest)? = nil, rules: (any RulesControl)? = nil, records: (any RecordStorage)? = nil,
        metrics: PrometheusCollectorRegistry = MetricsBootstrap.registry
    ) {
        self.ingest = ingest
        self.rules = rules
        self.records = records
        self.metrics = metrics
        self.ingestMetrics = IngestMetrics(registry: metrics)
    }
}
