import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``DeadLetterStorage`` implementations: SQLite on real files, and in memory.
struct DeadLetterStorageTests {
    typealias Kind = StorageKind

    /// Runs `body` with a fresh storage of `kind`; an SQLite database is closed afterwards.
    private func withStorage(_ kind: Kind, _ body: (any DeadLetterStorage) async throws -> Void) async throws {
        try await kind.run(memory: InMemoryDeadLetterStorage(), sqlite: SQLiteDeadLetterStorage.init(database:), body)
    }

    /// A letter for message `n`; odd ones come from the error action, with the optional fields set.
    private func letter(_ n: Int64, error: String = "timed out", attempts: Int = 3) -> DeadLetter {
        let actionIndex = n % 2 == 0 ? Int(n % 5) : nil
        let source = ActionSource(rule: "rule-\(n)", ruleSetVersion: 2, actionIndex: actionIndex, function: "webhook")
        return DeadLetter(
            createdAt: 1_732_200_000_000 + n, source: source,
            idempotencyKey: "\(n)/rule-\(n)/\(source.actionTag)",
            message: JournalEntry(
                id: n, topic: "sensors/\(n)", payload: [0, 0xFF] + Array("{\"n\":\(n)}".utf8),
                receivedAt: 1_732_100_000_000 + n, clientID: n % 2 == 1 ? "client" : nil,
                gateway: n % 2 == 1 ? "site" : nil),
            device: "device-\(n)", error: error, attempts: attempts)
    }

    private func stored(_ letter: DeadLetter, id: Int64) -> DeadLetter {
        var letter = letter
        letter.id = id
        return letter
    }

    @Test(arguments: Kind.allCases)
    func lettersAreAddedListedAndFetched(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            #expect(try await storage.count() == 0)
            #expect(try await storage.list(after: 0, limit: 10) == [])
            #expect(try await storage.get(1) == nil)

            let ids = [
                try await storage.add(letter(1)), try await storage.add(letter(2)), try await storage.add(letter(3)),
            ]
            #expect(ids == [1, 2, 3])
            #expect(try await storage.count() == 3)
            #expect(try await storage.get(2) == stored(letter(2), id: 2))
            #expect(try await storage.get(1) == stored(letter(1), id: 1))
            #expect(
                try await storage.list(after: 0, limit: 10) == [
                    stored(letter(1), id: 1), stored(letter(2), id: 2), stored(letter(3), id: 3),
                ])
            #expect(try await storage.list(after: 1, limit: 1) == [stored(letter(2), id: 2)])
            #expect(try await storage.list(after: 3, limit: 10) == [])
            #expect(try await storage.list(after: 0, limit: 0) == [])
        }
    }

    @Test(arguments: Kind.allCases)
    func addingTheSameKeyReplacesTheLetterAndKeepsItsID(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            _ = try await storage.add(letter(1))
            _ = try await storage.add(letter(2))
            let again = letter(1, error: "HTTP 503", attempts: 6)
            #expect(try await storage.add(again) == 1)
            #expect(try await storage.count() == 2)
            #expect(try await storage.get(1) == stored(again, id: 1))
            #expect(try await storage.list(after: 0, limit: 10).map(\.id) == [1, 2])
        }
    }

    @Test(arguments: Kind.allCases)
    func removedLettersGoAndTheirIDsAreNotReused(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            _ = try await storage.add(letter(1))
            _ = try await storage.add(letter(2))
            #expect(try await storage.remove(2))
            #expect(try await storage.remove(2) == false)
            #expect(try await storage.remove(42) == false)
            #expect(try await storage.get(2) == nil)
            #expect(try await storage.count() == 1)
            // The removed letter's key is free again, and gets a new id.
            #expect(try await storage.add(letter(2)) == 3)
            #expect(try await storage.list(after: 0, limit: 10).map(\.id) == [1, 3])
        }
    }

    @Test func sqliteLettersSurviveReopening() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory, durability: .full) { database in
                let storage = SQLiteDeadLetterStorage(database: database)
                _ = try await storage.add(letter(1))
                _ = try await storage.add(letter(2))
                _ = try await storage.remove(2)
            }
            try await withDatabase(directory) { database throws in
                let storage = SQLiteDeadLetterStorage(database: database)
                #expect(try await storage.list(after: 0, limit: 10) == [stored(letter(1), id: 1)])
                #expect(try await storage.add(letter(4)) == 3)
            }
        }
    }
}
