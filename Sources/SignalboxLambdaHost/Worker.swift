import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// What a worker process runs and how: one version of one deployed function.
package struct WorkerConfiguration: Sendable {
    /// How the code runs.
    package enum Runtime: Sendable, Hashable {
        /// `provided`, `provided.al2`, `provided.al2023`: the bundle's executable `bootstrap`.
        case provided
        /// `python3.x`: the handler `module.function` under the `awslambdaric` runtime client, run by
        /// `interpreter` (a Python 3 with `awslambdaric` installed).
        case python(interpreter: String)
    }

    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`).
    package var functionName: String
    /// The version running (`AWS_LAMBDA_FUNCTION_VERSION`).
    package var version: String
    /// How the code runs.
    package var runtime: Runtime
    /// The handler (`_HANDLER`): `module.function` for Python, free for `provided`.
    package var handler: String
    /// The unpacked bundle: the worker's working directory and `LAMBDA_TASK_ROOT`.
    package var codeDirectory: String
    /// The memory limit in MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    package var memoryMB: Int
    /// The function's own environment variables; the Lambda ones above win over them.
    package var environment: [String: String]
    /// The region the functions report (`AWS_REGION`).
    package var region: String
    /// Where the worker's process is recorded while it runs, so that a restart after a crash stops it.
    package var records: WorkerRecords?

    /// A configuration.
    package init(
        functionName: String, version: String = "$LATEST", runtime: Runtime, handler: String, codeDirectory: String,
        memoryMB: Int = 128, environment: [String: String] = [:], region: String = "us-east-1",
        records: WorkerRecords? = nil
    ) {
        self.functionName = functionName
        self.version = version
        self.runtime = runtime
        self.handler = handler
        self.codeDirectory = codeDirectory
        self.memoryMB = memoryMB
        self.environment = environment
        self.region = region
        self.records = records
    }

    /// `prlimit` (util-linux), which sets a worker's memory limit; nil where it is missing, and
    /// workers then run without one.
    package static let memoryLimiter: String? = ["/usr/bin/prlimit", "/bin/prlimit"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The worker's whole environment: nothing of the host's but a minimal `PATH` and locale, the
    /// function's variables, then Lambda's (which the function's cannot replace).
    package func processEnvironment(runtimeAPI: String) -> [String: String] {
        var variables = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC"]
        variables.merge(environment) { _, own in own }
        let lambda = [
            "AWS_LAMBDA_RUNTIME_API": runtimeAPI, "_HANDLER": handler, "AWS_LAMBDA_FUNCTION_NAME": functionName,
            "AWS_LAMBDA_FUNCTION_VERSION": version, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(memoryMB),
            "LAMBDA_TASK_ROOT": codeDirectory, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(functionName)",
        ]
        variables.merge(lambda) { _, reserved in reserved }
        if case .python = runtime {
            variables["PYTHONPATH"] = codeDirectory
            variables["PYTHONUNBUFFERED"] = "1"
        }
        return variables
    }
}

/// One worker: a process running a function's runtime client against its own Runtime API listener on
/// loopback, one invocation at a time.
///
/// A worker lives inside ``run(_:logger:_:)``: the listener and the process start before the body and
/// are gone when it returns (the process killed if still running).
package final class Worker: Sendable {
    /// The function it runs.
    package let configuration: WorkerConfiguration
    private let channel: WorkerChannel
    fileprivate let processID: Atomic<Int32>
    private let output: OutputLog
    /// The read end of the process's output pipe.
    private let outputDescriptor: Atomic<Int32>
    /// The process and its output pipe, released once it has ended.
    private let handles = WorkerProcess()
    /// When the process started, and how many invocations it has had.
    private let history = Mutex<(startedAt: ContinuousClock.Instant?, invocations: Int)>((nil, 0))

    private init(configuration: WorkerConfiguration, channel: WorkerChannel, output: OutputLog) {
        self.configuration = configuration
        self.channel = channel
        self.processID = Atomic(0)
        self.outputDescriptor = Atomic(-1)
        self.output = output
    }

    /// Starts a worker for `configuration`, runs `body` with it, and stops it.
    ///
    /// - Throws: ``WorkerFailure/cannotStart(_:)`` when the listener or the process cannot start;
    ///   whatever `body` throws.
    package static func run<T: Sendable>(
        _ configuration: WorkerConfiguration, logger: Logger, _ body: (Worker) async throws -> T
    ) async throws -> T {
        let channel = WorkerChannel()
        let worker = Worker(configuration: configuration, channel: channel, output: OutputLog())
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let listener = Application(
            router: RuntimeAPI.router(channel) { [weak worker] in
                worker?.processID.load(ordering: .sequentiallyConsistent) ?? 0
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [listener], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                do {
                    try await services.run()
                } catch {
                    // Not the body's failure: that one is what the caller hears about.
                    logger.error("runtime API listener failed", metadata: ["error.type": "\(type(of: error))"])
                }
            }
            let result: Result<T, any Error>
            do {
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next(), port > 0 else {
                    throw WorkerFailure.cannotStart("the Runtime API listener did not start")
                }
                try worker.start(runtimeAPI: "127.0.0.1:\(port)")
                result = .success(try await body(worker))
            } catch {
                result = .failure(error)
            }
            // The process first, which releases a waiting poll; then the listener, gracefully.
            await worker.stop()
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try result.get()
        }
    }

    /// Runs `invocation`, waiting at most `timeout`; past it, the worker is killed.
    ///
    /// - Throws: ``WorkerFailure``: timed out, exited, failed its init. The worker cannot be used again
    ///   after any of them.
    package func invoke(_ invocation: LambdaInvocation, timeout: Duration) async throws -> InvocationOutcome {
        try await record(invocation, timeout: timeout).result.get()
    }

    /// Runs `invocation` like ``invoke(_:timeout:)`` and tells how it went: result, duration, init
    /// duration on the worker's first invocation, peak memory and the output written meanwhile.
    package func record(_ invocation: LambdaInvocation, timeout: Duration) async -> InvocationRecord {
        let (startedAt, isFirst) = history.withLock { history in
            history.invocations += 1
            return (history.startedAt, history.invocations == 1)
        }
        let start = ContinuousClock.now
        var initOutput: [UInt8] = []
        if isFirst {
            // A cold start: the init's output is logged before START, as Lambda logs it. The init
            // counts against the invocation's timeout.
            let initOffset = output.total
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask {
                        guard (try? await Task.sleep(for: timeout)) != nil else { return }  // polled first
                        self.channel.close(.timedOut(after: timeout))
                        self.kill()
                    }
                    await self.channel.untilPolled()
                    group.cancelAll()
                }
            } onCancel: {
                self.channel.close(.exited(status: SIGKILL, signalled: true))
                self.kill()
            }
            await output.settle(descriptor: outputDescriptor.load(ordering: .sequentiallyConsistent))
            initOutput = output.bytes(since: initOffset)
        }
        await output.settle(descriptor: outputDescriptor.load(ordering: .sequentiallyConsistent))
        let offset = output.total
        let invoked = ContinuousClock.now
        let remaining = timeout - (invoked - start)
        // The deadline the function sees is the one it is held to, counted from now.
        var invocation = invocation
        invocation.deadlineMilliseconds = LambdaTime.deadline(after: remaining)
        let result: Result<InvocationOutcome, WorkerFailure>
        do {
            result = .success(try await run(invocation, waiting: max(remaining, .milliseconds(1)), timeout: timeout))
        } catch let failure as WorkerFailure {
            result = .failure(failure)
        } catch {
            result = .failure(.exited(status: SIGKILL, signalled: true))  // cancelled: the worker was killed
        }
        let duration = ContinuousClock.now - invoked
        await output.settle(descriptor: outputDescriptor.load(ordering: .sequentiallyConsistent))
        var initDuration: Duration?
        if isFirst, let startedAt, let firstPoll = channel.firstPoll { initDuration = firstPoll - startedAt }
        return InvocationRecord(
            requestID: invocation.requestID, result: result, duration: duration, initDuration: initDuration,
            maxMemoryUsedMB: peakMemoryMB(), initOutput: initOutput, output: output.bytes(since: offset))
    }

    /// Runs `invocation`, waiting at most `waiting` (what is left of `timeout`, which the failure names).
    private func run(_ invocation: LambdaInvocation, waiting: Duration, timeout: Duration) async throws
        -> InvocationOutcome
    {
        try await withThrowingTaskGroup(of: InvocationOutcome.self) { group in
            group.addTask { try await self.channel.submit(invocation) }
            group.addTask {
                try await Task.sleep(for: waiting)
                // Closed first, so that the failure is the timeout, not the exit the kill causes; and
                // only if the outcome is still awaited: a response that came in time stands.
                if self.channel.expire(.timedOut(after: timeout)) {
                    self.kill()
                    throw WorkerFailure.timedOut(after: timeout)
                }
                try await Task.sleep(for: .seconds(86_400))  // the submission's result comes first
                throw CancellationError()
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            } onCancel: {
                self.channel.close(.exited(status: SIGKILL, signalled: true))
                self.kill()
            }
        }
    }

    /// The process's peak resident memory (`VmHWM` in `/proc/PID/status`) in MB, rounded up; nil once
    /// it is gone.
    private func peakMemoryMB() -> Int? {
        let pid = processID.load(ordering: .sequentiallyConsistent)
        guard pid > 0, let file = FileHandle(forReadingAtPath: "/proc/\(pid)/status") else { return nil }
        defer { try? file.close() }
        let status = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return (kilobytes + 1023) / 1024
        }
        return nil
    }

    /// Whether the worker can take another invocation.
    package var isUsable: Bool { !channel.isClosed }

    /// What the process wrote to stdout and stderr so far (the last 64 KiB).
    package var log: [UInt8] { output.bytes }

    /// The worker's Runtime API endpoint (`AWS_LAMBDA_RUNTIME_API`), once it has started.
    package var runtimeAPI: String? { endpoint.withLock { $0 } }
    private let endpoint = Mutex<String?>(nil)

    private func start(runtimeAPI: String) throws {
        endpoint.withLock { $0 = runtimeAPI }
        let process = Process()
        var command: [String]
        switch configuration.runtime {
        case .provided:
            command = [URL(fileURLWithPath: configuration.codeDirectory).appendingPathComponent("bootstrap").path]
        case .python(let interpreter):
            command = [interpreter, "-m", "awslambdaric", configuration.handler]
        }
        guard let executable = Self.resolve(command[0]) else {
            throw WorkerFailure.cannotStart(
                "\(configuration.runtime == .provided ? "bootstrap" : "the interpreter") is missing or not executable")
        }
        command[0] = executable
        // The memory limit: the process's data (RLIMIT_DATA: its heap and private writable mappings),
        // set by prlimit, which then executes the runtime (the same process). Not its address space
        // (RLIMIT_AS): runtimes reserve far more than they use (malloc arenas, thread stacks), and a
        // Swift runtime under a 128 MB address-space limit stalled about 50 ms per invocation.
        if let limiter = WorkerConfiguration.memoryLimiter {
            command = [limiter, "--data=\(configuration.memoryMB * 1024 * 1024)", "--"] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: configuration.codeDirectory)
        process.environment = configuration.processEnvironment(runtimeAPI: runtimeAPI)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let channel = self.channel
        let handles = self.handles
        let records = configuration.records
        process.terminationHandler = { [weak self] process in
            records?.ended(process.processIdentifier)
            // Reaped already: its pid may be reused, so it is forgotten before anything else. What it
            // started (its process group, which Foundation gives it) goes with it.
            let pid = self?.processID.exchange(0, ordering: .sequentiallyConsistent) ?? 0
            if pid > 0 { _ = Foundation.kill(-pid, SIGKILL) }
            let signalled = process.terminationReason == .uncaughtSignal
            channel.close(.exited(status: process.terminationStatus, signalled: signalled))
            handles.exited()
        }
        history.withLock { $0.startedAt = .now }
        do {
            try process.run()
        } catch {
            try? pipe.fileHandleForReading.close()
            try? pipe.fileHandleForWriting.close()
            throw WorkerFailure.cannotStart(
                "\(configuration.runtime == .provided ? "bootstrap" : "the interpreter"): \(error.localizedDescription)"
            )
        }
        processID.store(process.processIdentifier, ordering: .sequentiallyConsistent)
        records?.started(process.processIdentifier)
        outputDescriptor.store(pipe.fileHandleForReading.fileDescriptor, ordering: .sequentiallyConsistent)
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            output.beginRead()
            let data = handle.availableData
            output.append(data)
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        handles.hold(process, output: pipe.fileHandleForReading)
    }

    /// `program` as an executable file's path: as given when it holds a `/`, else found on `PATH`.
    private static func resolve(_ program: String) -> String? {
        let candidates =
            program.contains("/")
            ? [program]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map
            {
                "\($0)/\(program)"
            }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Kills the process and its process group (SIGKILL), if it runs.
    private func kill() {
        let pid = processID.load(ordering: .sequentiallyConsistent)
        guard pid > 0 else { return }
        _ = Foundation.kill(-pid, SIGKILL)
        _ = Foundation.kill(pid, SIGKILL)
    }

    /// Fails what is pending, kills the process, waits (at most 5 s) for it to end, and releases it and
    /// its output pipe.
    private func stop() async {
        channel.close(.exited(status: SIGKILL, signalled: true))
        kill()
        guard handles.holdsProcess else { return }  // it never started
        if await handles.untilExited(atMost: .seconds(5)) {
            output.close()
            handles.release()
        }
    }
}

/// A worker's `Process` and the read end of its output, kept until the process has ended and then
/// released: Foundation keeps a running `Process` (and so its pipe) alive until `waitUntilExit()`.
final class WorkerProcess: Sendable {
    private struct State {
        var process: Process?
        var output: FileHandle?
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Keeps `process` and its `output` until ``release()``.
    func hold(_ process: Process, output: FileHandle) {
        state.withLock { state in
            state.process = process
            state.output = output
        }
    }

    /// Whether a started process is held.
    var holdsProcess: Bool { state.withLock { $0.process != nil } }

    /// The process has ended.
    func exited() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the process has ended, at most `limit`; whether it has.
    func untilExited(atMost limit: Duration) async -> Bool {
        await withDiscardingTaskGroup(returning: Bool.self) { group in
            group.addTask {
                guard (try? await Task.sleep(for: limit)) != nil else { return }
                self.exited()  // given up on: the waiter goes on, and the process is not released
            }
            await withCheckedContinuation { waiter in
                let done = state.withLock { state in
                    if state.exited { return true }
                    state.waiters.append(waiter)
                    return false
                }
                if done { waiter.resume() }
            }
            group.cancelAll()
            return state.withLock { $0.process?.isRunning == false }
        }
    }

    /// Releases the ended process and closes its output.
    func release() {
        let (process, output) = state.withLock { state in
            defer {
                state.process = nil
                state.output = nil
            }
            return (state.process, state.output)
        }
        output?.readabilityHandler = nil
        try? output?.close()
        process?.waitUntilExit()  // it has ended: this returns at once, and lets Foundation let go of it
    }
}

/// The tail of a worker's output, bounded, with a count of every byte ever written, so that the part of
/// one invocation can be told.
final class OutputLog: Sendable {
    static let limit = 64 * 1024

    private struct State {
        var tail: [UInt8] = []
        var total = 0
        var reading = false
        var closed = false
    }

    private let state = Mutex(State())

    /// A read of the pipe starts (the data is not appended yet).
    func beginRead() { state.withLock { $0.reading = true } }

    /// Appends what a read got, and ends it; nothing means the end of the output.
    func append(_ data: Data) {
        state.withLock { state in
            state.reading = false
            if data.isEmpty { state.closed = true }
            state.tail.append(contentsOf: data)
            state.total += data.count
            if state.tail.count > Self.limit { state.tail.removeFirst(state.tail.count - Self.limit) }
        }
    }

    /// Every byte written so far, counted.
    var total: Int { state.withLock { $0.total } }

    /// The tail.
    var bytes: [UInt8] { state.withLock { $0.tail } }

    /// What was written after `total` bytes (as much as the tail still holds).
    func bytes(since total: Int) -> [UInt8] {
        state.withLock { state in
            let count = min(state.total - total, state.tail.count)
            return count > 0 ? Array(state.tail.suffix(count)) : []
        }
    }

    /// No more output is read (the pipe is being closed).
    func close() { state.withLock { $0.closed = true } }

    /// Waits, at most `limit`, until what the worker has written to `descriptor` is read and appended:
    /// output written before the worker posted its result belongs to that invocation.
    func settle(descriptor: Int32, limit: Duration = .milliseconds(100)) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.closed }) { return }  // the descriptor may be closed already
            var pending: Int32 = 0
            let queued = ioctl(descriptor, UInt(FIONREAD), &pending) == 0 ? pending : 0
            if queued == 0 && !state.withLock({ $0.reading }) { return }
            try? await Task.sleep(for: .microseconds(200))
        }
    }
}
