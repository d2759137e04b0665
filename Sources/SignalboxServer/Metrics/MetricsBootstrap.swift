import Metrics
import Prometheus
import SignalboxCore
import SignalboxRuntime

/// The process-wide Prometheus registry behind swift-metrics.
///
/// `MetricsSystem.bootstrap` may run only once per process (a second call traps), and tests start
/// many servers in one process, so the bootstrap happens here, once, the first time ``registry`` is
/// read; everything after that shares the registry. Nothing else in Signalbox may call
/// `MetricsSystem.bootstrap`.
///
/// For example:
/// ```swift
/// let registry = MetricsBootstrap.registry        // bootstraps swift-metrics on first use
/// Counter(label: "signalbox_rule_matched_total").increment()
/// registry.emitToString()                         // the Prometheus text, with that counter
/// ```
package enum MetricsBootstrap {
    /// The registry that every swift-metrics metric of the process lands in; reading it bootstraps
    /// swift-metrics with a Prometheus factory the first time.
    package static var registry: PrometheusCollectorRegistry { bootstrapped }

    /// Initialised once, lazily and thread-safely (Swift's global initialisation), which is what
    /// makes the single `bootstrap` call safe.
    private static let bootstrapped: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ActionMetrics.startLatencyLabel] = ActionMetrics.startLatencyBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
