/// A message arriving from a transport, validated (topic, size) but not yet journaled.
package struct IncomingMessage: Sendable, Hashable {
    /// The topic.
    package var topic: String
    /// The payload bytes as received.
    package var payload: [UInt8]
    /// When it was received, in milliseconds since the Unix epoch.
    package var receivedAt: Int64
    /// The MQTT client id of the publisher, if any.
    package var clientID: String?
    /// The gateway whose token published it over HTTP, if any.
    package var gateway: String?
    /// How the broker delivered it, if it came from one with QoS 1: journaled with the message.
    package var receipt: BrokerReceipt?

    /// Bundles a message.
    package init(
        topic: String, payload: [UInt8], receivedAt: Int64, clientID: String? = nil, gateway: String? = nil,
        receipt: BrokerReceipt? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.receivedAt = receivedAt
        self.clientID = clientID
        self.gateway = gateway
        self.receipt = receipt
    }
}

/// How an MQTT broker delivered a QoS 1 message: stored in the journal's transaction, so that after a
/// crash the broker's redelivery of a message already journaled (its PUBACK never sent) is recognised
/// and acknowledged instead of journaled twice.
package struct BrokerReceipt: Sendable, Hashable {
    /// The MQTT session (the client identifier) it arrived on.
    package var session: String
    /// The broker's packet identifier.
    package var packetID: UInt16
    /// A hash of the topic and payload, telling a redelivery from a new message reusing the identifier.
    package var digest: UInt64

    /// Bundles a receipt.
    package init(session: String, packetID: UInt16, digest: UInt64) {
        self.session = session
        self.packetID = packetID
        self.digest = digest
    }
}

/// Why ingest refused messages; none of them was journaled.
package enum IngestRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The runtime's bounded queues are full; the sender should retry after `retryAfter` seconds
    /// (HTTP 429 with `Retry-After`).
    case overloaded(retryAfter: Int)
    /// The runtime is stopping or not started (HTTP 503).
    case unavailable
    /// The journal could not store them (HTTP 503 with `Retry-After`).
    case journalFailed(String)

    package var description: String {
        switch self {
        case .overloaded: "too many messages are waiting to be handled"
        case .unavailable: "the rules runtime is not running"
        case .journalFailed(let reason): "the journal could not store the messages: \(reason)"
        }
    }
}

/// Where transports hand messages: journaled durably, then queued for the rules.
package protocol MessageIngest: Sendable {
    /// Journals `messages` (in one group commit) and queues them for the rules; returns their ids in
    /// order. When it returns, the messages are durable.
    ///
    /// - Throws: ``IngestRefusal``; then none of the messages was journaled.
    func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64]

    /// Whether ingest would refuse any message now (as overloaded): lets a caller skip decoding a
    /// request that would be refused.
    var isFull: Bool { get }

    /// How the active rules name devices in topics (`devices:` of rules.yaml): which device a
    /// gateway's message is for, so that a gateway publishes only for its own devices.
    var devicePolicy: DevicePolicy { get }
}

extension MessageIngest {
    package var isFull: Bool { false }
    package var devicePolicy: DevicePolicy { DevicePolicy() }
}
