import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Error actions and failing webhooks, through the real binary and real HTTP: a rule whose SQL fails
/// runs no action (not even its error action) in `signalbox test` and in the server alike; a refused
/// webhook fails each attempt at once, naming host, port and reason; a failure the error action
/// handled shows in `GET /admin/rules`; the dead-letter commands find the server from the data
/// directory.
@Suite("error actions and failing webhooks end to end", .serialized)
struct ErrorActionTests {
    static let rulesFile = "Tests/SignalboxCLITests/Golden/error-action-rules.yaml"
    static let topic = "gateways/gw1/devices/d1/telemetry"

    /// A loopback port nothing listens on: bound once to pick it, then closed.
    static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServerError("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw ServerError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("signalbox test: a failed evaluation runs no action, not even the error action")
    func testOfAFailingRuleRunsNoErrorAction() async throws {
        let result = try await CLI.runAsync(
            [
                "test", Self.rulesFile, "--topic", Self.topic, "--payload", "[1, 2]", "--timestamp", "1700000000000",
            ], environment: ["HOOK_URL": "http://127.0.0.1:9/hook"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("would run"))
        try CLI.assertGolden(result.stdout, "test-evaluation-failed.out")
    }

    @Test(
        "the server: a failed evaluation runs nothing; a refused webhook fails fast into the error action",
        .timeLimit(.minutes(2)))
    func serverErrorActions() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let port = try Self.closedPort()
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data,
            extraArguments: [
                "--rules", CLI.packageRoot.appendingPathComponent(Self.rulesFile).path, "--auto-bind-devices",
            ],
            environment: ["HOOK_URL": "http://127.0.0.1:\(port)/hook?key=hook-secret"])

        func ruleStatus() async throws -> [String: Any]? {
            let rules = try await server.json("GET", "/admin/rules", token: admin.token).object["rules"]
            return (rules as? [[String: Any]])?.first { $0["name"] as? String == "forward-readings" }
        }
        func failureRecords() async throws -> [[String: Any]] {
            try await server.records("rule_errors", token: admin.token).compactMap { $0["data"] as? [String: Any] }
        }

        // `SELECT *, …` of a payload that is not an object fails: counted, and nothing runs.
        let bad = try #require(await server.postTelemetry(gateway: "gw1", token: gateway.token, [("d1", "[1, 2]")]))
        #expect(try await waitUntil(seconds: 10) { try await ruleStatus()?["errors"] as? Int == 1 })

        // A reading the rule matches: the refused webhook fails its 3 attempts at once, and the error
        // action stores the failure.
        let started = Date()
        let good = try #require(
            await server.postTelemetry(gateway: "gw1", token: gateway.token, [("d1", #"{"temp": 3}"#)]))
        var failure: [String: Any]?
        #expect(
            try await waitUntil(seconds: 20) {
                failure = try await failureRecords().first { $0["messageId"] as? Int == good.first }
                return failure != nil
            })
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 5, "3 refused attempts took \(elapsed) s")
        let failures = failure?["failures"] as? [[String: Any]]
        #expect(failures?.count == 1)
        #expect(failures?.first?["failedAction"] as? String == "webhook")
        #expect(
            failures?.first?["errorMessage"] as? String
                == "cannot connect to http://127.0.0.1:\(port): connection refused"
        )

        // The failed evaluation never reached the error action, nor the dead letters.
        let records = try await failureRecords()
        #expect(records.count == 1)
        #expect(!records.contains { $0["messageId"] as? Int == bad.first })
        let letters = try await server.json("GET", "/admin/dead-letters", token: admin.token)
        #expect(letters.object["total"] as? Int == 0)

        // GET /admin/rules shows the failure the error action handled.
        let status = try await ruleStatus()
        #expect(status?["errors"] as? Int == 1)
        #expect(status?["matched"] as? Int == 1)
        let actions = status?["actions"] as? [[String: Any]] ?? []
        #expect(actions.count == 2)
        #expect(actions.first?["failures"] as? Int == 3)
        #expect(actions.first?["handled_by_error_action"] as? Int == 1)
        #expect(actions.first?["dead_lettered"] as? Int == 0)
        #expect(actions.last?["index"] is NSNull)
        #expect(actions.last?["succeeded"] as? Int == 1)

        // /metrics exports the same counts, kept once by the runtime.
        let metrics = try await server.request("GET", "/metrics", token: admin.token)
        #expect(metrics.status == 200)
        for line in [
            #"signalbox_rule_evaluated_total{rule="forward-readings"} 2"#,
            #"signalbox_rule_matched_total{rule="forward-readings"} 1"#,
            #"signalbox_rule_errors_total{rule="forward-readings"} 1"#,
            #"signalbox_action_failures_total{rule="forward-readings",action="0",function="webhook"} 3"#,
            #"signalbox_action_retries_total{rule="forward-readings",action="0",function="webhook"} 2"#,
            #"signalbox_action_handled_by_error_action_total{rule="forward-readings",action="0",function="webhook"} 1"#,
            #"signalbox_action_dead_lettered_total{rule="forward-readings",action="0",function="webhook"} 0"#,
            #"signalbox_action_invocations_total{rule="forward-readings",action="error",function="persist"} 1"#,
        ] {
            #expect(metrics.body.contains(line + "\n"), "missing \(line)")
        }
        #expect(metrics.body.components(separatedBy: "# TYPE signalbox_rule_matched_total counter").count == 2)
    }

