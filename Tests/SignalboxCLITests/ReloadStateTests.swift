import Foundation
import Testing

/// What `GET /admin/rules` and the log say across reloads and restarts of `signalbox serve`: a
/// failed reload's diagnostics are logged and shown until a reload succeeds, the counters of rules
/// a reload leaves unchanged go on, and rule-set versions keep increasing across restarts, each
/// naming the SHA-256 of its file.
@Suite("reload state end to end", .serialized)
struct ReloadStateTests {
    /// `store` keeps every reading; `alert` republishes readings matching `condition` to a reserved
    /// topic, which fails for good, so each one it matches becomes a dead letter.
    static func rules(comment: String, condition: String = "temp > 0") -> String {
        """
        # \(comment)
        version: 1
        devices:
          key_level: 4
        rules:
          - name: store
            sql: SELECT * FROM 'gateways/+/devices/+/telemetry'
            actions:
              - function: persist
                with: { table: readings }
          - name: alert
            sql: SELECT temp FROM 'gateways/+/devices/+/telemetry' WHERE \(condition)
            actions:
              - function: republish
                with: { topic: "$aws/alerts/${topic(4)}" }
                retry: { attempts: 1 }

        """
    }

    /// Two errors of two stages: broken SQL and an unknown key.
    static let invalid = """
        version: 1
        rules:
          - name: store
            sql: SELECT * FROM 'gateways/+/devices/+/telemetry' WHERE
            actions:
              - function: persist
                with: { table: readings }
                retyr: { attempts: 3 }

        """

    @Test(
        "failed reload diagnostics logged and shown until a success; unchanged rules keep counters; versions go on",
        .timeLimit(.minutes(2)))
    func reloadsAndRestarts() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rulesFile = data.appendingPathComponent("rules.yaml")
        func write(_ text: String) throws { try text.write(to: rulesFile, atomically: true, encoding: .utf8) }
        func sha256() async throws -> String {
            let result = try await CLI.runProgramAsync("/usr/bin/sha256sum", [rulesFile.path])
            return String(result.stdout.prefix(64))
        }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        // Without the file watcher every reload here is a request.
        let arguments = ["--rules", rulesFile.path, "--auto-bind-devices", "--no-watch-rules"]

        try write(Self.rules(comment: "first"))
        let firstDigest = try await sha256()
        let log = data.appendingPathComponent("serve.log")
        var server = try await ServerProcess.start(data: data, extraArguments: arguments, logFile: log)

