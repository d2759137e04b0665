import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Takes the publishes that arrive on the client's subscriptions.
package protocol MQTTDeliveryHandler: Sendable {
    /// Stores `publishes`, in order; returning means they are safe, and their QoS 1 PUBACKs go out.
    /// Throwing leaves them unacknowledged: they are offered again after `retryAfter`.
    func receive(_ publishes: [Packet.Publish]) async throws

    /// The broker accepted a connection without an earlier session: nothing of it will be
    /// redelivered. No publish is handed over until this returns; throwing calls it again after
    /// `retryAfter` (also across reconnects, until it succeeds once).
    func sessionLost() async throws
}

extension MQTTDeliveryHandler {
    package func sessionLost() async throws {}
}

/// Why a request to ``MQTTClient`` failed.
package struct MQTTClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers deciding whether to try again.
    package enum Kind: Sendable, Equatable {
        /// The outgoing queue is full (or a QoS 0 message found no connection): later may work.
        case unavailable
        /// The message is larger than the broker takes.
        case tooLarge
        /// The broker refused the message with an MQTT 5 reason code of 0x80 or more.
        case refused(reasonCode: UInt8)
        /// The client is not running.
        case stopped
        /// Anything else.
        case other
    }

    package var message: String
    package var kind: Kind

    package init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }

    package var description: String { message }

    /// Whether sending the same message again can never succeed (too large, or refused).
    package var isPermanent: Bool {
        switch kind {
        case .tooLarge, .refused: true
        case .unavailable, .stopped, .other: false
        }
    }
}

