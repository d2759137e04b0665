import SignalboxJSON
import SignalboxSQL

/// What one message would do to a rule set, found without running any action: which rules' FROM
/// matches its topic, for each whether WHERE is true (and if not, why), the SELECT output, and every
/// action's `with:` parameters with their templates rendered.
///
/// `signalbox test` prints it as text and `POST /admin/rules/test` returns it as JSON; both share
/// this evaluation.
///
/// For example:
/// ```swift
/// let message = Message(topic: "devices/f1/telemetry", payload: Array(#"{"temp": 9}"#.utf8), timestamp: 0)
/// let trial = RuleTrial(ruleSet: ruleSet, message: message)
/// trial.matchedCount   // how many candidate rules matched
/// ```
package struct RuleTrial: Sendable {
    /// The text shown instead of a parameter whose value came from the environment.
    package static let hiddenParameter = "(from the environment, not shown)"

    /// A candidate rule (its FROM matches the topic) and what it did.
    package struct Candidate: Sendable {
        /// The rule's name.
        package var rule: String
        /// What evaluating it gave.
        package var result: Result
    }

    /// The outcome of evaluating one candidate rule.
    package enum Result: Sendable {
        /// WHERE was true: the SELECT output and the actions that would run.
        case matched(output: Output, actions: [ActionTrial])
        /// WHERE was not true; each condition's value and why.
        case notMatched(conditions: [ConditionReport])
        /// Evaluation failed (`error` names no payload value). No action runs, not even the error
        /// action: as in AWS IoT, the error action handles failed actions only (docs/runtime.md).
        case failed(error: String)
    }

    /// One action of a matched rule, as it would be invoked.
    package struct ActionTrial: Sendable {
        /// The action's position in its rule (0-based).
        package var index: Int
        /// The handler function.
        package var function: String
        /// The throttle window and the rendered throttle key (nil when the key has none or failed).
        package var throttle: (per: Duration, key: String?)?
        /// The rendered `with:` parameters; nil when rendering failed.
        package var parameters: Value?
        /// Why rendering the parameters failed (no payload values).
        package var failure: String?
        /// Top-level `with:` keys whose value comes from `${env:…}`: possibly secrets, never shown.
        package var hiddenKeys: Set<String>

        /// The parameters with every hidden key's value replaced by ``RuleTrial/hiddenParameter``;
        /// nil when rendering failed.
        package var shownParameters: Value? {
            guard let value = parameters else { return nil }
            guard case .object(var object) = value, !hiddenKeys.isEmpty else { return value }
            for key in hiddenKeys where object[key] != nil { object[key] = .string(RuleTrial.hiddenParameter) }
            return .object(object)
        }
    }

    /// A rule whose FROM does not match the topic, or which is disabled.
    package struct Other: Sendable, Hashable {
        /// The rule's name.
        package var rule: String
        /// Whether it is enabled.
        package var enabled: Bool
        /// Its FROM filter.
        package var topicFilter: String
    }

    /// The candidate rules, in file order.
    package var candidates: [Candidate]
    /// The other rules, in file order.
    package var others: [Other]
    /// How many rules the set has.
    package var ruleCount: Int

    /// How many candidates matched.
    package var matchedCount: Int {
        candidates.count { if case .matched = $0.result { true } else { false } }
    }

    /// Evaluates `message` against every rule of `ruleSet` whose FROM matches its topic.
    ///
    /// - Parameter services: What `get_shadow()` and other lookups read.
    package init(ruleSet: RuleSet, message: Message, services: EvaluationServices = EvaluationServices()) {
        let candidates = ruleSet.candidates(forTopic: message.topic)
        let names = Set(candidates.map(\.name))
        self.candidates = candidates.map { rule in
            Candidate(rule: rule.name, result: Self.evaluate(rule, message, services))
        }
        self.others = ruleSet.rules.filter { !names.contains($0.name) }.map {
            Other(rule: $0.name, enabled: $0.isEnabled, topicFilter: $0.topicFilter.text)
        }
        self.ruleCount = ruleSet.rules.count
    }

    static func evaluate(_ rule: Rule, _ message: Message, _ services: EvaluationServices) -> Result {
        let frame = rule.statement.makeFrame(for: message, services: services)
        let output: Output?
        do {
            output = try rule.statement.evaluate(in: frame)
        } catch {
            return .failed(error: Self.message(of: error))
        }
        guard let output else { return .notMatched(conditions: rule.statement.explainCondition(in: frame)) }
        let actions = rule.actions.map { action in
            var throttle: (per: Duration, key: String?)?
            if let policy = action.definition.throttle {
                throttle = (policy.per, (try? action.throttleKey?.render(in: frame)) ?? nil)
            }
            var parameters: Value?
            var failure: String?
            do {
                parameters = try action.config.render(in: frame)
            } catch {
                failure = Self.message(of: error)
            }
            return ActionTrial(
                index: action.index ?? 0, function: action.function, throttle: throttle, parameters: parameters,
                failure: failure, hiddenKeys: Self.environmentKeys(action.definition.with))
        }
        return .matched(output: output, actions: actions)
    }

    /// An evaluation error's message; other errors say only that evaluation failed.
    static func message(of error: any Error) -> String {
        (error as? EvaluationError)?.message ?? "evaluation failed"
    }

    /// Top-level `with:` keys whose value contains an `${env:…}` reference: possibly a secret.
    package static func environmentKeys(_ config: ConfigValue) -> Set<String> {
        guard case .map(let entries) = config.kind else { return [] }
        var keys = Set<String>()
        for entry in entries where containsSubstitution(entry.value) { keys.insert(entry.key.value) }
        return keys
    }

    static func containsSubstitution(_ value: ConfigValue) -> Bool {
        switch value.kind {
        case .string(let string): !string.substitutions.isEmpty
        case .array(let items): items.contains(where: containsSubstitution)
        case .map(let entries): entries.contains { containsSubstitution($0.value) }
        default: false
        }
    }

    /// A condition's value as `signalbox test` describes it: `true`, `false`, `Undefined`, `Null`,
    /// or the type it has instead of Boolean (never the value itself).
    package static func describe(_ value: Value?) -> String {
        guard let value else { return "Undefined" }
        switch value {
        case .bool(let b): return b ? "true" : "false"
        case .null: return "Null"
        case .int, .double: return "a number, not a Boolean"
        case .string: return "a String, not a Boolean"
        case .array: return "an Array, not a Boolean"
        case .object: return "an Object, not a Boolean"
        }
    }
}
