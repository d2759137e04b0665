import Synchronization

/// A message Signalbox publishes: shadow replies and events, republished rule output.
package struct OutgoingMessage: Sendable, Hashable {
    /// The topic.
    package var topic: String
    /// The payload bytes.
    package var payload: [UInt8]

    /// Creates a message.
    package init(topic: String, payload: [UInt8]) {
        self.topic = topic
        self.payload = payload
    }
}

/// The port Signalbox publishes messages through: the MQTT client in production; rules subscribe to
/// it too (shadow `documents` events are a FROM source).
package protocol MessagePublisher: Sendable {
    /// Whether published messages go anywhere; when false, producers may skip building them.
    var isConnected: Bool { get }

    /// Publishes `messages`, in order; what cannot be sent now (a full queue) is dropped and logged.
    func publish(_ messages: [OutgoingMessage]) async

    /// Publishes `messages`, in order, and returns once the transport has them for good (the broker
    /// acknowledged them); throws when it cannot take them now, so the caller can try again later.
    func deliver(_ messages: [OutgoingMessage]) async throws
}

extension MessagePublisher {
    /// Publishers deliver what they are given unless they say otherwise.
    package var isConnected: Bool { true }

    /// For publishers that hand messages on at once: ``publish(_:)``.
    package func deliver(_ messages: [OutgoingMessage]) async throws {
        await publish(messages)
    }
}

/// What ``MessagePublisher/deliver(_:)`` throws for a message the transport can never take (too
/// large, refused by the broker): sending it again would fail the same way.
package struct UndeliverableMessage: Error, Sendable, CustomStringConvertible {
    /// Why, without the payload.
    package var reason: String

    /// The error for `reason`.
    package init(reason: String) {
        self.reason = reason
    }

    package var description: String { reason }
}

/// A ``MessagePublisher`` that drops everything.
package struct DiscardingPublisher: MessagePublisher {
    /// Creates the publisher.
    package init() {}
    /// Nothing is delivered, so nothing needs building.
    package var isConnected: Bool { false }
    package func publish(_ messages: [OutgoingMessage]) async {}
}

/// A ``MessagePublisher`` that keeps what it is given, for tests; ``deliver(_:)`` can be made to fail
/// as a disconnected broker's does.
package final class RecordingPublisher: MessagePublisher {
    private let recorded = Mutex<[OutgoingMessage]>([])
    private let refusal = Mutex<(any Error & Sendable)?>(nil)

    /// Creates an empty recorder.
    package init() {}

    package func publish(_ messages: [OutgoingMessage]) async {
        recorded.withLock { $0.append(contentsOf: messages) }
    }

    /// Keeps `messages`, or throws the error given to ``refuseDeliveries(with:)`` (keeping nothing).
    package func deliver(_ messages: [OutgoingMessage]) async throws {
        if let refusal = refusal.withLock({ $0 }) { throw refusal }
        await publish(messages)
    }

    /// Makes ``deliver(_:)`` throw `error` (for instance ``Unavailable`` or an
    /// ``UndeliverableMessage``), or keep messages again (`nil`).
    package func refuseDeliveries(with error: (any Error & Sendable)?) { refusal.withLock { $0 = error } }

    /// A refusal a later attempt may overcome, as a disconnected broker's.
    package struct Unavailable: Error, CustomStringConvertible {
        package init() {}
        package var description: String { "the publisher is not taking messages now" }
    }

    /// Everything published so far, in order.
    package var messages: [OutgoingMessage] { recorded.withLock { $0 } }

    /// Forgets everything published so far.
    package func removeAll() { recorded.withLock { $0.removeAll() } }
}

/// A ``MessagePublisher`` that hands every message to each of several publishers, in order.
package struct FanOutPublisher: MessagePublisher {
    /// The publishers.
    package var publishers: [any MessagePublisher]

    /// Creates a fan-out over `publishers`.
    package init(_ publishers: [any MessagePublisher]) {
        self.publishers = publishers
    }

    package var isConnected: Bool { publishers.contains { $0.isConnected } }

    package func publish(_ messages: [OutgoingMessage]) async {
        for publisher in publishers where publisher.isConnected { await publisher.publish(messages) }
    }

    package func deliver(_ messages: [OutgoingMessage]) async throws {
        for publisher in publishers where publisher.isConnected { try await publisher.deliver(messages) }
    }
}
