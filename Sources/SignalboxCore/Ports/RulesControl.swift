/// What `GET /admin/rules` shows.
package struct RulesStatus: Sendable {
    /// The active rule set's version: one more than the last version recorded in the data directory
    /// (1 for the very first load), one more per successful reload; never reused across restarts.
    package var version: Int
    /// When it was loaded (ms since the epoch).
    package var loadedAt: Int64
    /// The rules file.
    package var path: String
    /// SHA-256 of the file's bytes, hex.
    package var digest: String
    /// Each rule of the active set, in file order.
    package var rules: [RuleStatus]
    /// The last reload that failed, if no reload has succeeded since.
    package var lastFailure: ReloadFailure?
    /// Reloads that succeeded and failed since start.
    package var reloads: (succeeded: Int, failed: Int)
    /// Messages journaled but not yet done, and the most allowed.
    package var inFlight: (count: Int, capacity: Int)
    /// The number of lanes.
    package var lanes: Int
    /// The most recent rule-set versions recorded, newest (the active one) first: what a version
    /// number in a dead letter or a log line was loaded from.
    package var versions: [RuleSetVersion]

    /// Bundles a status.
    package init(
        version: Int, loadedAt: Int64, path: String, digest: String, rules: [RuleStatus], lastFailure: ReloadFailure?,
        reloads: (succeeded: Int, failed: Int), inFlight: (count: Int, capacity: Int), lanes: Int,
        versions: [RuleSetVersion] = []
    ) {
        self.version = version
        self.loadedAt = loadedAt
        self.path = path
        self.digest = digest
        self.rules = rules
        self.lastFailure = lastFailure
        self.reloads = reloads
        self.inFlight = inFlight
        self.lanes = lanes
        self.versions = versions
    }
}

/// One rule's counters since the rule was loaded or last changed: a reload keeps the counters of a
/// rule with the same name and the same ``RuleDefinition/behaviour``; a changed rule starts at zero.
package struct RuleStatus: Sendable, Hashable {
    package var name: String
    package var enabled: Bool
    package var topicFilter: String
    /// Messages whose topic matched the FROM filter.
    package var evaluated: Int
    /// Messages whose WHERE was true.
    package var matched: Int
    /// Messages whose evaluation failed.
    package var errors: Int
    /// Per action, in order, then the error action (if any).
    package var actions: [ActionStatus]

    package init(
        name: String, enabled: Bool, topicFilter: String, evaluated: Int, matched: Int, errors: Int,
        actions: [ActionStatus]
    ) {
        self.name = name
        self.enabled = enabled
        self.topicFilter = topicFilter
        self.evaluated = evaluated
        self.matched = matched
        self.errors = errors
        self.actions = actions
    }
}

/// One action's counters.
package struct ActionStatus: Sendable, Hashable {
    package var function: String
    /// Nil for the error action.
    package var index: Int?
    package var invocations: Int
    package var succeeded: Int
    package var failures: Int
    package var retries: Int
    package var throttled: Int
    package var deadLettered: Int
    /// Invocations queued or running.
    package var pending: Int
    /// Invocations that failed for good and whose failure the rule's error action handled (they are
    /// not dead letters; the error action's own output shows them).
    package var handledByErrorAction: Int

    package init(
        function: String, index: Int?, invocations: Int, succeeded: Int, failures: Int, retries: Int, throttled: Int,
        deadLettered: Int, pending: Int, handledByErrorAction: Int = 0
    ) {
        self.function = function
        self.index = index
        self.invocations = invocations
        self.succeeded = succeeded
        self.failures = failures
        self.retries = retries
        self.throttled = throttled
        self.deadLettered = deadLettered
        self.pending = pending
        self.handledByErrorAction = handledByErrorAction
    }
}

/// A reload that was refused; the previous rules kept running.
package struct ReloadFailure: Sendable {
    /// When (ms since the epoch).
    package var at: Int64
    /// The errors, located in the file.
    package var diagnostics: [LocatedDiagnostic]
    /// The errors rendered as `signalbox check` prints them, the `… has N errors` line last.
    package var rendered: String

    package init(at: Int64, diagnostics: [LocatedDiagnostic], rendered: String) {
        self.at = at
        self.diagnostics = diagnostics
        self.rendered = rendered
    }
}

/// What a reload did.
package enum ReloadOutcome: Sendable {
    /// The new file is active as `version`.
    case loaded(version: Int)
    /// The file was invalid; the old rules keep running.
    case failed(ReloadFailure)
}

/// What retrying a dead letter did.
package enum DeadLetterRetryOutcome: Sendable, Hashable {
    /// The action succeeded; the dead letter is gone.
    case delivered
    /// It failed again; the dead letter stays, with the new error and attempt count.
    case failed(error: String)
    /// No dead letter has that id.
    case notFound
    /// The rule or action no longer exists in the active rules; the dead letter stays.
    case ruleGone
}

/// A throttle window open for an action and key, or a key reserved by an invocation in progress.
package struct ThrottleWindow: Sendable, Hashable {
    /// The rule.
    package var rule: String
    /// The action's position in the rule's `actions` (0-based).
    package var actionIndex: Int
    /// The rendered throttle key (a value from outside: escape it when printing).
    package var key: String
    /// When the invocation that opened the window succeeded, or when the one in progress started
    /// (ms since the epoch).
    package var startedAt: Int64
    /// When the window ends (ms since the epoch); nil while an invocation in progress holds the key.
    package var expiresAt: Int64?
    /// The invocation that opened or holds it.
    package var idempotencyKey: String

    /// Bundles a window.
    package init(
        rule: String, actionIndex: Int, key: String, startedAt: Int64, expiresAt: Int64?, idempotencyKey: String
    ) {
        self.rule = rule
        self.actionIndex = actionIndex
        self.key = key
        self.startedAt = startedAt
        self.expiresAt = expiresAt
        self.idempotencyKey = idempotencyKey
    }
}

/// The operations the admin API exposes on the running rules.
package protocol RulesControl: Sendable {
    /// The active rule set and its counters.
    func rulesStatus() -> RulesStatus
    /// Loads the rules file again; swaps only if it is entirely valid.
    func reload() async -> ReloadOutcome
    /// The active compiled rules (for `POST /admin/rules/test`).
    func activeRuleSet() -> RuleSet
    /// Runs the dead letter's action again (no throttle), with the active rules.
    func retryDeadLetter(_ id: Int64) async -> DeadLetterRetryOutcome
    /// Where dead letters are listed from.
    var deadLetters: any DeadLetterStorage { get }
    /// The throttle windows open now and the keys held by invocations in progress, of `rule` (every
    /// rule when nil), sorted by rule, action and key.
    func throttleWindows(rule: String?) -> [ThrottleWindow]
    /// Closes the throttle windows (and drops the reservations) of `rule` and `key` (every one when
    /// nil), in memory and in storage; returns how many windows and reservations were cleared.
    func resetThrottles(rule: String?, key: String?) async throws -> Int
}
