import Foundation
import Testing

/// An SMS provider that fails or hangs, over real HTTP: the action is retried with growing waits,
/// the error action runs, what it cannot handle becomes a dead letter that a retry delivers once
/// the provider is back, and the other rules keep up with a steady stream meanwhile.
@Suite("runtime failures end to end", .serialized)
struct RuntimeFailureTests {
    static let owner = "+15550101"
    static let ops = "+15550102"
    static let escalation = "+15550199"

    /// A `notify-sms` action through the stand-in (its settings from the environment).
    static func sms(to number: String, body: String, indent: String) -> String {
        """
        function: notify-sms
        \(indent)with:
        \(indent)  to: "\(number)"
        \(indent)  body: "\(body)"
        \(indent)  provider: twilio
        \(indent)  base_url: "${env:SMS_BASE_URL}"
        \(indent)  from: "${env:SMS_FROM}"
        \(indent)  account: "${env:SMS_ACCOUNT}"
        \(indent)  auth_token: "${env:SMS_AUTH_TOKEN}"
        """
    }

    /// Readings of every device are stored; a reading with `temp > 50` texts the owner (5 attempts,
    /// error action: `rule_errors`) and ops (2 attempts, error action: a text that fails too).
    static let rules = """
        version: 1
        devices:
          key_level: 4
        rules:
          - name: store-readings
            sql: SELECT * FROM 'gateways/+/devices/+/telemetry'
            actions:
              - function: persist
                with: { table: readings }
          - name: text-owner
            sql: SELECT alarm FROM 'gateways/+/devices/+/telemetry' WHERE temp > 50
            actions:
              - \(sms(to: owner, body: "Alarm ${alarm} on ${topic(4)}", indent: "        "))
                retry: { attempts: 5, backoff: 1s..8s }
                timeout: 1s
            error_action:
              function: persist
              with: { table: rule_errors }
          - name: text-ops
            sql: SELECT alarm FROM 'gateways/+/devices/+/telemetry' WHERE temp > 50
            actions:
              - \(sms(to: ops, body: "Alarm ${alarm} on ${topic(4)}", indent: "        "))
                retry: { attempts: 2, backoff: 1s }
                timeout: 1s
            error_action:
              \(sms(to: escalation, body: "Unsent alarm ${alarm}", indent: "      "))
              retry: { attempts: 1 }
              timeout: 1s

        """

