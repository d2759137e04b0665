import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Synchronization

/// One message's progress through the runtime: done when every rule it matched is done.
final class MessageTicket: Sendable {
    let id: Int64
    private let remaining: Atomic<Int>
    private let completions: Completions

    /// A ticket held by its lane: it cannot complete before ``ruleDone()`` has been called once more
    /// than ``addRule()``.
    init(id: Int64, completions: Completions) {
        self.id = id
        self.remaining = Atomic(1)
        self.completions = completions
    }

    /// One more rule run to wait for.
    func addRule() {
        remaining.add(1, ordering: .relaxed)
    }

    /// One rule run is done; true when it was the last, which completes the message (the caller
    /// completes it, see ``completeAll(_:)``).
    func ruleDone() -> Bool {
        remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0
    }

    /// One rule run is done; the last one completes the message at once.
    func ruleDoneNow() {
        if ruleDone() { completions.complete([id]) }
    }

    /// Completes the messages of `tickets` (done tickets of one runtime) together.
    static func completeAll(_ tickets: [MessageTicket]) {
        guard let completions = tickets.first?.completions else { return }
        completions.complete(tickets.map(\.id))
    }
}

/// An action that failed for good, and why: what the error action reports and a dead letter keeps.
struct ActionFailure: Sendable {
    var source: ActionSource
    var error: String
}

/// One rule's actions for one message. When they have all finished, failures go to the rule's
/// error action (one invocation with every failure, as AWS's `errorAction` does); what the error
/// action cannot handle becomes dead letters.
final class RuleRun: Sendable {
    let ticket: MessageTicket
    let rule: ActiveRule
    let entry: JournalEntry
    let device: String
    let version: Int
    /// The error action's configuration, rendered against the message.
    let errorConfig: Value?
    let completions: Completions
    private let state: Mutex<(remaining: Int, failures: [ActionFailure])>

    /// A run held by its lane while it adds actions: it cannot finish before ``releaseLane()``.
    /// Registers itself with `ticket`.
    init(
        ticket: MessageTicket, rule: ActiveRule, entry: JournalEntry, device: String, version: Int,
        errorConfig: Value?, completions: Completions
    ) {
        ticket.addRule()
        self.ticket = ticket
        self.rule = rule
        self.entry = entry
        self.device = device
        self.version = version
        self.errorConfig = errorConfig
        self.completions = completions
        self.state = Mutex((1, []))
    }

    /// One more action to wait for.
    func addAction() {
        state.withLock { $0.remaining += 1 }
    }

    /// The lane has added every action; see ``actionFinished(_:failure:)`` for the result.
    func releaseLane() -> MessageTicket? {
        finish(nil)
    }

    /// An action of the rule succeeded (`failure` nil) or failed for good; throttled actions count
    /// as finished too. Returns the message's ticket when this completed the message: the caller
    /// completes it (with others, see ``MessageTicket/completeAll(_:)``).
    func actionFinished(_ source: ActionSource, failure: String?) -> MessageTicket? {
        finish(failure.map { ActionFailure(source: source, error: $0) })
    }

    private func finish(_ failure: ActionFailure?) -> MessageTicket? {
        let finished = state.withLock { state -> [ActionFailure]? in
            if let failure { state.failures.append(failure) }
            state.remaining -= 1
            return state.remaining == 0 ? state.failures : nil
        }
        guard let failures = finished else { return nil }
        if failures.isEmpty {
            return ticket.ruleDone() ? ticket : nil
        }
        // The message's ticket stays held until the failures are handled, so a drain waits for it.
        completions.tasks.spawn { await self.handleFailures(failures) }
        return nil
    }

