import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Synchronization

/// A rule's counters since it was loaded or last changed (see ``RuleDefinition/behaviour``).
final class RuleCounters: Sendable {
    let evaluated = Atomic<Int>(0)
    let matched = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    /// Each action's, in order, then the error action's (if any).
    let actions: [ActionCounters]

    /// Zeroed counters for `actions` actions.
    init(actions: Int) {
        self.actions = (0..<actions).map { _ in ActionCounters() }
    }
}

/// A rule of the running rule set: its compiled form, one runner per action, its counters.
final class ActiveRule: Sendable {
    let rule: Rule
    let runners: [ActionRunner]
    /// The rendered `with:` of each action whose configuration has no template.
    let constantConfigs: [Value?]
    let errorRunner: ActionRunner?
    let errorConstantConfig: Value?
    /// Each action's source (rule, rule-set version, index, function).
    let sources: [ActionSource]
    /// Each action's idempotency-key suffix, `"/{rule}/{index}"`, and throttle name, `"{rule}/{index}"`.
    let keySuffixes: [String]
    let throttleNames: [String]
    /// Kept across reloads while the rule's ``behaviour`` stays the same.
    let counters: RuleCounters
    /// ``RuleDefinition/behaviour`` of the rule.
    let behaviour: String

    var name: String { rule.name }

    init(
        rule: Rule, version: Int, runners: [ActionRunner], errorRunner: ActionRunner?, constantConfigs: [Value?],
        errorConstantConfig: Value?, counters: RuleCounters, behaviour: String
    ) {
        self.rule = rule
        self.counters = counters
        self.behaviour = behaviour
        self.runners = runners
        self.errorRunner = errorRunner
        self.constantConfigs = constantConfigs
        self.errorConstantConfig = errorConstantConfig
        self.sources = rule.actions.enumerated().map { index, action in
            ActionSource(rule: rule.name, ruleSetVersion: version, actionIndex: index, function: action.function)
        }
        self.keySuffixes = sources.map(\.idempotencyKeySuffix)
        self.throttleNames = rule.actions.indices.map { "\(rule.name)/\($0)" }
    }

    /// The attempts an action makes (nil: the error action).
    func attempts(of index: Int?) -> Int {
        guard let index, index < runners.count else { return errorRunner?.definition.retry.attempts ?? 1 }
        return runners[index].definition.retry.attempts
    }

    var status: RuleStatus {
        func status(_ runner: ActionRunner, index: Int?) -> ActionStatus {
            let c = runner.counters
            return ActionStatus(
                function: runner.definition.function.value, index: index,
                invocations: c.invocations.load(ordering: .relaxed), succeeded: c.succeeded.load(ordering: .relaxed),
                failures: c.failures.load(ordering: .relaxed), retries: c.retries.load(ordering: .relaxed),
                throttled: c.throttled.load(ordering: .relaxed), deadLettered: c.deadLettered.load(ordering: .relaxed),
                pending: c.pending.load(ordering: .relaxed),
                handledByErrorAction: c.handledByErrorAction.load(ordering: .relaxed))
        }
        var actions = runners.enumerated().map { status($0.element, index: $0.offset) }
        if let errorRunner { actions.append(status(errorRunner, index: nil)) }
        return RuleStatus(
            name: rule.name, enabled: rule.isEnabled, topicFilter: rule.topicFilter.text,
            evaluated: counters.evaluated.load(ordering: .relaxed), matched: counters.matched.load(ordering: .relaxed),
            errors: counters.errors.load(ordering: .relaxed), actions: actions)
    }
}

/// The running rule set: one version of the rules file with its handlers built and started.
final class ActiveRules: Sendable {
    let version: Int
    let loadedAt: Int64
    let loaded: LoadedRuleSet
    /// By rule index (disabled rules included).
    let rules: [ActiveRule]

    var ruleSet: RuleSet { loaded.ruleSet }
    var devices: DevicePolicy { loaded.devices }

    private init(version: Int, loadedAt: Int64, loaded: LoadedRuleSet, rules: [ActiveRule]) {
        self.version = version
        self.loadedAt = loadedAt
        self.loaded = loaded
        self.rules = rules
    }

    /// Builds every action's handler; any handler refusing its configuration fails the whole set.
    ///
    /// A rule of `previous` with the same name and the same ``RuleDefinition/behaviour`` hands its
    /// counters (and its actions') to the new rule; a changed, new or renamed rule starts at zero.
    static func build(
        _ loaded: LoadedRuleSet, version: Int, loadedAt: Int64, registry: HandlerRegistry, services: HandlerServices,
        tasks: RuntimeTasks, previous: ActiveRules? = nil, logger: Logger
    ) throws(RulesError) -> ActiveRules {
        var diagnostics: [LocatedDiagnostic] = []
        var rules: [ActiveRule] = []
        for rule in loaded.ruleSet.rules {
            let behaviour = rule.definition.behaviour
            let counters =
                if let old = previous?.rule(named: rule.name), old.behaviour == behaviour {
                    old.counters
                } else {
                    RuleCounters(actions: rule.actions.count + (rule.errorAction == nil ? 0 : 1))
                }
            func runner(_ action: CompiledAction) -> ActionRunner? {
                do {
                    let handler = try registry.build(action, ruleName: rule.name, services: services)
                    let tag = action.index.map(String.init) ?? "error"
                    return ActionRunner(
                        handler: handler, definition: action.definition,
                        counters: counters.actions[action.index ?? rule.actions.count],
                        metrics: ActionMetrics(rule: rule.name, action: tag, function: action.function),
                        tasks: tasks, logger: logger)
                } catch {
                    diagnostics += error.diagnostics
                    return nil
                }
            }
            let runners = rule.actions.compactMap(runner)
            let errorRunner = rule.errorAction.flatMap(runner)
            func constant(_ action: CompiledAction) -> Value? {
                guard action.config.isConstant else { return nil }
                return try? action.config.render(in: EvaluationFrame.constant)
            }
            rules.append(
                ActiveRule(
                    rule: rule, version: version, runners: runners, errorRunner: errorRunner,
                    constantConfigs: rule.actions.map(constant),
                    errorConstantConfig: rule.errorAction.flatMap(constant),
                    counters: counters, behaviour: behaviour))
        }
        guard diagnostics.isEmpty else {
            throw RulesError(fileName: loaded.path, diagnostics: LocatedDiagnostic.sorted(diagnostics))
        }
        return ActiveRules(version: version, loadedAt: loadedAt, loaded: loaded, rules: rules)
    }

    /// The rule named `name`, enabled or not.
    func rule(named name: String) -> ActiveRule? {
        ruleSet.rule(named: name).map { rules[$0.index] }
    }

    func start() {
        for rule in rules {
            for runner in rule.runners { runner.start() }
            rule.errorRunner?.start()
        }
    }

    func retire() {
        for rule in rules {
            for runner in rule.runners { runner.retire() }
            rule.errorRunner?.retire()
        }
    }

    /// Invocations queued or running in every action.
    var pending: Int {
        rules.reduce(0) { total, rule in
            total + rule.runners.reduce(0) { $0 + $1.counters.pending.load(ordering: .relaxed) }
                + (rule.errorRunner?.counters.pending.load(ordering: .relaxed) ?? 0)
        }
    }
}

extension EvaluationFrame {
    /// A frame for rendering templates without `${…}` parts (which read nothing).
    static var constant: EvaluationFrame {
        EvaluationFrame(message: Message(topic: "", payload: [], timestamp: 0), services: EvaluationServices())
    }
}