/// An MQTT 3.1.1/5.0 client on SwiftNIO: one connection at a time, reconnecting with backoff and
/// jitter until ``run()`` is cancelled. The protocol decisions are ``ClientStateMachine``'s; this
/// type moves packets between it, the socket and the application.
///
/// Incoming publishes reach the ``MQTTDeliveryHandler`` in batches (what arrived while the
/// previous batch was being stored); QoS 1 ones are acknowledged when their batch is stored, in
/// arrival order. While `maxPendingDeliveries` wait, the socket is not read.
package final class MQTTClient: Sendable {
    package let configuration: MQTTClientConfiguration
    private let handler: any MQTTDeliveryHandler
    private let group: any EventLoopGroup
    private let logger: Logger
    private let shared: Mutex<Shared>
    private let retryAfter: Duration

    private struct Shared: ~Copyable {
        var machine: ClientStateMachine
        var outbox: AsyncStream<Packet>.Continuation?
        var channel: (any Channel)?
        var nextToken: UInt64 = 1
        var publishWaiters: [UInt64: CheckedContinuation<UInt8, any Error>] = [:]
        var subscribeWaiters: [[String]: [CheckedContinuation<[UInt8], any Error>]] = [:]
        var connectedWaiters: [CheckedContinuation<Void, Never>] = []
        var pending: [(publish: Packet.Publish, delivery: ClientStateMachine.Delivery?)] = []
        var wake: AsyncStream<Void>.Continuation?
        var closeReason: MQTTProtocolError?
        var connections = 0
        var received = 0
        var published = 0
        /// ``run()`` has returned: requests fail at once instead of waiting for a connection.
        var stopped = false
        /// A connection found no earlier session, and the handler has not been told yet.
        var sessionLost = false
    }

    /// - Parameters:
    ///   - recovered: QoS 1 publishes the handler stored in an earlier process, identifier →
    ///     ``Packet/Publish/digest``: the broker's redeliveries of them are acknowledged, not delivered.
    ///   - retryAfter: How long a batch the handler failed to store waits before it is offered again.
    package init(
        configuration: MQTTClientConfiguration, handler: any MQTTDeliveryHandler, recovered: [UInt16: UInt64] = [:],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        retryAfter: Duration = .milliseconds(100)
    ) {
        self.configuration = configuration
        self.handler = handler
        self.group = group
        self.logger = logger
        self.retryAfter = retryAfter
        self.shared = Mutex(
            Shared(machine: ClientStateMachine(configuration: configuration.session, now: .now, recovered: recovered)))
    }

    /// Whether a connection is up and acknowledged by the broker.
    package var isConnected: Bool { shared.withLock { $0.machine.state == .connected } }

    /// How many connections have been accepted by the broker so far.
    package var connectionCount: Int { shared.withLock { $0.connections } }

    /// The client's state at one moment, for metrics.
    package struct Status: Sendable, Equatable {
        package var connected: Bool
        /// Connections the broker accepted so far (each one after the first is a reconnect).
        package var connections: Int
        /// Outgoing QoS 1 publishes waiting for their PUBACK or for room in the window.
        package var outgoingPending: Int
        /// Incoming QoS 1 publishes delivered and not yet acknowledged to the broker.
        package var incomingUnacknowledged: Int
        /// Incoming publishes waiting to be handed to the handler (the journal's lag).
        package var incomingWaiting: Int
        /// Publishes received from the broker so far (redeliveries of stored ones not counted).
        package var received: Int
        /// Publishes the broker acknowledged (QoS 1, not refused) or that were written (QoS 0) so far.
        package var published: Int
    }

    package var status: Status {
        shared.withLock { shared in
            Status(
                connected: shared.machine.state == .connected, connections: shared.connections,
                outgoingPending: shared.machine.pendingPublishes,
                incomingUnacknowledged: shared.machine.unacknowledgedDeliveries, incomingWaiting: shared.pending.count,
                received: shared.received, published: shared.published)
        }
    }

    // MARK: Requests

    /// Publishes `payload` on `topic`. QoS 1 returns once the broker acknowledged it (queued while
    /// disconnected and sent on the next connection); QoS 0 once it is written.
    /// - Throws: ``MQTTClientError`` when the queue is full, the message is larger than the broker
    ///   takes, or the broker refused it (an MQTT 5 reason code of 0x80 or more);
    ///   `CancellationError` when the task is cancelled first: a message not yet sent is withdrawn,
    ///   one already sent stays until the broker acknowledges it.
    package func publish(topic: String, payload: [UInt8], qos: QoS = .atLeastOnce, retain: Bool = false) async throws {
        let publish = Packet.Publish(topic: topic, payload: payload, qos: qos, retain: retain)
        let token = shared.withLock { shared in
            defer { shared.nextToken += 1 }
            return shared.nextToken
        }
        let code = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UInt8, any Error>) in
                shared.withLock { shared in
                    // Checked under the lock the cancellation handler takes: one of the two resumes.
                    guard !Task.isCancelled else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    submit(publish, token: token, continuation, &shared)
                }
            }
        } onCancel: {
            let waiter = shared.withLock { shared in
                shared.machine.withdraw(token: token)
                return shared.publishWaiters.removeValue(forKey: token)
            }
            waiter?.resume(throwing: CancellationError())
        }
        if code >= 0x80 {
            throw MQTTClientError(
                "The broker refused the message (reason code \(ReasonCodes.hex(code)))",
                kind: .refused(reasonCode: code))
        }
    }

    /// Hands `publish` to the state machine; `continuation` gets the broker's reason code.
    private func submit(
        _ publish: Packet.Publish, token: UInt64, _ continuation: CheckedContinuation<UInt8, any Error>,
        _ shared: inout Shared
    ) {
        guard !shared.stopped else {
            continuation.resume(throwing: MQTTClientError("The MQTT client stopped", kind: .stopped))
            return
        }
        let qos = publish.qos
        switch shared.machine.publish(publish, token: token) {
        case .accepted(let actions):
            shared.publishWaiters[token] = continuation
            perform(actions, &shared)
        case .full:
            continuation.resume(
                throwing: MQTTClientError(
                    qos == .atMostOnce
                        ? "Not connected to the broker: a QoS 0 message is not queued"
                        : "The outgoing queue is full; retry once earlier messages are acknowledged",
                    kind: .unavailable))
        case .tooLarge:
            continuation.resume(
                throwing: MQTTClientError("The message is larger than the broker accepts", kind: .tooLarge))
        }
    }

    /// Queues `payload` for `topic` without waiting for the broker: QoS 1 messages are sent (again after
    /// a reconnect) until acknowledged. Returns false when the queue is full or the message is larger
    /// than the broker takes (and a QoS 0 message while disconnected).
    @discardableResult
    package func enqueue(topic: String, payload: [UInt8], qos: QoS = .atLeastOnce, retain: Bool = false) -> Bool {
        let publish = Packet.Publish(topic: topic, payload: payload, qos: qos, retain: retain)
        return shared.withLock { shared in
            let token = shared.nextToken
            shared.nextToken += 1
            guard !shared.stopped, case .accepted(let actions) = shared.machine.publish(publish, token: token) else {
                return false
            }
            perform(actions, &shared)
            return true
        }
    }

    /// Subscribes; kept across reconnects. Returns the granted QoS (or refusal code) per filter once
    /// the broker answered, which waits for a connection.
    @discardableResult
    package func subscribe(_ subscriptions: [Packet.Subscription]) async throws -> [UInt8] {
        let filters = subscriptions.map(\.filter)
        return try await withCheckedThrowingContinuation { continuation in
            shared.withLock { shared in
                guard !shared.stopped else {
                    continuation.resume(throwing: MQTTClientError("The MQTT client stopped", kind: .stopped))
                    return
                }
                shared.subscribeWaiters[filters, default: []].append(continuation)
                perform(shared.machine.subscribe(subscriptions), &shared)
            }
        }
    }

    /// Filters unsubscribed from whose UNSUBACK has not come yet; they are sent again on the next
    /// connection until it does.
    package var pendingUnsubscribes: Set<String> { shared.withLock { $0.machine.pendingUnsubscribes } }

    /// Unsubscribes (not waiting for the broker's answer).
    package func unsubscribe(_ filters: [String]) {
        shared.withLock { shared in perform(shared.machine.unsubscribe(filters), &shared) }
    }

    /// Returns once a connection is up.
    package func waitUntilConnected() async {
        await withCheckedContinuation { continuation in
            shared.withLock { shared in
                if shared.machine.state == .connected {
                    continuation.resume()
                } else {
                    shared.connectedWaiters.append(continuation)
                }
            }
        }
    }

    // MARK: Running

    /// Connects and stays connected until the task is cancelled, then disconnects cleanly.
    package func run() async {
        shared.withLock { $0.stopped = false }
        var delay = configuration.reconnectDelay
        while !Task.isCancelled {
            let connectedBefore = connectionCount
            do {
                try await connectOnce()
                if !Task.isCancelled {
                    logger.warning(
                        "MQTT connection closed by the broker",
                        metadata: ["mqtt.broker": "\(configuration.host):\(configuration.port)"])
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning(
                    "MQTT connection ended",
                    metadata: [
                        "mqtt.broker": "\(configuration.host):\(configuration.port)", "error": "\(error)",
                    ])
            }
            connectionClosed()
            if Task.isCancelled { break }
            if connectionCount > connectedBefore { delay = configuration.reconnectDelay }
            let wait = Duration.nanoseconds(
                Int64.random(in: delay.nanoseconds / 2...max(delay.nanoseconds / 2, delay.nanoseconds)))
            try? await Task.sleep(for: wait)
            delay = min(delay * 2, configuration.maxReconnectDelay)
        }
        connectionClosed()
        shared.withLock { shared in
            shared.stopped = true
            let stopped = MQTTClientError("The MQTT client stopped", kind: .stopped)
            for waiter in shared.publishWaiters.values { waiter.resume(throwing: stopped) }
            shared.publishWaiters.removeAll()
            for waiters in shared.subscribeWaiters.values { for waiter in waiters { waiter.resume(throwing: stopped) } }
            shared.subscribeWaiters.removeAll()
        }
    }

    private func connectionClosed() {
        shared.withLock { shared in
            shared.machine.connectionClosed()
            shared.outbox?.finish()
            shared.outbox = nil
            shared.wake?.finish()
            shared.wake = nil
            shared.channel = nil
            shared.pending.removeAll()
            shared.closeReason = nil
        }
    }

    private func connectOnce() async throws {
        let channel = try await openChannel()
        let (outbox, outboxContinuation) = AsyncStream.makeStream(of: Packet.self)
        let (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await channel.executeThenClose { inbound, outbound in
            shared.withLock { shared in
                shared.outbox = outboxContinuation
                shared.wake = wakeContinuation
                shared.channel = channel.channel
                perform(shared.machine.connectionOpened(now: .now), &shared)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.writeLoop(outbox, to: outbound) }
                group.addTask { try await self.keepAliveLoop() }
                group.addTask { try await self.deliveryLoop(wake) }
                group.addTask {
                    defer { channel.channel.close(promise: nil) }
                    try await withTaskCancellationHandler {
                        try await self.readLoop(inbound)
                    } onCancel: {
                        self.disconnect(channel.channel)
                    }
                }
                // The first to end (the connection closing, an error, cancellation) ends the others.
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    private func openChannel() async throws -> NIOAsyncChannel<Packet, Packet> {
        let configuration = self.configuration
        let tlsContext = try configuration.useTLS ? Self.tlsContext(configuration.tls) : nil
        let version = configuration.session.version
        let decoder = PacketDecoder(version: version, maximumPacketSize: Int(configuration.session.maximumPacketSize))
        return try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        // SNI takes a name, not an address: for an IP literal the certificate is checked
                        // against the address instead.
                        let name = configuration.tls.serverName ?? configuration.host
                        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
                        let handler = try NIOSSLClientHandler(
                            context: tlsContext, serverHostname: isAddress ? nil : name)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(PacketDecoderHandler(decoder: decoder)))
                    try channel.pipeline.syncOperations.addHandler(
                        MessageToByteHandler(PacketEncoderHandler(encoder: PacketEncoder(version: version))))
                    return try NIOAsyncChannel<Packet, Packet>(wrappingChannelSynchronously: channel)
                }
            }
    }

    static func tlsContext(_ tls: MQTTClientConfiguration.TLS) throws -> NIOSSLContext {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let caFile = tls.caFile {
            tlsConfiguration.trustRoots = .file(caFile)
        }
        if let certificateFile = tls.certificateFile {
            tlsConfiguration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map {
                .certificate($0)
            }
        }
        if let keyFile = tls.keyFile {
            tlsConfiguration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return try NIOSSLContext(configuration: tlsConfiguration)
    }

    private func writeLoop(_ outbox: AsyncStream<Packet>, to outbound: NIOAsyncChannelOutboundWriter<Packet>)
        async throws
    {
        for await packet in outbox {
            try await outbound.write(packet)
            shared.withLock { $0.machine.sent(now: .now) }
        }
    }

    private func keepAliveLoop() async throws {
        while true {
            try await Task.sleep(for: .milliseconds(500))
            let reason = shared.withLock { shared -> MQTTProtocolError? in
                perform(shared.machine.tick(now: .now), &shared)
                return shared.closeReason
            }
            if let reason { throw reason }
        }
    }

    private func readLoop(_ inbound: NIOAsyncChannelInboundStream<Packet>) async throws {
        for try await packet in inbound {
            let reason = shared.withLock { shared -> MQTTProtocolError? in
                let actions = shared.machine.received(packet)
                if case .connected? = actions.first {
                    logger.info(
                        "MQTT connected",
                        metadata: [
                            "mqtt.broker": "\(configuration.host):\(configuration.port)",
                            "mqtt.version": "\(configuration.session.version)",
                        ])
                }
                perform(actions, &shared)
                return shared.closeReason
            }
            if let reason { throw reason }
            // Back-pressure: while the application holds too many deliveries, stop reading.
            while shared.withLock({ $0.pending.count >= configuration.maxPendingDeliveries }) {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    private func deliveryLoop(_ wake: AsyncStream<Void>) async throws {
        for await _ in wake {
            while true {
                if shared.withLock({ $0.sessionLost }) {
                    do {
                        try await handler.sessionLost()
                        shared.withLock { $0.sessionLost = false }
                    } catch {
                        try Task.checkCancellation()
                        logger.warning(
                            "MQTT: a lost session could not be recorded; trying again", metadata: ["error": "\(error)"])
                        try await Task.sleep(for: retryAfter)
                        continue
                    }
                }
                let batch = shared.withLock { shared in
                    defer { shared.pending.removeAll(keepingCapacity: true) }
                    return shared.pending
                }
                if batch.isEmpty { break }
                while true {
                    do {
                        try await handler.receive(batch.map(\.publish))
                        break
                    } catch {
                        try Task.checkCancellation()
                        logger.warning(
                            "MQTT messages not stored; offered again",
                            metadata: ["messages.count": "\(batch.count)", "error": "\(error)"])
                        try await Task.sleep(for: retryAfter)
                    }
                }
                shared.withLock { shared in
                    for case let delivery? in batch.map(\.delivery) {
                        perform(shared.machine.acknowledge(delivery), &shared)
                    }
                }
            }
        }
    }

    /// Sends DISCONNECT on the way out of a cancelled connection.
    private func disconnect(_ channel: any Channel) {
        let packet = Packet.disconnect(Packet.Disconnect())
        channel.writeAndFlush(packet).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Carries out the state machine's actions; called with the lock held.
    private func perform(_ actions: [ClientStateMachine.Action], _ shared: inout Shared) {
        for action in actions {
            switch action {
            case .send(let packet):
                shared.outbox?.yield(packet)
            case .connected(let sessionPresent, _):
                if !sessionPresent {
                    shared.sessionLost = true
                    shared.wake?.yield()
                }
                shared.connections += 1
                for waiter in shared.connectedWaiters { waiter.resume() }
                shared.connectedWaiters.removeAll()
            case .deliver(let publish, let delivery):
                shared.received += 1
                shared.pending.append((publish, delivery))
                shared.wake?.yield()
            case .published(let token, let reasonCode):
                if reasonCode < 0x80 { shared.published += 1 }
                shared.publishWaiters.removeValue(forKey: token)?.resume(returning: reasonCode)
            case .subscribed(let filters, let reasonCodes):
                // A request is answered by the SUBACK that covers all its filters (a resubscription
                // after a reconnect covers them all at once).
                let codes = Dictionary(zip(filters, reasonCodes), uniquingKeysWith: { _, last in last })
                for (requested, waiters) in shared.subscribeWaiters where requested.allSatisfy({ codes[$0] != nil }) {
                    let answer = requested.compactMap { codes[$0] }
                    for waiter in waiters { waiter.resume(returning: answer) }
                    shared.subscribeWaiters[requested] = nil
                }
            case .unsubscribed:
                break
            case .close(let error):
                if shared.closeReason == nil { shared.closeReason = error }
                logger.error(
                    "MQTT connection closed by the protocol",
                    metadata: ["mqtt.reason_code": "\(error.reasonCode)", "error": "\(error.message)"])
                shared.channel?.close(promise: nil)
            }
        }
    }
}

extension Duration {
    /// The whole duration in nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
