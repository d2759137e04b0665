import GRDB
import SignalboxCore

/// A ``ThrottleStorage`` in the data directory's SQLite database (table `throttle_windows`).
///
/// A window is active while `now < expiresAt`. Windows are listed by action, then key.
///
/// For example:
/// ```swift
/// let throttles = SQLiteThrottleStorage(database: try AppDatabase(directory: "./data"))
/// try await throttles.save([window], now: now)
/// let active = try await throttles.windows(activeAt: now)
/// ```
package final class SQLiteThrottleStorage: ThrottleStorage {
    private let pool: DatabasePool

    /// Creates the storage over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    package func windows(activeAt now: Int64) async throws -> [ThrottleEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT action, key, started_at, expires_at, idempotency_key FROM throttle_windows
                    WHERE expires_at > ? ORDER BY action, key
                    """,
                arguments: [now]
            ).map { row in
                ThrottleEntry(
                    action: row[0], key: row[1], startedAt: row[2], expiresAt: row[3], idempotencyKey: row[4])
            }
        }
    }

    package func save(_ entries: [ThrottleEntry], now: Int64) async throws {
        try await pool.write { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO throttle_windows (action, key, started_at, expires_at, idempotency_key)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (action, key) DO UPDATE SET
                        started_at = excluded.started_at, expires_at = excluded.expires_at,
                        idempotency_key = excluded.idempotency_key
                    """)
            for entry in entries {
                try upsert.execute(arguments: [
                    entry.action, entry.key, entry.startedAt, entry.expiresAt, entry.idempotencyKey,
                ])
            }
            try db.execute(sql: "DELETE FROM throttle_windows WHERE expires_at <= ?", arguments: [now])
        }
    }

    package func remove(_ entries: [ThrottleEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await pool.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM throttle_windows WHERE action = ? AND key = ?")
            for entry in entries { try delete.execute(arguments: [entry.action, entry.key]) }
        }
    }
}
