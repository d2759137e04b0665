import Foundation
import HTTPTypes
import Prometheus
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxStore
import Testing

@testable import SignalboxServer

/// The admin endpoints over the runtime: records, dead letters, rules, metrics.
struct OperationsRoutesTests {
    static func rule(_ name: String, _ sql: String, actions: [ActionDefinition]) -> RuleDefinition {
        RuleDefinition(name: LocatedString(name), enabled: true, sql: LocatedString(sql), actions: actions)
    }

    /// A `with:` value substituted from the environment when the file was loaded: possibly a secret.
    static let secret = ConfigValue(
        .string(
            LocatedString(
                "s3cr3t-value",
                substitutions: [
                    LocatedString.Substitution(
                        variable: "SMS_TOKEN", sourceRange: SourceRange(start: 0, end: 16),
                        valueRange: SourceRange(start: 0, end: 12))
                ])))

    static func ruleSet() throws -> RuleSet {
        try RuleSet(
            RulesDocument(rules: [
                rule(
                    "too-warm", "SELECT topic(4) AS device, temp FROM 'gateways/+/devices/+/telemetry' WHERE temp > 5",
                    actions: [
                        ActionDefinition(
                            function: "notify-sms",
                            with: ["to": "+15550100", "body": "${topic(4)} is at ${temp} C", "token": secret],
                            throttle: ThrottlePolicy(key: "${topic(4)}", per: .seconds(3600))),
                        ActionDefinition(function: "persist", with: ["table": "alerts"]),
                    ]),
                rule(
                    "status", "SELECT * FROM 'gateways/+/devices/+/status'",
                    actions: [ActionDefinition(function: "log")]),
            ]))
    }

    static func letter(_ n: Int64) -> DeadLetter {
        DeadLetter(
            createdAt: 1_700_000_000_000 + n,
            source: ActionSource(rule: "too-warm", ruleSetVersion: 3, actionIndex: 0, function: "notify-sms"),
            idempotencyKey: "\(n)/too-warm/0",
            message: JournalEntry(
                id: n, topic: "gateways/gw-01/devices/f\(n)/telemetry", payload: [0x7B, 0x7D, 0xFF],
                receivedAt: 1_699_999_999_000 + n, gateway: "gw-01"),
            device: "f\(n)", error: "HTTP 500 from the SMS provider", attempts: 5)
    }

    // MARK: Records

    @Test func recordsAreListedAndPagedFromTheStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbx-rec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteRecordStorage(directory: directory.path)
        let rows = (1...5).map { n in
            RecordRow(
                idempotencyKey: "\(n)/too-warm/1", messageID: Int64(n), rule: "too-warm",
                topic: "gateways/gw-01/devices/f\(n % 2)/telemetry", device: "f\(n % 2)",
                receivedAt: 1_700_000_000_000 + Int64(n) * 1000, data: bytes(#"{"temp":\#(n)}"#))
        }
        try await storage.insert(rows, into: "alerts")
        try await RuntimeTestServer.run(records: storage) { server in
            let tables = try await server.send(.get, "/records")
            #expect(tables.json == ["tables": ["alerts"]])

            let first = try await server.send(.get, "/records/alerts?limit=2")
            #expect(first.status == 200)
            #expect(
                first.json["records"]?[0] == [
                    "seq": 1, "id": "1/too-warm/1", "message_id": 1, "rule": "too-warm",
                    "topic": "gateways/gw-01/devices/f1/telemetry", "device": "f1", "received_at": 1_700_000_001_000,
                    "data": ["temp": 1],
                ])
            #expect(first.json["next_after"] == 2)
            let next = try await server.send(.get, "/records/alerts?limit=2&after=2")
            #expect(next.json["records"]?[0]?["seq"] == 3)

            let device = try await server.send(.get, "/records/alerts?device=f0")
            #expect(device.json["records"].map(seqs) == [2, 4])
            #expect(device.json["next_after"] == .null)

            // since is inclusive, until exclusive; both take RFC 3339 or milliseconds.
            let window = try await server.send(
                .get, "/records/alerts?since=2023-11-14T22:13:22Z&until=1700000004000")
            #expect(window.json["records"].map(seqs) == [2, 3])
        }
    }

