import SignalboxCore
import Synchronization

/// A ``ShadowStorage`` in memory, for tests and tools.
package final class InMemoryShadowStorage: ShadowStorage {
    private struct State {
        var records: [ShadowKey: ShadowRecord] = [:]
        var log: [ShadowChange] = []
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    package init() {}

    package func record(for key: ShadowKey) async throws -> ShadowRecord? {
        try recordNow(for: key)
    }

    package func recordNow(for key: ShadowKey) throws -> ShadowRecord? {
        state.withLock { $0.records[key] }
    }

    package func modify<Result: Sendable>(
        _ key: ShadowKey,
        _ transform: @escaping @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>
    ) async throws -> (Result, ShadowChange) {
        try state.withLock { state throws(ShadowError) in
            let modification = try transform(state.records[key])
            state.records[key] = modification.record
            let change = ShadowChange(
                sequence: Int64(state.log.count + 1), key: key, kind: modification.kind,
                version: modification.record.version, desiredChanged: modification.desiredChanged,
                timestamp: modification.record.timestamp)
            state.log.append(change)
            return (modification.result, change)
        }
    }

    package func namedShadows(of thing: String, after: String?, limit: Int) async throws -> [String] {
        state.withLock { state in
            let names = state.records.compactMap { key, record -> String? in
                guard key.thing == thing, let name = key.name, !record.isDeleted else { return nil }
                if let after, name <= after { return nil }
                return name
            }
            return Array(names.sorted().prefix(limit))
        }
    }

    package func desiredChanges(after sequence: Int64, things: Set<String>?, limit: Int) async throws -> [ShadowChange]
    {
        state.withLock { state in
            var latest: [ShadowKey: ShadowChange] = [:]
            for change in state.log
            where change.sequence > sequence && (things?.contains(change.key.thing) ?? true) {
                if change.desiredChanged || change.kind == .deleted { latest[change.key] = change }
            }
            return Array(latest.values.sorted { $0.sequence < $1.sequence }.prefix(limit))
        }
    }

    package func latestSequence() async throws -> Int64 {
        state.withLock { Int64($0.log.count) }
    }
}
