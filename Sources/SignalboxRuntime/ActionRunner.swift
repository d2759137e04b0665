import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Synchronization

/// Counters of one action since its rule was loaded or last changed: a reload that leaves the rule
/// unchanged hands the same counters to the action's new runner. They are the one record of these
/// counts: `GET /admin/rules` shows them, and `/metrics` exports them (``RulesStatus``).
package final class ActionCounters: Sendable {
    let invocations = Atomic<Int>(0)
    let succeeded = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let throttled = Atomic<Int>(0)
    let deadLettered = Atomic<Int>(0)
    /// Invocations that failed for good and whose failure the rule's error action then handled.
    let handledByErrorAction = Atomic<Int>(0)
    let pending = Atomic<Int>(0)

    init() {}
}

/// One invocation on its way through an action: queued, running, waiting for a retry. A class, so
/// the queues move one reference instead of copying the invocation.
final class ActionJob: Sendable {
    let invocation: Invocation
    /// Told when the invocation has succeeded or failed for good.
    let completion: JobCompletion
    /// When the runtime took the message, for the handler-start latency of a rule's actions.
    let received: ContinuousClock.Instant?
    /// The throttle key the invocation holds, settled when it has succeeded or failed for good.
    let throttle: ThrottleClaim?

    init(
        invocation: Invocation, completion: JobCompletion, received: ContinuousClock.Instant?,
        throttle: ThrottleClaim? = nil
    ) {
        self.invocation = invocation
        self.completion = completion
        self.received = received
        self.throttle = throttle
    }

    /// The same job, for its next attempt.
    func retried() -> ActionJob {
        var invocation = invocation
        invocation.attempt += 1
        return ActionJob(invocation: invocation, completion: completion, received: received, throttle: throttle)
    }
}

/// Runs one action of a rule set: its handler's invocations, `concurrency` at a time, each device's
/// invocations in arrival order; retries with exponential backoff and jitter; a timeout per attempt.
///
/// Invocations are spread over `concurrency` queues by device key; each queue has one worker,
/// which takes batches when the handler batches. A retry waits off the queue (it does not hold a
/// worker) and then joins the end of its queue again.
final class ActionRunner: Sendable {
    let handler: any HandlerFunction
    let definition: ActionDefinition
    let counters: ActionCounters
    let metrics: ActionMetrics
    private let shards: [WorkQueue<ActionJob>]
    private let batchSize: Int
    private let tasks: RuntimeTasks
    private let logger: Logger

    /// The most invocations queued per worker before the lane feeding them waits.
    static let queueLimitPerWorker = 4096

    /// A runner of `handler`; `counters` are the action's, new or kept from the runner it replaces.
    init(
        handler: any HandlerFunction, definition: ActionDefinition, counters: ActionCounters = ActionCounters(),
        metrics: ActionMetrics, tasks: RuntimeTasks, logger: Logger
    ) {
        self.handler = handler
        self.tasks = tasks
        self.definition = definition
        self.counters = counters
        self.metrics = metrics
        self.logger = logger
        let concurrency = max(1, handler.concurrency)
        self.shards = (0..<concurrency).map { _ in WorkQueue(softLimit: Self.queueLimitPerWorker) }
        self.batchSize = (handler as? any BatchingHandlerFunction).map { max(1, $0.maxBatchSize) } ?? 1
    }

    /// Starts one worker per queue, each a child task of the runtime; they end when ``retire()`` has
    /// been called (a reload that replaced the rule, or a stop) and the queues are empty.
    func start() {
        for shard in shards {
            tasks.spawn { await self.work(shard) }
        }
    }

    /// Queues `jobs`, each on the queue its device hash picks, in order; waits while a queue is full.
    func enqueue(_ jobs: [(job: ActionJob, hash: Int)]) async {
        guard !jobs.isEmpty else { return }
        counters.pending.add(jobs.count, ordering: .relaxed)
        counters.invocations.add(jobs.count, ordering: .relaxed)
        if shards.count == 1 {
            await push(jobs.map(\.job), to: shards[0])
            return
        }
        var perShard = [[ActionJob]](repeating: [], count: shards.count)
        for (job, hash) in jobs { perShard[Int(UInt(bitPattern: hash) % UInt(shards.count))].append(job) }
        for (shard, queued) in zip(shards, perShard) where !queued.isEmpty { await push(queued, to: shard) }
    }

