import Logging
import SignalboxCore
import Synchronization

/// Ingest: journals messages (in one group commit) and hands them to their lanes. It refuses when
/// the messages in flight reach the capacity, and once a stop has begun.
final class Intake: Sendable {
    private let tracker: InFlightTracker
    private let journal: any MessageJournal
    private let silence: SilenceMonitor
    private let lanes: Lanes
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let open = Atomic<Bool>(true)

    init(
        tracker: InFlightTracker, journal: any MessageJournal, silence: SilenceMonitor, lanes: Lanes,
        metrics: RuntimeMetrics, logger: Logger
    ) {
        self.tracker = tracker
        self.journal = journal
        self.silence = silence
        self.lanes = lanes
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether messages are taken (until ``close()``).
    var isOpen: Bool { open.load(ordering: .relaxed) }

    /// Takes no more messages.
    func close() {
        open.store(false, ordering: .relaxed)
    }

    /// Journals and dispatches `messages`; `force` skips the capacity check (for messages Signalbox
    /// generates itself, which must not be refused). Returns their ids, in order.
    func ingest(_ messages: [IncomingMessage], force: Bool) async throws(IngestRefusal) -> [Int64] {
        guard !messages.isEmpty else { return [] }
        let received = ContinuousClock.now
        guard isOpen else { throw .unavailable }
        guard let ids = tracker.allocate(messages.map(\.payload.count), force: force) else {
            metrics.refused.increment()
            throw .overloaded(retryAfter: 1)
        }
        var entries: [JournalEntry] = []
        entries.reserveCapacity(messages.count)
        for (id, message) in zip(ids, messages) {
            entries.append(JournalEntry(id: id, message: message))
        }
        // Silence is not judged past these until their lane has seen them.
        silence.expect(entries.lazy.filter { !$0.isDeviceEvent }.map(\.receivedAt))
        do {
            try await journal.append(entries)
        } catch {
            silence.passed(entries.lazy.filter { !$0.isDeviceEvent }.map(\.receivedAt))
            tracker.complete(ids)
            logger.error("journal append failed", metadata: ["error": "\(error)"])
            throw .journalFailed("\(type(of: error))")
        }
        lanes.dispatch(entries, received: received)
        return ids
    }

    /// Journals the device events the silence monitor decides, in the order decided, until the
    /// monitor's queue is closed.
    func journalDeviceEvents() async {
        while let events = await silence.events.next(max: 256) {
            let messages = events.map(\.message)
            var attempt = 1
            while true {
                // Stopping: the devices' state is not saved, so the next start decides again.
                guard isOpen else { break }
                do {
                    _ = try await ingest(messages, force: true)
                    silence.journaled(events)
                    break
                } catch {
                    logger.error(
                        "device events could not be journaled",
                        metadata: ["attempt": "\(attempt)", "events": "\(events.count)", "error": "\(error)"])
                }
                if attempt == 5 {
                    // Given up: the devices' state is saved again from now on.
                    silence.journaled(events)
                    break
                }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
                attempt += 1
            }
        }
    }
}
