/// A message Signalbox publishes: shadow replies and events, republished rule output.
public struct OutgoingMessage: Sendable, Hashable {
    /// The topic.
    public var topic: String
    /// The payload bytes.
    public var payload: [UInt8]

    /// Creates a message.
    public init(topic: String, payload: [UInt8]) {
        self.topic = topic
        self.payload = payload
    }
}

/// The port Signalbox publishes messages through: the MQTT client in production; rules subscribe to
/// it too (shadow `documents` events are a FROM source).
public protocol MessagePublisher: Sendable {
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
    public var isConnected: Bool { true }

    /// For publishers that hand messages on at once: ``publish(_:)``.
    public func deliver(_ messages: [OutgoingMessage]) async throws {
        await publish(messages)
    }
}

/// What ``MessagePublisher/deliver(_:)`` throws for a message the transport can never take (too
/// large, refused by the broker): sending it again would fail the same way.
public struct UndeliverableMessage: Error, Sendable, CustomStringConvertible {
    /// Why, without the payload.
    public var reason: String

    /// The error for `reason`.
    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// A ``MessagePublisher`` that drops everything.
package struct DiscardingPublisher: MessagePublisher {
    /// Creates the publisher.
    package init() {}
    /// Nothing is delivered, so nothing needs building.
    package var isConnected: Bool { false }
    package func publish(_ messages: [OutgoingMessage]) async {}
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
