import Foundation
import Synchronization
import Testing

/// Deployed functions through the real binary: boto3's unchanged `lambda` client deploys and invokes
/// Python Lambda code (Tests/Integration/boto3_lambda.py), a rule's `lambda` action then runs it once
/// per message, and the function is deployed still after a restart.
@Suite("deployed functions end to end", .serialized)
struct FunctionsEndToEndTests {
    static let rules = """
        version: 1
        devices:
          key_level: 4
        rules:
          - name: effects
            sql: SELECT *, topic(4) AS device FROM 'gateways/+/devices/+/telemetry'
            actions:
              - function: lambda
                with: { function_name: "effects:live" }
                retry: { attempts: 5, backoff: 100ms..200ms }
                timeout: 20s
        """

    /// A data directory with the rules above, an admin token and gateway gw1's token.
    static func dataDirectory() async throws -> (URL, PrintedToken, PrintedToken) {
        let data = try makeTemporaryDirectory()
        try rules.write(to: data.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let (admin, gateway) = try await tokens(data)
        return (data, admin, gateway)
    }

    /// An admin token and gateway gw1's token in `data`.
    static func tokens(_ data: URL) async throws -> (PrintedToken, PrintedToken) {
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        return (admin, gateway)
    }

    /// The lines the function wrote: each event's idempotency key and the version that handled it.
    static func handled(_ effects: URL) -> [(key: String, version: String)] {
        ((try? String(contentsOf: effects, encoding: .utf8)) ?? "").split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            return (String(fields.first ?? ""), fields.count > 1 ? String(fields[1]) : "")
        }
    }