    /// Rules whose webhook (refused) fails once, with no error action: a dead letter.
    static func deadLetterRules(port: Int) -> String {
        """
        version: 1
        rules:
          - name: forward-readings
            sql: SELECT * FROM 'gateways/+/devices/+/telemetry'
            actions:
              - function: webhook
                with: { url: "http://127.0.0.1:\(port)/hook?key=hook-secret" }
                retry: { attempts: 1 }

        """
    }

    @Test(
        "dead-letters list and retry find the server from the data directory; a refused retry fails fast",
        .timeLimit(.minutes(2)))
    func deadLetterCommandsFindTheServer() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let port = try Self.closedPort()
        let rulesFile = data.appendingPathComponent("rules.yaml")
        try Self.deadLetterRules(port: port).write(to: rulesFile, atomically: true, encoding: .utf8)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(data: data, extraArguments: ["--rules", rulesFile.path])
        // Found through the data directory only: no URL in the environment.
        let environment = ["SIGNALBOX_TOKEN": admin.token, "SIGNALBOX_URL": ""]

        // The server recorded where it listens, for its owner only.
        let addressFile = data.appendingPathComponent("server.json")
        let attributes = try FileManager.default.attributesOfItem(atPath: addressFile.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: addressFile)) as? [String: Any]
        #expect(recorded?["url"] as? String == server.baseURL.absoluteString)

        _ = try #require(await server.postTelemetry(gateway: "gw1", token: gateway.token, [("d1", #"{"temp": 3}"#)]))
        var listed = ""
        #expect(
            try await waitUntil(seconds: 20) {
                listed = try await CLI.runAsync(["dead-letters", "list", "--data", data.path]).stdout
                return !listed.isEmpty
            })
        let id = try #require(listed.split(separator: "\t").first.map(String.init))
        let refused = "cannot connect to http://127.0.0.1:\(port): connection refused"
        #expect(listed.contains(refused))

        // Retried inside the server found through --data: the refused webhook fails again, at once.
        var started = Date()
        let retry = try await CLI.runAsync(
            ["dead-letters", "retry", id, "--data", data.path], environment: environment)
        var elapsed = Date().timeIntervalSince(started)
        #expect(retry.status != 0)
        #expect(retry.stderr.contains(refused), "\(retry.stderr)")
        #expect(!retry.stderr.contains("hook-secret"))
        #expect(elapsed < 5, "the retry took \(elapsed) s")

        // `list` through the server (--url) and from the data directory agree (attempts now 2).
        let throughServer = try await CLI.runAsync(
            ["dead-letters", "list", "--url", server.baseURL.absoluteString], environment: environment)
        let fromData = try await CLI.runAsync(["dead-letters", "list", "--data", data.path], environment: environment)
        #expect(throughServer.status == 0, "\(throughServer.stderr)")
        #expect(throughServer.stdout == fromData.stdout)
        let fields = fromData.stdout.split(separator: "\t")
        #expect(fields.count > 6 && fields[6] == "2", "\(fromData.stdout)")

        // Stopped, the server removes its address: no wait, a clear error.
        await server.stop()
        #expect(!FileManager.default.fileExists(atPath: addressFile.path))
        started = Date()
        let noServer = try await CLI.runAsync(
            ["dead-letters", "retry", id, "--data", data.path], environment: environment)
        elapsed = Date().timeIntervalSince(started)
        #expect(noServer.status != 0)
        #expect(
            noServer.stderr.contains("no Signalbox server is running over the data directory"), "\(noServer.stderr)")
        #expect(elapsed < 5)

        // Killed, it leaves its address behind; the commands see that its process is gone.
        let killed = try await ServerProcess.start(data: data, extraArguments: ["--rules", rulesFile.path])
        await killed.kill()
        #expect(FileManager.default.fileExists(atPath: addressFile.path))
        let stale = try await CLI.runAsync(
            ["dead-letters", "retry", id, "--data", data.path], environment: environment)
        #expect(stale.status != 0)
        #expect(stale.stderr.contains("has exited"), "\(stale.stderr)")
    }
}
