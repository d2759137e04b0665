import SignalboxCore
import Logging
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

/// A message on its way to a lane.
struct LaneItem: Sendable {
    let entry: JournalEntry
    let device: String
    /// When ingest took the message (or the start replayed it): where handler-start latency counts from.
    let received: ContinuousClock.Instant
}

/// The rules runtime: ingest into the journal, N ordered lanes, rule evaluation, actions with
/// retries, throttles, error actions and dead letters, checkpoints, device silence and hot reload.
///
/// ```swift
/// let runtime = try await RulesRuntime.start(
///     configuration: RuntimeConfiguration(), source: rulesFile, registry: HandlerRegistry(HandlerCatalog.all),
///     storage: storage, shadows: shadows, http: http, publisher: broker, logger: logger)
/// let ids = try await runtime.ingest([IncomingMessage(topic: "gateways/gw1/devices/f1/telemetry", …)])
/// await runtime.shutdown()
/// ```
package final class RulesRuntime: MessageIngest, RulesControl, Sendable {
    let configuration: RuntimeConfiguration
    let storage: RuntimeStorage
    /// Message ids, what is in flight, the checkpoint.
    package let tracker: InFlightTracker
    let logger: Logger
    let now: @Sendable () -> Int64
    let metrics = RuntimeMetrics()
    let silence: SilenceMonitor
    private let source: any RulesSource
    private let registry: HandlerRegistry
    private let lanes: [WorkQueue<LaneItem>]
    private let throttleGate: ThrottleGate
    private let services: Mutex<HandlerServices?> = Mutex(nil)
    private let state: Mutex<State>
    private let laneTasks = Mutex<[Task<Void, Never>]>([])
    private let loopTask = Mutex<Task<Void, Never>?>(nil)
    private let reloads = SerialGate()
    /// How many recent rule-set versions `GET /admin/rules` lists.
    static let versionsShown = 20
    private let eventTask = Mutex<Task<Void, Never>?>(nil)
    /// One flush (or throttle reset) at a time, so saves and deletions reach storage in order.
    private let flushLock = AsyncLock()

    private struct State {
        var active: ActiveRules
        var running = true
        var lastFailure: ReloadFailure?
        /// The most recent versions recorded, newest (the active one) first.
        var versions: [RuleSetVersion]
        var reloadsSucceeded = 0
        var reloadsFailed = 0
        var savedCheckpoint: Int64
    }

    private init(
        configuration: RuntimeConfiguration, source: any RulesSource, registry: HandlerRegistry,
        storage: RuntimeStorage, tracker: InFlightTracker, throttles: [ThrottleEntry], silence: SilenceMonitor,
        active: ActiveRules, versions: [RuleSetVersion], checkpoint: Int64, now: @escaping @Sendable () -> Int64,
        logger: Logger
    ) {
        self.configuration = configuration
        self.source = source
        self.registry = registry
        self.storage = storage
        self.tracker = tracker
        self.throttleGate = ThrottleGate(windows: throttles, now: now)
        self.silence = silence
        self.state = Mutex(State(active: active, versions: versions, savedCheckpoint: checkpoint))
        self.lanes = (0..<max(1, configuration.lanes)).map { _ in WorkQueue() }
        self.now = now
        self.logger = logger
    }

    /// Loads the rules, replays what the journal holds above its checkpoint, and starts the lanes.
    ///
    /// - Parameters:
    ///   - publisher: Where republished messages go besides the runtime's own ingest (the broker).
    ///   - link: The link the shadow service publishes `documents` events through, so rules see them.
    /// - Throws: ``RulesError`` when the rules file is invalid; storage errors when the journal
    ///   cannot be read.
    package static func start(
        configuration: RuntimeConfiguration, source: any RulesSource, registry: HandlerRegistry,
        storage: RuntimeStorage, shadows: ShadowService, http: any HTTPClient, publisher: any MessagePublisher,
        link: RuntimeLink = RuntimeLink(), now: @escaping @Sendable () -> Int64 = WallClock.system.milliseconds,
        logger: Logger
    ) async throws -> RulesRuntime {
        let loaded = try source.load()
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
        // The handlers publish through the runtime (republish), which exists only once they are
        // built: the link is bound right after.
        let services = HandlerServices(
            shadows: shadows, records: storage.records, http: http, publisher: FanOutPublisher([publisher, link]),
            now: now, logger: logger)
        // Versions go on from the last one recorded in the data directory, so a version number in a
        // dead letter names one file (by its SHA-256) for good.
        let previous = try await storage.ruleSetVersions.recent(limit: versionsShown - 1)
        let version = RuleSetVersion(
            version: (previous.first?.version ?? 0) + 1, digest: loaded.digest, path: loaded.path, loadedAt: now())
        let active = try ActiveRules.build(
            loaded, version: version.version, loadedAt: version.loadedAt, registry: registry, services: services,
            logger: logger)
        try await storage.ruleSetVersions.add(version)
        let runtime = RulesRuntime(
            configuration: configuration, source: source, registry: registry, storage: storage, tracker: tracker,
            throttles: windows, silence: silence, active: active, versions: [version] + previous,
            checkpoint: checkpoint, now: now, logger: logger)
        runtime.services.withLock { $0 = services }
        link.bind(runtime)
        runtime.metrics.version.record(version.version)
        runtime.logWarnings(of: loaded)
        active.start()
        runtime.startLanes()
        if !replay.isEmpty {
            logger.notice("handling messages journaled before the last stop", metadata: ["messages": "\(replay.count)"])
            runtime.dispatch(replay, received: .now)
        }
        runtime.startLoops()
        return runtime
    }

    // MARK: Ingest

    package func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64] {
        try await ingest(messages, force: false)
    }

    package var isFull: Bool { tracker.isFull }

    package var devicePolicy: DevicePolicy { state.withLock { $0.active.devices } }

    /// Journals and dispatches `messages`; `force` skips the capacity check (for messages Signalbox
    /// generates itself, which must not be refused).
    func ingest(_ messages: [IncomingMessage], force: Bool) async throws(IngestRefusal) -> [Int64] {
        guard !messages.isEmpty else { return [] }
        let received = ContinuousClock.now
        guard state.withLock({ $0.running }) else { throw .unavailable }
        guard let ids = tracker.allocate(messages.map(\.payload.count), force: force) else {
            metrics.refused.increment()
            throw .overloaded(retryAfter: 1)
        }
        var entries: [JournalEntry] = []
        entries.reserveCapacity(messages.count)
        for (id, message) in zip(ids, messages) {
            entries.append(
                JournalEntry(
                    id: id, topic: message.topic, payload: message.payload, receivedAt: message.receivedAt,
                    clientID: message.clientID, gateway: message.gateway, receipt: message.receipt))
        }
        // Silence is not judged past these until their lane has seen them.
        silence.expect(entries.lazy.filter { !$0.isDeviceEvent }.map(\.receivedAt))
        do {
            try await storage.journal.append(entries)
        } catch {
            silence.passed(entries.lazy.filter { !$0.isDeviceEvent }.map(\.receivedAt))
            tracker.complete(ids)
            logger.error("journal append failed", metadata: ["error": "\(error)"])
            throw .journalFailed("\(type(of: error))")
        }
        dispatch(entries, received: received)
        return ids
    }

    /// Hands entries to their lanes by device key.
    private func dispatch(_ entries: [JournalEntry], received: ContinuousClock.Instant) {
        let policy = state.withLock { $0.active.devices }
        if lanes.count == 1 {
            lanes[0].push(
                entries.map { LaneItem(entry: $0, device: policy.deviceKey(forTopic: $0.topic), received: received) })
            return
        }
        var perLane = [[LaneItem]](repeating: [], count: lanes.count)
        for entry in entries {
            let device = policy.deviceKey(forTopic: entry.topic)
            perLane[Self.lane(of: device, count: lanes.count)].append(
                LaneItem(entry: entry, device: device, received: received))
        }
        for (lane, items) in zip(lanes, perLane) where !items.isEmpty { lane.push(items) }
    }

    /// A stable hash of a device key (FNV-1a), so a device's lane and action queue never change
    /// while the process runs.
    static func hash(_ device: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in device.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash >> 1)
    }

    static func lane(of device: String, count: Int) -> Int { hash(device) % count }

    // MARK: Lanes

    private func startLanes() {
        let tasks = lanes.map { lane in
            // Lifetime: until `shutdown()` closes the lane and it is drained; kept in `laneTasks`.
            Task { await self.runLane(lane) }
        }
        laneTasks.withLock { $0 = tasks }
    }

    private func runLane(_ lane: WorkQueue<LaneItem>) async {
        var frame: EvaluationFrame?
        let services = EvaluationServices(shadows: self.services.withLock { $0?.shadowLookup }, now: now)
        var outbox = ActionOutbox()
        var candidates: [Int32] = []
        while let batch = await lane.next(max: 256) {
            let active = state.withLock { $0.active }
            var done: [Int64] = []
            for item in batch {
                process(
                    item, active: active, frame: &frame, services: services, candidates: &candidates, done: &done,
                    outbox: &outbox)
            }
            silence.passed(batch.lazy.filter { !$0.entry.isDeviceEvent }.map(\.entry.receivedAt))
            if !done.isEmpty { complete(done) }
            await outbox.send()
        }
    }

    /// Messages are done (every rule they matched has finished).
    func complete(_ ids: [Int64]) {
        tracker.complete(ids)
        metrics.handled.increment(by: Int64(ids.count))
    }

    /// A failed action that could not be handled ends here.
    func storeDeadLetter(_ letter: DeadLetter, rule: ActiveRule) async {
        var logger = self.logger
        logger[metadataKey: "rule.name"] = "\(letter.source.rule)"
        logger[metadataKey: "rule_set.version"] = "\(letter.source.ruleSetVersion)"
        logger[metadataKey: "message.id"] = "\(letter.message.id)"
        logger[metadataKey: "device.id"] = "\(letter.device)"
        for attempt in 1...5 {
            do {
                _ = try await storage.deadLetters.add(letter)
                metrics.deadLetters.increment()
                if let index = letter.source.actionIndex, index < rule.runners.count {
                    rule.runners[index].counters.deadLettered.add(1, ordering: .relaxed)
                    rule.runners[index].metrics.deadLettered.increment()
                }
                logger.warning("action dead-lettered", metadata: ["error": "\(letter.error)"])
                return
            } catch {
                logger.error("storing a dead letter failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    private func process(
        _ item: LaneItem, active: ActiveRules, frame: inout EvaluationFrame?, services: EvaluationServices,
        candidates: inout [Int32], done: inout [Int64], outbox: inout ActionOutbox
    ) {
        let entry = item.entry
        if let silentAfter = active.devices.silentAfter, !entry.isDeviceEvent {
            silence.seen(item.device, at: entry.receivedAt, after: silentAfter.milliseconds)
        }
        active.ruleSet.collectCandidates(forTopic: entry.topic, into: &candidates)
        if candidates.isEmpty {
            if let routed = BasicIngestTopic(entry.topic) {
                // As AWS IoT logs a RuleNotFound error. The name passed TopicName.validate: [A-Za-z0-9_-].
                metrics.ruleNotFound.increment()
                logger.warning(
                    "Basic Ingest message for a rule that does not exist or is disabled",
                    metadata: ["rule.name": "\(routed.ruleName)", "message.id": "\(entry.id)"])
            }
            done.append(entry.id)
            return
        }
        let message = entry.message(accountID: configuration.accountID)
        let frame = {
            if let frame {
                frame.reset(for: message)
                return frame
            }
            let made = EvaluationFrame(message: message, services: services)
            frame = made
            return made
        }()
        // Held by this lane until every matched rule has added its actions.
        var ticket: MessageTicket?
        var metadata: MessageMetadata?
        for index in candidates {
            let rule = active.rules[Int(index)]
            rule.counters.evaluated.add(1, ordering: .relaxed)
            rule.metrics.evaluated.increment()
            let statement = rule.rule.statement
            // nil: the output is the JSON payload as received, never built.
            let output: Output?
            do {
                if statement.selectsWholePayload && message.isJSON {
                    guard try statement.matches(in: frame) else { continue }
                    output = nil
                } else {
                    guard let result = try statement.evaluate(in: frame) else { continue }
                    output = result
                }
            } catch {
                rule.counters.errors.add(1, ordering: .relaxed)
                rule.metrics.errors.increment()
                logger.warning(
                    "rule evaluation failed",
                    metadata: [
                        "rule.name": "\(rule.name)", "message.id": "\(entry.id)", "device.id": "\(item.device)",
                        "error": "\(error)",
                    ])
                continue
            }
            rule.counters.matched.add(1, ordering: .relaxed)
            rule.metrics.matched.increment()
            let messageTicket = ticket ?? MessageTicket(id: entry.id, runtime: self)
            ticket = messageTicket
            let invocationMetadata = metadata ?? MessageMetadata(entry, device: item.device)
            metadata = invocationMetadata
            addRun(
                rule, output: output, frame: frame, item: item, metadata: invocationMetadata, ticket: messageTicket,
                version: active.version, outbox: &outbox)
        }
        if ticket?.ruleDone() ?? true { done.append(entry.id) }
    }

    /// Starts `rule`'s run for a message it matched: renders each action's configuration (while the
    /// frame still holds the rule's SET variables), applies throttles and puts the invocations in
    /// `outbox`.
    private func addRun(
        _ rule: ActiveRule, output: Output?, frame: EvaluationFrame, item: LaneItem, metadata: MessageMetadata,
        ticket: MessageTicket, version: Int, outbox: inout ActionOutbox
    ) {
        let entry = item.entry
        var errorConfig: Value?
        if let errorAction = rule.rule.errorAction {
            errorConfig = try? rule.errorConstantConfig ?? errorAction.config.render(in: frame)
        }
        let run = RuleRun(
            ticket: ticket, rule: rule, entry: entry, device: item.device, version: version, errorConfig: errorConfig,
            runtime: self)
        let hash = Self.hash(item.device)
        let id = String(entry.id)
        var now: Int64?
        for (index, action) in rule.rule.actions.enumerated() where index < rule.runners.count {
            let key = id + rule.keySuffixes[index]
            var claim: ThrottleClaim?
            do {
                if let throttle = action.definition.throttle {
                    let throttleKey = try action.throttleKey?.render(in: frame) ?? ""
                    let time = now ?? self.now()
                    now = time
                    claim = throttleGate.acquire(
                        action: rule.throttleNames[index], key: throttleKey, per: throttle.per, now: time,
                        idempotencyKey: key)
                    guard claim != nil else {
                        rule.runners[index].counters.throttled.add(1, ordering: .relaxed)
                        rule.runners[index].metrics.throttled.increment()
                        continue
                    }
                }
                let config = try rule.constantConfigs[index] ?? action.config.render(in: frame)
                let source = rule.sources[index]
                let invocation =
                    if let output {
                        Invocation(
                            message: metadata, output: output, config: config, source: source, idempotencyKey: key,
                            deadline: .now, baseLogger: logger)
                    } else {
                        Invocation(
                            message: metadata, outputDocument: entry.payload, config: config, source: source,
                            idempotencyKey: key, deadline: .now, baseLogger: logger)
                    }
                run.addAction()
                outbox.add(
                    ActionJob(
                        invocation: invocation, completion: .action(run), received: item.received, throttle: claim),
                    hash: hash, to: rule.runners[index])
            } catch {
                // Nothing was sent: the throttle key is free again.
                claim?.settle(succeeded: false)
                run.addAction()
                // The run is still held by this lane, so this never finishes it.
                _ = run.actionFinished(rule.sources[index], failure: "a template could not be rendered: \(error)")
            }
        }
        // The message's ticket is still held by the lane, so this never completes the message.
        _ = run.releaseLane()
    }

    // MARK: Device events

    /// Decides which devices are silent at `now` (ms), judging no later than the oldest message not yet
    /// seen by its lane (see ``SilenceMonitor``), and queues their `silent` events. The runtime calls it
    /// on a timer with its clock; tests call it with their own.
    package func checkSilence(now: Int64) {
        guard let silentAfter = state.withLock({ $0.active.devices.silentAfter }) else { return }
        silence.due(now: silence.horizon(now: now), after: silentAfter.milliseconds)
    }

    /// Journals the device events the silence monitor decides, in the order decided, until the
    /// monitor's queue is closed.
    private func journalDeviceEvents() async {
        while let events = await silence.events.next(max: 256) {
            let messages = events.map(\.message)
            var attempt = 1
            while true {
                // Stopping: the devices' state is not saved, so the next start decides again.
                guard state.withLock({ $0.running }) else { break }
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

    // MARK: Background work

    private func startLoops() {
        // Lifetime of both: until `shutdown()` (the event queue is closed, the loop cancelled);
        // kept in `eventTask` and `loopTask`, which shutdown awaits.
        eventTask.withLock { $0 = Task { await self.journalDeviceEvents() } }
        let task = Task {
            var lastSilenceCheck: Int64 = 0
            var lastRetention: Int64 = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.flushInterval)
                await flush()
                let now = self.now()
                if now - lastSilenceCheck >= 250 {
                    lastSilenceCheck = now
                    checkSilence(now: now)
                }
                if now - lastRetention >= 60_000 {
                    lastRetention = now
                    await applyRetention()
                }
            }
        }
        loopTask.withLock { $0 = task }
    }

    /// Saves the devices' last-seen times, the checkpoint (and drops the journal below it) and the new
    /// throttle windows.
    package func flush() async {
        await flushLock.run { await flushNow() }
    }

    private func flushNow() async {
        let checkpoint = tracker.checkpoint
        let saved = state.withLock { $0.savedCheckpoint }
        metrics.inFlight.record(tracker.inFlight.count)
        // Every message up to `checkpoint` was seen by the silence monitor before it was done, so its
        // device is saved here first: after a crash no device is older than the checkpoint says.
        var devicesSaved = true
        let devices = silence.takeDirty()
        if !devices.isEmpty {
            do {
                try await storage.devices.save(devices)
            } catch {
                devicesSaved = false
                silence.restoreDirty(devices)
                logger.error("saving device last-seen times failed", metadata: ["error": "\(error)"])
            }
        }
        if devicesSaved && checkpoint > saved {
            do {
                try await storage.journal.checkpoint(checkpoint)
                state.withLock { $0.savedCheckpoint = max($0.savedCheckpoint, checkpoint) }
            } catch {
                logger.error("saving the checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
        let windows = throttleGate.takeDirty(now: now())
        if !windows.isEmpty {
            do {
                try await storage.throttles.save(windows, now: now())
            } catch {
                throttleGate.restoreDirty(windows)
                logger.error("saving throttle windows failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Deletes persisted records older than their table's `retain:` period.
    package func applyRetention() async {
        let active = state.withLock { $0.active }
        let handlers = active.rules.flatMap { $0.runners.map(\.handler) + ($0.errorRunner.map { [$0.handler] } ?? []) }
        let retention = RecordRetention(handlers)
        guard !retention.keep.isEmpty else { return }
        do {
            let deleted = try await retention.apply(to: storage.records, now: now())
            for (table, count) in deleted where count > 0 {
                logger.info(
                    "old records deleted", metadata: ["records.table": "\(table)", "records.deleted": "\(count)"])
            }
        } catch {
            logger.error("deleting old records failed", metadata: ["error": "\(error)"])
        }
    }

    /// Stops taking messages, lets the lanes and actions finish what is queued (up to
    /// ``RuntimeConfiguration/drainTimeout``), and saves the checkpoint. What is not done by then is
    /// handled again at the next start.
    package func shutdown() async {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        for lane in lanes { lane.close() }
        for task in laneTasks.withLock({ $0 }) { await task.value }
        let deadline = ContinuousClock.now.advanced(by: configuration.drainTimeout)
        while tracker.inFlight.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        loopTask.withLock { $0 }?.cancel()
        silence.events.close()
        await eventTask.withLock { $0 }?.value
        await flush()
        state.withLock { $0.active }.retire()
        let left = tracker.inFlight.count
        if left > 0 {
            logger.notice(
                "stopped with messages in flight; they are handled at the next start", metadata: ["messages": "\(left)"]
            )
        }
    }

    // MARK: Rules control

    package var deadLetters: any DeadLetterStorage { storage.deadLetters }

    package func throttleWindows(rule: String?) -> [ThrottleWindow] {
        throttleGate.list(rule: rule, now: now())
    }

    package func resetThrottles(rule: String?, key: String?) async throws -> Int {
        try await flushLock.run {
            let (windows, reservations) = throttleGate.reset(rule: rule, key: key)
            try await storage.throttles.remove(windows)
            logger.notice(
                "throttle windows reset", metadata: ["throttle.windows": "\(windows.count + reservations)"])
            return windows.count + reservations
        }
    }

    package func activeRuleSet() -> RuleSet { state.withLock { $0.active.ruleSet } }

    /// The active rule set's version.
    package var version: Int { state.withLock { $0.active.version } }

    package func rulesStatus() -> RulesStatus {
        let (active, failure, versions, succeeded, failed) = state.withLock {
            ($0.active, $0.lastFailure, $0.versions, $0.reloadsSucceeded, $0.reloadsFailed)
        }
        return RulesStatus(
            version: active.version, loadedAt: active.loadedAt, path: active.loaded.path, digest: active.loaded.digest,
            rules: active.rules.map(\.status), lastFailure: failure, reloads: (succeeded, failed),
            inFlight: (tracker.inFlight.count, tracker.capacity), lanes: lanes.count, versions: versions)
    }

    package func reload() async -> ReloadOutcome {
        await reloads.run { await self.reloadNow(ifChanged: false) }
    }

    /// Reloads unless the file holds the active rules already, byte for byte: what the file watcher
    /// calls, so a change a reload request has applied is not applied a second time.
    package func reloadIfChanged() async -> ReloadOutcome {
        await reloads.run { await self.reloadNow(ifChanged: true) }
    }

    /// Loads the file; when it is valid, builds it as the next version (rules whose behaviour is
    /// unchanged keep their counters), records the version and swaps it in. A valid file clears the
    /// last failure; an invalid one is recorded as the last failure and logged with its diagnostics.
    private func reloadNow(ifChanged: Bool) async -> ReloadOutcome {
        let current = state.withLock { $0.active }
        let services = self.services.withLock { $0! }  // set by start() before the runtime is handed out
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
                previous: current, logger: logger)
            do {
                try await storage.ruleSetVersions.add(version)
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
        next.start()
        state.withLock {
            $0.active = next
            $0.lastFailure = nil
            $0.versions = Array(([version] + $0.versions).prefix(Self.versionsShown))
            $0.reloadsSucceeded += 1
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

    package func retryDeadLetter(_ id: Int64) async -> DeadLetterRetryOutcome {
        let letter: DeadLetter
        do {
            guard let found = try await storage.deadLetters.get(id) else { return .notFound }
            letter = found
        } catch {
            return .failed(error: "the dead letter could not be read: \(type(of: error))")
        }
        let active = state.withLock { $0.active }
        guard let rule = active.ruleSet.rule(named: letter.source.rule),
            let index = letter.source.actionIndex, index < rule.actions.count,
            rule.actions[index].function == letter.source.function
        else { return .ruleGone }
        let activeRule = active.rules[rule.index]
        let entry = letter.message
        let message = entry.message(accountID: configuration.accountID)
        let services = EvaluationServices(shadows: self.services.withLock { $0?.shadowLookup }, now: now)
        let outcome: Result<Void, any Error>
        do {
            let frame = rule.statement.makeFrame(for: message, services: services)
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
            return await retryFailed(letter, error: ActionRunner.describe(error))
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

/// The invocations a lane prepared from one batch of messages, grouped by action and handed over
/// together once the batch is evaluated (one queue operation per action and queue, not per job).
struct ActionOutbox {
    private var runners: [ActionRunner] = []
    private var jobs: [[(job: ActionJob, hash: Int)]] = []

    mutating func add(_ job: ActionJob, hash: Int, to runner: ActionRunner) {
        if let index = runners.lastIndex(where: { $0 === runner }) {
            jobs[index].append((job, hash))
        } else {
            runners.append(runner)
            jobs.append([(job, hash)])
        }
    }

    /// Queues everything added, each action's jobs in the order they were added.
    mutating func send() async {
        guard !runners.isEmpty else { return }
        let (runners, jobs) = (self.runners, self.jobs)
        self.runners = []
        self.jobs = []
        for (runner, queued) in zip(runners, jobs) { await runner.enqueue(queued) }
    }
}

/// Publishes into a runtime's own ingest the messages some rule listens to (republished output,
/// shadow `documents` events), so rules can react to them; the rest go nowhere.
///
/// It exists before the runtime does (the shadow service and the handlers are built first) and is
/// bound to the runtime when it starts.
package final class RuntimeLink: MessagePublisher {
    private let runtime = Mutex<RulesRuntime?>(nil)
    private let brokered: Bool

    /// An unbound link: until the runtime starts, what it is given is dropped.
    ///
    /// - Parameter brokered: Whether a broker carries published messages back to the runtime (with
    ///   MQTT on, Signalbox subscribes to its rules' filters that don't begin with `$`, and to
    ///   `$aws/rules/{rule}/#`). Then only the other topics beginning with `$` go through the link,
    ///   and nothing reaches the rules twice.
    package init(brokered: Bool = false) {
        self.brokered = brokered
    }

    func bind(_ value: RulesRuntime) { runtime.withLock { $0 = value } }

    package func publish(_ messages: [OutgoingMessage]) async {
        guard let runtime = runtime.withLock({ $0 }) else { return }
        do {
            try await ingest(messages, into: runtime)
        } catch {
            runtime.logger.error("a published message could not be journaled", metadata: ["error": "\(error)"])
        }
    }

    /// Journals the messages a rule listens to; throws ``IngestRefusal`` when they could not be.
    package func deliver(_ messages: [OutgoingMessage]) async throws {
        guard let runtime = runtime.withLock({ $0 }) else { throw IngestRefusal.unavailable }
        try await ingest(messages, into: runtime)
    }

    private func ingest(_ messages: [OutgoingMessage], into runtime: RulesRuntime) async throws(IngestRefusal) {
        let ruleSet = runtime.activeRuleSet()
        let now = runtime.now()
        let wanted = messages.filter {
            (!brokered || ($0.topic.hasPrefix("$") && !BasicIngestTopic.isReserved($0.topic)))
                && !ruleSet.candidates(forTopic: $0.topic).isEmpty
        }.map {
            IncomingMessage(topic: $0.topic, payload: $0.payload, receivedAt: now)
        }
        guard !wanted.isEmpty else { return }
        _ = try await runtime.ingest(wanted, force: true)
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension HandlerServices {
    /// `get_shadow` over the shadow store.
    var shadowLookup: any ShadowLookup { StoredShadowLookup(storage: shadows.storage) }
}

extension JournalEntry {
    /// Whether it is a message Signalbox or AWS semantics generate (`$…` topics; a Basic Ingest
    /// topic counts by its `{topic}`), which says nothing about a device's own reporting.
    var isDeviceEvent: Bool { BasicIngestTopic.effectiveTopic(topic).utf8.first == UInt8(ascii: "$") }

    /// The entry as rules see it: the gateway is the publisher's identity (`principal()`), the
    /// message id is its trace id (`traceid()`, the `traceId` of the HTTP publish reply), and
    /// `accountID` is what `accountid()` returns.
    func message(accountID: String?) -> Message {
        Message(
            topic: topic, payload: payload, clientID: clientID, principal: gateway, timestamp: receivedAt,
            traceID: String(id), accountID: accountID)
    }
}

extension DeviceEvent {
    /// The event as the message journaled on `$signalbox/events/devices/{device}/{kind}`.
    var message: IncomingMessage {
        var payload = JSONObject(minimumCapacity: 4)
        payload.appendUnique(key: "device", value: .string(device))
        payload.appendUnique(key: "event", value: .string(kind.rawValue))
        payload.appendUnique(key: "lastSeenAt", value: .int(lastSeen))
        switch kind {
        case .silent: payload.appendUnique(key: "silentAfterMs", value: .int(silentAfter))
        case .online: payload.appendUnique(key: "silentForMs", value: .int(at - lastSeen))
        }
        let topic = kind == .silent ? DevicePolicy.silentTopic(device) : DevicePolicy.onlineTopic(device)
        return IncomingMessage(topic: topic, payload: JSONSerializer.bytes(.object(payload)), receivedAt: at)
    }
}

extension MessageMetadata {
    /// What an invocation knows of journal entry `entry`, ordered by `device`.
    init(_ entry: JournalEntry, device: String) {
        self.init(
            id: entry.id, topic: entry.topic, device: device, receivedAt: entry.receivedAt, clientID: entry.clientID,
            gateway: entry.gateway)
    }
}
