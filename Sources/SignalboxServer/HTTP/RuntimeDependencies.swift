import Prometheus
import SignalboxCore
import SignalboxLambdaHost
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
    /// Deployed functions (the Lambda API).
    package var functions: FunctionHost?
    /// The registry `GET /metrics` shows.
    package var metrics: PrometheusCollectorRegistry
    /// The ingest counters, kept in ``metrics``.
    package var ingestMetrics: IngestMetrics
    /// Publish requests being decoded and journaled at once, bounded.
    package var ingestGate: IngestGate

    /// Bundles the dependencies; the metrics registry is the process-wide one by default.
    package init(
        ingest: (any MessageIngest)? = nil, rules: (any RulesControl)? = nil, records: (any RecordStorage)? = nil,
        metrics: PrometheusCollectorRegistry = MetricsBootstrap.registry, maxConcurrentIngests: Int = 64,
        maxConcurrentIngestsPerPrincipal: Int? = nil
    ) {
        self.ingestGate = IngestGate(limit: maxConcurrentIngests, perPrincipalLimit: maxConcurrentIngestsPerPrincipal)
        self.ingest = ingest
        self.rules = rules
        self.records = records
        self.metrics = metrics
        self.ingestMetrics = IngestMetrics(registry: metrics)
    }
}

extension RuntimeDependencies {
    /// The 429 of an overloaded runtime, counted.
    func overloaded(retryAfter: Int) -> APIError {
        ingestMetrics.rejected(.overloaded)
        return APIError.throttled(
            "Too many messages are waiting to be handled; retry after \(retryAfter) seconds", retryAfter: retryAfter)
    }
}

/// Bounds how many publish requests are read, decoded and journaled at once, in all and per principal.
/// The runtime's in-flight bound counts messages once ingest has taken them; when the CPU is what runs
/// short, requests wait before that point instead, so past this many the others are refused at once
/// (429), before their bodies are read, rather than left to queue.
///
/// A request enters only once its credentials are checked, and one share holds at most
/// ``perPrincipalLimit`` places: each principal (one gateway, or the admins) is a share, and so are,
/// all together, the requests whose signature still waits for their body (SigV4 without
/// `x-amz-content-sha256`, which name a token without proving they hold it). Clients that send their
/// bodies slowly can take at most their own share; it takes several principals acting together to
/// fill the gate.
package final class IngestGate: Sendable {
    /// Whose places a request takes.
    package enum Share: Sendable, Hashable {
        /// A principal whose credentials are proven.
        case principal(Principal)
        /// Every request whose signature is checked only once its body is read.
        case unverified
    }

    private let state = Mutex<(total: Int, held: [Share: Int])>((0, [:]))
    /// The most requests inside at once.
    package let limit: Int
    /// The most requests of one principal inside at once.
    package let perPrincipalLimit: Int

    /// A gate of `limit` places, at most `perPrincipalLimit` of them (by default a quarter) for one principal.
    package init(limit: Int, perPrincipalLimit: Int? = nil) {
        self.limit = max(1, limit)
        self.perPrincipalLimit = min(self.limit, max(1, perPrincipalLimit ?? self.limit / 4))
    }

    /// Enters for `share`, unless `limit` requests are inside or `perPrincipalLimit` of `share`'s; a
    /// caller that entered must ``leave(_:)``.
    package func enter(_ share: Share) -> Bool {
        state.withLock { state in
            let own = state.held[share, default: 0]
            guard state.total < limit, own < perPrincipalLimit else { return false }
            state.total += 1
            state.held[share] = own + 1
            return true
        }
    }

    /// Whether `limit` requests are inside now, so that ``enter(_:)`` would refuse anyone.
    package var isFull: Bool {
        state.withLock { $0.total >= limit }
    }

    /// Leaves a place `share` entered.
    package func leave(_ share: Share) {
        state.withLock { state in
            state.total -= 1
            let own = state.held[share, default: 1] - 1
            state.held[share] = own > 0 ? own : nil
        }
    }
}