    @Test(
        "a failing or hanging SMS provider: retries with backoff, error action, dead letter, retry; readings flow",
        .serialized, .timeLimit(.minutes(2)), arguments: ["fail", "hang"])
    func smsProviderDown(mode: String) async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let twilio = try FakeTwilio(directory: data)
        let rulesFile = data.appendingPathComponent("rules.yaml")
        try Self.rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rulesFile.path, "--auto-bind-devices"],
            environment: twilio.environment)

        func alarm(_ name: String) async throws -> Int {
            let ids = await server.postTelemetry(
                gateway: "gw1", token: gateway.token, [("d7", #"{"temp": 99, "alarm": "\#(name)"}"#)])
            return try #require(ids?.first)
        }
        /// Streams for `seconds`; returns the acknowledged ids.
        func stream(seconds: Double) async throws -> [Int] {
            let stop = StopSignal()
            let writers = Task { await server.streamTelemetry(gateway: "gw1", token: gateway.token, until: stop) }
            try await Task.sleep(for: .seconds(seconds))
            stop.set()
            return await writers.value
        }
        func allStored(_ ids: [Int]) async throws -> Bool {
            Set(try await server.messageIDs("readings", token: admin.token)).isSuperset(of: ids)
        }
        func texts(to number: String, body: String) -> [[String: Any]] {
            twilio.requests.filter {
                let form = $0["form"] as? [String: String]
                return form?["To"] == number && form?["Body"] == body
            }
        }

        // Baseline: the provider answers; each alarm is one text to the owner and one to ops.
        let baselineAlarm = try await alarm("base")
        let baseline = try await stream(seconds: 2)
        #expect(try await waitUntil(seconds: 30) { try await allStored(baseline + [baselineAlarm]) })
        #expect(
            await waitUntil(seconds: 20) {
                texts(to: Self.owner, body: "Alarm base on d7").count == 1
                    && texts(to: Self.ops, body: "Alarm base on d7").count == 1
            })

        // The provider fails (500) or hangs past the 1 s timeout; the same stream goes on.
        try twilio.setMode(mode)
        let failingAlarm = try await alarm(mode)
        let failing = try await stream(seconds: 2)
        let ownerText = "Alarm \(mode) on d7"
        #expect(try await waitUntil(seconds: 30) { try await allStored(failing + [failingAlarm]) })
        // Every reading was stored while the owner's text was still being retried (at least 8 s of
        // waits in all), so the failing action held back neither ingest nor the other rule.
        #expect(texts(to: Self.owner, body: ownerText).count < 5, "the readings waited for the failing action")
        #expect(
            !(try await server.records("rule_errors", token: admin.token)).contains {
                ($0["data"] as? [String: Any])?["messageId"] as? Int == failingAlarm
            })
        #expect(
            failing.count * 4 >= baseline.count,
            "ingest slowed down while the provider failed: \(failing.count) against \(baseline.count) messages")

        // The owner's action: 5 attempts, waits of 1 s, 1-2 s, 2-4 s, 4-8 s (equal jitter) plus, when
        // hanging, the 1 s timeout each; then its error action stores the failure in rule_errors.
        var failure: [String: Any]?
        #expect(
            try await waitUntil(seconds: 45) {
                failure = try await server.records("rule_errors", token: admin.token).lazy.compactMap {
                    $0["data"] as? [String: Any]
                }.first { $0["messageId"] as? Int == failingAlarm }
                return failure != nil
            })
        let attempts = texts(to: Self.owner, body: ownerText)
        #expect(attempts.count == 5)
        #expect(attempts.allSatisfy { $0["outcome"] as? String == mode })
        let times = attempts.compactMap { $0["at"] as? Double }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        // A hanging attempt's timeout starts a little before the stand-in sees the request.
        let attemptTime = mode == "hang" ? 0.75 : 0.0
        let shortest = [1.0, 1.0, 2.0, 4.0].map { $0 + attemptTime }
        #expect(gaps.count == 4)
        for (gap, least) in zip(gaps, shortest) {
            #expect(gap >= least, "attempt gaps \(gaps) shorter than the backoff \(shortest)")
        }
        #expect(failure?["ruleName"] as? String == "text-owner")
        let failures = failure?["failures"] as? [[String: Any]]
        #expect(failures?.count == 1)
        #expect(failures?.first?["failedAction"] as? String == "notify-sms")
        let expectedError =
            mode == "hang" ? "the action did not finish within its timeout of 1s" : "the SMS provider answered HTTP 500"
        #expect(failures?.first?["errorMessage"] as? String == expectedError)

        // Ops: 2 attempts, then the escalation text (its error action) fails too, so the ops action
        // becomes the one dead letter; the owner's was handled by its error action.
        var letters = try await server.json("GET", "/admin/dead-letters", token: admin.token)
        #expect(
            try await waitUntil(seconds: 20) {
                letters = try await server.json("GET", "/admin/dead-letters", token: admin.token)
                return letters.object["total"] as? Int ?? 0 > 0
            })
        #expect(letters.status == 200)
        #expect(letters.object["total"] as? Int == 1)
        let letter = try #require((letters.object["dead_letters"] as? [[String: Any]])?.first)
        #expect(letter["rule"] as? String == "text-ops")
        #expect(letter["action_index"] as? Int == 0)
        #expect(letter["function"] as? String == "notify-sms")
        #expect(letter["message_id"] as? Int == failingAlarm)
        #expect(letter["attempts"] as? Int == 2)
        let errors = (letter["error"] as? String ?? "").components(separatedBy: "; error action failed: ")
        #expect(errors == [expectedError, expectedError])
        let opsAttempts = texts(to: Self.ops, body: ownerText).compactMap { $0["at"] as? Double }
        let escalations = texts(to: Self.escalation, body: "Unsent alarm \(mode)").compactMap { $0["at"] as? Double }
        #expect(opsAttempts.count == 2)
        #expect(escalations.count == 1)
        if let escalated = escalations.first, let lastOps = opsAttempts.last,
            let created = letter["created_at"] as? Int
        {
            #expect(escalated > lastOps)
            #expect(Double(created) / 1000 >= escalated - 0.01, "the dead letter came before the error action")
        }

        // The counters agree: since the start, each action succeeded once (the baseline alarm).
        let ruleStatus =
            try await server.json("GET", "/admin/rules", token: admin.token).object["rules"] as? [[String: Any]]
        func counters(_ rule: String) -> [String: Any]? {
            (ruleStatus?.first { $0["name"] as? String == rule }?["actions"] as? [[String: Any]])?.first
        }
        for (rule, attempts, deadLettered) in [("text-owner", 5, 0), ("text-ops", 2, 1)] {
            #expect(counters(rule)?["succeeded"] as? Int == 1, "\(rule)")
            #expect(counters(rule)?["failures"] as? Int == attempts, "\(rule)")
            #expect(counters(rule)?["retries"] as? Int == attempts - 1, "\(rule)")
            #expect(counters(rule)?["dead_lettered"] as? Int == deadLettered, "\(rule)")
        }

        // The provider is back: retrying the dead letter sends the ops text and removes it.
        try twilio.setMode("ok")
        let id = try #require(letter["id"] as? Int)
        let retry = try await server.json("POST", "/admin/dead-letters/\(id)/retry", token: admin.token)
        #expect(retry.status == 200)
        #expect(retry.object["delivered"] as? Bool == true)
        let delivered = texts(to: Self.ops, body: ownerText)
        #expect(delivered.count == 3)
        #expect(delivered.last?["outcome"] as? String == "ok")
        let after = try await server.json("GET", "/admin/dead-letters", token: admin.token)
        #expect(after.object["total"] as? Int == 0)
        #expect((after.object["dead_letters"] as? [Any])?.isEmpty == true)
        // Nothing else was sent: the owner's text was not retried again.
        #expect(texts(to: Self.owner, body: ownerText).count == 5)
        await server.stop()
    }
}
