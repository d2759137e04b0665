import SignalboxCore
import SignalboxSQL

extension RulesRuntime {
    /// Runs a dead letter's action again, now, against the active rules: the rule must still have
    /// the action (same index and function) and its WHERE must still hold. Delivered, the letter is
    /// removed; failed, it stays with one more attempt and the new error.
    package func retryDeadLetter(_ id: Int64) async -> DeadLetterRetryOutcome {
        let letter: DeadLetter
        do {
            guard let found = try await storage.deadLetters.get(id) else { return .notFound }
            letter = found
        } catch {
            return .failed(error: "the dead letter could not be read: \(type(of: error))")
        }
        let active = rules.active
        guard let rule = active.ruleSet.rule(named: letter.source.rule),
            let index = letter.source.actionIndex, index < rule.actions.count,
            rule.actions[index].function == letter.source.function
        else { return .ruleGone }
        let activeRule = active.rules[rule.index]
        let entry = letter.message
        let message = entry.ruleInput(accountID: configuration.accountID)
        let outcome: Result<Void, any Error>
        do {
            let frame = rule.statement.makeFrame(for: message, services: evaluation)
            guard let output = try rule.statement.evaluate(in: frame) else {
                return await retryFailed(letter, error: "the rule's WHERE is no longer true for this message")
            }
            let config = try activeRule.constantConfigs[index] ?? rule.actions[index].config.render(in: frame)
            let runner = activeRule.runners[index]
            let timeout = runner.definition.timeout
            let invocation = Invocation(
                message: MessageMetadata(entry, device: letter.device), output: output, config: config,
                source: ActionSource(
                    rule: rule.name, ruleSetVersion: active.version, actionIndex: index,
                    function: rule.actions[index].function),
                idempotencyKey: letter.idempotencyKey, deadline: .now.advanced(by: timeout),
                attempt: letter.attempts + 1, baseLogger: logger)
            let handler = runner.handler
            try await Attempt.run(before: invocation.deadline, timeout: timeout) {
                try await handler.invoke(invocation)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success:
            _ = try? await storage.deadLetters.remove(id)
            logger.notice("dead letter delivered", metadata: ["dead_letter.id": "\(id)", "rule.name": "\(rule.name)"])
            return .delivered
        case .failure(let error):
            return await retryFailed(letter, error: Attempt.describe(error))
        }
    }

    private func retryFailed(_ letter: DeadLetter, error: String) async -> DeadLetterRetryOutcome {
        var updated = letter
        updated.attempts += 1
        updated.error = error
        _ = try? await storage.deadLetters.add(updated)
        return .failed(error: error)
    }
}
