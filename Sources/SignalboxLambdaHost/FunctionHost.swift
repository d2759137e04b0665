import Foundation
import Logging
import ServiceLifecycle
import SignalboxCore
import Synchronization

/// The deployed functions of a running Signalbox: their catalog, and one ``FunctionPool`` per version
/// in use. The management API and the CLI change functions through it; rules and `Invoke` run them.
///
/// A pool starts with the first invocation of its version. When `$LATEST` changes (new code or
/// settings) or a function is deleted, new invocations go to the new version at once, while the old
/// pool finishes what it has queued and running, then ends (``FunctionPool/drain()``): a deploy
/// loses and repeats no invocation. The host is a ServiceLifecycle service; every pool runs as a
/// child task of ``run()``.
package final class FunctionHost: Service, FunctionInvoker {
    /// How functions run on this host.
    package struct Configuration: Sendable {
        /// The Python 3 that runs `python3.x` functions (with `awslambdaric` installed).
        package var python: String
        /// The region and account in ARNs and `AWS_REGION`.
        package var region: String
        package var accountID: String
        /// Workers per function version unless `PutFunctionConcurrency` set another number.
        package var concurrency: Int
        /// Invocations waiting per version before more are refused.
        package var maxQueued: Int
        /// How long a warm worker waits for work before it stops.
        package var idleTimeout: Duration
        /// Bundle size limits.
        package var bundleLimits: BundleArchive.Limits
        /// `Event` invocations accepted and not yet finished, at most, and their bytes.
        package var maxPendingEvents = 10_000
        package var maxPendingEventBytes = 64 * 1024 * 1024

        package init(
            python: String = "python3", region: String = "us-east-1", accountID: String = "000000000000",
            concurrency: Int = 10, maxQueued: Int = 1000, idleTimeout: Duration = .seconds(300),
            bundleLimits: BundleArchive.Limits = BundleArchive.Limits()
        ) {
            self.python = python
            self.region = region
            self.accountID = accountID
            self.concurrency = concurrency
            self.maxQueued = maxQueued
            self.idleTimeout = idleTimeout
            self.bundleLimits = bundleLimits
        }
    }

    /// Which pool runs a version: `$LATEST` gets a new pool with each revision, and every version a
    /// new one when the function's concurrency changes.
    private struct PoolKey: Hashable {
        var function: String
        var version: String
        var revisionID: String
        var concurrency: Int
    }

    private struct State {
        /// The pools that take invocations.
        var pools: [PoolKey: FunctionPool] = [:]
        /// Every pool whose workers may still run (taking invocations or draining), with its function
        /// and code directory.
        var running: [ObjectIdentifier: (function: String, code: String)] = [:]
        var stopped = false
        var pendingEvents = 0
        var pendingEventBytes = 0
        /// Each function's log, kept across its versions and pools (until a restart).
        var logs: [String: FunctionLog] = [:]
    }

    package let catalog: FunctionCatalog
    package let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    /// Work for the task group of ``run()``: pools, and `Event` invocations.
    private let work: AsyncStream<@Sendable () async -> Void>
    private let spawn: AsyncStream<@Sendable () async -> Void>.Continuation

    /// Worker processes recorded while they run (nil when the directory cannot be made).
    private let records: WorkerRecords?

    /// A host of the functions in `catalog`. Workers a previous run left running (it was killed) are
    /// stopped first.
    package init(catalog: FunctionCatalog, configuration: Configuration, logger: Logger) {
        self.catalog = catalog
        self.configuration = configuration
        self.logger = logger
        (work, spawn) = AsyncStream.makeStream()
        for problem in catalog.problems { logger.error("\(problem)") }
        do {
            let records = try WorkerRecords(
                directory: (catalog.directory as NSString).appendingPathComponent(".workers"))
            let stopped = records.stopLeftovers()
            if stopped > 0 {
                logger.notice("stopped function workers left by the previous run", metadata: ["workers": "\(stopped)"])
            }
            self.records = records
        } catch {
            logger.warning(
                "function workers cannot be recorded; after a crash, stop leftover workers by hand",
                metadata: ["error": "\(error)"])
            self.records = nil
        }
    }

    /// Runs the pools until a graceful shutdown or cancellation; then every pool stops taking
    /// invocations and its workers end.
    package func run() async {
        await withDiscardingTaskGroup { group in
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    for await item in work {
                        group.addTask { await item() }
                    }
                } onGracefulShutdown: {
                    self.stop()
                }
            } onCancel: {
                self.stop()
            }
        }
    }

    private func stop() {
        let pools = state.withLock { state in
            state.stopped = true
            return Array(state.pools.values)
        }
        for pool in pools { pool.stop() }
        spawn.finish()
    }

    /// A pool has ended: code no version and no worker uses any more goes.
    private func ended(_ pool: FunctionPool, function: String) {
        state.withLock { _ = $0.running.removeValue(forKey: ObjectIdentifier(pool)) }
        removeUnusedCode(of: function)
    }

    private func removeUnusedCode(of function: String) {
        let inUse = state.withLock { state in
            Set(state.running.values.filter { $0.function == function }.map(\.code))
        }
        catalog.removeUnusedCode(of: function, keeping: inUse)
    }

    /// The ARN of `function`, with `qualifier` when given.
    package func arn(_ function: String, qualifier: String? = nil) -> String {
        "arn:aws:lambda:\(configuration.region):\(configuration.accountID):function:\(function)"
            + (qualifier.map { ":\($0)" } ?? "")
    }

    // MARK: - Changes

    /// Makes the versions of `function` that changed or went take no new invocations; their pools end
    /// once they have finished what they hold.
    package func retireStale(_ function: String) {
        let current = catalog.function(function)
        let stale = state.withLock { state -> [FunctionPool] in
            let keys = state.pools.keys.filter { key in
                guard key.function == function else { return false }
                guard let current, let version = current.version(key.version) else { return true }
                return poolKey(current, version) != key
            }
            // A deleted function's log goes with it.
            if current == nil { state.logs[function] = nil }
            return keys.compactMap { state.pools.removeValue(forKey: $0) }
        }
        for pool in stale { pool.drain() }
        removeUnusedCode(of: function)
    }

    // MARK: - Invoking

    /// What an invocation did.
    package struct Execution: Sendable {
        /// The version that ran (`$LATEST` or a number).
        package var version: String
        package var record: InvocationRecord
        /// Lambda's log of it.
        package var log: String
    }

    /// Why an invocation did not run.
    package enum Refusal: Error, Sendable, Hashable {
        case notFound(String)
        case throttled
        case stopping
    }

    /// Runs `function` (`qualifier`: `$LATEST` when nil, a version or an alias) with `event`.
    package func execute(
        function name: String, qualifier: String?, event: [UInt8], clientContext: String? = nil,
        timeout: Duration? = nil
    ) async throws(Refusal) -> Execution {
        guard let function = catalog.function(name) else { throw .notFound("Function not found: \(arn(name))") }
        guard let version = function.version(qualifier) else {
            throw .notFound("Function not found: \(arn(name, qualifier: qualifier))")
        }
        if function.reservedConcurrency == 0 { throw .throttled }
        guard let pool = pool(for: function, version) else {
            // Changed meanwhile (or stopping): the version now current takes it.
            if state.withLock({ $0.stopped }) { throw .stopping }
            return try await execute(
                function: name, qualifier: qualifier, event: event, clientContext: clientContext, timeout: timeout)
        }
        var limit = Duration.seconds(version.settings.timeout)
        if let timeout, timeout < limit { limit = timeout }
        let invocation = LambdaInvocation(
            requestID: UUID().uuidString.lowercased(), event: event,
            deadlineMilliseconds: LambdaTime.deadline(after: limit),
            invokedFunctionARN: arn(name, qualifier: qualifier), traceID: Self.traceID(), clientContext: clientContext)
        do {
            let record = try await pool.record(invocation, timeout: limit)
            return Execution(
                version: version.version, record: record,
                log: record.log(version: version.version, memorySizeMB: version.settings.memorySize))
        } catch PoolRefusal.throttled {
            throw .throttled
        } catch PoolRefusal.stopped {
            // Retired while this waited to be queued: the version that replaced it takes it.
            return try await execute(
                function: name, qualifier: qualifier, event: event, clientContext: clientContext, timeout: timeout)
        } catch let failure as WorkerFailure {
            let record = InvocationRecord(
                requestID: invocation.requestID, result: .failure(failure), duration: .zero, initDuration: nil,
                maxMemoryUsedMB: nil, initOutput: [], output: [])
            return Execution(
                version: version.version, record: record,
                log: record.log(version: version.version, memorySizeMB: version.settings.memorySize))
        } catch {
            throw .stopping
        }
    }

    /// Accepts an `Event` invocation: it runs in the background, its outcome only logged (in the
    /// function's log). False when too many are pending or the host is stopping.
    ///
    /// As Lambda does with asynchronous invocations, a throttled event waits and is tried again (with
    /// backoff, up to 1 s apart, for as long as the host runs), and one whose function fails (an
    /// error, a timeout, a crash) is tried twice more, a second and then two apart. What finally
    /// fails is logged, without the event.
    package func submitEvent(function: String, qualifier: String?, event: [UInt8], clientContext: String?) -> Bool {
        let accepted = state.withLock { state in
            guard !state.stopped, state.pendingEvents < configuration.maxPendingEvents,
                state.pendingEventBytes + event.count <= configuration.maxPendingEventBytes
            else { return false }
            state.pendingEvents += 1
            state.pendingEventBytes += event.count
            return true
        }
        guard accepted else { return false }
        spawn.yield {
            await self.runEvent(function: function, qualifier: qualifier, event: event, clientContext: clientContext)
            self.state.withLock { state in
                state.pendingEvents -= 1
                state.pendingEventBytes -= event.count
            }
        }
        return true
    }

    private func runEvent(function: String, qualifier: String?, event: [UInt8], clientContext: String?) async {
        var failures = 0
        var wait = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                let execution = try await execute(
                    function: function, qualifier: qualifier, event: event, clientContext: clientContext)
                if case .success(.response) = execution.record.result { return }
                failures += 1
                if failures > 2 {
                    logger.warning(
                        "an Event invocation failed after its retries (see the function's log)",
                        metadata: ["function.name": "\(function)"])
                    return
                }
                try? await Task.sleep(for: .seconds(failures))
            } catch .throttled {
                try? await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(1))
            } catch .notFound {
                logger.warning(
                    "an Event invocation was dropped: its function, version or alias no longer exists",
                    metadata: ["function.name": "\(function)"])
                return
            } catch {
                return  // the host is stopping
            }
        }
    }

    /// For rules: the function's answer, or why there was none.
    package func invoke(
        _ request: FunctionInvocationRequest
    ) async throws(FunctionInvocationError) -> FunctionInvocationResult {
        guard let reference = FunctionReference(request.function) else {
            throw .invalid("not a function name, NAME:QUALIFIER or function ARN")
        }
        var clientContext: String?
        if let key = request.idempotencyKey {
            clientContext = Self.clientContext(idempotencyKey: key)
        }
        let execution: Execution
        do {
            execution = try await execute(
                function: reference.name, qualifier: reference.qualifier, event: request.payload,
                clientContext: clientContext, timeout: request.timeout)
        } catch .notFound(let message) {
            throw .notFound(message)
        } catch {
            throw .throttled
        }
        switch execution.record.result {
        case .success(.response(let body)): return .returned(body)
        case .success(.functionError(let document, let type)): return .raised(document: document, errorType: type)
        case .failure(let failure): throw .failed(failure.description)
        }
    }

    /// The client context that carries an idempotency key: `{"custom": {"idempotency_key": KEY}}`,
    /// which the runtime clients give the handler as `context.client_context.custom`.
    static func clientContext(idempotencyKey: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: ["custom": ["idempotency_key": idempotencyKey]])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private func poolKey(_ function: DeployedFunction, _ version: FunctionVersion) -> PoolKey {
        PoolKey(
            function: function.name, version: version.version, revisionID: version.revisionID,
            concurrency: function.reservedConcurrency ?? configuration.concurrency)
    }

    /// The pool of `version`, started on first use; nil once the host stops, or when `function` is
    /// no longer what the catalog holds (a change saved meanwhile, whose retirement of stale pools
    /// this must not undo).
    private func pool(for function: DeployedFunction, _ version: FunctionVersion) -> FunctionPool? {
        let key = poolKey(function, version)
        let (pool, isNew) = state.withLock { state -> (FunctionPool?, Bool) in
            if state.stopped { return (nil, false) }
            if let pool = state.pools[key] { return (pool, false) }
            guard let current = catalog.function(function.name), let now = current.version(version.version),
                poolKey(current, now) == key
            else { return (nil, false) }
            let log = state.logs[function.name] ?? FunctionLog()
            state.logs[function.name] = log
            let pool = FunctionPool(
                workerConfiguration(function, version),
                limits: FunctionPool.Limits(
                    concurrency: function.reservedConcurrency ?? configuration.concurrency,
                    maxQueued: configuration.maxQueued, idleTimeout: configuration.idleTimeout),
                logger: logger, log: log)
            state.pools[key] = pool
            state.running[ObjectIdentifier(pool)] = (function.name, pool.configuration.codeDirectory)
            return (pool, true)
        }
        if isNew, let pool {
            spawn.yield {
                await pool.run()
                self.ended(pool, function: function.name)
            }
        }
        return pool
    }

    private func workerConfiguration(_ function: DeployedFunction, _ version: FunctionVersion) -> WorkerConfiguration {
        WorkerConfiguration(
            functionName: function.name, version: version.version,
            runtime: version.settings.runtime.hasPrefix("python")
                ? .python(interpreter: configuration.python) : .provided,
            handler: version.settings.handler, codeDirectory: catalog.codeDirectory(of: function.name, version),
            memoryMB: version.settings.memorySize, environment: version.settings.environment,
            region: configuration.region, records: records)
    }

    /// Counters of the pools of `function` that run now, by version.
    package func counters(of function: String) -> [String: FunctionPool.Counters] {
        state.withLock { state in
            var counters: [String: FunctionPool.Counters] = [:]
            for (key, pool) in state.pools where key.function == function { counters[key.version] = pool.counters }
            return counters
        }
    }

    /// The log of `function`'s invocations since this server started (the last 256 KiB), after the
    /// first `since` bytes; and the count to pass next time.
    package func log(of function: String, since: Int = 0) -> (text: String, end: Int) {
        state.withLock { $0.logs[function] }?.text(since: since) ?? ("", 0)
    }

    /// An X-Ray style trace id: `Root=1-TIME-RANDOM;Sampled=0`.
    private static func traceID() -> String {
        let time = String(LambdaTime.epochMilliseconds() / 1000, radix: 16)
        let random = (0..<24).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        return "Root=1-\(time)-\(random);Sampled=0"
    }
}
