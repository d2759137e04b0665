import SignalboxJSON

/// One accepted change to a shadow, as the change log records it.
package struct ShadowChange: Sendable, Hashable {
    /// What happened.
    package enum Kind: String, Sendable, Hashable {
        /// The shadow was created or updated.
        case updated
        /// The shadow was deleted.
        case deleted
    }

    /// Position in the change log: strictly increasing, never reused.
    package var sequence: Int64
    /// The shadow.
    package var key: ShadowKey
    /// What happened.
    package var kind: Kind
    /// The shadow's version after the change (a deleted shadow keeps its last version).
    package var version: Int64
    /// Whether the desired section changed (always true for a deletion).
    package var desiredChanged: Bool
    /// When, in seconds since the Unix epoch.
    package var timestamp: Int64

    /// Creates a change.
    package init(
        sequence: Int64, key: ShadowKey, kind: Kind, version: Int64, desiredChanged: Bool, timestamp: Int64
    ) {
        self.sequence = sequence
        self.key = key
        self.kind = kind
        self.version = version
        self.desiredChanged = desiredChanged
        self.timestamp = timestamp
    }
}

/// What a ``ShadowStorage/modify(_:_:)`` transform decided: the record to store, the change to log,
/// and a result for the caller.
package struct ShadowModification<Result: Sendable>: Sendable {
    /// The record to store (a tombstone for a deletion).
    package var record: ShadowRecord
    /// What happened.
    package var kind: ShadowChange.Kind
    /// Whether the desired section changed.
    package var desiredChanged: Bool
    /// Handed back to the caller once committed.
    package var result: Result

    /// Creates a modification.
    package init(record: ShadowRecord, kind: ShadowChange.Kind, desiredChanged: Bool, result: Result) {
        self.record = record
        self.kind = kind
        self.desiredChanged = desiredChanged
        self.result = result
    }
}

/// Where shadows live. Implementations: the SQLite store, and `InMemoryShadowStorage` (SignalboxTesting).
///
/// `modify` is the one write path: read, decide and commit happen as one atomic step per shadow, so
/// concurrent updates of one shadow are serialised and never produce the same version.
package protocol ShadowStorage: Sendable {
    /// The record of `key`, tombstones included; `nil` if the shadow never existed.
    func record(for key: ShadowKey) async throws -> ShadowRecord?

    /// The same, synchronously, for `get_shadow()` in rules. It may block the calling thread: never
    /// call it from a task on the concurrency pool.
    func recordNow(for key: ShadowKey) throws -> ShadowRecord?

    /// Atomically reads `key`'s record, lets `transform` decide, stores its record and logs the change.
    ///
    /// - Returns: the transform's result and the logged change.
    /// - Throws: the transform's ``ShadowError`` (nothing is written), or a storage error.
    func modify<Result: Sendable>(
        _ key: ShadowKey,
        _ transform: @escaping @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>
    ) async throws -> (Result, ShadowChange)

    /// Names of `thing`'s live named shadows, in ascending order, after `after`, at most `limit`.
    func namedShadows(of thing: String, after: String?, limit: Int) async throws -> [String]

    /// The latest change per shadow among changes after `sequence` that changed desired state or
    /// deleted the shadow, restricted to shadows of `things` (every shadow when nil), in sequence
    /// order, at most `limit`.
    func desiredChanges(after sequence: Int64, things: Set<String>?, limit: Int) async throws -> [ShadowChange]

    /// The sequence number of the newest change, 0 when none.
    func latestSequence() async throws -> Int64
}

/// A shadow store whose change log can be trimmed (the log only grows otherwise).
package protocol ShadowChangeLogCompaction: Sendable {
    /// Removes the change-log entries gateway sync can never need again, always keeping the newest
    /// `keepRecent`; returns how many were removed.
    func compactChangeLog(keepRecent: Int64) async throws -> Int
}
