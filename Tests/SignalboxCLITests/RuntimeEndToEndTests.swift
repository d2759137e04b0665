import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A local Twilio stand-in (Tests/Integration/fake_twilio.py) on an ephemeral port.
final class FakeTwilio: @unchecked Sendable {  // fields set in init, read afterwards
    let process = Process()
    let port: Int
    let log: URL

    init(directory: URL, arguments: [String] = []) throws {
        log = directory.appendingPathComponent("twilio.jsonl")
        // The system interpreter itself (not a version-manager shim that would outlive a kill).
        let system = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        process.executableURL = URL(fileURLWithPath: system ? "/usr/bin/python3" : "/usr/bin/env")
        process.arguments =
            (system ? [] : ["python3"]) + [
                CLI.packageRoot.appendingPathComponent("Tests/Integration/fake_twilio.py").path, log.path,
            ]
            + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        let deadline = Date().addingTimeInterval(20)
        while !String(decoding: buffer, as: UTF8.self).contains("\n"), Date() < deadline {
            buffer.append(output.fileHandleForReading.availableData)
        }
        guard let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first,
            line.hasPrefix("port "), let port = Int(line.dropFirst(5))
        else { throw ServerError("the fake SMS provider did not start") }
        self.port = port
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Switches it to answering normally ("ok"), with 500 ("fail") or never ("hang").
    func setMode(_ mode: String) throws {
        try Data(mode.utf8).write(to: URL(fileURLWithPath: log.path + ".mode"))
    }

    /// Every request received so far.
    var requests: [[String: Any]] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var environment: [String: String] {
        [
            "SMS_PROVIDER": "twilio", "SMS_BASE_URL": "http://127.0.0.1:\(port)", "SMS_ACCOUNT": "ACe2e0000000000000",
            "SMS_AUTH_TOKEN": "twilio-secret", "SMS_FROM": "+15550000",
        ]
    }
}

/// Polls `condition` off the cooperative pool's hot path until it holds or `seconds` pass.
func waitUntil(seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

extension ServerProcess {
    /// Every record of `table`, paging through `GET /records/{table}`.
    func records(_ table: String, token: String) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var after: Int?
        while true {
            let query = after.map { "?limit=1000&after=\($0)" } ?? "?limit=1000"
            let reply = try await request("GET", "/records/\(table)\(query)", token: token)
            guard reply.status == 200,
                let document = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any],
                let records = document["records"] as? [[String: Any]]
            else { return all }
            all += records
            guard let next = document["next_after"] as? Int else { return all }
            after = next
        }
    }

    /// The `message_id` of every record of `table`, one per record.
    func messageIDs(_ table: String, token: String) async throws -> [Int] {
        try await records(table, token: token).compactMap { $0["message_id"] as? Int }
    }

    /// Sends a request; returns the status and the reply's JSON object (empty when it is not one).
    func json(_ method: String, _ path: String, token: String, body: String? = nil) async throws -> (
        status: Int, object: [String: Any]
    ) {
        let reply = try await request(method, path, token: token, body: body)
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
        return (reply.status, object ?? [:])
    }

    /// Posts one batch of `gateways/{gateway}/devices/{device}/telemetry` messages, each payload
    /// given as JSON text; returns the acknowledged ids, or nil when the batch was not acknowledged.
    func postTelemetry(gateway: String, token: String, _ messages: [(device: String, payload: String)]) async
        -> [Int]?
    {
        let body =
            "["
            + messages.map {
                #"{"topic": "gateways/\#(gateway)/devices/\#($0.device)/telemetry", "payload": \#($0.payload)}"#
            }.joined(separator: ",") + "]"
        guard let reply = try? await json("POST", "/gateways/\(gateway)/messages", token: token, body: body),
            reply.status == 200, let first = reply.object["first_id"] as? Int,
            let count = reply.object["accepted"] as? Int
        else { return nil }
        return Array(first..<(first + count))
    }

