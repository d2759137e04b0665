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

    /// A configuration.
    package init(
        functionName: String, version: String = "$LATEST", runtime: Runtime, handler: String, codeDirectory: String,
        memoryMB: Int = 128, environment: [String: String] = [:], region: String = "us-east-1"
    ) {
        self.functionName = functionName
        self.version = version
        self.runtime = runtime
        self.handler = handler
        self.codeDirectory = codeDirectory
        self.memoryMB = memoryMB
        self.environment = environment
        self.region = region
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
    private let processID: Atomic<Int32>
    private let output: OutputLog

    private init(configuration: WorkerConfiguration, channel: WorkerChannel, output: OutputLog) {
        self.configuration = configuration
        self.channel = channel
        self.processID = Atomic(0)
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
            router: RuntimeAPI.router(channel),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [listener], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await services.run()
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
            worker.stop()
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
        try await withThrowingTaskGroup(of: InvocationOutcome.self) { group in
            group.addTask { try await self.channel.submit(invocation) }
            group.addTask {
                try await Task.sleep(for: timeout)
                self.kill()
                let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
                self.channel.close(.timedOut(seconds: seconds))
                throw WorkerFailure.timedOut(seconds: seconds)
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            } onCancel: {
                self.kill()
                self.channel.close(.exited(status: SIGKILL, signalled: true))
            }
        }
    }

    /// Whether the worker can take another invocation.
    package var isUsable: Bool { !channel.isClosed }

    /// What the process wrote to stdout and stderr so far (the last 64 KiB).
    package var log: [UInt8] { output.bytes }

    private func start(runtimeAPI: String) throws {
        let process = Process()
        switch configuration.runtime {
        case .provided:
            process.executableURL = URL(fileURLWithPath: configuration.codeDirectory).appendingPathComponent(
                "bootstrap")
        case .python(let interpreter):
            process.executableURL = URL(fileURLWithPath: interpreter)
            process.arguments = ["-m", "awslambdaric", configuration.handler]
        }
        process.currentDirectoryURL = URL(fileURLWithPath: configuration.codeDirectory)
        process.environment = configuration.processEnvironment(runtimeAPI: runtimeAPI)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                output.append(data)
            }
        }
        let channel = self.channel
        process.terminationHandler = { process in
            let signalled = process.terminationReason == .uncaughtSignal
            channel.close(.exited(status: process.terminationStatus, signalled: signalled))
        }
        do {
            try process.run()
        } catch {
            throw WorkerFailure.cannotStart(
                "\(configuration.runtime == .provided ? "bootstrap" : "the interpreter"): \(error.localizedDescription)"
            )
        }
        processID.store(process.processIdentifier, ordering: .sequentiallyConsistent)
    }

    /// Kills the process (SIGKILL), if it runs.
    private func kill() {
        let pid = processID.exchange(0, ordering: .sequentiallyConsistent)
        if pid > 0 { _ = Foundation.kill(pid, SIGKILL) }
    }

    private func stop() {
        kill()
        channel.close(.exited(status: SIGKILL, signalled: true))
    }
}

/// The tail of a worker's output, bounded.
final class OutputLog: Sendable {
    static let limit = 64 * 1024
    private let buffer = Mutex<[UInt8]>([])

    func append(_ data: Data) {
        buffer.withLock { bytes in
            bytes.append(contentsOf: data)
            if bytes.count > Self.limit { bytes.removeFirst(bytes.count - Self.limit) }
        }
    }

    var bytes: [UInt8] { buffer.withLock { $0 } }
}
