import Logging
import SignalboxCore
import SignalboxSQL
import Synchronization

/// The active rule set and the versions before it: what the lanes evaluate against, and what a
/// reload replaces.
///
/// A reload loads the file; when it is valid, builds it as the next version (rules whose behaviour
/// is unchanged keep their counters), records the version and swaps it in. One reload runs at a time.
final class Rulebook: Sendable {
    /// How many recent rule-set versions `GET /admin/rules` lists.
    static let versionsShown = 20

    private struct State {
        var active: ActiveRules
        var lastFailure: ReloadFailure?
        /// The most recent versions recorded, newest (the active one) first.
        var versions: [RuleSetVersion]
        var reloadsSucceeded = 0
        var reloadsFailed = 0
        /// Set when the runtime begins to stop: no rule set is started or swapped in after it.
        var stopping = false
    }

    private let state: Mutex<State>
    private let source: any RulesSource
    private let registry: HandlerRegistry
    private let services: HandlerServices
    private let versionStore: any RuleSetVersionStore
    private let tasks: RuntimeTasks
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let reloads = SerialGate()

    /// Loads the rules and builds them as the version after the last one recorded, so that a version
    /// number in a dead letter names one file (by its SHA-256) for good.
    init(
        source: any RulesSource, registry: HandlerRegistry, services: HandlerServices,
        versionStore: any RuleSetVersionStore, tasks: RuntimeTasks, metrics: RuntimeMetrics,
        now: @escaping @Sendable () -> Int64, logger: Logger
    ) async throws {
        let loaded = try source.load()
        let previous = try await versionStore.recent(limit: Self.versionsShown - 1)
        let version = RuleSetVersion(
            version: (previous.first?.version ?? 0) + 1, digest: loaded.digest, path: loaded.path, loadedAt: now())
        let active = try ActiveRules.build(
            loaded, version: version.version, loadedAt: version.loadedAt, registry: registry, services: services,
            tasks: tasks, logger: logger)
        try await versionStore.add(version)
        self.state = Mutex(State(active: active, versions: [version] + previous))
        self.source = source
        self.registry = registry
        self.services = services
        self.versionStore = versionStore
        self.tasks = tasks
        self.metrics = metrics
        self.now = now
        self.logger = logger
        metrics.version.record(version.version)
        logWarnings(of: loaded)
    }

    /// The rule set lanes evaluate against now.
    var active: ActiveRules { state.withLock { $0.active } }

    /// Refuses reloads from now on: the runtime is stopping, and a rule set started now would have
    /// workers nothing retires.
    func stopReloads() {
        state.withLock { $0.stopping = true }
    }

    /// What `GET /admin/rules` shows, with the runtime's own figures.
    func status(inFlight: (count: Int, capacity: Int), lanes: Int) -> RulesStatus {
        let (active, failure, versions, succeeded, failed) = state.withLock {
            ($0.active, $0.lastFailure, $0.versions, $0.reloadsSucceeded, $0.reloadsFailed)
        }
        return RulesStatus(
            version: active.version, loadedAt: active.loadedAt, path: active.loaded.path, digest: active.loaded.digest,
            rules: active.rules.map(\.status), lastFailure: failure, reloads: (succeeded, failed), inFlight: inFlight,
            lanes: lanes, versions: versions)
    }

    /// Reloads; `ifChanged` skips a file that holds the active rules already, byte for byte (what
    /// the file watcher asks, so a change a reload request has applied is not applied twice).
    func reload(ifChanged: Bool) async -> ReloadOutcome {
        await reloads.run { await self.reloadNow(ifChanged: ifChanged) }
    }

    /// A valid file clears the last failure; an invalid one is recorded as the last failure and
    /// logged with its diagnostics.
    private func reloadNow(ifChanged: Bool) async -> ReloadOutcome {
        let current = active
        let next: ActiveRules
        let version: RuleSetVersion
        do throws(RulesError) {
            let loaded = try source.load()
            if ifChanged && loaded.digest == current.loaded.digest {
                state.withLock { $0.lastFailure = nil }
                return .loaded(version: current.version)
            }
            version = RuleSetVersion(
                version: current.version + 1, digest: loaded.digest, path: loaded.path, loadedAt: now())
            next = try ActiveRules.build(
                loaded, version: version.version, loadedAt: version.loadedAt, registry: registry, services: services,
                tasks: tasks, previous: current, logger: logger)
            do {
                try await versionStore.add(version)
            } catch {
                throw RulesError(
                    fileName: loaded.path,
                    diagnostics: [
                        LocatedDiagnostic(
                            Diagnostic(
                                "version", "rule-set version \(version.version) could not be recorded: \(error)",
                                at: SourceRange(at: 0),
                                help: "check the data directory; the running rules stay active"),
                            source: nil)
                    ])
            }
        } catch {
            return failed(error, current: current)
        }
        // Started before the swap, so its workers take what the lanes hand them at once.
        next.start()
        let swapped = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.active = next
            state.lastFailure = nil
            state.versions = Array(([version] + state.versions).prefix(Self.versionsShown))
            state.reloadsSucceeded += 1
            return true
        }
        guard swapped else {
            next.retire()
            logger.notice(
                "a reload was refused: the runtime is stopping", metadata: ["rules.version": "\(version.version)"])
            let error = RulesError(
                fileName: next.loaded.path,
                diagnostics: [
                    LocatedDiagnostic(
                        Diagnostic(
                            "stopping", "the runtime is stopping; the rules were not reloaded", at: SourceRange(at: 0)),
                        source: nil)
                ])
            return .failed(ReloadFailure(at: now(), diagnostics: error.diagnostics, rendered: error.report))
        }
        current.retire()
        metrics.reloadsSucceeded.increment()
        metrics.version.record(next.version)
        logger.notice(
            "rules reloaded", metadata: ["rules.version": "\(next.version)", "rules.digest": "\(next.loaded.digest)"])
        logWarnings(of: next.loaded)
        return .loaded(version: next.version)
    }

    /// Logs what in the loaded rules will not load on AWS IoT (``RuleSet/warnings``), with its place.
    private func logWarnings(of loaded: LoadedRuleSet) {
        for warning in loaded.ruleSet.warnings {
            let place = warning.location.map { "\(loaded.path):\($0.line):\($0.column)" } ?? loaded.path
            logger.warning(
                "a rule will not load on AWS IoT",
                metadata: [
                    "rule.name": "\(warning.ruleName ?? "")", "warning": "\(warning.code)", "rule.place": "\(place)",
                ])
        }
    }

    /// Records and logs a refused reload. The diagnostics come from the operator's own rules file
    /// (never from a message), so they are logged in full, as `signalbox check` prints them.
    private func failed(_ error: RulesError, current: ActiveRules) -> ReloadOutcome {
        let failure = ReloadFailure(at: now(), diagnostics: error.diagnostics, rendered: error.report)
        state.withLock {
            $0.lastFailure = failure
            $0.reloadsFailed += 1
        }
        metrics.reloadsFailed.increment()
        logger.error(
            "the rules file is invalid; the running rules stay active",
            metadata: [
                "rules.version": "\(current.version)", "errors": "\(error.diagnostics.count)",
                "error": "\(error.summary)", "diagnostics": "\n\(failure.rendered)",
            ])
        return .failed(failure)
    }
}
