import Logging
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Synchronization

/// How the runtime is sized.
package struct RuntimeConfiguration: Sendable {
    /// Ordered lanes; messages of one device always go to the same lane.
    package var lanes: Int
    /// The most messages journaled but not yet handled; beyond it ingest answers "overloaded".
    package var capacity: Int
    /// The most payload bytes journaled but not yet handled.
    package var byteCapacity: Int
    /// How often the checkpoint and throttle windows are saved.
    package var flushInterval: Duration
    /// How long a graceful stop waits for queued messages to be handled.
    package var drainTimeout: Duration
    /// What `accountid()` returns for every message.
    package var accountID: String

    /// The account id `accountid()` returns unless one is configured: twelve digits, like an AWS
    /// account id, belonging to no AWS account.
    package static let defaultAccountID = "000000000000"

    /// The defaults: 4 lanes, 100,000 messages or 256 MiB in flight.
    package init(
        lanes: Int = 4, capacity: Int = 100_000, byteCapacity: Int = 256 << 20,
        flushInterval: Duration = .milliseconds(100), drainTimeout: Duration = .seconds(10),
        accountID: String = defaultAccountID
    ) {
        self.accountID = accountID
        self.lanes = lanes
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.flushInterval = flushInterval
        self.drainTimeout = drainTimeout
    }
}

/// What the runtime reads from and writes to.
package struct RuntimeStorage: Sendable {
    package var journal: any MessageJournal
    package var deadLetters: any DeadLetterStorage
    package var throttles: any ThrottleStorage
    package var records: any RecordStorage
    /// Where each activated rule-set version is recorded with its file's SHA-256.
    package var ruleSetVersions: any RuleSetVersionStore
    /// When each device was last seen, for device silence across restarts.
    package var devices: any DeviceActivityStorage

    package init(
        journal: any MessageJournal, deadLetters: any DeadLetterStorage, throttles: any ThrottleStorage,
        records: any RecordStorage, devices: any DeviceActivityStorage, ruleSetVersions: any RuleSetVersionStore
    ) {
        self.journal = journal
        self.deadLetters = deadLetters
        self.throttles = throttles
        self.records = records
        self.ruleSetVersions = ruleSetVersions
        self.devices = devices
    }
}