        func status() async throws -> [String: Any] {
            try await server.json("GET", "/admin/rules", token: admin.token).object
        }
        func rule(_ name: String, in status: [String: Any]) -> [String: Any]? {
            (status["rules"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        }
        func action(_ name: String, in status: [String: Any]) -> [String: Any]? {
            (rule(name, in: status)?["actions"] as? [[String: Any]])?.first
        }
        func versions(_ status: [String: Any]) -> [(version: Int, digest: String)] {
            (status["versions"] as? [[String: Any]] ?? []).compactMap { entry in
                guard let version = entry["version"] as? Int, let digest = entry["digest"] as? String else {
                    return nil
                }
                return (version, digest)
            }
        }

        var current = try await status()
        let first = try #require(current["version"] as? Int)
        #expect(current["digest"] as? String == firstDigest)
        #expect(versions(current).first?.version == first)
        #expect(versions(current).first?.digest == firstDigest)

        let posted = await server.postTelemetry(
            gateway: "gw1", token: gateway.token, (1...3).map { (device: "f\($0)", payload: #"{"temp": 5}"#) })
        #expect(posted?.count == 3)
        #expect(
            try await waitUntil(seconds: 20) {
                let now = try await status()
                return rule("store", in: now)?["evaluated"] as? Int == 3
                    && action("store", in: now)?["succeeded"] as? Int == 3
                    && action("alert", in: now)?["dead_lettered"] as? Int == 3
            })

        // A comment edit and a changed WHERE in `alert`: `store` is unchanged and keeps its counters,
        // `alert` is a changed rule and starts at zero.
        try write(Self.rules(comment: "second", condition: "temp > 1"))
        let secondDigest = try await sha256()
        // Not watched: the changed file is not loaded until it is asked for.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await status()["version"] as? Int == first, "--no-watch-rules: the file was reloaded on its own")
        var reply = try await server.json("POST", "/admin/rules/reload", token: admin.token)
        #expect(reply.status == 200)
        #expect(reply.object["version"] as? Int == first + 1)
        current = try await status()
        #expect(rule("store", in: current)?["evaluated"] as? Int == 3, "an unchanged rule lost its counters")
        #expect(action("store", in: current)?["invocations"] as? Int == 3)
        #expect(rule("alert", in: current)?["evaluated"] as? Int == 0, "a changed rule kept its counters")
        #expect(action("alert", in: current)?["dead_lettered"] as? Int == 0)

        // An invalid file: refused, its rendered diagnostics (line, column, caret, summary) in the
        // reply, in GET /admin/rules and in the log.
        try write(Self.invalid)
        reply = try await server.json("POST", "/admin/rules/reload", token: admin.token)
        #expect(reply.status == 422)
        let rendered = try #require(reply.object["rendered"] as? String)
        #expect(rendered.contains("error: expected an expression"))
        #expect(rendered.contains("error: unknown key 'retyr' in an action"))
        #expect(rendered.contains("\(rulesFile.path):4:"))
        #expect(rendered.contains("^"))
        #expect(rendered.hasSuffix("error: \(rulesFile.path) has 2 errors\n"))
        current = try await status()
        #expect(current["version"] as? Int == first + 1)
        let failure = try #require(current["last_failure"] as? [String: Any])
        #expect(failure["rendered"] as? String == rendered)
        #expect((failure["errors"] as? [Any])?.count == 2)
        #expect(
            await waitUntil(seconds: 10) {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                return text.contains("error: unknown key 'retyr' in an action")
                    && text.contains("did you mean 'retry'?")
                    && text.contains("\(rulesFile.path) has 2 errors")
            }, "the log does not show the diagnostics")

        // A valid file again: the failure is cleared, `store` still has its counters.
        try write(Self.rules(comment: "third", condition: "temp > 1"))
        reply = try await server.json("POST", "/admin/rules/reload", token: admin.token)
        #expect(reply.status == 200)
        current = try await status()
        #expect(current["version"] as? Int == first + 2)
        #expect(current["last_failure"] is NSNull, "a successful reload left the last failure in place")
        #expect(rule("store", in: current)?["evaluated"] as? Int == 3)
        let thirdDigest = try await sha256()

        // The dead letters name version `first`, which names the first file.
        let letters = try await server.json("GET", "/admin/dead-letters", token: admin.token)
        let recorded = (letters.object["dead_letters"] as? [[String: Any]] ?? []).compactMap {
            $0["rule_set_version"] as? Int
        }
        #expect(recorded == [first, first, first])
        #expect(versions(current).map(\.version) == [first + 2, first + 1, first])
        #expect(versions(current).map(\.digest) == [thirdDigest, secondDigest, firstDigest])

        // After a restart the version goes on from the last one recorded.
        await server.stop()
        server = try await ServerProcess.start(data: data, extraArguments: arguments)
        current = try await status()
        #expect(current["version"] as? Int == first + 3, "the version restarted after a restart")
        #expect(current["digest"] as? String == thirdDigest)
        #expect(versions(current).map(\.version) == [first + 3, first + 2, first + 1, first])
        #expect(versions(current).map(\.digest) == [thirdDigest, thirdDigest, secondDigest, firstDigest])
        // Without the watcher, SIGHUP reloads a changed file.
        try write(Self.rules(comment: "fourth", condition: "temp > 1"))
        let fourthDigest = try await sha256()
        server.hangUp()
        #expect(
            try await waitUntil(seconds: 10) {
                let now = try await status()
                return now["version"] as? Int == first + 4 && now["digest"] as? String == fourthDigest
            }, "SIGHUP did not reload the changed file")
        _ = await server.postTelemetry(gateway: "gw1", token: gateway.token, [(device: "f9", payload: #"{"temp": 5}"#)])
        #expect(
            try await waitUntil(seconds: 20) {
                let page = try await server.json("GET", "/admin/dead-letters", token: admin.token)
                let versions = (page.object["dead_letters"] as? [[String: Any]] ?? []).compactMap {
                    $0["rule_set_version"] as? Int
                }
                return versions.sorted() == [first, first, first, first + 4]
            })
        await server.stop()
    }
}
