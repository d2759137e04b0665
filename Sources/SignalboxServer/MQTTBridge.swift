import Logging
import Metrics
import ServiceLifecycle
import SignalboxCore
import SignalboxMQTT
import SignalboxSQL
import Synchronization

/// Connects the rules runtime to an MQTT broker: subscribes (QoS 1, persistent session) to the
/// topic filters of the active rules, follows them across reloads, and journals what arrives —
/// acknowledging each QoS 1 message to the broker only once it is journaled.
///
/// Filters beginning with `$` (`$aws/…` shadow events, `$signalbox/…` device events) are produced
/// inside Signalbox and are not subscribed to at the broker.
package final class MQTTBridge: Service, Sendable {
    private let client: MQTTClient
    private let rules: any RulesControl
    private let logger: Logger
    private let pollInterval: Duration
    private let mqttMetrics = MQTTMetrics()

    /// - Parameters:
    ///   - pollInterval: How often the active rule set is checked for changed filters.
    package init(
        configuration: MQTTClientConfiguration, ingest: any MessageIngest, rules: any RulesControl,
        metrics: IngestMetrics, maxPayloadBytes: Int = ServerConfiguration().maxPayloadBytes,
        logger: Logger = Logger(label: "signalbox.mqtt"), pollInterval: Duration = .seconds(1)
    ) {
        let sink = IngestSink(ingest: ingest, metrics: metrics, maxPayloadBytes: maxPayloadBytes, logger: logger)
        self.client = MQTTClient(configuration: configuration, handler: sink, logger: logger)
        self.rules = rules
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// The topic filters to subscribe to for `status`: the enabled rules' filters not beginning with `$`.
    package static func filters(of status: RulesStatus) -> Set<String> {
        Set(status.rules.filter { $0.enabled && !$0.topicFilter.hasPrefix("$") }.map(\.topicFilter))
    }

    package func run() async throws {
        // On graceful shutdown the client disconnects cleanly; unacknowledged messages stay with the broker.
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.client.run() }
                group.addTask { await self.followRules() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Keeps the broker subscriptions equal to the active rules' filters.
    private func followRules() async {
        var subscribed = Set<String>()
        var version: Int?
        while !Task.isCancelled {
            let status = rules.rulesStatus()
            if status.version != version {
                version = status.version
                let wanted = Self.filters(of: status)
                let added = wanted.subtracting(subscribed).sorted()
                let removed = subscribed.subtracting(wanted).sorted()
                if !removed.isEmpty { client.unsubscribe(removed) }
                if !added.isEmpty {
                    Task {
                        _ = try? await self.client.subscribe(added.map { .init(filter: $0, qos: .atLeastOnce) })
                    }
                }
                if !added.isEmpty || !removed.isEmpty {
                    logger.info(
                        "MQTT subscriptions follow the rules",
                        metadata: [
                            "rules.version": "\(status.version)", "mqtt.subscribed": "\(added)",
                            "mqtt.unsubscribed": "\(removed)",
                        ])
                }
                subscribed = wanted
            }
            mqttMetrics.update(client.status)
            try? await Task.sleep(for: pollInterval)
        }
    }
}

/// The client's connection state, reconnects and windows as metrics (DESIGN.md §11), refreshed
/// every poll.
private final class MQTTMetrics: Sendable {
    private let connected = Gauge(label: "signalbox_mqtt_connected")
    private let connections = Counter(label: "signalbox_mqtt_connections_total")
    private let outgoing = Gauge(label: "signalbox_mqtt_in_flight", dimensions: [("direction", "out")])
    private let incoming = Gauge(label: "signalbox_mqtt_in_flight", dimensions: [("direction", "in")])
    private let waiting = Gauge(label: "signalbox_mqtt_journal_lag_messages")
    private let counted = Mutex(0)

    func update(_ status: MQTTClient.Status) {
        connected.record(status.connected ? 1 : 0)
        let new = counted.withLock { counted in
            defer { counted = status.connections }
            return status.connections - counted
        }
        if new > 0 { connections.increment(by: Int64(new)) }
        outgoing.record(status.outgoingPending)
        incoming.record(status.incomingUnacknowledged)
        waiting.record(status.incomingWaiting)
    }
}

/// Journals MQTT messages through the runtime's ingest, as HTTP publishes are.
private struct IngestSink: MQTTDeliveryHandler {
    let ingest: any MessageIngest
    let metrics: IngestMetrics
    let maxPayloadBytes: Int
    let logger: Logger

    func receive(_ publishes: [Packet.Publish]) async throws {
        let receivedAt = SystemClock.milliseconds()
        var messages: [IncomingMessage] = []
        messages.reserveCapacity(publishes.count)
        for publish in publishes {
            // A message that can never be taken is dropped (and acknowledged, or the broker would send
            // it forever), counted and logged without its payload.
            if publish.payload.count > maxPayloadBytes {
                metrics.rejected(.tooLarge)
                logger.warning(
                    "MQTT message dropped: payload too large",
                    metadata: ["mqtt.topic": "\(publish.topic)", "payload.bytes": "\(publish.payload.count)"])
                continue
            }
            do {
                try TopicName.validate(publish.topic)
            } catch {
                metrics.rejected(.invalidTopic)
                logger.warning("MQTT message dropped: invalid topic", metadata: ["error": "\(error.message)"])
                continue
            }
            messages.append(IncomingMessage(topic: publish.topic, payload: publish.payload, receivedAt: receivedAt))
        }
        guard !messages.isEmpty else { return }
        // A refusal (overload, journal failure) leaves the batch unacknowledged; the client offers it again.
        _ = try await ingest.ingest(messages)
        metrics.acceptedOverMQTT(messages.count)
    }
}
