import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``DeviceActivityStorage`` implementations: SQLite on real files, and in memory.
struct DeviceActivityStorageTests {
    typealias Kind = StorageKind

    /// Runs `body` with a fresh storage of `kind`; an SQLite database is closed afterwards.
    private func withStorage(_ kind: Kind, _ body: (any DeviceActivityStorage) async throws -> Void) async throws {
        try await kind.run(
            memory: InMemoryDeviceActivityStorage(), sqlite: SQLiteDeviceActivityStorage.init(database:), body)
    }

    @Test(arguments: Kind.allCases)
    func savedDevicesAreListedByKeyAndReplaced(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            #expect(try await storage.activities() == [])
            try await storage.save([
                DeviceActivity(device: "f2", lastSeen: 200, silent: false),
                DeviceActivity(device: "F9", lastSeen: 100, silent: true),
                DeviceActivity(device: "f1", lastSeen: 300, silent: false),
            ])
            try await storage.save([DeviceActivity(device: "f2", lastSeen: 250, silent: true)])
            try await storage.save([])
            #expect(
                try await storage.activities() == [
                    DeviceActivity(device: "F9", lastSeen: 100, silent: true),
                    DeviceActivity(device: "f1", lastSeen: 300, silent: false),
                    DeviceActivity(device: "f2", lastSeen: 250, silent: true),
                ])
        }
    }

    @Test func sqliteDevicesSurviveReopening() async throws {
        try await withTemporaryDirectory { directory in
            let saved = DeviceActivity(device: "fridge\t7", lastSeen: 1_700_000_000_000, silent: true)
            try await withDatabase(directory) { database in
                try await SQLiteDeviceActivityStorage(database: database).save([saved])
            }
            try await withDatabase(directory) { database throws in
                #expect(try await SQLiteDeviceActivityStorage(database: database).activities() == [saved])
            }
        }
    }
}
