import Foundation
import Testing

/// Device silence across `kill -9` with a backlog, through the real binary, the shipped rules and a
/// fake SMS provider: a restart never floods texts, and a fridge that stopped reporting meanwhile is
/// still reported.
@Suite("device silence across a crash", .serialized)
struct DeviceSilenceRestartTests {
    static let fridges = (1...6).map { "f\($0)" }

    @Test(
        "kill -9 with 30,000 readings queued, down longer than silent_after: each fridge silent once, one text each",
        .timeLimit(.minutes(5)))
    func crashWithBacklog() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let twilio = try FakeTwilio(directory: data)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        let bound = try await CLI.runAsync(["gateways", "bind", "gw1"] + Self.fridges + ["--data", data.path])
        try #require(bound.status == 0, "gateways bind: \(bound.stderr)")
        var environment = twilio.environment
        environment["FRIDGE_SILENT_AFTER"] = "3s"
        var server = try await ServerProcess.start(data: data, environment: environment)
        for (n, fridge) in Self.fridges.enumerated() {
            let set = try await server.request(
                "POST", "/things/\(fridge)/shadow", token: admin.token,
                body: #"{"state": {"desired": {"maxTemp": 8, "alertPhone": "+1555030\#(n)"}}}"#)
            #expect(set.status == 200)
        }

        // 30,000 cool readings from 4 writers in batches of 500, then kill -9 at once: readings are
        // still waiting in the lanes and the journal.
        let writing = server
        let acknowledged = await withTaskGroup(of: Int.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var count = 0
                    for batch in 0..<15 {
                        let messages = (0..<500).map { i in
                            (device: Self.fridges[(writer + batch + i) % 6], payload: #"{"temp": 5, "battery": 80}"#)
                        }
                        count += await writing.postTelemetry(gateway: "gw1", token: gateway.token, messages)?.count ?? 0
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        await server.kill()
        #expect(acknowledged == 30_000)
        // Down for 5 s, longer than silent_after; no fridge reports meanwhile or after.
        try await Task.sleep(for: .seconds(5))
        server = try await ServerProcess.start(data: data, environment: environment)

        func inFlight() async throws -> Int {
            let status = try await server.json("GET", "/admin/rules", token: admin.token)
            return (status.object["in_flight"] as? [String: Any])?["count"] as? Int ?? -1
        }
        #expect(try await waitUntil(seconds: 120) { try await inFlight() == 0 })
        #expect(try await server.records("readings", token: admin.token).count == 30_000)

        func events() async throws -> [String] {
            try await server.records("device_events", token: admin.token).compactMap { record in
                guard let data = record["data"] as? [String: Any] else { return nil }
                return "\(data["fridge"] ?? "") \(data["event"] ?? "")"
            }
        }
        #expect(try await waitUntil(seconds: 30) { try await events().count >= Self.fridges.count })
        // Anything more (a flap back online, a second silence) would have come by now.
        try await Task.sleep(for: .seconds(4))
        #expect(try await events().sorted() == Self.fridges.map { "\($0) silent" })
        let texts = twilio.requests.compactMap { request -> String? in
            guard let form = request["form"] as? [String: String], let to = form["To"], let body = form["Body"] else {
                return nil
            }
            return "\(to) \(body.prefix { $0 != "(" })"
        }
        #expect(
            texts.sorted() == Self.fridges.enumerated().map { n, fridge in "+1555030\(n) Fridge \(fridge) is silent " })
        await server.stop()
    }
}
