import Prometheus

/// The HTTP ingest counters:
///
/// - `signalbox_ingest_messages_total{transport}`: messages journaled, by transport (`http` for
///   `POST /topics/{topic}`, `http_batch` for `POST /gateways/{gateway}/messages`);
/// - `signalbox_ingest_rejected_total{reason}`: publish requests refused (a refused batch counts once),
///   by ``Reason``.
package struct IngestMetrics: Sendable {
    /// Why a publish request was refused; the value of the `reason` label.
    package enum Reason: String, Sendable, CaseIterable {
        /// The topic is not a valid topic name.
        case invalidTopic = "invalid_topic"
        /// The topic begins with `$` (reserved).
        case reservedTopic = "reserved_topic"
        /// A gateway published outside its topics.
        case forbiddenTopic = "forbidden_topic"
        /// The device the topic names is not bound to the publishing gateway.
        case unboundDevice = "unbound_device"
        /// A query parameter (`qos`, `retain`) is invalid.
        case invalidParameter = "invalid_parameter"
        /// A payload, or a batch, is larger than its limit.
        case tooLarge = "too_large"
        /// A batch is malformed (not JSON, a bad member, bad base64, too many messages).
        case invalidBatch = "invalid_batch"
        /// The runtime's queues are full (429).
        case overloaded
        /// The runtime is not running (503).
        case unavailable
        /// The journal failed (503).
        case journalFailed = "journal_failed"
    }

    private let registry: PrometheusCollectorRegistry
    private let published: Counter
    private let batched: Counter
    private let mqtt: Counter

    static var messages: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "signalbox", subsystem: "ingest", metricName: "messages", unitName: "total",
            helpText: "Messages journaled by ingest, by transport.")
    }
    static var rejected: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "signalbox", subsystem: "ingest", metricName: "rejected", unitName: "total",
            helpText: "Publish requests refused by ingest (a refused batch counts once), by reason.")
    }

    /// Registers the counters in `registry`.
    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        published = registry.makeCounter(descriptor: Self.messages, labels: [("transport", "http")])
        batched = registry.makeCounter(descriptor: Self.messages, labels: [("transport", "http_batch")])
        mqtt = registry.makeCounter(descriptor: Self.messages, labels: [("transport", "mqtt")])
    }

    /// Counts messages journaled from the MQTT broker.
    package func acceptedOverMQTT(_ count: Int) {
        mqtt.increment(by: Int64(count))
    }

    /// Counts `count` messages journaled through `POST /topics/{topic}` or, with `batch`, the batch
    /// endpoint.
    package func accepted(_ count: Int, batch: Bool) {
        (batch ? batched : published).increment(by: Int64(count))
    }

    /// Counts a refused request.
    package func rejected(_ reason: Reason) {
        registry.makeCounter(descriptor: Self.rejected, labels: [("reason", reason.rawValue)]).increment()
    }
}
