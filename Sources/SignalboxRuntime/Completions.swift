import Logging
import SignalboxCore

/// Where finished work goes, forward: done messages to the in-flight tracker (whose checkpoint the
/// ``Checkpointer`` saves), failures for good to the dead letters. Message tickets and rule runs
/// hold this, never the runtime.
final class Completions: Sendable {
    let tracker: InFlightTracker
    let deadLetters: any DeadLetterStorage
    let tasks: RuntimeTasks
    let metrics: RuntimeMetrics
    let logger: Logger
    let now: @Sendable () -> Int64

    init(
        tracker: InFlightTracker, deadLetters: any DeadLetterStorage, tasks: RuntimeTasks, metrics: RuntimeMetrics,
        now: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.tracker = tracker
        self.deadLetters = deadLetters
        self.tasks = tasks
        self.metrics = metrics
        self.now = now
        self.logger = logger
    }

    /// Messages are done (every rule they matched has finished).
    func complete(_ ids: [Int64]) {
        tracker.complete(ids)
        metrics.handled.increment(by: Int64(ids.count))
    }

    /// Stores a failed action that could not be handled, trying again (every 5 s at most) until it
    /// is stored or the runtime stops; returns whether it was stored. A message whose dead letter is
    /// not stored must not be completed: it is handled again at the next start.
    func storeDeadLetter(_ letter: DeadLetter, rule: ActiveRule) async -> Bool {
        var logger = self.logger
        logger[metadataKey: "rule.name"] = "\(letter.source.rule)"
        logger[metadataKey: "rule_set.version"] = "\(letter.source.ruleSetVersion)"
        logger[metadataKey: "message.id"] = "\(letter.message.id)"
        logger[metadataKey: "device.id"] = "\(letter.device)"
        var attempt = 1
        while true {
            do {
                _ = try await deadLetters.add(letter)
                metrics.deadLetters.increment()
                if let index = letter.source.actionIndex, index < rule.runners.count {
                    rule.runners[index].counters.deadLettered.add(1, ordering: .relaxed)
                }
                logger.warning("action dead-lettered", metadata: ["error": "\(letter.error)"])
                return true
            } catch  where attempt <= 5 || attempt % 12 == 0 {
                // Logged at the first tries, then about once a minute: an outage of the store with
                // many failures in flight must not flood the log.
                logger.error("storing a dead letter failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            } catch {}
            do {
                try await Task.sleep(for: .milliseconds(min(200 * attempt, 5_000)))
            } catch {
                return false  // stopping: the message stays in flight
            }
            attempt += 1
        }
    }
}