/// The rules runtime: ingest into the journal, N ordered lanes, rule evaluation, actions with
/// retries, throttles, error actions and dead letters, checkpoints, device silence and hot reload.
///
/// It composes the parts, each in its own file: ``Intake`` journals and dispatches, ``Lanes``
/// evaluate, ``ActionRunner``s invoke, ``Completions`` take finished work forward to the
/// ``InFlightTracker`` and the dead letters, the ``Checkpointer`` saves, the ``Rulebook`` holds and
/// reloads the rules, the ``MessageBus`` brings back what Signalbox publishes itself.
///
/// It is a service: ``run()`` runs every part as a child task until a graceful shutdown (or
/// cancellation), then stops: ingest refuses, the lanes and actions finish what is queued (up to
/// ``RuntimeConfiguration/drainTimeout``) and the checkpoint is saved. What is not done by then is
/// handled again at the next start.
///
/// ```swift
/// let bus = MessageBus()
/// let runtime = try await RulesRuntime(
///     configuration: RuntimeConfiguration(), source: rulesFile, registry: HandlerRegistry(HandlerCatalog.all),
///     storage: storage, services: services, bus: bus, logger: logger)
/// let group = ServiceGroup(services: [runtime, …], logger: logger)
/// ```
package final class RulesRuntime: MessageIngest, RulesControl, Service {
    let configuration: RuntimeConfiguration
    let storage: RuntimeStorage
    /// Message ids, what is in flight, the checkpoint.
    package let tracker: InFlightTracker
    let logger: Logger
    let now: @Sendable () -> Int64
    let rules: Rulebook
    /// What rules read besides the message (`get_shadow`, the clock).
    let evaluation: EvaluationServices
    private let silence: SilenceMonitor
    private let throttles: ThrottleGate
    private let lanes: Lanes
    private let intake: Intake
    private let checkpointer: Checkpointer
    private let bus: MessageBus
    private let tasks: RuntimeTasks
    private let stopping = Atomic<Bool>(false)
    /// The task ``start(configuration:source:registry:storage:services:bus:now:logger:)`` runs
    /// ``run()`` in, which ``shutdown()`` awaits.
    private let started = Mutex<Task<Void, Never>?>(nil)

    /// Loads the rules, builds their handlers with `services`, and queues what the journal holds
    /// above its checkpoint for the lanes. Nothing runs until ``run()``.
    ///
    /// - Parameters:
    ///   - services: What the handlers use; their publisher should include `bus`, so rules see
    ///     what handlers publish.
    ///   - bus: What Signalbox publishes itself (shadow `documents` events, republished output)
    ///     comes back to the rules through it.
    /// - Throws: ``RulesError`` when the rules file is invalid; storage errors when the journal
    ///   cannot be read.
    package init(
        configuration: RuntimeConfiguration, source: any RulesSource, registry: HandlerRegistry,
        storage: RuntimeStorage, services: HandlerServices, bus: MessageBus,
        now: @escaping @Sendable () -> Int64 = WallClock.system.milliseconds, logger: Logger
    ) async throws {
        let (checkpoint, lastID) = try await storage.journal.state()
        var replay: [JournalEntry] = []
        while true {
            let page = try await storage.journal.entries(after: replay.last?.id ?? checkpoint, limit: 10_000)
            replay += page
            if page.count < 10_000 { break }
        }
        let tracker = InFlightTracker(
            checkpoint: checkpoint, lastID: lastID, replay: replay.map { ($0.id, $0.payload.count) },
            capacity: configuration.capacity, byteCapacity: configuration.byteCapacity)
        let windows = try await storage.throttles.windows(activeAt: now())
        // Device silence goes on from what was saved; the time Signalbox was down does not count.
        let known = try await storage.devices.activities()
        let upUntil = max(known.lazy.map(\.lastSeen).max() ?? .min, replay.lazy.map(\.receivedAt).max() ?? .min)
        let silence = SilenceMonitor(known: known, upUntil: upUntil, startedAt: now())
        silence.expect(replay.lazy.filter { !$0.isDeviceEvent }.map(\.receivedAt))
        let metrics = RuntimeMetrics()
        let tasks = RuntimeTasks()
        let rules = try await Rulebook(
            source: source, registry: registry, services: services, versionStore: storage.ruleSetVersions,
            tasks: tasks, metrics: metrics, now: now, logger: logger)
        let throttles = ThrottleGate(windows: windows, now: now)
        let completions = Completions(
            tracker: tracker, deadLetters: storage.deadLetters, tasks: tasks, metrics: metrics, now: now,
            logger: logger)
        let evaluation = EvaluationServices(shadows: services.shadows.lookup, now: now)
        let lanes = Lanes(
            count: configuration.lanes, rules: rules, silence: silence, throttles: throttles,
            completions: completions, evaluation: evaluation, accountID: configuration.accountID, metrics: metrics,
            now: now, logger: logger)
        self.configuration = configuration
        self.storage = storage
        self.tracker = tracker
        self.logger = logger
        self.now = now
        self.rules = rules
        self.evaluation = evaluation
        self.silence = silence
        self.throttles = throttles
        self.lanes = lanes
        self.intake = Intake(
            tracker: tracker, journal: storage.journal, silence: silence, lanes: lanes, metrics: metrics,
            logger: logger)
        self.checkpointer = Checkpointer(
            tracker: tracker, silence: silence, throttles: throttles, rules: rules, storage: storage,
            checkpoint: checkpoint, interval: configuration.flushInterval, metrics: metrics, now: now, logger: logger)
        self.bus = bus
        self.tasks = tasks
        rules.active.start()
        if !replay.isEmpty {
            logger.notice("handling messages journaled before the last stop", metadata: ["messages": "\(replay.count)"])
            lanes.dispatch(replay, received: .now)
        }
    }

    /// Makes a runtime and runs it (see ``run()``) until ``shutdown()``: for callers without a
    /// service group.
    package static func start(
        configuration: RuntimeConfiguration, source: any RulesSource, registry: HandlerRegistry,
        storage: RuntimeStorage, services: HandlerServices, bus: MessageBus,
        now: @escaping @Sendable () -> Int64 = WallClock.system.milliseconds, logger: Logger
    ) async throws -> RulesRuntime {
        let runtime = try await RulesRuntime(
            configuration: configuration, source: source, registry: registry, storage: storage, services: services,
            bus: bus, now: now, logger: logger)
        // Lifetime: until `shutdown()`, which stops the runtime and awaits this task.
        runtime.started.withLock { $0 = Task { await runtime.run() } }
        return runtime
    }

    // MARK: Running

    /// Runs the lanes, the actions, the checkpointer, device events and the bus as child tasks until
    /// a graceful shutdown, cancellation or ``shutdown()``; then stops (see the type's description).
    package func run() async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.runParts() }
                    for await work in self.tasks.spawned {
                        group.addTask { await work() }
                    }
                    // Only retries waiting out their backoff are left: their messages are handled at
                    // the next start.
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.beginStop()
            }
        } onCancel: {
            self.beginStop()
        }
    }

    /// The parts, until a stop has drained the lanes; then the last save.
    private func runParts() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.intake.journalDeviceEvents() }
            group.addTask { await self.bus.run(rules: self.rules, intake: self.intake, now: self.now) }
            group.addTask { await self.checkpointer.run() }
            group.addTask {
                await self.lanes.run()
                await self.drain()
                self.checkpointer.stop()
                self.silence.events.close()
            }
        }
        await checkpointer.flush()
        rules.active.retire()
        let left = tracker.inFlight.count
        if left > 0 {
            logger.notice(
                "stopped with messages in flight; they are handled at the next start", metadata: ["messages": "\(left)"]
            )
        }
        tasks.finish()
    }

    /// Ingest refuses from now on; the lanes end once they have handled what they hold.
    private func beginStop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        rules.stopReloads()
        intake.close()
        bus.close()
        lanes.close()
    }

    /// Waits, up to the drain timeout, for the actions to finish the messages in flight.
    private func drain() async {
        let deadline = ContinuousClock.now.advanced(by: configuration.drainTimeout)
        while tracker.inFlight.count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops the runtime ``start(configuration:source:registry:storage:services:bus:now:logger:)``
    /// started, and returns once it has stopped.
    package func shutdown() async {
        beginStop()
        await started.withLock { $0 }?.value
    }

    // MARK: Ingest

    package func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64] {
        try await intake.ingest(messages, force: false)
    }

    package var isFull: Bool { tracker.isFull }

    package var devicePolicy: DevicePolicy { rules.active.devices }

    // MARK: Background work

    /// Decides which devices are silent at `now` (ms) and queues their `silent` events. The runtime
    /// calls it on a timer with its clock; tests call it with their own.
    package func checkSilence(now: Int64) {
        checkpointer.checkSilence(now: now)
    }

    /// Saves the devices' last-seen times, the checkpoint (and drops the journal below it) and the
    /// new throttle windows.
    package func flush() async {
        await checkpointer.flush()
    }

    /// Deletes persisted records older than their table's `retain:` period.
    package func applyRetention() async {
        await checkpointer.applyRetention()
    }

    // MARK: Rules control

    package var deadLetters: any DeadLetterStorage { storage.deadLetters }

    package func throttleWindows(rule: String?) -> [ThrottleWindow] {
        throttles.list(rule: rule, now: now())
    }

    package func resetThrottles(rule: String?, key: String?) async throws -> Int {
        try await checkpointer.resetThrottles(rule: rule, key: key)
    }

    package func activeRuleSet() -> RuleSet { rules.active.ruleSet }

    /// The active rule set's version.
    package var version: Int { rules.active.version }

    package func rulesStatus() -> RulesStatus {
        rules.status(inFlight: (tracker.inFlight.count, tracker.capacity), lanes: lanes.count)
    }

    package func reload() async -> ReloadOutcome {
        await rules.reload(ifChanged: false)
    }

    /// Reloads unless the file holds the active rules already, byte for byte: what the file watcher
    /// calls, so a change a reload request has applied is not applied a second time.
    package func reloadIfChanged() async -> ReloadOutcome {
        await rules.reload(ifChanged: true)
    }
}