    private func handleFailures(_ failures: [ActionFailure]) async {
        if let runner = rule.errorRunner, let errorConfig {
            let source = ActionSource(
                rule: rule.name, ruleSetVersion: version, actionIndex: nil, function: runner.definition.function.value)
            let invocation = Invocation(
                message: metadata, output: .json(errorPayload(failures)), config: errorConfig, source: source,
                idempotencyKey: source.idempotencyKey(messageID: entry.id), deadline: .now,
                baseLogger: completions.logger)
            await runner.enqueue(
                [
                    (
                        ActionJob(
                            invocation: invocation, completion: .errorAction(self, failures: failures), received: nil),
                        Lanes.hash(device)
                    )
                ])
        } else {
            await deadLetter(failures, note: nil)
        }
    }

    /// Called by the error action's run when it has finished.
    func errorActionFinished(_ failures: [ActionFailure], failure: String?) async {
        if let failure {
            await deadLetter(failures, note: "error action failed: \(failure)")
            return
        }
        for failure in failures {
            guard let index = failure.source.actionIndex, index < rule.runners.count else { continue }
            rule.runners[index].counters.handledByErrorAction.add(1, ordering: .relaxed)
        }
        completions.logger.notice(
            "action failures handled by the error action",
            metadata: [
                "rule.name": "\(rule.name)", "rule_set.version": "\(version)", "message.id": "\(entry.id)",
                "device.id": "\(device)", "failures": "\(failures.count)",
            ])
        ticket.ruleDoneNow()
    }

    private func deadLetter(_ failures: [ActionFailure], note: String?) async {
        for failure in failures {
            let error = note.map { failure.error + "; " + $0 } ?? failure.error
            let letter = DeadLetter(
                createdAt: completions.now(), source: failure.source,
                idempotencyKey: failure.source.idempotencyKey(messageID: entry.id), message: entry,
                device: device, error: error, attempts: rule.attempts(of: failure.source.actionIndex))
            // Not stored (the runtime is stopping): the message stays in flight for the next start.
            guard await completions.storeDeadLetter(letter, rule: rule) else { return }
        }
        ticket.ruleDoneNow()
    }

    var metadata: MessageMetadata {
        MessageMetadata(entry, device: device)
    }

    /// The error action's input, in the shape of AWS IoT's error action message.
    func errorPayload(_ failures: [ActionFailure]) -> Value {
        var object = JSONObject(minimumCapacity: 8)
        object.appendUnique(key: "ruleName", value: .string(rule.name))
        object.appendUnique(key: "topic", value: .string(entry.topic))
        object.appendUnique(key: "cloudwatchTraceId", value: .string(String(entry.id)))
        object.appendUnique(key: "clientId", value: .string(entry.clientID ?? entry.gateway ?? ""))
        object.appendUnique(key: "base64OriginalPayload", value: .string(Base64.encode(entry.payload)))
        let items: [Value] = failures.map { failure in
            var item = JSONObject(minimumCapacity: 3)
            item.appendUnique(key: "failedAction", value: .string(failure.source.function))
            item.appendUnique(
                key: "failedResource", value: .string("\(failure.source.rule)/actions/\(failure.source.actionTag)"))
            item.appendUnique(key: "errorMessage", value: .string(failure.error))
            return .object(item)
        }
        object.appendUnique(key: "failures", value: .array(items))
        object.appendUnique(key: "messageId", value: .int(entry.id))
        object.appendUnique(key: "ruleSetVersion", value: .int(Int64(version)))
        return .object(object)
    }
}

/// Who is told when an invocation has finished.
enum JobCompletion: Sendable {
    /// One of a rule run's actions.
    case action(RuleRun)
    /// A rule run's error action, reporting on `failures`.
    case errorAction(RuleRun, failures: [ActionFailure])

    /// Returns the message's ticket when this completed the message (see ``RuleRun/actionFinished(_:failure:)``).
    func finished(_ source: ActionSource, failure: String?) -> MessageTicket? {
        switch self {
        case .action(let run):
            return run.actionFinished(source, failure: failure)
        case .errorAction(let run, let failures):
            // The message's ticket stays held until the outcome is counted or the failures
            // dead-lettered, so a drain waits for it.
            run.completions.tasks.spawn { await run.errorActionFinished(failures, failure: failure) }
            return nil
        }
    }
}