    /// `writers` concurrent writers posting batches of telemetry until `stop` is set, each for its
    /// own `devices / writers` devices (`d0`, `d1`, …), pausing between batches; returns every
    /// acknowledged id. Refused batches are skipped.
    ///
    /// A flag rather than task cancellation: cancelling a running URLSession task can crash
    /// FoundationNetworking on Linux (swift-corelibs-foundation#3296).
    func streamTelemetry(
        gateway: String, token: String, until stop: StopSignal, writers: Int = 4, batch: Int = 25, devices: Int = 40,
        pause: Duration = .milliseconds(50)
    ) async -> [Int] {
        await withTaskGroup(of: [Int].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var ids: [Int] = []
                    var n = 0
                    while !stop.isSet {
                        let messages = (0..<batch).map { i in
                            let device = writer + writers * ((n + i) % max(1, devices / writers))
                            return (device: "d\(device)", payload: #"{"temp": 5, "n": \#(n + i)}"#)
                        }
                        n += batch
                        ids += await self.postTelemetry(gateway: gateway, token: token, messages) ?? []
                        try? await Task.sleep(for: pause)
                    }
                    return ids
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }
}

/// A flag set once by one task and read by others.
final class StopSignal: Sendable {
    private let flag = Mutex(false)

    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

@Suite("runtime end to end", .serialized)
struct RuntimeEndToEndTests {
    @Test("the default rules over real HTTP: readings stored, one SMS per warm fridge per hour, shadows, silence")
    func defaultRules() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let twilio = try FakeTwilio(directory: data)
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        var environment = twilio.environment
        environment["FRIDGE_SILENT_AFTER"] = "3s"
        // The gateway's fridges are bound to it as they first report.
        let server = try await ServerProcess.start(
            data: data, extraArguments: ["--auto-bind-devices"], environment: environment)
        for (fridge, phone) in [("f1", "+15550101"), ("f2", "+15550102")] {
            let set = try await server.request(
                "POST", "/things/\(fridge)/shadow", token: admin.token,
                body: #"{"state": {"desired": {"maxTemp": 8, "alertPhone": "\#(phone)"}}}"#)
            #expect(set.status == 200)
        }
        // Three warm readings of f1, two of f2, two cool ones of f3, in one batch from the gateway.
        let readings = [("f1", 9.5), ("f2", 11.0), ("f1", 10.0), ("f3", 4.0), ("f2", 12.5), ("f1", 10.5), ("f3", 4.5)]
        let batch =
            "["
            + readings.map {
                #"{"topic": "gateways/gw1/devices/\#($0.0)/telemetry", "payload": {"temp": \#($0.1), "battery": 50}}"#
            }.joined(separator: ",") + "]"
        let reply = try await server.request("POST", "/gateways/gw1/messages", token: gateway.token, body: batch)
        #expect(reply.status == 200)

        #expect(try await waitUntil { try await server.records("readings", token: admin.token).count == 7 })
        #expect(try await waitUntil { try await server.records("alerts", token: admin.token).count == 5 })
        #expect(await waitUntil { twilio.requests.count >= 2 })
        let warm = twilio.requests.filter { (($0["form"] as? [String: String])?["Body"] ?? "").contains(" is at ") }
        #expect(warm.count == 2)
        for request in warm {
            #expect(request["path"] as? String == "/2010-04-01/Accounts/ACe2e0000000000000/Messages.json")
            #expect(request["user"] as? String == "ACe2e0000000000000")
            #expect(request["password"] as? String == "twilio-secret")
            #expect(request["content_type"] as? String == "application/x-www-form-urlencoded")
            let form = try #require(request["form"] as? [String: String])
            #expect(form["From"] == "+15550000")
        }
        let bodies = Set(warm.compactMap { ($0["form"] as? [String: String]).map { "\($0["To"]!) \($0["Body"]!)" } })
        #expect(
            bodies == ["+15550101 Fridge f1 is at 9.5 C (limit 8 C)", "+15550102 Fridge f2 is at 11.0 C (limit 8 C)"])

        // The last reading of each fridge is its reported state.
        let shadow = try await server.request("GET", "/things/f1/shadow", token: admin.token)
        let document = try JSONSerialization.jsonObject(with: Data(shadow.body.utf8)) as? [String: Any]
        let reported = (document?["state"] as? [String: Any])?["reported"] as? [String: Any]
        #expect(reported?["temp"] as? Double == 10.5)

        // Silence: after 3 s without readings each fridge is silent; a new reading brings f1 back.
        func events() async throws -> [String] {
            try await server.records("device_events", token: admin.token).compactMap { record in
                guard let data = record["data"] as? [String: Any] else { return nil }
                return "\(data["fridge"] ?? "") \(data["event"] ?? "")"
            }
        }
        #expect(try await waitUntil { try await events().count >= 3 })
        #expect(Set(try await events().prefix(3)) == ["f1 silent", "f2 silent", "f3 silent"])
        let wake = try await server.request(
            "POST", "/topics/gateways%2Fgw1%2Fdevices%2Ff1%2Ftelemetry", token: gateway.token,
            body: #"{"temp": 5, "battery": 50}"#)
        #expect(wake.status == 200)
        #expect(try await waitUntil { try await events().contains("f1 online") })
        #expect(Array(try await events().prefix(4)).last == "f1 online")
        // Silence texts go to the fridges with a phone; f3 has none, so its text fails into rule_errors.
        let sent = {
            twilio.requests.compactMap { ($0["form"] as? [String: String]).map { "\($0["To"]!) \($0["Body"]!)" } }
        }
        #expect(
            await waitUntil {
                let texts = sent()
                return texts.contains { $0.hasPrefix("+15550101 Fridge f1 is silent") }
                    && texts.contains { $0.hasPrefix("+15550102 Fridge f2 is silent") }
                    && texts.contains { $0.hasPrefix("+15550101 Fridge f1 is online") }
            })
        #expect(!sent().contains { $0.contains("f3") })
        #expect(
            try await waitUntil {
                try await server.records("rule_errors", token: admin.token).contains {
                    let data = $0["data"] as? [String: Any]
                    let failures = data?["failures"] as? [[String: Any]]
                    return data?["topic"] as? String == "$signalbox/events/devices/f3/silent"
                        && (failures?.first?["errorMessage"] as? String ?? "").contains("rendered empty")
                }
            })
        #expect(sent().count { $0.contains(" is at ") } == 2)
        await server.stop()
    }

    @Test("kill -9 under load, restart: every acknowledged message is stored exactly once", .timeLimit(.minutes(5)))
    func crashUnderLoad() async throws {
        let data = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let admin = try PrintedToken(
            try await CLI.runAsync(["tokens", "create", "--admin", "--data", data.path]).stdout)
        let gateway = try PrintedToken(try await CLI.runAsync(["gateways", "add", "gw1", "--data", data.path]).stdout)
        var acknowledged: Set<Int> = []
        for round in 0..<3 {
            let server = try await ServerProcess.start(data: data, extraArguments: ["--auto-bind-devices"])
            let acked = try await withThrowingTaskGroup(of: [Int].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var ids: [Int] = []
                        for n in 0..<10_000 {
                            let messages = (0..<20).map { i in
                                (device: "w\(writer)-\(i % 5)", payload: #"{"temp": 5, "battery": 80, "n": \#(n)}"#)
                            }
                            guard let acked = await server.postTelemetry(gateway: "gw1", token: gateway.token, messages)
                            else { break }
                            ids += acked
                        }
                        return ids
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(1500 + 500 * round))
                    await server.kill()
                    return []
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(!acked.isEmpty)
            acknowledged.formUnion(acked)
        }
        let server = try await ServerProcess.start(data: data, extraArguments: ["--auto-bind-devices"])
        var stored: [Int] = []
        #expect(
            try await waitUntil(seconds: 120) {
                stored = try await server.messageIDs("readings", token: admin.token)
                return Set(stored).isSuperset(of: acknowledged)
            })
        #expect(stored.count == Set(stored).count, "a message was stored twice")
        #expect(Set(stored).isSuperset(of: acknowledged))
        await server.stop()
    }
}
