import Logging
import SignalboxCore
import SignalboxSQL

/// The one path by which messages Signalbox publishes itself (republished output, shadow `documents`
/// events) reach its rules.
///
/// It is made first and handed to whoever publishes (the handlers, the shadow service); the
/// runtime is given it when it is made and takes what it carries while it runs. A publisher waits
/// until its messages are journaled (or refused); what no rule listens to goes nowhere.
package final class MessageBus: MessagePublisher {
    private struct Delivery: Sendable {
        let messages: [OutgoingMessage]
        let done: CheckedContinuation<Void, any Error>
    }

    private let queue = WorkQueue<Delivery>()
    private let logger: Logger
    /// Whether a broker carries published messages back to the runtime: see ``init(brokered:logger:)``.
    let brokered: Bool

    /// An empty bus.
    ///
    /// - Parameter brokered: Whether a broker carries published messages back to the runtime (with
    ///   MQTT on, Signalbox subscribes to its rules' filters that don't begin with `$`, and to
    ///   `$aws/rules/{rule}/#`). Then only the other topics beginning with `$` take the bus, and
    ///   nothing reaches the rules twice.
    package init(brokered: Bool = false, logger: Logger = Logger(label: "signalbox.runtime")) {
        self.brokered = brokered
        self.logger = logger
    }

    package func publish(_ messages: [OutgoingMessage]) async {
        do {
            try await deliver(messages)
        } catch {
            logger.error("a published message could not be journaled", metadata: ["error": "\(error)"])
        }
    }

    /// Journals the messages a rule listens to; throws ``IngestRefusal`` when they could not be.
    package func deliver(_ messages: [OutgoingMessage]) async throws {
        guard !messages.isEmpty else { return }
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            if !queue.push(Delivery(messages: messages, done: done)) {
                done.resume(throwing: IngestRefusal.unavailable)
            }
        }
    }

    /// Takes deliveries, many at a time, and journals what the active rules listen to, until
    /// ``close()``.
    func run(rules: Rulebook, intake: Intake, now: @escaping @Sendable () -> Int64) async {
        while let batch = await queue.next(max: 256) {
            let ruleSet = rules.active.ruleSet
            let time = now()
            let wanted = batch.flatMap(\.messages).filter {
                (!brokered || ($0.topic.hasPrefix("$") && !BasicIngestTopic.isReserved($0.topic)))
                    && !ruleSet.candidates(forTopic: $0.topic).isEmpty
            }.map { IncomingMessage(topic: $0.topic, payload: $0.payload, receivedAt: time) }
            do throws(IngestRefusal) {
                _ = try await intake.ingest(wanted, force: true)
                for delivery in batch { delivery.done.resume() }
            } catch {
                for delivery in batch { delivery.done.resume(throwing: error) }
            }
        }
    }

    /// Refuses new deliveries; those queued are still taken.
    func close() {
        queue.close()
    }
}
