import SignalboxCore
import Synchronization

/// A ``MessagePublisher`` that keeps what it is given, for tests; ``deliver(_:)`` can be made to fail
/// as a disconnected broker's does.
public final class RecordingPublisher: MessagePublisher {
    private let recorded = Mutex<[OutgoingMessage]>([])
    private let refusal = Mutex<(any Error & Sendable)?>(nil)

    /// Creates an empty recorder.
    public init() {}

    public func publish(_ messages: [OutgoingMessage]) async {
        recorded.withLock { $0.append(contentsOf: messages) }
    }

    /// Keeps `messages`, or throws the error given to ``refuseDeliveries(with:)`` (keeping nothing).
    public func deliver(_ messages: [OutgoingMessage]) async throws {
        if let refusal = refusal.withLock({ $0 }) { throw refusal }
        await publish(messages)
    }

    /// Makes ``deliver(_:)`` throw `error` (for instance ``Unavailable`` or an
    /// ``UndeliverableMessage``), or keep messages again (`nil`).
    public func refuseDeliveries(with error: (any Error & Sendable)?) { refusal.withLock { $0 = error } }

    /// A refusal a later attempt may overcome, as a disconnected broker's.
    public struct Unavailable: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the publisher is not taking messages now" }
    }

    /// Everything published so far, in order.
    public var messages: [OutgoingMessage] { recorded.withLock { $0 } }

    /// Forgets everything published so far.
    public func removeAll() { recorded.withLock { $0.removeAll() } }
}
