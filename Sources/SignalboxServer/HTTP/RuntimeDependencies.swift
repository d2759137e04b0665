import Prometheus
import SignalboxCore
import Synchronization

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
    /// Publish requests being decoded and journaled at once, bounded.
    package var ingestGate: IngestGate

    /// Bundles the dependencies; the metrics registry is the process-wide one by default.
    package init(
        ingest: (any MessageIngest)? = nil, rules: (any RulesControl)? = nil, records: (any RecordStorage)? = nil,
        metrics: PrometheusCollectorRegistry = MetricsBootstrap.registry, maxConcurrentIngests: Int = 64
    ) {
        self.ingestGate = IngestGate(limit: maxConcurrentIngests)
        self.ingest = ingest
        self.rules = rules
        self.records = records
        self.metrics = metrics
        self.ingestMetrics = IngestMetrics(registry: metrics)
    }
}

/// Bounds how many publish requests are read, decoded and journaled at once. The runtime's in-flight
/// bound counts messages once ingest has taken them; when the CPU is what runs short, requests
/// wait before that point instead, so past this many the others are refused at once (429), before
/// their bodies are read, rather than left to queue.
package final class IngestGate: Sendable {
    private let count = Atomic<Int>(0)
    /// The most requests inside at once.
    package let limit: Int

    package init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Enters, unless `limit` requests are inside; a caller that entered must ``leave()``.
    package func enter() -> Bool {
        if count.add(1, ordering: .acquiringAndReleasing).newValue <= limit { return true }
        count.subtract(1, ordering: .relaxed)
        return false
    }

    /// Whether `limit` requests are inside now, so that ``enter()`` would refuse.
    package var isFull: Bool {
        count.load(ordering: .relaxed) >= limit
    }

    package func leave() {
        count.subtract(1, ordering: .relaxed)
    }
}
