import Logging
import Metrics
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxMQTT
import SignalboxSQL
import SignalboxShadows
import Synchronization

/// Connects the rules runtime and the shadow service to an MQTT broker.
///
/// - Subscribes (QoS 1, persistent session) to the topic filters of the active rules, follows them
///   across reloads, and journals what arrives — acknowledging each QoS 1 message to the broker
///   only once it is journaled. Filters beginning with `$` (`$aws/…` shadow events, `$signalbox/…`
///   device events) are produced inside Signalbox and are not subscribed to at the broker. Each
///   enabled rule's Basic Ingest topics, `$aws/rules/{rule}/#`, are.
/// - Subscribes to the AWS shadow request topics (`$aws/things/+/shadow/{update,get,delete}` and
///   their named-shadow forms), answers each on `…/accepted` or `…/rejected` exactly as AWS does,
///   and acknowledges the request once it is answered. Shadow `delta` and `documents` events —
///   whatever changed the shadow: MQTT, HTTP or a rule — reach the broker through ``Outbox``.
package final class MQTTBridge: Service, Sendable {
    private let client: MQTTClient
    private let rules: any RulesControl
    private let logger: Logger
    private let pollInterval: Duration
    private let mqttMetrics = MQTTMetrics()
    private let answersShadows: Bool
    private let shareGroup: String?
    private let sessionStore: (any BrokerSessionStore)?
    private let session: String

    /// The shadow request topics, classic and named.
    package static let shadowRequestFilters = ["update", "get", "delete"].flatMap {
        ["$aws/things/+/shadow/\($0)", "$aws/things/+/shadow/name/+/\($0)"]
    }

    /// How many of the most recent broker receipts ``recoveredDeliveries(in:clientID:)`` reads back.
    /// Everything the broker can redeliver is within its in-flight window (our Receive Maximum, or
    /// Mosquitto's `max_inflight_messages` in MQTT 3.1.1), far below this; and this is far below the
    /// 65,535 messages after which a broker numbering them in turn reuses an identifier.
    package static let receiptWindow = 16_384

    /// The QoS 1 messages an earlier process journaled from the broker under `clientID` (the most
    /// recent ``receiptWindow``), to pass as `recovered`: the broker's redeliveries of them after a
    /// crash are acknowledged, not journaled again.
    package static func recoveredDeliveries(in journal: any MessageJournal, clientID: String) async throws
        -> [UInt16: UInt64]
    {
        try await journal.brokerReceipts(session: clientID, limit: receiptWindow)
    }

    /// Whether `name` can be a shared subscription's group: not empty, and no `/`, `+` or `#`.
    package static func isValidShareGroup(_ name: String) -> Bool {
        !name.isEmpty && !name.contains { $0 == "/" || $0 == "+" || $0 == "#" }
    }

    /// - Parameters:
    ///   - shadows: Answers the shadow request topics; nil leaves them to other instances.
    ///   - recovered: From ``recoveredDeliveries(in:clientID:)``.
    ///   - shareGroup: Subscribe to the rules' filters as `$share/{shareGroup}/{filter}`, so the
    ///     instances of the group split the messages (each goes to one of them).
    ///   - sessionStore: Keeps the subscribed filters, so that those an earlier run subscribed to and
    ///     no longer wants are unsubscribed; forgets receipts when the broker lost the session.
    ///   - bindings: When given, a message whose topic names a gateway (by `gatewayTopicFilters`) and a
    ///     device (by the rules' `devices.key_level`) is taken only if the device is bound to that
    ///     gateway (or gets bound to it, with auto-binding); others are acknowledged and dropped.
    ///   - pollInterval: How often the active rule set is checked for changed filters.
    package init(
        configuration: MQTTClientConfiguration, ingest: any MessageIngest, rules: any RulesControl,
        shadows: ShadowService? = nil, outbox: Outbox = Outbox(), metrics: IngestMetrics,
        recovered: [UInt16: UInt64] = [:], shareGroup: String? = nil, sessionStore: (any BrokerSessionStore)? = nil,
        maxPayloadBytes: Int = ServerConfiguration().maxPayloadBytes, bindings: DeviceBindings? = nil,
        gatewayTopicFilters: [String] = ServerConfiguration().gatewayTopicFilters, clock: WallClock = .system,
        logger: Logger = Logger(label: "signalbox.mqtt"), pollInterval: Duration = .seconds(1)
    ) {
        let sink = IngestSink(
            ingest: ingest, shadows: shadows, outbox: outbox, metrics: metrics, session: configuration.session.clientID,
            sessionStore: sessionStore, maxPayloadBytes: maxPayloadBytes, bindings: bindings,
            gatewayTopicFilters: gatewayTopicFilters, clock: clock, logger: logger)
        self.client = MQTTClient(configuration: configuration, handler: sink, recovered: recovered, logger: logger)
        outbox.bind(client)
        self.answersShadows = shadows != nil
        self.shareGroup = shareGroup
        self.sessionStore = sessionStore
        self.session = configuration.session.clientID
        self.rules = rules
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// The topic filters to subscribe to for `status`: the enabled rules' filters not beginning with
    /// `$`, and each enabled rule's Basic Ingest topics, `$aws/rules/{rule}/#` (a message there
    /// invokes that rule alone).
    package static func filters(of status: RulesStatus) -> Set<String> {
        let enabled = status.rules.filter(\.enabled)
        return Set(enabled.filter { !$0.topicFilter.hasPrefix("$") }.map(\.topicFilter))
            .union(enabled.map { BasicIngestTopic.prefix + $0.name + "/#" })
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
        // Filters an earlier run left in the broker's kept session.
        var earlier = Set<String>()
        do {
            earlier = try await sessionStore?.brokerSubscriptions(session: session) ?? []
        } catch {
            logger.error("MQTT: the earlier subscriptions could not be read", metadata: ["error": "\(error)"])
        }
        var saved = earlier
        var version: Int?
        while !Task.isCancelled {
            let status = rules.rulesStatus()
            if status.version != version {
                version = status.version
                var wanted = Self.filters(of: status)
                if let shareGroup { wanted = Set(wanted.map { "$share/\(shareGroup)/\($0)" }) }
                if answersShadows { wanted.formUnion(Self.shadowRequestFilters) }
                let added = wanted.subtracting(subscribed).sorted()
                let removed = subscribed.union(earlier).subtracting(wanted).sorted()
                earlier = []
                if !removed.isEmpty { client.unsubscribe(removed) }
                if !added.isEmpty {
                    // Lifetime: until the broker's SUBACK, or the client stops (it fails pending
                    // requests); not awaited, so following the rules never waits on the broker.
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
            // What the broker's session may hold: the filters wanted, and those whose unsubscription
            // it has not confirmed yet (tried again at the next start if this process ends first).
            let held = subscribed.union(client.pendingUnsubscribes)
            if held != saved {
                do {
                    try await sessionStore?.saveBrokerSubscriptions(held, session: session)
                    saved = held
                } catch {
                    logger.error("MQTT: the subscriptions could not be saved", metadata: ["error": "\(error)"])
                }
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
    private let received = Counter(label: "signalbox_mqtt_messages_total", dimensions: [("direction", "in")])
    private let published = Counter(label: "signalbox_mqtt_messages_total", dimensions: [("direction", "out")])
    /// The client's totals as of the last update: the counters advance by the difference.
    private let counted = Mutex((connections: 0, received: 0, published: 0))

    func update(_ status: MQTTClient.Status) {
        connected.record(status.connected ? 1 : 0)
        let last = counted.withLock { counted in
            defer { counted = (status.connections, status.received, status.published) }
            return counted
        }
        for (counter, now, before) in [
            (connections, status.connections, last.connections), (received, status.received, last.received),
            (published, status.published, last.published),
        ] where now > before {
            counter.increment(by: Int64(now - before))
        }
        outgoing.record(status.outgoingPending)
        incoming.record(status.incomingUnacknowledged)
        waiting.record(status.incomingWaiting)
    }
}

extension MQTTBridge {
    /// Publishes through the bridge's client (QoS 1, resent until the broker acknowledges): the shadow
    /// service's replies and events, and `republish` output. Created before the bridge, so the shadow
    /// service and the runtime can be given it; until the bridge binds it, ``publish(_:)`` drops
    /// messages and ``deliver(_:)`` throws.
    package final class Outbox: MessagePublisher {
        private let client = Mutex<MQTTClient?>(nil)
        private let logger = Logger(label: "signalbox.mqtt")

        package init() {}

        func bind(_ client: MQTTClient) { self.client.withLock { $0 = client } }

        package func publish(_ messages: [OutgoingMessage]) async {
            guard let client = client.withLock({ $0 }) else { return }
            for message in messages where !client.enqueue(topic: message.topic, payload: message.payload) {
                logger.error(
                    "MQTT outgoing queue full: message dropped",
                    metadata: ["mqtt.topic": "\(message.topic)", "payload.bytes": "\(message.payload.count)"])
            }
        }

        /// Publishes with QoS 1 and waits for each PUBACK (the client resends across reconnects).
        /// A message the broker refuses or cannot take throws ``UndeliverableMessage``.
        package func deliver(_ messages: [OutgoingMessage]) async throws {
            guard let client = client.withLock({ $0 }) else {
                throw MQTTClientError("The MQTT connection is not set up yet")
            }
            for message in messages {
                do {
                    try await client.publish(topic: message.topic, payload: message.payload)
                } catch let error as MQTTClientError where error.isPermanent {
                    throw UndeliverableMessage(reason: error.message)
                } catch let error as MQTTClientError where error.kind == .stopped {
                    // Shutting down: the connection is gone for good. Failing now would spend the
                    // caller's retries in moments; waiting until the drain cancels the attempt leaves
                    // the message to be handled again at the next start.
                    while true { try await Task.sleep(for: .seconds(60)) }
                }
            }
        }
    }
}

/// A shadow request topic: `$aws/things/{thing}/shadow[/name/{name}]/{update|get|delete}`.
struct ShadowRequestTopic: Equatable {
    enum Operation: String { case update, get, delete }

    var key: ShadowKey
    var operation: Operation

    init?(_ topic: String) {
        guard topic.hasPrefix("$aws/things/") else { return nil }
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        switch levels.count {
        case 5 where levels[3] == "shadow":
            guard let operation = Operation(rawValue: String(levels[4])) else { return nil }
            self.key = ShadowKey(thing: String(levels[2]))
            self.operation = operation
        case 7 where levels[3] == "shadow" && levels[4] == "name":
            guard let operation = Operation(rawValue: String(levels[6])) else { return nil }
            self.key = ShadowKey(thing: String(levels[2]), name: String(levels[5]))
            self.operation = operation
        default:
            return nil
        }
    }
}

/// Journals MQTT messages through the runtime's ingest, as HTTP publishes are, and answers shadow
/// requests.
private struct IngestSink: MQTTDeliveryHandler {
    let ingest: any MessageIngest
    let shadows: ShadowService?
    let outbox: MQTTBridge.Outbox
    let metrics: IngestMetrics
    /// The client identifier, the session the receipts belong to.
    let session: String
    let sessionStore: (any BrokerSessionStore)?
    let maxPayloadBytes: Int
    let bindings: DeviceBindings?
    let gatewayTopicFilters: [String]
    let clock: WallClock
    let logger: Logger

    func receive(_ publishes: [Packet.Publish]) async throws {
        let receivedAt = clock.milliseconds()
        var messages: [IncomingMessage] = []
        messages.reserveCapacity(publishes.count)
        var shadowRequests: [(request: ShadowRequestTopic, body: [UInt8])] = []
        for publish in publishes {
            if shadows != nil, let request = ShadowRequestTopic(publish.topic) {
                shadowRequests.append((request, publish.payload))
                continue
            }
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
            let receipt = publish.packetID.map {
                BrokerReceipt(session: session, packetID: $0, digest: publish.digest)
            }
            messages.append(
                IncomingMessage(
                    topic: publish.topic, payload: publish.payload, receivedAt: receivedAt, receipt: receipt))
        }
        if let bindings, !messages.isEmpty { messages = try await ownDevicesOnly(messages, bindings: bindings) }
        if !messages.isEmpty {
            // A refusal (overload, journal failure) leaves the batch unacknowledged; the client offers
            // it again — so the shadow requests are applied only after this, never twice.
            _ = try await ingest.ingest(messages)
            metrics.acceptedOverMQTT(messages.count)
        }
        if let shadows {
            for (request, body) in shadowRequests { await answer(request, body: body, shadows: shadows) }
        }
    }

    /// `messages` less those a gateway sent for a device that is not its own: those are dropped (and
    /// acknowledged, or the broker would send them forever), counted and logged without their payload.
    /// A registry failure throws, which leaves the whole batch unacknowledged, to be offered again.
    private func ownDevicesOnly(_ messages: [IncomingMessage], bindings: DeviceBindings) async throws
        -> [IncomingMessage]
    {
        let policy = ingest.devicePolicy
        var claims: [(gateway: String, device: String)?] = []
        claims.reserveCapacity(messages.count)
        var devicesByGateway: [String: [String]] = [:]
        for message in messages {
            guard let device = policy.device(inTopic: message.topic),
                let gateway = PublishScope.gateway(
                    ofTopic: String(BasicIngestTopic.effectiveTopic(message.topic)), filters: gatewayTopicFilters)
            else {
                claims.append(nil)
                continue
            }
            claims.append((gateway, device))
            devicesByGateway[gateway, default: []].append(device)
        }
        var refused = Set<[String]>()
        for (gateway, devices) in devicesByGateway {
            for device in try await bindings.unbound(devices, of: gateway) { refused.insert([gateway, device]) }
        }
        guard !refused.isEmpty else { return messages }
        var kept: [IncomingMessage] = []
        kept.reserveCapacity(messages.count)
        for (message, claim) in zip(messages, claims) {
            if let claim, refused.contains([claim.gateway, claim.device]) {
                metrics.rejected(.unboundDevice)
                logger.warning(
                    "MQTT message dropped: device not bound to the gateway",
                    metadata: ["device.id": "\(claim.device)", "gateway.name": "\(claim.gateway)"])
                continue
            }
            kept.append(message)
        }
        return kept
    }

    func sessionLost() async throws {
        try await sessionStore?.forgetBrokerReceipts(session: session)
    }

    /// Applies a shadow request and publishes its `/accepted` or `/rejected` reply, as AWS does (the
    /// request's clientToken echoed in both).
    private func answer(_ request: ShadowRequestTopic, body: [UInt8], shadows: ShadowService) async {
        let topic = request.key.topicPrefix + "/" + request.operation.rawValue
        let reply: OutgoingMessage
        do {
            let accepted: Value
            switch request.operation {
            case .update: accepted = try await shadows.update(request.key, body: body)
            case .get: accepted = try await shadows.get(request.key, body: body)
            case .delete: accepted = try await shadows.delete(request.key, body: body)
            }
            reply = OutgoingMessage(topic: topic + "/accepted", payload: JSONSerializer.bytes(accepted))
        } catch {
            let rejection = shadows.engine.rejection(
                error, clientToken: shadows.engine.salvageClientToken(body), now: clock.seconds())
            reply = OutgoingMessage(topic: topic + "/rejected", payload: JSONSerializer.bytes(rejection))
        }
        await outbox.publish([reply])
    }
}
