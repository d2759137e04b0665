import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// A message on its way to a lane.
struct LaneItem: Sendable {
    let entry: JournalEntry
    let device: String
    /// When ingest took the message (or the start replayed it): where handler-start latency counts from.
    let received: ContinuousClock.Instant
}

/// The ordered lanes: each device's messages go to one lane, in journal order. A lane evaluates the
/// active rules on a batch of messages, applies throttles, and hands the invocations to the actions;
/// a message without a matching rule is done at once.
final class Lanes: Sendable {
    private let queues: [WorkQueue<LaneItem>]
    private let rules: Rulebook
    private let silence: SilenceMonitor
    private let throttles: ThrottleGate
    private let completions: Completions
    private let evaluation: EvaluationServices
    private let accountID: String
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let now: @Sendable () -> Int64

    init(
        count: Int, rules: Rulebook, silence: SilenceMonitor, throttles: ThrottleGate, completions: Completions,
        evaluation: EvaluationServices, accountID: String, metrics: RuntimeMetrics,
        now: @escaping @Sendable () -> Int64,
        logger: Logger
    ) {
        self.queues = (0..<max(1, count)).map { _ in WorkQueue() }
        self.rules = rules
        self.silence = silence
        self.throttles = throttles
        self.completions = completions
        self.evaluation = evaluation
        self.accountID = accountID
        self.metrics = metrics
        self.now = now
        self.logger = logger
    }

    var count: Int { queues.count }

    /// Hands entries to their lanes by device key.
    func dispatch(_ entries: [JournalEntry], received: ContinuousClock.Instant) {
        let policy = rules.active.devices
        if queues.count == 1 {
            queues[0].push(
                entries.map { LaneItem(entry: $0, device: policy.deviceKey(forTopic: $0.topic), received: received) })
            return
        }
        var perLane = [[LaneItem]](repeating: [], count: queues.count)
        for entry in entries {
            let device = policy.deviceKey(forTopic: entry.topic)
            perLane[Self.lane(of: device, count: queues.count)].append(
                LaneItem(entry: entry, device: device, received: received))
        }
        for (lane, items) in zip(queues, perLane) where !items.isEmpty { lane.push(items) }
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

    /// Runs every lane until ``close()`` and each has handled what it holds.
    func run() async {
        await withDiscardingTaskGroup { group in
            for lane in queues {
                group.addTask { await self.run(lane) }
            }
        }
    }

    /// Lanes take no more messages; they end once they have handled what they hold.
    func close() {
        for lane in queues { lane.close() }
    }

    private func run(_ lane: WorkQueue<LaneItem>) async {
        var frame: EvaluationFrame?
        var outbox = ActionOutbox()
        var candidates: [Int32] = []
        while let batch = await lane.next(max: 256) {
            let active = rules.active
            var done: [Int64] = []
            for item in batch {
                process(
                    item, active: active, frame: &frame, candidates: &candidates, done: &done, outbox: &outbox)
            }
            silence.passed(batch.lazy.filter { !$0.entry.isDeviceEvent }.map(\.entry.receivedAt))
            if !done.isEmpty { completions.complete(done) }
            await outbox.send()
        }
    }

    private func process(
        _ item: LaneItem, active: ActiveRules, frame: inout EvaluationFrame?, candidates: inout [Int32],
        done: inout [Int64], outbox: inout ActionOutbox
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
        let message = entry.ruleInput(accountID: accountID)
        let frame = {
            if let frame {
                frame.reset(for: message)
                return frame
            }
            let made = EvaluationFrame(message: message, services: evaluation)
            frame = made
            return made
        }()
        // Held by this lane until every matched rule has added its actions.
        var ticket: MessageTicket?
        var metadata: MessageMetadata?
        for index in candidates {
            let rule = active.rules[Int(index)]
            rule.counters.evaluated.add(1, ordering: .relaxed)
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
                logger.warning(
                    "rule evaluation failed",
                    metadata: [
                        "rule.name": "\(rule.name)", "message.id": "\(entry.id)", "device.id": "\(item.device)",
                        "error": "\(error)",
                    ])
                continue
            }
            rule.counters.matched.add(1, ordering: .relaxed)
            let messageTicket = ticket ?? MessageTicket(id: entry.id, completions: completions)
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
            completions: completions)
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
                    claim = throttles.acquire(
                        action: rule.throttleNames[index], key: throttleKey, per: throttle.per, now: time,
                        idempotencyKey: key)
                    guard claim != nil else {
                        rule.runners[index].counters.throttled.add(1, ordering: .relaxed)
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
