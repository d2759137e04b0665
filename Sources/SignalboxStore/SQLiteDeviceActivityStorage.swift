import GRDB
import SignalboxCore

/// A ``DeviceActivityStorage`` in the data directory's SQLite database (table `device_activity`).
///
/// For example:
/// ```swift
/// let devices = SQLiteDeviceActivityStorage(database: try AppDatabase(directory: "./data"))
/// try await devices.save([DeviceActivity(device: "f1", lastSeen: now, silent: false)])
/// let known = try await devices.activities()
/// ```
package final class SQLiteDeviceActivityStorage: DeviceActivityStorage {
    private let pool: DatabasePool

    /// Creates the storage over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    package func activities() async throws -> [DeviceActivity] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT device, last_seen, silent FROM device_activity ORDER BY device").map {
                DeviceActivity(device: $0[0], lastSeen: $0[1], silent: $0[2])
            }
        }
    }

    package func save(_ activities: [DeviceActivity]) async throws {
        guard !activities.isEmpty else { return }
        try await pool.write { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO device_activity (device, last_seen, silent) VALUES (?, ?, ?)
                    ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen, silent = excluded.silent
                    """)
            for activity in activities {
                try upsert.execute(arguments: [activity.device, activity.lastSeen, activity.silent])
            }
        }
    }
}