    private func push(_ jobs: [ActionJob], to shard: WorkQueue<ActionJob>) async {
        if !(await shard.pushWaiting(jobs)) {
            // Retired while waiting: run them here, in order.
            for job in jobs { await runBatch([job]) }
        }
    }

    /// Stops taking new invocations once the queued ones are done.
    func retire() {
        for shard in shards { shard.close() }
    }

    private func work(_ shard: WorkQueue<ActionJob>) async {
        // Once the runtime is cancelled (the end of a stop that timed out), each attempt ends at once
        // and its messages stay in flight for the next start; the worker still empties its queue, so
        // no lane waits on it, and ends when the rule set is retired.
        while let batch = await shard.next(max: batchSize) {
            await runBatch(batch, requeue: shard)
        }
    }

    private func runBatch(_ jobs: [ActionJob], requeue shard: WorkQueue<ActionJob>? = nil) async {
        let start = ContinuousClock.now
        let deadline = start.advanced(by: definition.timeout)
        var invocations: [Invocation] = []
        invocations.reserveCapacity(jobs.count)
        for job in jobs {
            if job.invocation.attempt == 1, let received = job.received {
                metrics.startLatency.recordNanoseconds((start - received).nanoseconds)
            }
            var invocation = job.invocation
            invocation.deadline = deadline
            invocations.append(invocation)
        }
        let handler = self.handler
        let result: Result<Void, any Error>
        do {
            if invocations.count == 1 {
                let invocation = invocations[0]
                try await Attempt.run(before: deadline, timeout: definition.timeout) {
                    try await handler.invoke(invocation)
                }
            } else {
                let batching = handler as! any BatchingHandlerFunction
                let batch = invocations
                try await Attempt.run(before: deadline, timeout: definition.timeout) {
                    try await batching.invoke(batch: batch)
                }
            }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        metrics.duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        // The runtime stopped meanwhile: the messages stay in flight and are handled at the next start.
        if case .failure(let error) = result, error is CancellationError, Task.isCancelled { return }
        switch result {
        case .success:
            counters.succeeded.add(jobs.count, ordering: .relaxed)
            counters.pending.add(-jobs.count, ordering: .relaxed)
            var done: [MessageTicket] = []
            for job in jobs {
                job.throttle?.settle(succeeded: true)
                if let ticket = job.completion.finished(job.invocation.source, failure: nil) { done.append(ticket) }
            }
            MessageTicket.completeAll(done)
        case .failure(let error):
            for job in jobs { fail(job, error: error, shard: shard) }
        }
    }

    private func fail(_ job: ActionJob, error: any Error, shard: WorkQueue<ActionJob>?) {
        counters.failures.add(1, ordering: .relaxed)
        let description = Attempt.describe(error)
        var logger = job.invocation.logger
        logger[metadataKey: "error"] = "\(description)"
        logger[metadataKey: "attempt"] = "\(job.invocation.attempt)"
        if let delay = definition.retry.retryDelay(after: error, attempt: job.invocation.attempt), let shard {
            logger.info("action failed; retrying")
            counters.retries.add(1, ordering: .relaxed)
            let retry = job.retried()
            // The message stays in flight meanwhile, so a drain waits for it. Cancelled at the end
            // of a stop: the message is handled again at the next start.
            tasks.spawn {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                if !shard.push(retry) {
                    // The rule set was replaced meanwhile: its worker has ended, so run it here.
                    await self.runBatch([retry])
                }
            }
            return
        }
        logger.warning("action failed for good")
        // Nothing was sent: the throttle key is free for the next invocation.
        job.throttle?.settle(succeeded: false)
        counters.pending.add(-1, ordering: .relaxed)
        // A failure never completes the message here: the rule's failures are handled first.
        _ = job.completion.finished(job.invocation.source, failure: description)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
