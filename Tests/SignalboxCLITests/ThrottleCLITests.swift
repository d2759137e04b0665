import Foundation
import Testing

/// Throttles through the real binary, the shipped rules and a fake SMS provider: a text that failed
/// for good does not start the hour, and `signalbox throttles` and `/admin/throttles` show and clear
/// windows.
@Suite("throttles end to end", .serialized)
struct ThrottleCLITests {
    @Test("a text that failed for good leaves the key free; throttles list and reset", .timeLimit(.minutes(3)))
    func failedTextDoesNotStartTheWindow() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let twilio = try FakeTwilio(directory: data)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--auto-bind-devices"], environment: twilio.environment)
        func desire(_ state: String) async throws {
            let set = try await server.request(
                "POST", "/things/f2/shadow", token: admin.token, body: #"{"state": {"desired": \#(state)}}"#)
            #expect(set.status == 200)
        }
        func warm(_ temp: String) async {
            let ids = await server.postTelemetry(
                gateway: "gw1", token: gateway.token, [("f2", #"{"temp": \#(temp), "battery": 50}"#)])
            #expect(ids?.count == 1)
        }
        func texts() -> [String] {
            twilio.requests.compactMap { request in
                (request["form"] as? [String: String]).map { "\($0["To"] ?? "") \($0["Body"] ?? "")" }
            }
        }
        func throttled() async throws -> Int? {
            let rules = try await server.json("GET", "/admin/rules", token: admin.token).object["rules"]
            let rule = (rules as? [[String: Any]])?.first { $0["name"] as? String == "fridge-too-warm" }
            return (rule?["actions"] as? [[String: Any]])?.first?["throttled"] as? Int
        }

        // f2 has a limit but no phone: its text fails for good.
        try await desire(#"{"maxTemp": 8}"#)
        await warm("9.5")
        #expect(
            try await waitUntil(seconds: 30) {
                try await server.records("rule_errors", token: admin.token).contains { record in
                    let data = record["data"] as? [String: Any]
                    let failures = data?["failures"] as? [[String: Any]]
                    return data?["ruleName"] as? String == "fridge-too-warm"
                        && (failures?.first?["errorMessage"] as? String ?? "").contains("rendered empty")
                }
            })
        let none = try await server.json("GET", "/admin/throttles", token: admin.token)
        #expect(none.status == 200)
        #expect(none.object["total"] as? Int == 0)

        // Once the phone is set, the next warm reading is texted at once; the one after is throttled.
        try await desire(#"{"alertPhone": "+15550102"}"#)
        await warm("10.5")
        #expect(await waitUntil(seconds: 20) { texts() == ["+15550102 Fridge f2 is at 10.5 C (limit 8 C)"] })
        await warm("11.5")
        #expect(try await waitUntil(seconds: 20) { try await throttled() == 1 })
        #expect(texts().count == 1)

        // The window, over HTTP and from the data directory.
        let open = try await server.json("GET", "/admin/throttles?rule=fridge-too-warm", token: admin.token)
        #expect(open.object["total"] as? Int == 1)
        let window = try #require((open.object["throttles"] as? [[String: Any]])?.first)
        #expect(window["rule"] as? String == "fridge-too-warm")
        #expect(window["action_index"] as? Int == 0)
        #expect(window["key"] as? String == "f2")
        #expect(window["state"] as? String == "open")
        let started = try #require(window["started_at"] as? Int)
        #expect(window["expires_at"] as? Int == started + 3_600_000)
        var listed = try await CLI.runAsync(["throttles", "list", "--data", data.path])
        #expect(
            await waitUntil(seconds: 5) {
                listed = (try? await CLI.runAsync(["throttles", "list", "--data", data.path])) ?? listed
                return !listed.stdout.isEmpty
            })
        #expect(listed.status == 0)
        let fields = listed.stdout.split(separator: "\n").first?.split(separator: "\t").map(String.init) ?? []
        #expect(fields.prefix(3) == ["fridge-too-warm", "0", #""f2""#])
        #expect(fields.count == 5)
        let json = try await CLI.runAsync([
            "throttles", "list", "--rule", "fridge-too-warm", "--json", "--data", data.path,
        ])
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(document?["total"] as? Int == 1)
        let other = try await CLI.runAsync(["throttles", "list", "--rule", "low-battery", "--data", data.path])
        #expect(other.status == 0 && other.stdout.isEmpty)

        // Reset through the server: the next warm reading is texted again.
        let usage = try await CLI.runAsync(["throttles", "reset", "--url", server.baseURL.absoluteString])
        #expect(usage.status != 0)
        #expect(usage.stderr.contains("--rule"))
        let refused = try await server.json("DELETE", "/admin/throttles", token: admin.token)
        #expect(refused.status == 400)
        let reset = try await CLI.runAsync([
            "throttles", "reset", "--rule", "fridge-too-warm", "--key", "f2", "--url", server.baseURL.absoluteString,
            "--token", admin.token,
        ])
        #expect(reset.status == 0)
        #expect(reset.stdout == "Reset 1 throttle window.\n")
        let cleared = try await server.json("GET", "/admin/throttles", token: admin.token)
        #expect(cleared.object["total"] as? Int == 0)
        await warm("12.5")
        #expect(await waitUntil(seconds: 20) { texts().count == 2 })
        #expect(texts().last == "+15550102 Fridge f2 is at 12.5 C (limit 8 C)")
        await server.stop()

        // A key is a value from outside: it is listed quoted and escaped, whatever it holds.
        let insert = """
            import sqlite3, sys
            key = "f" + chr(9) + chr(27) + "[31m" + chr(34) + "9" + chr(0x202E)
            db = sqlite3.connect(sys.argv[1])
            db.execute("DELETE FROM throttle_windows")
            db.execute("INSERT INTO throttle_windows VALUES (?, ?, ?, ?, ?)",
                       ("fridge-too-warm/0", key, 1, 4102444800000, "1/fridge-too-warm/0"))
            db.commit()
            """
        let database = data.appendingPathComponent("signalbox.sqlite").path
        #expect(try await CLI.runProgramAsync("/usr/bin/python3", ["-c", insert, database]).status == 0)
        let hostile = try await CLI.runAsync(["throttles", "list", "--data", data.path])
        #expect(
            hostile.stdout
                == "fridge-too-warm\t0\t\"f\\t\\u{1b}[31m\\\"9\\u{202e}\"\t1970-01-01T00:00:00.001Z\t2100-01-01T00:00:00.000Z\n"
        )
    }
}