    func seqs(_ records: Value) -> [Int64] {
        guard case .array(let items) = records else { return [] }
        return items.compactMap { if case .int(let seq)? = $0["seq"] { seq } else { nil } }
    }

    @Test(arguments: [
        ("/records/nope", 404, "No records table named 'nope'"),
        ("/records/Bad-Name", 400, "Invalid table name: a lowercase letter, then up to 62 of a-z, 0-9 and '_'"),
        ("/records/alerts?limit=0", 400, "limit must be between 1 and 1000"),
        ("/records/alerts?limit=1001", 400, "limit must be between 1 and 1000"),
        ("/records/alerts?since=yesterday", 400, "since must be milliseconds since the epoch or an RFC 3339 time"),
        ("/records/alerts?after=-1", 400, "after must be a non-negative integer"),
        ("/admin/throttles?rule=bad%20name", 400, "rule must be a rule name ([A-Za-z0-9_-])"),
        (
            "/admin/throttles?rule=" + String(repeating: "r", count: 129), 400,
            "rule must be a rule name ([A-Za-z0-9_-])"
        ),
        ("/admin/throttles?rule=", 400, "rule must be a rule name ([A-Za-z0-9_-])"),
        ("/admin/throttles?limit=0", 400, "limit must be between 1 and 10000"),
        ("/admin/throttles?limit=10001", 400, "limit must be between 1 and 10000"),
        ("/admin/dead-letters?after=x", 400, "after must be a non-negative integer"),
        ("/admin/dead-letters?limit=1001", 400, "limit must be between 1 and 1000"),
        ("/admin/dead-letters/0/retry", 400, "A dead letter id is a positive integer"),
    ])
    func badOperationQueriesAreRefused(_ path: String, _ status: Int, _ message: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbx-rec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteRecordStorage(directory: directory.path)
        let rules = TestRulesControl(ruleSet: try Self.ruleSet(), deadLetters: MemoryDeadLetters())
        try await RuntimeTestServer.run(rules: rules, records: storage) { server in
            let method: HTTPRequest.Method = path.hasSuffix("/retry") ? .post : .get
            let reply = try await server.send(method, path)
            #expect(reply.status == status, "\(path)")
            #expect(reply.message == message, "\(path)")
        }
    }

    @Test func recordsNeedAnAdminAndAStore() async throws {
        try await RuntimeTestServer.run { server in
            let token = try await server.addGateway("gw-01")
            #expect(try await server.send(.get, "/records", token: token).status == 403)
            let reply = try await server.send(.get, "/records")
            #expect(reply.status == 503)
            #expect(reply.message == "The record store is not available in this server")
        }
    }

    // MARK: Dead letters