    @Test(
        "boto3 deploys and invokes unchanged Lambda code; a rule runs it exactly once per message, also after a restart",
        .timeLimit(.minutes(5)))
    func boto3DeploysAndRulesInvoke() async throws {
        let python = try await MQTTDeployment.python()
        let (data, admin, gateway) = try await Self.dataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rules = data.appendingPathComponent("rules.yaml")
        let effects = data.appendingPathComponent("effects.log")
        let arguments = ["--rules", rules.path, "--auto-bind-devices", "--python", python]
        var server = try await ServerProcess.start(data: data, extraArguments: arguments)

        let outcome = try await CLI.runProgramAsync(
            python, [CLI.packageRoot.appendingPathComponent("Tests/Integration/boto3_lambda.py").path],
            environment: [
                "SIGNALBOX_ENDPOINT": "http://127.0.0.1:\(server.port)", "SIGNALBOX_ACCESS_KEY_ID": admin.accessKeyID,
                "SIGNALBOX_SECRET_ACCESS_KEY": admin.secret, "EFFECTS_FILE": effects.path,
            ])
        #expect(outcome.status == 0, "boto3_lambda.py:\n\(outcome.stdout)\(outcome.stderr)")
        try #require(outcome.status == 0)

        // Every reading reaches the function once, by the alias the rule names.
        var sent: [Int] = []
        for batch in 0..<3 {
            let readings = (0..<20).map { ("d\($0 % 4)", #"{"temp": \#(batch * 20 + $0)}"#) }
            sent += try #require(await server.postTelemetry(gateway: "gw1", token: gateway.token, readings))
        }
        func handled() -> [String] { Self.handled(effects).map(\.key) }
        #expect(try await waitUntil(seconds: 60) { handled().count >= sent.count })
        try await Task.sleep(for: .milliseconds(500))
        #expect(handled().count == sent.count)
        #expect(Set(handled()).count == sent.count)
        // Keys are "MESSAGE/RULE/ACTION": one per message sent.
        let missing = Set(sent.map(String.init)).subtracting(handled().map { String($0.prefix { $0 != "/" }) })
        #expect(missing.isEmpty, "\(missing.count) of \(sent.count) messages never handled")

        // Deployed functions persist: after a restart the rule still reaches the function.
        await server.stop()
        server = try await ServerProcess.start(data: data, extraArguments: arguments)
        let listed = try await server.json("GET", "/2015-03-31/functions/", token: admin.token)
        #expect(
            (listed.object["Functions"] as? [[String: Any]])?.compactMap { $0["FunctionName"] as? String } == [
                "effects"
            ])
        let more = try #require(
            await server.postTelemetry(gateway: "gw1", token: gateway.token, [("d9", #"{"temp": 99}"#)]))
        #expect(try await waitUntil(seconds: 60) { handled().count == sent.count + 1 })
        #expect(handled().last?.hasPrefix("\(more[0])/") == true)
        await server.stop()
    }

    /// A Python function that records each event's idempotency key and the version that ran it.
    static let recordingHandler = """
        import os

        def handler(event, context):
            key = context.client_context.custom["idempotency_key"]
            with open(os.environ["EFFECTS_FILE"], "a") as effects:
                effects.write(key + " " + os.environ["AWS_LAMBDA_FUNCTION_VERSION"] + "\\n")
            return {"ok": True}
        """

    @Test(
        "10 versions deployed with signalbox functions deploy under continuous telemetry: each message handled once, by one version",
        .timeLimit(.minutes(5)))
    func deploysUnderLoad() async throws {
        let python = try await MQTTDeployment.python()
        let (data, admin, gateway) = try await Self.dataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rules = data.appendingPathComponent("rules.yaml")
        let effects = data.appendingPathComponent("effects.log")
        let code = data.appendingPathComponent("fn")
        try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rules.path, "--auto-bind-devices", "--python", python])

        func deploy(_ generation: Int) async throws -> String {
            try (Self.recordingHandler + "\n# generation \(generation)\n").write(
                to: code.appendingPathComponent("app.py"), atomically: true, encoding: .utf8)
            let result = try await CLI.runAsync(
                [
                    "functions", "deploy", "effects", "--dir", code.path, "--runtime", "python3.12", "--handler",
                    "app.handler", "--env", "EFFECTS_FILE=\(effects.path)", "--alias", "live", "--data", data.path,
                ], environment: ["SIGNALBOX_TOKEN": admin.token])
            #expect(result.status == 0, "functions deploy: \(result.stderr)")
            return result.stdout
        }
        #expect(try await deploy(1) == "deployed effects version 1 (alias live)\n")

        let sent = try await withThrowingTaskGroup(of: [Int].self) { group in
            let deploying = Mutex(true)
            group.addTask {
                var ids: [Int] = []
                var n = 0
                while deploying.withLock({ $0 }) {
                    let readings = (0..<10).map { ("d\($0 % 5)", #"{"n": \#(n + $0)}"#) }
                    n += 10
                    if let accepted = await server.postTelemetry(gateway: "gw1", token: gateway.token, readings) {
                        ids += accepted
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return ids
            }
            for generation in 2...11 {
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await deploy(generation) == "deployed effects version \(generation) (alias live)\n")
            }
            try await Task.sleep(for: .milliseconds(300))
            deploying.withLock { $0 = false }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(sent.count >= 100)
        #expect(try await waitUntil(seconds: 90) { Self.handled(effects).count >= sent.count })
        try await Task.sleep(for: .milliseconds(500))
        let handled = Self.handled(effects)
        let messages = handled.map { String($0.key.prefix { $0 != "/" }) }
        let missing = Set(sent.map(String.init)).subtracting(messages)
        #expect(missing.isEmpty, "\(missing.count) of \(sent.count) messages never handled")
        #expect(handled.count == sent.count, "\(handled.count) handled for \(sent.count) messages sent")
        #expect(Set(handled.map(\.key)).count == handled.count, "a message was handled twice")
        // The versions took over one after another.
        #expect(Set(handled.map(\.version)).count > 5)
        let listed = try await CLI.runAsync(
            ["functions", "versions", "effects", "--data", data.path], environment: ["SIGNALBOX_TOKEN": admin.token])
        #expect(listed.stdout.contains("alias live -> 11"))
        await server.stop()
    }

    @Test("a worker busy when the server is killed with kill -9 is stopped by the next start", .timeLimit(.minutes(3)))
    func workersLeftByAKilledServerAreStopped() async throws {
        let python = try await MQTTDeployment.python()
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let code = data.appendingPathComponent("fn")
        try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
        try "import time\n\ndef handler(event, context):\n    time.sleep(100)\n    return event\n".write(
            to: code.appendingPathComponent("app.py"), atomically: true, encoding: .utf8)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let environment = ["SIGNALBOX_TOKEN": admin.token]
        let arguments = ["--python", python]
        var server = try await ServerProcess.start(data: data, extraArguments: arguments)
        let deployed = try await CLI.runAsync(
            [
                "functions", "deploy", "sleepy", "--dir", code.path, "--runtime", "python3.12", "--handler",
                "app.handler", "--timeout", "120", "--data", data.path,
            ], environment: environment)
        #expect(deployed.status == 0, "\(deployed.stderr)")

        // An invocation that sleeps, so its worker is busy when the server dies.
        async let invoked = CLI.runAsync(
            ["functions", "invoke", "sleepy", "--data", data.path], environment: environment)
        let records = data.appendingPathComponent("functions/.workers")
        func recorded() -> [Int32] {
            ((try? FileManager.default.contentsOfDirectory(atPath: records.path)) ?? []).compactMap { Int32($0) }
        }
        func running(_ pid: Int32) -> Bool { FileManager.default.fileExists(atPath: "/proc/\(pid)/stat") }
        #expect(try await waitUntil(seconds: 60) { !recorded().isEmpty })
        let workers = recorded()
        // Whatever happens, no worker outlives the test.
        defer { for pid in workers where running(pid) { kill(pid, SIGKILL) } }
        try await Task.sleep(for: .milliseconds(500))
        await server.kill()
        try await Task.sleep(for: .milliseconds(500))
        #expect(workers.allSatisfy(running), "the busy worker ended with the server")

        server = try await ServerProcess.start(data: data, extraArguments: arguments)
        #expect(try await waitUntil(seconds: 10) { !workers.contains(where: running) })
        #expect(recorded().isEmpty)
        _ = try? await invoked
        await server.stop()
    }

    @Test(
        "a Swift function from tools/new-function.sh, built with SignalboxLambdaRuntime and deployed with signalbox functions deploy, runs for a rule",
        .timeLimit(.minutes(15)))
    func swiftFunctionFromTheScaffold() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let package = data.appendingPathComponent("fridge-check")
        let made = try await CLI.runProgramAsync(
            "/bin/bash",
            [CLI.packageRoot.appendingPathComponent("tools/new-function.sh").path, "fridge-check", package.path])
        try #require(made.status == 0, "new-function.sh: \(made.stderr)")
        let built = try await CLI.runProgramAsync(
            "/bin/bash", [package.appendingPathComponent("build.sh").path, "-c", "debug"])
        try #require(built.status == 0, "build.sh: \(built.stdout)\(built.stderr)")

        let rules = data.appendingPathComponent("rules.yaml")
        try Self.rules.replacingOccurrences(of: "effects:live", with: "fridge-check").write(
            to: rules, atomically: true, encoding: .utf8)
        let (admin, gateway) = try await Self.tokens(data)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rules.path, "--auto-bind-devices"])
        let environment = ["SIGNALBOX_TOKEN": admin.token]
        let deployed = try await CLI.runAsync(
            [
                "functions", "deploy", "fridge-check", "--dir", package.appendingPathComponent(".build/lambda").path,
                "--runtime", "provided.al2023", "--handler", "fridge-check", "--data", data.path,
            ], environment: environment)
        #expect(deployed.status == 0, "\(deployed.stderr)")
        let invoked = try await CLI.runAsync(
            ["functions", "invoke", "fridge-check", "--payload", #"{"temp": 9.5}"#, "--data", data.path],
            environment: environment)
        let verdict = try JSONSerialization.jsonObject(with: Data(invoked.stdout.utf8)) as? [String: Any]
        #expect(verdict?["alarm"] as? Bool == true, "\(invoked.stdout)\(invoked.stderr)")
        #expect((verdict?["requestID"] as? String)?.count == 36)
        let refused = try await CLI.runAsync(
            ["functions", "invoke", "fridge-check", "--payload", #""not a reading""#, "--data", data.path],
            environment: environment)
        #expect(refused.status == 1 && refused.stderr.contains(#""errorType":"DecodingError""#))

        _ = try #require(
            await server.postTelemetry(
                gateway: "gw1", token: gateway.token, (0..<10).map { ("d\($0)", #"{"temp": \#($0)}"#) }))
        func succeeded() async throws -> Int? {
            let status = try await server.json("GET", "/admin/rules", token: admin.token).object
            let rule = (status["rules"] as? [[String: Any]])?.first { $0["name"] as? String == "effects" }
            return (rule?["actions"] as? [[String: Any]])?.first?["succeeded"] as? Int
        }
        #expect(try await waitUntil(seconds: 60) { try await succeeded() == 10 })
        await server.stop()
    }

    @Test(
        "functions that crash, exit, time out, run out of memory or fail their init fail only their own invocations: retried, then the error action; other telemetry flows meanwhile and the server stays up",
        .timeLimit(.minutes(5)))
    func failingFunctionsAreIsolated() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rules = data.appendingPathComponent("rules.yaml")
        try """
        version: 1
        devices:
          key_level: 4
        rules:
          - name: failing
            sql: SELECT * FROM 'gateways/+/devices/+/failing'
            actions:
              - function: lambda
                with: { function_name: crashy }
                retry: { attempts: 2, backoff: 100ms }
                timeout: 30s
            error_action: { function: persist, with: { table: failures } }
          - name: init
            sql: SELECT * FROM 'gateways/+/devices/+/init'
            actions:
              - function: lambda
                with: { function_name: never-starts }
                retry: { attempts: 2, backoff: 100ms }
            error_action: { function: persist, with: { table: failures } }
          - name: steady
            sql: SELECT n FROM 'gateways/+/devices/+/steady'
            actions:
              - { function: persist, with: { table: steady } }
        """.write(to: rules, atomically: true, encoding: .utf8)
        let (admin, gateway) = try await Self.tokens(data)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rules.path, "--auto-bind-devices"])
        let environment = ["SIGNALBOX_TOKEN": admin.token]
        // The custom runtime of the worker tests: the event says how it fails.
        let fixture = CLI.packageRoot.appendingPathComponent("Tests/SignalboxLambdaHostTests/Fixtures/custom-runtime")
            .path
        for (name, extra) in [("crashy", [String]()), ("never-starts", ["--env", "INIT_FAIL=1"])] {
            let deployed = try await CLI.runAsync(
                [
                    "functions", "deploy", name, "--dir", fixture, "--runtime", "provided", "--handler", "x",
                    "--timeout",
                    "15", "--memory", "128", "--data", data.path,
                ] + extra, environment: environment)
            #expect(deployed.status == 0, "\(deployed.stderr)")
        }

        let failing = [#"{"signal": "SEGV"}"#, #"{"exit": 1}"#, #"{"sleep": 30}"#, #"{"allocate": 512}"#]
        let posted = try await server.request(
            "POST", "/gateways/gw1/messages", token: gateway.token,
            body: "["
                + failing.map { #"{"topic": "gateways/gw1/devices/d1/failing", "payload": \#($0)}"# }.joined(
                    separator: ",")
                + #", {"topic": "gateways/gw1/devices/d2/init", "payload": {}}]"#)
        #expect(posted.status == 200)
        // Steady telemetry, in 10 batches, while they fail.
        for batch in 0..<10 {
            let body =
                "["
                + (0..<20).map {
                    #"{"topic": "gateways/gw1/devices/s\#($0 % 4)/steady", "payload": {"n": \#(batch * 20 + $0)}}"#
                }
                .joined(separator: ",") + "]"
            #expect(
                try await server.request("POST", "/gateways/gw1/messages", token: gateway.token, body: body).status
                    == 200)
        }
        // Steady telemetry is all handled while the slowest failure (a 15 s timeout, twice) is still being tried.
        #expect(
            try await waitUntil(seconds: 30) { try await server.records("steady", token: admin.token).count == 200 })
        #expect(try await server.records("failures", token: admin.token).count < 5)
        #expect(
            try await waitUntil(seconds: 90) { try await server.records("failures", token: admin.token).count == 5 })

        let status = try await server.json("GET", "/admin/rules", token: admin.token).object
        for name in ["failing", "init"] {
            let rule = (status["rules"] as? [[String: Any]])?.first { $0["name"] as? String == name }
            let action = (rule?["actions"] as? [[String: Any]])?.first
            // Every failing invocation was tried twice.
            #expect(action?["retries"] as? Int == (name == "failing" ? 4 : 1), "\(name): \(action ?? [:])")
            #expect(action?["succeeded"] as? Int == 0)
        }
        #expect(try await server.request("GET", "/healthz", token: nil).status == 200)
        await server.stop()
    }
}
