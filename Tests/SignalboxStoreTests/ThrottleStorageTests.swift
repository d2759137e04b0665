import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``ThrottleStorage`` implementations: SQLite on real files, and in memory.
struct ThrottleStorageTests {
    typealias Kind = StorageKind

    /// Runs `body` with a fresh storage of `kind`; an SQLite database is closed afterwards.
    private func withStorage(_ kind: Kind, _ body: (any ThrottleStorage) async throws -> Void) async throws {
        try await kind.run(memory: InMemoryThrottleStorage(), sqlite: SQLiteThrottleStorage.init(database:), body)
    }

    private func window(_ action: String, _ key: String, from start: Int64, to end: Int64, by invocation: String = "k")
        -> ThrottleEntry
    {
        ThrottleEntry(action: action, key: key, startedAt: start, expiresAt: end, idempotencyKey: invocation)
    }

    @Test(arguments: Kind.allCases)
    func windowsAreSavedAndListedWhileActive(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            #expect(try await storage.windows(activeAt: 0) == [])
            let windows = [
                window("rule-b/0", "fridge-7", from: 100, to: 200),
                window("rule-a/1", "fridge-7", from: 100, to: 300),
                window("rule-a/1", "Fridge-8", from: 150, to: 250),
                window("rule-a/0", "fridge-7", from: 100, to: 200),
            ]
            try await storage.save(windows, now: 100)
            let byActionThenKey = [windows[3], windows[2], windows[1], windows[0]]
            #expect(try await storage.windows(activeAt: 100) == byActionThenKey)
            #expect(try await storage.windows(activeAt: 199) == byActionThenKey)
            // A window ends at its expiry.
            #expect(try await storage.windows(activeAt: 200) == [windows[2], windows[1]])
            #expect(try await storage.windows(activeAt: 300) == [])
        }
    }

    @Test(arguments: Kind.allCases)
    func savingReplacesTheWindowOfTheSameActionAndKey(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            try await storage.save([window("r/0", "k", from: 100, to: 200, by: "1/r/0")], now: 100)
            let replacement = window("r/0", "k", from: 250, to: 400, by: "5/r/0")
            try await storage.save([replacement, window("r/0", "other", from: 250, to: 300)], now: 250)
            #expect(
                try await storage.windows(activeAt: 250) == [replacement, window("r/0", "other", from: 250, to: 300)])
        }
    }

    @Test(arguments: Kind.allCases)
    func savingDropsExpiredWindows(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            try await storage.save(
                [window("r/0", "a", from: 0, to: 100), window("r/0", "b", from: 0, to: 500)], now: 0)
            // Saving at 100 drops "a"; an entry already expired when saved is not kept either.
            try await storage.save([window("r/1", "c", from: 0, to: 50)], now: 100)
            // Even asked about the past, only the windows kept remain.
            #expect(try await storage.windows(activeAt: 0) == [window("r/0", "b", from: 0, to: 500)])
            try await storage.save([], now: 500)
            #expect(try await storage.windows(activeAt: 0) == [])
        }
    }

    @Test(arguments: Kind.allCases)
    func removingDeletesTheWindowsOfTheActionsAndKeys(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            let kept = window("r/0", "b", from: 0, to: 500)
            try await storage.save(
                [window("r/0", "a", from: 0, to: 500), kept, window("r/1", "a", from: 0, to: 500)], now: 0)
            // Matched by action and key, whatever the times.
            try await storage.remove([window("r/0", "a", from: 7, to: 8), window("r/1", "a", from: 0, to: 1)])
            try await storage.remove([])
            #expect(try await storage.windows(activeAt: 0) == [kept])
        }
    }

    @Test func sqliteWindowsSurviveReopening() async throws {
        try await withTemporaryDirectory { directory in
            let saved = window("r/0", "k", from: 10, to: 20)
            try await withDatabase(directory) { database in
                try await SQLiteThrottleStorage(database: database).save([saved], now: 10)
            }
            try await withDatabase(directory) { database throws in
                #expect(try await SQLiteThrottleStorage(database: database).windows(activeAt: 15) == [saved])
            }
        }
    }
}