    @Test func deadLettersAreListedRetriedAndDeleted() async throws {
        let letters = MemoryDeadLetters()
        for n in 1...3 { _ = try await letters.add(Self.letter(Int64(n))) }
        let rules = TestRulesControl(ruleSet: try Self.ruleSet(), deadLetters: letters)
        rules.setRetry(1, .delivered)
        rules.setRetry(2, .failed(error: "HTTP 503 from the SMS provider"))
        try await RuntimeTestServer.run(rules: rules) { server in
            let page = try await server.send(.get, "/admin/dead-letters?limit=2")
            #expect(page.status == 200)
            #expect(page.json["total"] == 3)
            #expect(page.json["next_after"] == 2)
            #expect(
                page.json["dead_letters"]?[0] == [
                    "id": 1, "rule": "too-warm", "rule_set_version": 3, "action_index": 0, "function": "notify-sms",
                    "idempotency_key": "1/too-warm/0", "message_id": 1, "topic": "gateways/gw-01/devices/f1/telemetry",
                    "device": "f1", "received_at": 1_699_999_999_001, "error": "HTTP 500 from the SMS provider",
                    "attempts": 5, "created_at": 1_700_000_000_001, "payload_base64": "e33/",
                ])

            let delivered = try await server.send(.post, "/admin/dead-letters/1/retry")
            #expect(delivered.status == 200)
            #expect(delivered.json == ["id": 1, "delivered": true])

            let failed = try await server.send(.post, "/admin/dead-letters/2/retry")
            #expect(failed.status == 502)
            #expect(failed.errorType == "ActionFailedException")
            #expect(failed.message == "The action failed again: HTTP 503 from the SMS provider")

            let gone = try await server.send(.post, "/admin/dead-letters/3/retry")
            #expect(gone.status == 409)
            let missing = try await server.send(.post, "/admin/dead-letters/99/retry")
            #expect(missing.status == 404)
            #expect(rules.retried == [1, 2, 3, 99])

            let deleted = try await server.send(.delete, "/admin/dead-letters/3")
            #expect(deleted.json == ["id": 3, "deleted": true])
            #expect(try await server.send(.delete, "/admin/dead-letters/3").status == 404)
            #expect(try await server.send(.delete, "/admin/dead-letters/x").status == 400)
            let rest = try await server.send(.get, "/admin/dead-letters")
            #expect(rest.json["total"] == 1)
            #expect(rest.json["dead_letters"]?[0]?["id"] == 2)
        }
    }

    @Test func withoutARuntimeTheRulesEndpointsAreUnavailable() async throws {
        try await RuntimeTestServer.run { server in
            for (method, path) in [
                (HTTPRequest.Method.get, "/admin/rules"), (.post, "/admin/rules/reload"), (.post, "/admin/rules/test"),
                (.get, "/admin/dead-letters"), (.post, "/admin/dead-letters/1/retry"),
                (.delete, "/admin/dead-letters/1"),
            ] {
                let reply = try await server.send(method, path, body: "{}")
                #expect(reply.status == 503, "\(path)")
                #expect(reply.message == "The rules runtime is not running in this server")
            }
        }
    }

    // MARK: Rules

    @Test func rulesStatusShowsVersionCountersAndTheLastFailure() async throws {
        let rules = TestRulesControl(ruleSet: try Self.ruleSet())
        try await RuntimeTestServer.run(rules: rules) { server in
            let status = try await server.send(.get, "/admin/rules")
            #expect(status.status == 200)
            #expect(status.json["version"] == 3)
            #expect(status.json["in_flight"] == ["count": 5, "capacity": 10_000])
            #expect(status.json["reloads"] == ["succeeded": 2, "failed": 1])
            #expect(status.json["last_failure"] == .null)
            #expect(status.json["rules"]?[0]?["name"] == "too-warm")
            #expect(
                status.json["rules"]?[0]?["actions"]?[1] == [
                    "function": "persist", "index": 1, "invocations": 4, "succeeded": 3, "failures": 1, "retries": 2,
                    "throttled": 0, "dead_lettered": 1, "pending": 0, "handled_by_error_action": 0,
                ])

            let reloaded = try await server.send(.post, "/admin/rules/reload")
            #expect(reloaded.json == ["version": 2])

            let source = SourceText(name: "rules.yaml", text: "rules:\n  - name: a\n    sql: SELECT avrg(t) FROM 'x'\n")
            let diagnostic = LocatedDiagnostic(
                Diagnostic("unknown-function", "unknown function 'avrg'", at: SourceRange(start: 35, end: 39)),
                source: source, ruleName: "a")
            rules.setReload(
                .failed(ReloadFailure(at: 1_700_000_000_500, diagnostics: [diagnostic], rendered: "error: …\n")))
            let refused = try await server.send(.post, "/admin/rules/reload")
            #expect(refused.status == 422)
            #expect(refused.errorType == "InvalidRulesException")
            let expectedErrors: Value = [
                [
                    "code": "unknown-function", "message": "unknown function 'avrg'", "line": 3, "column": 17,
                    "rule": "a",
                ]
            ]
            #expect(refused.json["errors"] == expectedErrors)
            let after = try await server.send(.get, "/admin/rules")
            #expect(after.json["last_failure"]?["errors"] == expectedErrors)
            #expect(after.json["last_failure"]?["at"] == 1_700_000_000_500)
        }
    }

    @Test func rulesTestEvaluatesWithoutRunningAnything() async throws {
        let rules = TestRulesControl(ruleSet: try Self.ruleSet())
        try await RuntimeTestServer.run(rules: rules) { server in
            let body = #"{"topic": "gateways/gw-01/devices/f1/telemetry", "payload": {"temp": 9.5}, "timestamp": 1}"#
            let reply = try await server.send(.post, "/admin/rules/test", body: body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json["matched"] == 1)
            let rule = try #require(reply.json["rules"]?[0])
            #expect(rule["name"] == "too-warm")
            #expect(rule["matched"] == true)
            #expect(rule["output"] == ["device": "f1", "temp": 9.5])
            #expect(
                rule["actions"]?[0] == [
                    "index": 0, "function": "notify-sms",
                    "with": [
                        "to": "+15550100", "body": "f1 is at 9.5 C", "token": "(from the environment, not shown)",
                    ],
                    "throttle": ["per": "1h", "key": "f1"],
                ])
            #expect(reply.json["other_rules"]?[0]?["name"] == "status")
            #expect(!reply.text.contains("s3cr3t"))

            let cold = try await server.send(
                .post, "/admin/rules/test",
                body: #"{"topic": "gateways/gw-01/devices/f1/telemetry", "payload_base64": "eyJ0ZW1wIjogMn0="}"#)
            #expect(cold.json["rules"]?[0]?["matched"] == false)
            #expect(cold.json["rules"]?[0]?["conditions"]?[0]?["value"] == "false")

            for (body, message) in [
                ("[1]", "The request must be a JSON object"),
                (#"{"payload": 1}"#, "the request has no 'topic'"),
                (
                    #"{"topic": "a/+", "payload": 1}"#,
                    "Invalid topic: the topic contains a wildcard ('+' or '#'); publish to a concrete topic"
                ),
                (
                    #"{"topic": "a", "payload": 1, "timestamp": "now"}"#,
                    "'timestamp' must be an integer (milliseconds since the epoch)"
                ),
            ] {
                let bad = try await server.send(.post, "/admin/rules/test", body: body)
                #expect(bad.status == 400, "\(body)")
                #expect(bad.message == message)
            }
        }
    }

    // MARK: Metrics

    @Test func metricsCountIngestAndNeedAnAdminUnlessPublic() async throws {
        let metrics = PrometheusCollectorRegistry()
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest, metrics: metrics) { server in
            let token = try await server.addGateway("gw-01")
            _ = try await server.send(.post, "/topics/a/b", body: "1")
            _ = try await server.send(.post, "/topics/a/+", body: "1")
            _ = try await server.send(.post, "/topics/a/b", token: token, body: "1")
            _ = try await server.send(
                .post, "/gateways/gw-01/messages", token: token,
                body: #"[{"topic": "gateways/gw-01/x", "payload": 1}, {"topic": "gateways/gw-01/y", "payload": 2}]"#)
            _ = try await server.send(.post, "/gateways/gw-01/messages", token: token, body: "[1]")
            ingest.refuse(.overloaded(retryAfter: 1))
            _ = try await server.send(.post, "/topics/a/b", body: "1")

            let reply = try await server.send(.get, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.contentType?.hasPrefix("text/plain") == true)
            for line in [
                #"signalbox_ingest_messages_total{transport="http"} 1"#,
                #"signalbox_ingest_messages_total{transport="http_batch"} 2"#,
                #"signalbox_ingest_rejected_total{reason="invalid_topic"} 1"#,
                #"signalbox_ingest_rejected_total{reason="forbidden_topic"} 1"#,
                #"signalbox_ingest_rejected_total{reason="invalid_batch"} 1"#,
                #"signalbox_ingest_rejected_total{reason="overloaded"} 1"#,
            ] {
                #expect(reply.text.contains(line + "\n"), "missing \(line) in\n\(reply.text)")
            }
            #expect(try await server.send(.get, "/metrics", token: .some(nil)).status == 401)
            #expect(try await server.send(.get, "/metrics", token: token).status == 403)
        }
        try await RuntimeTestServer.run(configure: { $0.publicMetrics = true }) { server in
            let reply = try await server.send(.get, "/metrics", token: .some(nil))
            #expect(reply.status == 200)
        }
    }

    @Test func theProcessWideRegistryIsBootstrappedOnce() {
        let first = MetricsBootstrap.registry
        let second = MetricsBootstrap.registry
        #expect(first === second)
    }
}
