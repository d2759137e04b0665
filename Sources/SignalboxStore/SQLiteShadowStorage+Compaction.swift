import GRDB
import SignalboxCore

extension SQLiteShadowStorage: ShadowChangeLogCompaction {
    package func compactChangeLog(keepRecent: Int64) async throws -> Int {
        try await compactChangeLog(keepRecent: keepRecent, batchSize: 10_000)
    }

    /// Removes the change-log entries gateway sync can never need again, keeping the log bounded by
    /// the number of shadows plus the newest `keepRecent` entries.
    ///
    /// Sync reads, per shadow, only the latest entry that changed desired state or deleted it. So an
    /// entry older than the newest `keepRecent` is removed when it changed reported state only, or
    /// when a later desired-changing entry of the same shadow exists. Every sync answer, for every
    /// cursor, is the same before and after (tested); the newest sequence number stays, so cursors
    /// never go backwards.
    ///
    /// - Parameters:
    ///   - keepRecent: The newest this many entries are always kept (at least 1).
    ///   - batchSize: The most entries removed per write transaction, so writers wait briefly.
    /// - Returns: How many entries were removed.
    package func compactChangeLog(keepRecent: Int64 = 100_000, batchSize: Int = 10_000) async throws -> Int {
        let latest = try await latestSequence()
        let horizon = latest - max(keepRecent, 1)
        guard horizon > 0 else { return 0 }
        var removed = 0
        while true {
            let count = try await pool.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM shadow_changes WHERE sequence IN (
                            SELECT c.sequence FROM shadow_changes c
                            WHERE c.sequence <= ? AND (
                                NOT (c.desired_changed = 1 OR c.kind = 'deleted')
                                OR EXISTS (
                                    SELECT 1 FROM shadow_changes n
                                    WHERE n.thing = c.thing AND n.shadow_name = c.shadow_name
                                        AND n.sequence > c.sequence AND (n.desired_changed = 1 OR n.kind = 'deleted')
                                )
                            )
                            LIMIT ?
                        )
                        """, arguments: [horizon, batchSize])
                return db.changesCount
            }
            removed += count
            if count < batchSize { return removed }
        }
    }
}
