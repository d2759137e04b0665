/// The client side of an MQTT session, without sockets or timers: it is fed packets, requests and
/// the time, and answers with ``Action``s for its owner to carry out.
///
/// What it guarantees:
/// - **Incoming QoS 1 publishes are acknowledged only when the owner says they are safe**
///   (``acknowledge(_:)``), and their PUBACKs go out in the order the publishes arrived, whatever
///   the order of the acknowledgements.
/// - **Outgoing QoS 1 publishes stay until their PUBACK**: at most the window the broker allows
///   (MQTT 5 Receive Maximum) are in flight, the rest wait in a bounded queue; after a reconnect the
///   unacknowledged ones are sent again first, in their original order (DUP set when the broker kept
///   the session).
/// - Keep-alive: a PINGREQ when nothing was sent for the keep-alive interval, and the connection is
///   given up when no PINGRESP comes back within it.
/// - The session's subscriptions are sent again when the broker did not keep the session.
package struct ClientStateMachine {
    package let configuration: Configuration
    private(set) package var state: State = .disconnected
    /// The generation of the current connection: deliveries of an earlier one are never acknowledged.
    private var connection: UInt64 = 0

    // Outgoing QoS 1: sent and waiting for PUBACK, in send order, then those waiting for room.
    private var inFlight: [(id: UInt16, publish: Packet.Publish, token: UInt64)] = []
    private var queued: [(publish: Packet.Publish, token: UInt64)] = []
    private var queuedStart = 0
    private var packetIDs = PacketIDPool()
    private var window: Int

    // Incoming QoS 1, in arrival order: the packet identifier and whether the owner has acknowledged it.
    private var incoming: [(id: UInt16, acknowledged: Bool)] = []
    private var incomingStart = 0
    /// The delivery number of `incoming[incomingStart]`.
    private var firstDelivery: UInt64 = 0
    /// The identifiers of the last PUBACKs sent (at most `receiveMaximum`), oldest first: after a
    /// reconnect the broker sends again any whose PUBACK it did not get.
    private var recentAcknowledgements: [UInt16] = []
    private var recentStart = 0
    /// Incoming publishes of the previous connection the owner had stored, whose PUBACK the broker
    /// may not have: a redelivery of one (DUP set, same identifier) is acknowledged, not delivered
    /// again. The broker reuses an identifier only once it has the PUBACK, and then without DUP.
    private(set) package var stored = Set<UInt16>()
    /// Incoming publishes an earlier process stored (identifier → ``Packet/Publish/digest``), whose
    /// PUBACK the broker may not have: a redelivery (DUP set, same identifier and digest) is
    /// acknowledged, not delivered. An identifier counts once: whatever arrives with it first decides.
    private(set) package var recovered: [UInt16: UInt64]

    // Subscriptions: what the session should hold, and the requests awaiting their acknowledgement.
    private(set) package var subscriptions: [String: Packet.Subscription] = [:]
    private var pendingRequests: [UInt16: Request] = [:]
    private var resubscribe = false
    private var unsubscribeLater = Set<String>()

    // Keep-alive.
    private var keepAlive: Duration
    private var lastSent: ContinuousClock.Instant
    private var pingSentAt: ContinuousClock.Instant?
    private var maximumPacketSize = Int(VariableByteInteger.max) + 5

    /// - Parameters:
    ///   - recovered: Incoming publishes an earlier process stored and may not have acknowledged
    ///     (identifier → ``Packet/Publish/digest``), from the owner's storage.
    package init(configuration: Configuration, now: ContinuousClock.Instant, recovered: [UInt16: UInt64] = [:]) {
        self.configuration = configuration
        self.recovered = recovered
        self.window = Int(configuration.outgoingWindow)
        self.keepAlive = .seconds(Int(configuration.keepAlive))
        self.lastSent = now
    }

    /// Where the connection is.
    package enum State: Equatable, Sendable {
        case disconnected
        /// CONNECT sent, CONNACK awaited.
        case connecting
        case connected
    }

    private enum Request {
        case subscribe([Packet.Subscription])
        case unsubscribe([String])
    }

    /// What the owner must do.
    package enum Action: Equatable, Sendable {
        /// Write the packet to the connection.
        case send(Packet)
        /// The broker accepted the connection.
        case connected(sessionPresent: Bool, Packet.ConnAck)
        /// An incoming publish, to be handed to the application; a QoS 1 one carries the delivery
        /// number to pass to ``ClientStateMachine/acknowledge(_:)`` once it is safe.
        case deliver(Packet.Publish, delivery: Delivery?)
        /// The outgoing publish with this token is done: acknowledged (QoS 1) or written (QoS 0);
        /// `reasonCode` 0x80 and above is the broker's refusal.
        case published(token: UInt64, reasonCode: UInt8)
        /// The broker answered a SUBSCRIBE: a granted QoS or refusal per filter.
        case subscribed([String], reasonCodes: [UInt8])
        case unsubscribed([String])
        /// Close the connection; the error says why.
        case close(MQTTProtocolError)
    }

    /// A QoS 1 delivery to acknowledge: the connection it came on and its place in arrival order.
    package struct Delivery: Hashable, Sendable {
        package let connection: UInt64
        package let number: UInt64
    }

    /// How many outgoing publishes wait for a PUBACK or for room in the window.
    package var pendingPublishes: Int { inFlight.count + queued.count - queuedStart }

    /// Filters unsubscribed from whose UNSUBACK has not come yet (sent, or waiting for a connection).
    package var pendingUnsubscribes: Set<String> {
        var filters = unsubscribeLater
        for case .unsubscribe(let requested) in pendingRequests.values { filters.formUnion(requested) }
        return filters
    }

    /// How many incoming QoS 1 publishes are delivered and not yet acknowledged by PUBACK.
    package var unacknowledgedDeliveries: Int { incoming.count - incomingStart }

    // MARK: Connecting

    /// A new connection is open: the CONNECT to send on it.
    package mutating func connectionOpened(now: ContinuousClock.Instant) -> [Action] {
        connection &+= 1
        state = .connecting
        incoming.removeAll()
        incomingStart = 0
        pingSentAt = nil
        lastSent = now
        keepAlive = .seconds(Int(configuration.keepAlive))
        var properties = Properties()
        if configuration.version == .v5 {
            properties.append(.sessionExpiryInterval(configuration.sessionExpiry))
            properties.append(.receiveMaximum(configuration.receiveMaximum))
            properties.append(.maximumPacketSize(configuration.maximumPacketSize))
        }
        return [
            .send(
                .connect(
                    Packet.Connect(
                        version: configuration.version, clientID: configuration.clientID,
                        cleanStart: configuration.cleanStart, keepAlive: configuration.keepAlive,
                        username: configuration.username, password: configuration.password,
                        properties: properties)))
        ]
    }

    /// The connection is gone. Sent, unacknowledged publishes will be sent again on the next one;
    /// incoming deliveries not yet acknowledged will be sent again by the broker.
    package mutating func connectionClosed() {
        // The owner's batches have all finished by now: an acknowledged delivery is stored, an
        // unacknowledged one is not (the broker sends it again and it is delivered again).
        if state == .connected {
            stored = Set(recentAcknowledgements[recentStart...])
            for entry in incoming[incomingStart...] where entry.acknowledged { stored.insert(entry.id) }
        }
        recentAcknowledgements.removeAll()
        recentStart = 0
        state = .disconnected
        incoming.removeAll()
        incomingStart = 0
        // A request that got no answer may or may not have reached the broker: all subscriptions
        // are sent again on the next connection, and unanswered unsubscriptions too.
        for case .unsubscribe(let filters) in pendingRequests.values {
            unsubscribeLater.formUnion(filters.filter { subscriptions[$0] == nil })
        }
        if pendingRequests.values.contains(where: { if case .subscribe = $0 { true } else { false } }) {
            resubscribe = true
        }
        for id in pendingRequests.keys { packetIDs.release(id) }
        pendingRequests.removeAll()
        pingSentAt = nil
    }

    // MARK: Requests

    /// Subscribes to `subscriptions` (also after every reconnect that did not keep the session).
    package mutating func subscribe(_ subscriptions: [Packet.Subscription]) -> [Action] {
        for subscription in subscriptions { self.subscriptions[subscription.filter] = subscription }
        guard state == .connected, !subscriptions.isEmpty, let id = packetIDs.take() else {
            // Sent with all the others once connected, whether or not the broker kept the session.
            if !subscriptions.isEmpty { resubscribe = true }
            return []
        }
        pendingRequests[id] = .subscribe(subscriptions)
        return [.send(.subscribe(Packet.Subscribe(packetID: id, subscriptions: subscriptions)))]
    }

    package mutating func unsubscribe(_ filters: [String]) -> [Action] {
        for filter in filters { subscriptions[filter] = nil }
        guard state == .connected, !filters.isEmpty, let id = packetIDs.take() else {
            // A kept session may still hold them: unsubscribed once connected.
            if !filters.isEmpty { unsubscribeLater.formUnion(filters) }
            return []
        }
        pendingRequests[id] = .unsubscribe(filters)
        return [.send(.unsubscribe(Packet.Unsubscribe(packetID: id, filters: filters)))]
    }

    /// The result of ``publish(_:token:)``.
    package enum PublishResult: Equatable, Sendable {
        /// Sent now, or queued until the connection or the window has room.
        case accepted([Action])
        /// The queue is full: try again once publishes complete.
        case full
        /// Larger than the broker takes.
        case tooLarge
    }

    /// Sends `publish` (its packet identifier is assigned here), or queues it. `token` comes back in
    /// ``Action/published(token:reasonCode:)``.
    package mutating func publish(_ publish: Packet.Publish, token: UInt64) -> PublishResult {
        var publish = publish
        publish.packetID = nil
        publish.duplicate = false
        if publish.qos > .atLeastOnce { publish.qos = .atLeastOnce }
        if publish.topic.utf8.count + publish.payload.count + 16 > maximumPacketSize { return .tooLarge }
        if publish.qos == .atMostOnce {
            guard state == .connected else { return .full }
            return .accepted([.send(.publish(publish)), .published(token: token, reasonCode: 0)])
        }
        guard pendingPublishes < window + configuration.maxQueuedPublishes else { return .full }
        queued.append((publish, token))
        return .accepted(sendQueued())
    }

    /// Takes back the publish of `token` if it is still queued (not yet sent): true if it was. One
    /// already sent stays in flight until the broker acknowledges it.
    @discardableResult
    package mutating func withdraw(token: UInt64) -> Bool {
        guard let index = queued[queuedStart...].firstIndex(where: { $0.token == token }) else { return false }
        queued.remove(at: index)
        return true
    }

    /// The owner has stored the delivery: PUBACKs go out for every delivery up to the first one still
    /// waiting.
    package mutating func acknowledge(_ delivery: Delivery) -> [Action] {
        guard delivery.connection == connection, state == .connected, delivery.number >= firstDelivery else {
            return []
        }
        let index = incomingStart + Int(delivery.number - firstDelivery)
        guard index < incoming.count else { return [] }
        incoming[index].acknowledged = true
        return flushAcknowledgements()
    }

    /// PUBACKs for the acknowledged deliveries at the head of the arrival order.
    private mutating func flushAcknowledgements() -> [Action] {
        var actions: [Action] = []
        while incomingStart < incoming.count, incoming[incomingStart].acknowledged {
            let id = incoming[incomingStart].id
            actions.append(.send(.puback(Packet.Acknowledgement(packetID: id))))
            incomingStart += 1
            firstDelivery += 1
            recentAcknowledgements.append(id)
            if recentAcknowledgements.count - recentStart > Int(configuration.receiveMaximum) { recentStart += 1 }
        }
        if incomingStart > 1_024, incomingStart * 2 > incoming.count {
            incoming.removeFirst(incomingStart)
            incomingStart = 0
        }
        if recentStart > 1_024, recentStart * 2 > recentAcknowledgements.count {
            recentAcknowledgements.removeFirst(recentStart)
            recentStart = 0
        }
        return actions
    }

    // MARK: Time

    /// Keep-alive: a PINGREQ when due, or closing when the broker stopped answering.
    package mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        guard state != .disconnected, keepAlive > .zero else { return [] }
        if let pingSentAt {
            if now - pingSentAt >= keepAlive {
                return [.close(.protocolError("no PINGRESP within the keep alive of \(keepAlive)"))]
            }
            return []
        }
        if state == .connecting {
            if now - lastSent >= keepAlive { return [.close(.protocolError("no CONNACK within \(keepAlive)"))] }
            return []
        }
        guard now - lastSent >= keepAlive else { return [] }
        pingSentAt = now
        return [.send(.pingreq)]
    }

    /// Records that bytes went out at `now` (keep-alive counts from the last packet sent).
    package mutating func sent(now: ContinuousClock.Instant) {
        lastSent = now
    }

    // MARK: Receiving

    /// A packet from the broker.
    package mutating func received(_ packet: Packet) -> [Action] {
        switch (state, packet) {
        case (.connecting, .connack(let connack)):
            return connected(connack)
        case (.connecting, _):
            return [.close(.protocolError("the broker sent \(packet.kind) before CONNACK"))]
        case (.disconnected, _):
            return []
        case (.connected, .publish(let publish)):
            return incoming(publish)
        case (.connected, .puback(let ack)):
            return acknowledged(ack)
        case (.connected, .suback(let suback)):
            guard case .subscribe(let requested) = pendingRequests.removeValue(forKey: suback.packetID) else {
                return [
                    .close(.protocolError("SUBACK for packet identifier \(suback.packetID), which no SUBSCRIBE used"))
                ]
            }
            packetIDs.release(suback.packetID)
            guard suback.reasonCodes.count == requested.count else {
                return [
                    .close(.protocolError("SUBACK answers \(suback.reasonCodes.count) of \(requested.count) filters"))
                ]
            }
            return [.subscribed(requested.map(\.filter), reasonCodes: suback.reasonCodes)]
        case (.connected, .unsuback(let unsuback)):
            guard case .unsubscribe(let filters) = pendingRequests.removeValue(forKey: unsuback.packetID) else {
                return [
                    .close(
                        .protocolError("UNSUBACK for packet identifier \(unsuback.packetID), which no UNSUBSCRIBE used")
                    )
                ]
            }
            packetIDs.release(unsuback.packetID)
            return [.unsubscribed(filters)]
        case (.connected, .pingresp):
            pingSentAt = nil
            return []
        case (.connected, .disconnect(let disconnect)):
            let code = disconnect.reasonCode
            return [
                .close(
                    .closedByBroker(
                        "The broker disconnected", reasonCode: code, detail: "reason code \(ReasonCodes.hex(code))",
                        reasonString: disconnect.properties.reasonString))
            ]
        case (.connected, _):
            return [.close(.protocolError("a client does not expect \(packet.kind) from the broker"))]
        }
    }

    private mutating func connected(_ connack: Packet.ConnAck) -> [Action] {
        guard connack.reasonCode == 0 else {
            let refusal = MQTTProtocolError.closedByBroker(
                "The broker refused the connection", reasonCode: connack.reasonCode,
                detail: Self.connackReason(connack.reasonCode, configuration.version),
                reasonString: connack.properties.reasonString)
            return [.close(refusal)]
        }
        state = .connected
        let properties = connack.properties
        window = min(Int(configuration.outgoingWindow), Int(properties.receiveMaximum ?? UInt16.max))
        if let limit = properties.maximumPacketSize { maximumPacketSize = Int(limit) }
        if let serverKeepAlive = properties.serverKeepAlive { keepAlive = .seconds(Int(serverKeepAlive)) }
        var actions: [Action] = [.connected(sessionPresent: connack.sessionPresent, connack)]
        // Unacknowledged publishes go first, in their order; with the session kept, as duplicates of the
        // same packets.
        if connack.sessionPresent {
            for index in inFlight.indices {
                inFlight[index].publish.duplicate = true
                actions.append(.send(.publish(inFlight[index].publish)))
            }
        } else {
            // Nothing of the old session comes again.
            stored.removeAll()
            recovered.removeAll()
            // A new session: the identifiers mean nothing to the broker any more, so the publishes
            // go back to the head of the queue and get new ones.
            let resend = inFlight.map { entry -> (publish: Packet.Publish, token: UInt64) in
                var publish = entry.publish
                publish.packetID = nil
                publish.duplicate = false
                return (publish, entry.token)
            }
            inFlight.removeAll()
            packetIDs = PacketIDPool()
            queued.insert(contentsOf: resend, at: queuedStart)
        }
        if !connack.sessionPresent || resubscribe {
            resubscribe = false
            if !subscriptions.isEmpty {
                let all = subscriptions.keys.sorted().compactMap { subscriptions[$0] }
                if let id = packetIDs.take() {
                    pendingRequests[id] = .subscribe(all)
                    actions.append(.send(.subscribe(Packet.Subscribe(packetID: id, subscriptions: all))))
                }
            }
        }
        let leave = unsubscribeLater.subtracting(subscriptions.keys).sorted()
        unsubscribeLater.removeAll()
        if !leave.isEmpty, let id = packetIDs.take() {
            pendingRequests[id] = .unsubscribe(leave)
            actions.append(.send(.unsubscribe(Packet.Unsubscribe(packetID: id, filters: leave))))
        }
        actions += sendQueued()
        return actions
    }

    private mutating func incoming(_ publish: Packet.Publish) -> [Action] {
        switch publish.qos {
        case .atMostOnce:
            return [.deliver(publish, delivery: nil)]
        case .atLeastOnce:
            guard let id = publish.packetID else { return [.close(.protocolError("QoS 1 PUBLISH without identifier"))] }
            // More unacknowledged publishes than our Receive Maximum are taken all the same (some brokers
            // count one over); the owner's back-pressure, not this count, bounds what is held.
            let storedHere = stored.remove(id) != nil
            let storedBefore = recovered.removeValue(forKey: id).map { $0 == publish.digest } ?? false
            if publish.duplicate, storedHere || storedBefore {
                // Stored on the previous connection, its PUBACK lost: acknowledged in its turn, not delivered.
                incoming.append((id, true))
                return flushAcknowledgements()
            }
            let number = firstDelivery + UInt64(incoming.count - incomingStart)
            incoming.append((id, false))
            return [.deliver(publish, delivery: Delivery(connection: connection, number: number))]
        case .exactlyOnce:
            return [.close(.protocolError("a QoS 2 PUBLISH on subscriptions of QoS 1 at most"))]
        }
    }

    private mutating func acknowledged(_ ack: Packet.Acknowledgement) -> [Action] {
        guard let index = inFlight.firstIndex(where: { $0.id == ack.packetID }) else {
            return [
                .close(.protocolError("PUBACK for packet identifier \(ack.packetID), which no PUBLISH in flight used"))
            ]
        }
        let entry = inFlight.remove(at: index)
        packetIDs.release(entry.id)
        return [.published(token: entry.token, reasonCode: ack.reasonCode)] + sendQueued()
    }

    /// Moves queued publishes into the window while there is room and a connection.
    private mutating func sendQueued() -> [Action] {
        guard state == .connected else { return [] }
        var actions: [Action] = []
        while inFlight.count < window, queuedStart < queued.count, let id = packetIDs.take() {
            var (publish, token) = queued[queuedStart]
            queuedStart += 1
            publish.packetID = id
            inFlight.append((id, publish, token))
            actions.append(.send(.publish(publish)))
        }
        if queuedStart == queued.count {
            queued.removeAll(keepingCapacity: true)
            queuedStart = 0
        } else if queuedStart > 1_024, queuedStart * 2 > queued.count {
            queued.removeFirst(queuedStart)
            queuedStart = 0
        }
        return actions
    }

    static func connackReason(_ code: UInt8, _ version: ProtocolVersion) -> String {
        if version == .v3_1_1 {
            switch code {
            case 1: return "unacceptable protocol version"
            case 2: return "client identifier rejected"
            case 3: return "server unavailable"
            case 4: return "bad user name or password"
            case 5: return "not authorized"
            default: return "return code \(code)"
            }
        }
        switch code {
        case 0x84: return "unsupported protocol version"
        case 0x85: return "client identifier not valid"
        case 0x86: return "bad user name or password"
        case 0x87: return "not authorized"
        case 0x88: return "server unavailable"
        case 0x89: return "server busy"
        case 0x8A: return "banned"
        case 0x95: return "packet too large"
        case 0x97: return "quota exceeded"
        default: return "reason code \(ReasonCodes.hex(code))"
        }
    }
}

/// Packet identifiers in use, handed out round-robin from 1 to 65,535.
struct PacketIDPool {
    private var used = Set<UInt16>()
    private var next: UInt16 = 1

    /// A free identifier, or nil when all 65,535 are in use.
    mutating func take() -> UInt16? {
        guard used.count < Int(UInt16.max) else { return nil }
        while used.contains(next) { next = next == UInt16.max ? 1 : next + 1 }
        let id = next
        used.insert(id)
        next = next == UInt16.max ? 1 : next + 1
        return id
    }

    mutating func release(_ id: UInt16) { used.remove(id) }

    /// Frees every identifier but `ids`.
    mutating func keepOnly(_ ids: [UInt16]) { used = Set(ids) }
}
