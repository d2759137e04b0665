import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The workers of one function version: started on demand (a cold start), reused while warm, stopped
/// after ``Limits/idleTimeout`` without work (down to none), at most ``Limits/concurrency`` at once.
/// Invocations beyond them wait in a queue of at most ``Limits/maxQueued``; past it they are refused
/// at once (``PoolRefusal/throttled``), so memory stays bounded and the caller feels the back-pressure.
///
/// A worker that times out, crashes or fails its init fails only the invocation it ran; the next one
/// gets a new worker. The pool is a ServiceLifecycle service: every worker runs as a child task of
/// ``run()``, and is stopped when it ends.
package final class FunctionPool: Service {
    /// How many workers and how long they wait.
    package struct Limits: Sendable {
        /// Most workers at once (Lambda's reserved concurrency).
        package var concurrency: Int
        /// Most invocations waiting for a worker.
        package var maxQueued: Int
        /// How long a warm worker waits for work before it stops.
        package var idleTimeout: Duration

        /// Limits.
        package init(concurrency: Int = 10, maxQueued: Int = 1000, idleTimeout: Duration = .seconds(300)) {
            self.concurrency = max(1, concurrency)
            self.maxQueued = max(0, maxQueued)
            self.idleTimeout = idleTimeout
        }
    }

    /// What the pool has done, for status and metrics.
    package struct Counters: Sendable, Hashable {
        /// Workers running now.
        package var workers = 0
        /// The most workers that ran at once.
        package var peakWorkers = 0
        /// Workers started (cold starts).
        package var coldStarts = 0
        /// Invocations waiting for a worker now.
        package var queued = 0
        /// Invocations refused because the queue was full.
        package var throttled = 0
    }

    private struct Job: Sendable {
        var id: Int
        var invocation: LambdaInvocation
        var timeout: Duration
        var reply: CheckedContinuation<InvocationRecord, any Error>
    }

    private struct State {
        var queue: [Job] = []
        /// Warm workers waiting for a job, by ticket.
        var idle: [Int: CheckedContinuation<Job?, Never>] = [:]
        var nextTicket = 0
        var nextJobID = 0
        var counters = Counters()
        var stopped = false
        /// Taking no new invocations; ends once the queued ones are done.
        var draining = false
        /// Workers running a job (the others are starting, idle, or about to be).
        var busy = 0
    }

    /// The function version the workers run.
    package let configuration: WorkerConfiguration
    package let limits: Limits
    private let logger: Logger
    private let state = Mutex(State())
    private let logs: FunctionLog
    private let metrics: FunctionMetrics
    private let starts: AsyncStream<Void>
    private let startRequests: AsyncStream<Void>.Continuation

    /// A pool for `configuration`; no worker runs until the first invocation. Its metrics go to
    /// `metrics` (the process's metrics system by default).
    package init(
        _ configuration: WorkerConfiguration, limits: Limits = Limits(), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory, log: FunctionLog = FunctionLog()
    ) {
        self.logs = log
        self.configuration = configuration
        self.limits = limits
        self.logger = logger
        self.metrics = FunctionMetrics(
            function: configuration.functionName, version: configuration.version, factory: metrics)
        (starts, startRequests) = AsyncStream.makeStream(of: Void.self)
    }

    /// Runs the invocation on a warm worker, a new one, or the first one free.
    ///
    /// - Throws: ``PoolRefusal`` when the queue is full or the pool has stopped; ``WorkerFailure``
    ///   when the worker timed out, ended or failed its init.
    package func invoke(_ invocation: LambdaInvocation, timeout: Duration) async throws -> InvocationOutcome {
        try await record(invocation, timeout: timeout).result.get()
    }

    /// Runs the invocation like ``invoke(_:timeout:)`` and tells how it went (its log is also kept in
    /// ``log``).
    ///
    /// A caller cancelled while its invocation still waits in the queue gets `CancellationError` and
    /// the invocation never runs; once a worker has it, it runs to its end or its timeout.
    ///
    /// - Throws: ``PoolRefusal``; ``WorkerFailure/cannotStart(_:)`` when no worker could start.
    package func record(_ invocation: LambdaInvocation, timeout: Duration) async throws -> InvocationRecord {
        let id = state.withLock { state in
            state.nextJobID += 1
            return state.nextJobID
        }
        return try await withTaskCancellationHandler {
            try await enqueue(id: id, invocation, timeout: timeout)
        } onCancel: {
            withdraw(id)
        }
    }

    /// Takes the job `id` out of the queue, if it still waits there, and fails it as cancelled.
    private func withdraw(_ id: Int) {
        let job = state.withLock { state -> Job? in
            guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
            defer { state.counters.queued = state.queue.count }
            return state.queue.remove(at: index)
        }
        job?.reply.resume(throwing: CancellationError())
    }

    private func enqueue(id: Int, _ invocation: LambdaInvocation, timeout: Duration) async throws -> InvocationRecord {
        try await withCheckedThrowingContinuation { reply in
            let job = Job(id: id, invocation: invocation, timeout: timeout, reply: reply)
            let refusal: PoolRefusal? = state.withLock { state in
                if state.stopped || state.draining { return .stopped }
                // The worker idle the shortest time, so that the others can age out under light load.
                if let ticket = state.idle.keys.max(), let worker = state.idle.removeValue(forKey: ticket) {
                    state.busy += 1
                    worker.resume(returning: job)
                    return nil
                }
                // Room: in the queue, for a new worker, or with a worker that is starting or has just
                // answered and is about to ask for work.
                let free = state.counters.workers - state.busy
                guard
                    state.queue.count < limits.maxQueued || state.counters.workers < limits.concurrency
                        || state.queue.count < free
                else {
                    state.counters.throttled += 1
                    metrics.throttles.increment()
                    return .throttled
                }
                state.queue.append(job)
                state.counters.queued = state.queue.count
                startWorkerIfNeeded(&state)
                return nil
            }
            if let refusal {
                reply.resume(throwing: refusal)
            } else if Task.isCancelled {
                // Cancelled before it was queued: the cancellation handler found nothing to withdraw.
                withdraw(id)
            }
        }
    }

    /// The function's log: the last invocations' `START`/`END`/`REPORT` logs, at most 256 KiB.
    package var log: String { logs.text }

    /// The counters now.
    package var counters: Counters { state.withLock { $0.counters } }

    /// Runs the workers until the task is cancelled or a graceful shutdown: then no new invocation is
    /// taken, the queued ones are refused, and the workers stop once their invocations end.
    package func run() async {
        await withDiscardingTaskGroup { group in
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    for await _ in starts {
                        group.addTask { await self.runWorker() }
                    }
                } onGracefulShutdown: {
                    self.stop()
                }
            } onCancel: {
                self.stop()
            }
        }
    }

    /// Stops taking invocations: queued ones fail, idle workers end.
    package func stop() {
        let (jobs, idle) = state.withLock { state -> ([Job], [CheckedContinuation<Job?, Never>]) in
            state.stopped = true
            defer {
                state.queue.removeAll()
                state.idle.removeAll()
                state.counters.queued = 0
            }
            return (Array(state.queue), Array(state.idle.values))
        }
        for job in jobs { job.reply.resume(throwing: PoolRefusal.stopped) }
        for worker in idle { worker.resume(returning: nil) }
        startRequests.finish()
    }

    /// Takes no new invocations (they are refused as ``PoolRefusal/stopped``), runs those queued, and
    /// ends ``run()`` once its workers have: how an old version makes way for a new one without losing
    /// or repeating an invocation.
    package func drain() {
        let (idle, finished) = state.withLock { state -> ([CheckedContinuation<Job?, Never>], Bool) in
            state.draining = true
            guard state.queue.isEmpty else { return ([], false) }
            defer { state.idle.removeAll() }
            return (Array(state.idle.values), state.counters.workers == 0)
        }
        for worker in idle { worker.resume(returning: nil) }
        if finished { startRequests.finish() }
    }

    /// One worker, from its start until it is idle too long, breaks or the pool stops.
    private func runWorker() async {
        do {
            try await Worker.run(configuration, logger: logger) { worker in
                while let job = await nextJob() {
                    guard worker.isUsable else {
                        // It ended while idle: the job goes back first in line for another worker.
                        requeue(job)
                        return
                    }
                    let record = await worker.record(job.invocation, timeout: job.timeout)
                    metrics.record(record)
                    logs.append(record.log(version: configuration.version, memorySizeMB: configuration.memoryMB))
                    state.withLock { $0.busy -= 1 }
                    job.reply.resume(returning: record)
                    if !worker.isUsable { return }
                }
            }
        } catch {
            // The worker could not start: the first invocation waiting fails with the reason, so that a
            // function that never starts does not start workers forever.
            logger.error("worker did not start", metadata: ["function.name": "\(configuration.functionName)"])
            // The worker is counted out before its job's caller hears, so that the caller's next
            // invocation finds no worker and starts one, rather than a second start racing it.
            var job: Job?
            let drained = workerEnded { state in
                if !state.queue.isEmpty { job = state.queue.removeFirst() }
            }
            job?.reply.resume(throwing: error)
            if drained { startRequests.finish() }
            return
        }
        if workerEnded({ _ in }) { startRequests.finish() }
    }

    /// Counts a worker out (after `change`), starts another when invocations wait, and tells whether
    /// a draining pool is done.
    private func workerEnded(_ change: (inout State) -> Void) -> Bool {
        state.withLock { state in
            change(&state)
            state.counters.queued = state.queue.count
            state.counters.workers -= 1
            startWorkerIfNeeded(&state)
            metrics.concurrentExecutions.set(state.counters.workers)
            return state.draining && state.counters.workers == 0 && state.queue.isEmpty
        }
    }

    /// The next job, or nil after ``Limits/idleTimeout`` without one or once the pool stops.
    private func nextJob() async -> Job? {
        let ticket: Int? = state.withLock { state in
            if state.stopped { return nil }
            let ticket = state.nextTicket
            state.nextTicket += 1
            return ticket
        }
        guard let ticket else { return nil }
        return await withDiscardingTaskGroup(returning: Job?.self) { group in
            let job = await withCheckedContinuation { (worker: CheckedContinuation<Job?, Never>) in
                let immediate: Job?? = state.withLock { state in
                    if state.stopped { return .some(nil) }
                    if !state.queue.isEmpty {
                        let job = state.queue.removeFirst()
                        state.busy += 1
                        state.counters.queued = state.queue.count
                        return .some(job)
                    }
                    if state.draining { return .some(nil) }
                    state.idle[ticket] = worker
                    return nil
                }
                if let immediate {
                    worker.resume(returning: immediate)
                } else {
                    // Registered first, then timed: the timer always finds the wait it ends.
                    group.addTask {
                        try? await Task.sleep(for: self.limits.idleTimeout)
                        self.leaveIdle(ticket)
                    }
                }
            }
            group.cancelAll()
            return job
        }
    }

    /// Puts `job` back at the head of the queue, or fails it when the pool has stopped.
    private func requeue(_ job: Job) {
        let stopped = state.withLock { state in
            state.busy -= 1
            if !state.stopped {
                state.queue.insert(job, at: 0)
                state.counters.queued = state.queue.count
            }
            return state.stopped
        }
        if stopped { job.reply.resume(throwing: PoolRefusal.stopped) }
    }

    /// Ends the wait of the idle worker `ticket` with nothing, if it still waits.
    private func leaveIdle(_ ticket: Int) {
        let worker = state.withLock { $0.idle.removeValue(forKey: ticket) }
        worker?.resume(returning: nil)
    }

    /// Starts a worker when invocations wait and fewer than the limit run.
    private func startWorkerIfNeeded(_ state: inout State) {
        guard !state.stopped, !state.queue.isEmpty, state.counters.workers < limits.concurrency else { return }
        state.counters.workers += 1
        state.counters.coldStarts += 1
        state.counters.peakWorkers = max(state.counters.peakWorkers, state.counters.workers)
        metrics.coldStarts.increment()
        metrics.concurrentExecutions.set(state.counters.workers)
        startRequests.yield()
    }
}

/// Why a pool refused an invocation without running it.
package enum PoolRefusal: Error, Sendable, Hashable {
    /// Every worker is busy and the queue is full.
    case throttled
    /// The pool has stopped.
    case stopped
}

/// The recent invocation logs of a function, bounded, with a count of every byte ever written so
/// that a reader can follow it.
package final class FunctionLog: Sendable {
    static let limit = 256 * 1024
    private struct State {
        var bytes: [UInt8] = []
        var total = 0
    }
    private let state = Mutex(State())

    package init() {}

    func append(_ entry: String) {
        state.withLock { state in
            state.bytes.append(contentsOf: entry.utf8)
            state.total += entry.utf8.count
            if state.bytes.count > Self.limit { state.bytes.removeFirst(state.bytes.count - Self.limit) }
        }
    }

    /// The log kept (the last 256 KiB).
    package var text: String { String(decoding: state.withLock { $0.bytes }, as: UTF8.self) }

    /// What was written after the first `since` bytes (as much as is kept), and the count to pass next.
    package func text(since: Int) -> (text: String, end: Int) {
        state.withLock { state in
            let count = min(max(0, state.total - since), state.bytes.count)
            return (String(decoding: state.bytes.suffix(count), as: UTF8.self), state.total)
        }
    }
}
