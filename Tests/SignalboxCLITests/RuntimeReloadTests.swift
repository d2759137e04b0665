import Foundation
import Testing

/// Hot reload over HTTP while a gateway keeps posting: invalid files are refused with their errors
/// and leave the running rules active, valid ones take over, and every acknowledged message is
/// stored exactly once.
@Suite("runtime reload end to end", .serialized)
struct RuntimeReloadTests {
    /// Rule `store-v{variant}` stores every reading, tagged with the variant, into `readings`
    /// (one rule name per variant, so a message evaluated by two versions would be stored twice);
    /// even variants have a second rule.
    static func valid(_ variant: Int) -> String {
        let extra = """
              - name: cold-v\(variant)
                sql: SELECT temp FROM 'gateways/+/devices/+/telemetry' WHERE temp < -40
                actions:
                  - function: persist
                    with: { table: cold }

            """
        return """
            version: 1
            devices:
              key_level: 4
            rules:
              - name: store-v\(variant)
                sql: >-
                  SELECT *, \(variant) AS variant
                  FROM 'gateways/+/devices/+/telemetry'
                actions:
                  - function: persist
                    with: { table: readings }

            """ + (variant.isMultiple(of: 2) ? extra : "")
    }

    /// Invalid files: the error code and a part of the message each must be refused with.
    static let invalid: [(file: String, code: String, message: String)] = [
        (
            valid(90).replacingOccurrences(of: "AS variant", with: "AS variant,"), "parse",
            "expected an expression"
        ),
        (
            valid(91).replacingOccurrences(of: "function: persist", with: "function: persist-everything"),
            "unknown-handler", "there is no handler function named 'persist-everything'"
        ),
        (valid(92).replacingOccurrences(of: "{ table: readings }", with: "{ table: readings"), "yaml", "invalid YAML"),
    ]

    @Test(
        "18 rule swaps (valid and invalid) under continuous HTTP load: errors reported, no message lost or doubled",
        .timeLimit(.minutes(2)))
    func reloadUnderLoad() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let rulesFile = data.appendingPathComponent("rules.yaml")
        // Atomic writes, so the file watcher never reads half a file.
        func write(_ text: String) throws { try text.write(to: rulesFile, atomically: true, encoding: .utf8) }
        try write(Self.valid(0))
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--rules", rulesFile.path, "--auto-bind-devices"])

        func status() async throws -> [String: Any] {
            try await server.json("GET", "/admin/rules", token: admin.token).object
        }
        func activeRule(_ status: [String: Any]) -> String? {
            (status["rules"] as? [[String: Any]])?.first?["name"] as? String
        }
        var current = try await status()
        #expect(activeRule(current) == "store-v0")
        var version = try #require(current["version"] as? Int)
        var digest = try #require(current["digest"] as? String)

        let stop = StopSignal()
        let writers = Task { await server.streamTelemetry(gateway: "gw1", token: gateway.token, until: stop) }
        var variant = 0
        var refused = 0
        for swap in 1...18 {
            try await Task.sleep(for: .milliseconds(300))
            if swap.isMultiple(of: 2) {
                let bad = Self.invalid[(swap / 2) % Self.invalid.count]
                try write(bad.file)
                let reply = try await server.json("POST", "/admin/rules/reload", token: admin.token)
                refused += 1
                #expect(reply.status == 422, "swap \(swap)")
                let errors = reply.object["errors"] as? [[String: Any]]
                #expect(errors?.first?["code"] as? String == bad.code, "swap \(swap)")
                #expect((errors?.first?["message"] as? String)?.contains(bad.message) == true, "swap \(swap)")
                #expect((reply.object["rendered"] as? String)?.contains(bad.message) == true, "swap \(swap)")
                // The previous file stays active, with its version.
                current = try await status()
                #expect(activeRule(current) == "store-v\(variant)", "swap \(swap)")
                #expect(current["digest"] as? String == digest, "swap \(swap)")
                #expect(current["version"] as? Int == version, "swap \(swap)")
                let lastFailure = current["last_failure"] as? [String: Any]
                let lastErrors = lastFailure?["errors"] as? [[String: Any]]
                #expect(lastErrors?.first?["code"] as? String == bad.code, "swap \(swap)")
                #expect((lastFailure?["rendered"] as? String)?.contains(bad.message) == true, "swap \(swap)")
                #expect((current["reloads"] as? [String: Any])?["failed"] as? Int ?? 0 >= refused, "swap \(swap)")
            } else {
                variant += 1
                try write(Self.valid(variant))
                if variant.isMultiple(of: 3) {
                    // Left to the file watcher (it checks every second).
                    #expect(try await waitUntil(seconds: 15) { activeRule(try await status()) == "store-v\(variant)" })
                } else {
                    let reply = try await server.json("POST", "/admin/rules/reload", token: admin.token)
                    #expect(reply.status == 200, "swap \(swap)")
                    #expect(reply.object["version"] as? Int ?? 0 > version, "swap \(swap)")
                }
                current = try await status()
                #expect(activeRule(current) == "store-v\(variant)", "swap \(swap)")
                #expect(current["version"] as? Int ?? 0 > version, "swap \(swap)")
                #expect(current["digest"] as? String != digest, "swap \(swap)")
                version = current["version"] as? Int ?? version
                digest = current["digest"] as? String ?? digest
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        stop.set()
        let acknowledged = Set(await writers.value)
        #expect(acknowledged.count > 1000)

        var records: [[String: Any]] = []
        #expect(
            try await waitUntil(seconds: 60) {
                records = try await server.records("readings", token: admin.token)
                return Set(records.compactMap { $0["message_id"] as? Int }).isSuperset(of: acknowledged)
            })
        let stored = records.compactMap { $0["message_id"] as? Int }
        #expect(stored.count == records.count)
        #expect(stored.count == Set(stored).count, "a message was stored twice (evaluated by two rule versions)")
        #expect(Set(stored).isSuperset(of: acknowledged), "an acknowledged message was lost")

        // Each device's messages, in id order, met the variants in the order they were loaded.
        var variants: [String: [(id: Int, variant: Int)]] = [:]
        var mislabelled = 0
        for record in records {
            guard let id = record["message_id"] as? Int, let device = record["device"] as? String,
                let tag = (record["data"] as? [String: Any])?["variant"] as? Int,
                record["rule"] as? String == "store-v\(tag)"
            else {
                mislabelled += 1
                continue
            }
            variants[device, default: []].append((id, tag))
        }
        #expect(mislabelled == 0, "records not stored by their variant's rule")
        for (device, seen) in variants {
            let ordered = seen.sorted { $0.id < $1.id }.map(\.variant)
            #expect(ordered == ordered.sorted(), "device \(device) met an older variant after a newer one")
        }
        // The load ran through the swaps: most variants stored messages.
        let used = Set(variants.values.joined().map(\.variant))
        #expect(used.count >= 6, "only variants \(used.sorted()) stored messages")

        current = try await status()
        let reloads = current["reloads"] as? [String: Any]
        #expect(current["version"] as? Int == 1 + (reloads?["succeeded"] as? Int ?? -1))
        await server.stop()
    }
}
