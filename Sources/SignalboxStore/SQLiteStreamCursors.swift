import GRDB
import SignalboxCore

/// Named positions in the shadow change log that Signalbox's own consumers have reached (the MQTT
/// gateway sync stream), in the data directory's SQLite database (table `stream_cursors`).
///
/// For example:
/// ```swift
/// let cursors = SQLiteStreamCursors(database: try AppDatabase(directory: "./data"))
/// try await cursors.save(1842, named: "mqtt-gateway-sync")
/// let cursor = try await cursors.cursor(named: "mqtt-gateway-sync")  // 1842
/// ```
package final class SQLiteStreamCursors: StreamCursorStore {
    private let pool: DatabasePool

    /// Creates the storage over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    /// The saved cursor `name`, nil if none was saved.
    package func cursor(named name: String) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT cursor FROM stream_cursors WHERE name = ?", arguments: [name])
        }
    }

    /// Saves cursor `name`; a lower value than the saved one is ignored (cursors only move forward).
    package func save(_ cursor: Int64, named name: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO stream_cursors (name, cursor) VALUES (?, ?)
                    ON CONFLICT (name) DO UPDATE SET cursor = MAX(cursor, excluded.cursor)
                    """, arguments: [name, cursor])
        }
    }
}
