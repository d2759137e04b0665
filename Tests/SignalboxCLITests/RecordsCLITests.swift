import Foundation
import SignalboxCore
import SignalboxStore
import Testing

/// `signalbox records` and `signalbox dead-letters` against data directories the tests fill through
/// the store, and (for retry and delete) a running `signalbox serve`.
struct RecordsCLITests {
    static func row(_ n: Int, device: String) -> RecordRow {
        RecordRow(
            idempotencyKey: "\(n)/store-readings/0", messageID: Int64(n), rule: "store-readings",
            topic: "gateways/gw-01/devices/\(device)/telemetry", device: device,
            receivedAt: 1_700_000_000_000 + Int64(n) * 60_000, data: Array(#"{"temp":\#(n),"ok":true}"#.utf8))
    }

    /// A data directory with table `readings` (four records, two devices) and an empty table `alerts`
    /// never written (so not there).
    static func recordsDirectory() async throws -> URL {
        let directory = try makeTemporaryDirectory()
        let storage = try SQLiteRecordStorage(directory: directory.path)
        try await storage.insert(
            [
                row(1, device: "fridge-7"), row(2, device: "fridge-8"), row(3, device: "fridge-7"),
                row(4, device: "fridge-8"),
            ],
            into: "readings")
        try await storage.insert([row(9, device: "fridge-7")], into: "low_battery")
        try storage.close()
        return directory
    }

    @Test func recordsListsTablesAndPrintsRecords() async throws {
        let directory = try await Self.recordsDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        let tables = try await CLI.runAsync(["records", "--data", directory.path])
        #expect(tables.status == 0)
        #expect(tables.stdout == "low_battery\nreadings\n")

        let all = try await CLI.runAsync(["records", "readings", "--data", directory.path])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(
            all.stdout == """
                1\t2023-11-14T22:14:20.000Z\tfridge-7\tstore-readings\tgateways/gw-01/devices/fridge-7/telemetry\t{"temp":1,"ok":true}
                2\t2023-11-14T22:15:20.000Z\tfridge-8\tstore-readings\tgateways/gw-01/devices/fridge-8/telemetry\t{"temp":2,"ok":true}
                3\t2023-11-14T22:16:20.000Z\tfridge-7\tstore-readings\tgateways/gw-01/devices/fridge-7/telemetry\t{"temp":3,"ok":true}
                4\t2023-11-14T22:17:20.000Z\tfridge-8\tstore-readings\tgateways/gw-01/devices/fridge-8/telemetry\t{"temp":4,"ok":true}

                """)

        let filtered = try await CLI.runAsync([
            "records", "readings", "--data", directory.path, "--device", "fridge-7", "--since", "2023-11-14T22:15:00Z",
        ])
        #expect(filtered.stdout.split(separator: "\n").map { $0.prefix(1) } == ["3"])

        let until = try await CLI.runAsync([
            "records", "readings", "--data", directory.path, "--until", "1700000180000", "--limit", "1",
        ])
        #expect(until.stdout.split(separator: "\n").map { $0.prefix(1) } == ["1"])

        let json = try await CLI.runAsync(["records", "readings", "--data", directory.path, "--limit", "2", "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let records = object?["records"] as? [[String: Any]]
        #expect(records?.count == 2)
        #expect(records?.first?["id"] as? String == "1/store-readings/0")
        #expect((records?.first?["data"] as? [String: Any])?["temp"] as? Int == 1)
        #expect(object?["next_after"] as? Int == 2)

        let tablesJSON = try await CLI.runAsync(["records", "--data", directory.path, "--json"])
        #expect(tablesJSON.stdout == #"{"tables":["low_battery","readings"]}"# + "\n")
    }

    @Test func aMissingTableIsAClearError() async throws {
        let directory = try await Self.recordsDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await CLI.runAsync(["records", "alerts", "--data", directory.path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr.contains(
                "Error: no record table 'alerts' in '\(directory.path)' (tables: low_battery, readings)"))
    }

    @Test func aDataDirectoryWithoutRecordsHasNoTables() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let list = try await CLI.runAsync(["records", "--data", directory.path])
        #expect(list.status == 0)
        #expect(list.stdout.isEmpty)
        #expect(list.stderr.contains("No record tables"))
        let table = try await CLI.runAsync(["records", "readings", "--data", directory.path])
        #expect(table.status == 1)
        #expect(table.stderr.contains("there are none yet"))
        // Reading never creates the records file.
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("records.sqlite").path))
    }

    @Test func badTimesAreRefusedWithUsage() async throws {
        let result = try await CLI.runAsync(["records", "readings", "--since", "last tuesday"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--since takes milliseconds since the epoch or an RFC 3339 time"))
    }

    // MARK: Dead letters

    static func letter(rule: String, message: Int64) -> DeadLetter {
        DeadLetter(
            createdAt: 1_700_000_000_000 + message,
            source: ActionSource(rule: rule, ruleSetVersion: 1, actionIndex: 0, function: "persist"),
            idempotencyKey: "\(message)/\(rule)/0",
            message: JournalEntry(
                id: message, topic: "gateways/gw-01/devices/fridge-7/telemetry",
                payload: Array(#"{"temp": 3.5, "battery": 90}"#.utf8), receivedAt: 1_700_000_000_000, gateway: "gw-01"),
            device: "fridge-7", error: "the records file was locked", attempts: 5)
    }

    /// A data directory with two dead letters: one of a rule in rules.yaml (`store-readings`), one of
    /// a rule that is not.
    static func deadLetterDirectory() async throws -> URL {
        let directory = try makeTemporaryDirectory()
        let storage = SQLiteDeadLetterStorage(database: try AppDatabase(directory: directory.path))
        _ = try await storage.add(letter(rule: "store-readings", message: 41))
        _ = try await storage.add(letter(rule: "retired-rule", message: 42))
        return directory
    }

    @Test func deadLettersListReadsTheDataDirectory() async throws {
        let directory = try await Self.deadLetterDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let list = try await CLI.runAsync(["dead-letters", "list", "--data", directory.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(
            list.stdout == """
                1\t2023-11-14T22:13:20.041Z\tstore-readings\t1\t0\tpersist\t5\t41\tgateways/gw-01/devices/fridge-7/telemetry\tthe records file was locked
                2\t2023-11-14T22:13:20.042Z\tretired-rule\t1\t0\tpersist\t5\t42\tgateways/gw-01/devices/fridge-7/telemetry\tthe records file was locked

                """)
        let json = try await CLI.runAsync(["dead-letters", "list", "--data", directory.path, "--json", "--limit", "1"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let letters = object?["dead_letters"] as? [[String: Any]]
        #expect(letters?.count == 1)
        #expect(letters?.first?["payload_base64"] as? String == "eyJ0ZW1wIjogMy41LCAiYmF0dGVyeSI6IDkwfQ==")
        #expect(object?["total"] as? Int == 2)
        #expect(object?["next_after"] as? Int == 1)

        let empty = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = try await CLI.runAsync(["dead-letters", "list", "--data", empty.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no Signalbox data in"))
    }

    @Test(.timeLimit(.minutes(3)))
    func deadLettersRetryAndDeleteGoThroughTheServer() async throws {
        let directory = try await Self.deadLetterDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let created = try await CLI.runAsync(["tokens", "create", "--admin", "--data", directory.path])
        #expect(created.status == 0)
        let token = try PrintedToken(created.stdout).token
        let server = try await ServerProcess.start(data: directory)  // killed by its deinit if a check throws
        let url = server.baseURL.absoluteString

        // The rule is active: the action runs in the server and the record appears.
        let retried = try await CLI.runAsync(["dead-letters", "retry", "1", "--url", url, "--token", token])
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout == "Dead letter 1 delivered; it is removed.\n")
        let records = try await CLI.runAsync(["records", "readings", "--data", directory.path, "--json"])
        #expect(records.stdout.contains(#""message_id":41"#))

        // Its rule is gone: refused, and kept.
        let gone = try await CLI.runAsync(
            ["dead-letters", "retry", "2", "--url", url], environment: ["SIGNALBOX_TOKEN": token])
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("Error: The rule or action of dead letter 2 is no longer in the active rules"))

        let deleted = try await CLI.runAsync(["dead-letters", "delete", "2", "--url", url, "--token", token])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout == "Deleted dead letter 2.\n")
        let again = try await CLI.runAsync(["dead-letters", "delete", "2", "--url", url, "--token", token])
        #expect(again.status == 1)
        #expect(again.stderr.contains("Error: No dead letter with id 2"))

        let list = try await CLI.runAsync(["dead-letters", "list", "--data", directory.path])
        #expect(list.stdout.isEmpty)

        let badToken = try await CLI.runAsync(
            ["dead-letters", "delete", "1", "--url", url, "--token", "SBXAAAAAAAAAAAAAAAAA:wrong"])
        #expect(badToken.status == 1)
        #expect(badToken.stderr.contains("Error:"))
        await server.stop()
    }

    @Test func retryNeedsATokenAndAReachableServer() async throws {
        let noToken = try await CLI.runAsync(["dead-letters", "retry", "1"], environment: ["SIGNALBOX_TOKEN": ""])
        #expect(noToken.status == 64)
        #expect(noToken.stderr.contains("give --token or set SIGNALBOX_TOKEN"))
        let unreachable = try await CLI.runAsync([
            "dead-letters", "retry", "1", "--url", "http://127.0.0.1:9", "--token", "SBXAAAAAAAAAAAAAAAAA.x",
        ])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach the Signalbox server at http://127.0.0.1:9"))
    }
}
