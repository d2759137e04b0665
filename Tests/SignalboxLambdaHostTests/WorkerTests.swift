import Foundation
import Logging
import SignalboxJSON
import SignalboxTestSupport
import Testing

@testable import SignalboxLambdaHost

/// Worker processes against their Runtime API, through real runtime clients: a `provided` bootstrap
/// (Fixtures/custom-runtime, plain Python) and an unchanged Python handler under `awslambdaric`.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct WorkerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let logger = Logger(label: "test.lambda")

    static func custom(environment: [String: String] = [:]) -> WorkerConfiguration {
        WorkerConfiguration(
            functionName: "echo", runtime: .provided, handler: "echo.handler",
            codeDirectory: fixtures.appendingPathComponent("custom-runtime").path, environment: environment)
    }

    static func invocation(_ event: String, id: String = UUID().uuidString.lowercased()) -> LambdaInvocation {
        LambdaInvocation(
            requestID: id, event: Array(event.utf8),
            deadlineMilliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 30_000,
            invokedFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:echo", traceID: "Root=1-test")
    }

    static func json(_ outcome: InvocationOutcome) throws -> Value {
        guard case .response(let body) = outcome else { throw TestFailure("not a response: \(outcome)") }
        return try JSONParser.parse(body)
    }

    @Test func aBootstrapTakesInvocationsOneAfterAnotherWithLambdasHeadersAndEnvironment() async throws {
        let configuration = Self.custom(environment: ["GREETING": "hi", "AWS_LAMBDA_FUNCTION_NAME": "spoofed"])
        try await Worker.run(configuration, logger: Self.logger) { worker in
            for n in 1...3 {
                let invocation = Self.invocation(#"{"echo": \#(n)}"#, id: "request-\(n)")
                let reply = try Self.json(try await worker.invoke(invocation, timeout: .seconds(20)))
                #expect(reply["echo"] == .int(Int64(n)))
                #expect(reply["given"]?["requestId"] == .string("request-\(n)"))
                // The deadline is set when the invocation is handed over: now plus the timeout.
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                guard case .int(let deadline)? = reply["given"]?["deadlineMs"] else { throw TestFailure("no deadline") }
                #expect(deadline > now && deadline <= now + 20_000)
                #expect(reply["given"]?["functionArn"] == .string(invocation.invokedFunctionARN))
                #expect(reply["given"]?["traceId"] == "Root=1-test")
                #expect(reply["given"]?["handler"] == "echo.handler")
                // Lambda's variables win over the function's own.
                #expect(reply["given"]?["functionName"] == "echo")
                #expect(reply["given"]?["taskRoot"] == .string(configuration.codeDirectory))
                #expect(reply["given"]?["cwd"] == .string(configuration.codeDirectory))
            }
            // A clean environment: nothing of the host's beyond PATH, LANG and TZ.
            let reply = try Self.json(try await worker.invoke(Self.invocation("{}"), timeout: .seconds(20)))
            guard case .array(let names)? = reply["given"]?["environment"] else { throw TestFailure("no environment") }
            let expected: Set<String> = [
                "PATH", "LANG", "TZ", "GREETING", "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME",
                "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT", "AWS_REGION",
                "AWS_DEFAULT_REGION", "AWS_LAMBDA_LOG_GROUP_NAME",
            ]
            // Python itself may add LC_CTYPE.
            let sent = names.compactMap { name -> String? in if case .string(let text) = name { text } else { nil } }
            #expect(Set(sent).subtracting(["LC_CTYPE"]) == expected)
            #expect(String(decoding: worker.log, as: UTF8.self).contains("invocation request-2"))
        }
    }

    @Test func eachInvocationIsLoggedAsLambdaLogsIt() async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            let first = await worker.record(Self.invocation(#"{"echo": 1}"#, id: "log-1"), timeout: .seconds(20))
            let log = first.log(version: "$LATEST", memorySizeMB: 128)
            let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
            // The init's output first, as Lambda logs a cold start.
            #expect(lines.first == "bootstrap started")
            #expect(lines.dropFirst().first == "START RequestId: log-1 Version: $LATEST")
            #expect(log.contains("\ninvocation log-1\n"), "the function's output, between START and END")
            #expect(lines.contains("END RequestId: log-1"))
            let report = try #require(lines.first { $0.hasPrefix("REPORT RequestId: log-1\t") })
            #expect(report.contains("\tDuration: ") && report.contains(" ms\tBilled Duration: "))
            #expect(report.contains("\tMemory Size: 128 MB\t"))
            #expect(report.contains("\tMax Memory Used: "))
            #expect(report.contains("\tInit Duration: "), "the first invocation is a cold start")
            #expect(first.initDuration != nil && first.maxMemoryUsedMB != nil)
            #expect(String(decoding: first.output, as: UTF8.self) == "invocation log-1\n")

            let warm = await worker.record(Self.invocation(#"{"echo": 2}"#, id: "log-2"), timeout: .seconds(20))
            #expect(warm.initDuration == nil)
            #expect(!warm.log(version: "$LATEST", memorySizeMB: 128).contains("Init Duration"))
            #expect(String(decoding: warm.output, as: UTF8.self) == "invocation log-2\n")

            let late = await worker.record(Self.invocation(#"{"sleep": 30}"#, id: "log-3"), timeout: .seconds(1))
            #expect(
                late.log(version: "$LATEST", memorySizeMB: 128).contains(" log-3 Task timed out after 1.00 seconds\n"))
        }
    }

    @Test func aResponseOverTheLimitFailsTheInvocationAtOnce() async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            let started = ContinuousClock.now
            let outcome = try await worker.invoke(
                Self.invocation(#"{"big": \#(RuntimeAPI.maxPayloadBytes + 1)}"#), timeout: .seconds(30))
            guard case .functionError(let document, let type) = outcome else {
                throw TestFailure("not an error: \(outcome)")
            }
            #expect(type == "Function.ResponseSizeTooLarge")
            #expect(try JSONParser.parse(document)["errorType"] == "Function.ResponseSizeTooLarge")
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func aFunctionErrorIsLambdasErrorDocument() async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            let outcome = try await worker.invoke(
                Self.invocation(#"{"raise": "no such sensor"}"#), timeout: .seconds(20))
            guard case .functionError(let document, let type) = outcome else {
                throw TestFailure("not an error: \(outcome)")
            }
            #expect(type == "Unhandled")
            let error = try JSONParser.parse(document)
            #expect(error["errorMessage"] == "no such sensor")
            #expect(error["errorType"] == "TestError")
            // The worker goes on.
            #expect(
                try Self.json(try await worker.invoke(Self.invocation(#"{"echo": 1}"#), timeout: .seconds(20)))["echo"]
                    == 1)
        }
    }

    @Test(arguments: [
        (#"{"exit": 1}"#, WorkerFailure.exited(status: 1, signalled: false)),
        (#"{"signal": "SEGV"}"#, WorkerFailure.exited(status: SIGSEGV, signalled: true)),
    ])
    func aWorkerThatDiesFailsOnlyItsInvocation(_ event: String, _ failure: WorkerFailure) async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            await #expect(throws: failure) { try await worker.invoke(Self.invocation(event), timeout: .seconds(20)) }
            #expect(!worker.isUsable)
        }
    }

    @Test func aWorkerPastItsMemoryLimitFailsItsInvocation() async throws {
        try #require(WorkerConfiguration.memoryLimiter != nil, "prlimit (util-linux) is not installed")
        var configuration = Self.custom()
        configuration.memoryMB = 128
        try await Worker.run(configuration, logger: Self.logger) { worker in
            // Within the limit, then past it: the allocation fails and the runtime exits.
            let within = try Self.json(
                try await worker.invoke(Self.invocation(#"{"allocate": 16, "echo": 1}"#), timeout: .seconds(20)))
            #expect(within["echo"] == 1)
            await #expect(throws: WorkerFailure.exited(status: 1, signalled: false)) {
                try await worker.invoke(Self.invocation(#"{"allocate": 512}"#), timeout: .seconds(20))
            }
            #expect(String(decoding: worker.log, as: UTF8.self).contains("MemoryError"))
        }
    }

    @Test func anotherLocalProcessCannotUseAWorkersRuntimeAPI() async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            // Started: it polls for work.
            #expect(
                try Self.json(try await worker.invoke(Self.invocation(#"{"echo": 1}"#), timeout: .seconds(20)))["echo"]
                    == 1)
            let endpoint = try #require(worker.runtimeAPI)
            let port = try #require(Int(endpoint.split(separator: ":").last ?? ""))
            for request in [
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: \(endpoint)\r\n\r\n",
                "POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Length: 2\r\n\r\n{}",
            ] {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                try connection.send(request)
                let reply = try await offPool { connection.readAvailable(timeout: 10) }
                #expect(reply.hasPrefix("HTTP/1.1 403"), "\(reply)")
            }
            // The worker itself still gets its work.
            #expect(
                try Self.json(try await worker.invoke(Self.invocation(#"{"echo": 2}"#), timeout: .seconds(20)))["echo"]
                    == 2)
        }
    }

    @Test func aWorkerPastItsDeadlineIsKilled() async throws {
        try await Worker.run(Self.custom(), logger: Self.logger) { worker in
            let started = ContinuousClock.now
            await #expect(throws: WorkerFailure.timedOut(seconds: 1)) {
                try await worker.invoke(Self.invocation(#"{"sleep": 30}"#), timeout: .seconds(1))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(!worker.isUsable)
        }
    }

    @Test func anInitErrorFailsTheInvocationWithItsDocument() async throws {
        try await Worker.run(Self.custom(environment: ["INIT_FAIL": "1"]), logger: Self.logger) { worker in
            do {
                _ = try await worker.invoke(Self.invocation("{}"), timeout: .seconds(20))
                Issue.record("the invocation succeeded")
            } catch WorkerFailure.initFailed(let document) {
                #expect(try JSONParser.parse(document)["errorType"] == "Runtime.InitError")
            } catch let failure as WorkerFailure {
                // The exit may be seen first when it races the init error's post; both fail the invocation.
                guard case .exited(status: 1, signalled: false) = failure else { throw failure }
            }
        }
    }

    /// A stopped worker leaves no descriptor open (its output pipe, its listener) and no process.
    @Test func workersComeAndGoWithoutLeakingDescriptors() async throws {
        func openDescriptors() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        }
        // One worker first, so that what is opened once (the event loops, the resolver) is open.
        try await Worker.run(Self.custom(), logger: Self.logger) {
            _ = try await $0.invoke(Self.invocation("{}"), timeout: .seconds(20))
        }
        let before = try openDescriptors()
        for _ in 1...10 {
            try await Worker.run(Self.custom(), logger: Self.logger) { worker in
                _ = try await worker.invoke(Self.invocation("{}"), timeout: .seconds(20))
            }
        }
        // Other tests run in parallel and open their own; ten leaked workers would leave 20 or more.
        #expect(try openDescriptors() - before < 10)
    }

    @Test func aMissingBootstrapCannotStart() async throws {
        var configuration = Self.custom()
        configuration.codeDirectory = Self.fixtures.appendingPathComponent("python-handler").path
        await #expect(throws: WorkerFailure.self) {
            try await Worker.run(configuration, logger: Self.logger) { _ in }
        }
    }

    @Test func anUnchangedPythonHandlerRunsUnderAwslambdaric() async throws {
        let python = try await Self.venvPython()
        let configuration = WorkerConfiguration(
            functionName: "py-echo", runtime: .python(interpreter: python), handler: "app.handler",
            codeDirectory: Self.fixtures.appendingPathComponent("python-handler").path)
        try await Worker.run(configuration, logger: Self.logger) { worker in
            let invocation = Self.invocation(#"{"echo": "hello"}"#, id: "py-1")
            let reply = try Self.json(try await worker.invoke(invocation, timeout: .seconds(60)))
            #expect(reply["echo"] == "hello")
            #expect(reply["requestId"] == "py-1")
            #expect(reply["remainingPositive"] == true)
            #expect(reply["functionName"] == "py-echo")
            let failed = try await worker.invoke(Self.invocation(#"{"raise": "bad reading"}"#), timeout: .seconds(60))
            guard case .functionError(let document, _) = failed else { throw TestFailure("not an error: \(failed)") }
            let error = try JSONParser.parse(document)
            #expect(error["errorMessage"] == "bad reading")
            #expect(error["errorType"] == "ValueError")
            #expect(String(decoding: worker.log, as: UTF8.self).contains("handling py-1"))
        }
    }

    /// The interpreter of the tests' virtual environment (Tests/Integration/venv.sh installs
    /// awslambdaric into it).
    static func venvPython() async throws -> String {
        let venv = try await ProcessRunner.run(
            "/bin/sh", [ProcessRunner.repositoryRoot.appendingPathComponent("Tests/Integration/venv.sh").path])
        guard venv.status == 0, let python = venv.output.split(separator: "\n").last else {
            throw TestFailure("Tests/Integration/venv.sh failed: \(venv.output)")
        }
        return String(python)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
