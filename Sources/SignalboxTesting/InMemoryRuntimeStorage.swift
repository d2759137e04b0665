import SignalboxCore
import Synchronization

/// A ``MessageJournal`` in memory, for tests: the semantics of the SQLite journal without the disk.
///
/// An append whose ids collide with stored ones (or with each other) stores nothing and throws
/// ``JournalIDConflict``. Checkpoints only move forward: a lower one is ignored.
///
/// For example:
/// ```swift
/// let journal = InMemoryJournal()
/// try await journal.append([JournalEntry(id: 1, topic: "t", payload: [], receivedAt: 0)])
/// try await journal.checkpoint(1)
/// ```
package final class InMemoryJournal: MessageJournal {
    private struct State {
        /// Sorted by id.
        var entries: [JournalEntry] = []
        var ids: Set<Int64> = []
        var checkpoint: Int64 = 0
        var lastID: Int64 = 0
        /// Session → packet identifier → (digest, id of the entry that carried it).
        var receipts: [String: [UInt16: (digest: UInt64, entry: Int64)]] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty journal.
    package init() {}

    package func append(_ entries: [JournalEntry]) async throws {
        try state.withLock { state throws(JournalIDConflict) in
            var newIDs = Set<Int64>(minimumCapacity: entries.count)
            for entry in entries {
                guard !state.ids.contains(entry.id), newIDs.insert(entry.id).inserted else {
                    throw JournalIDConflict(id: entry.id)
                }
            }
            state.ids.formUnion(newIDs)
            // The common case, ids above everything stored and in order, needs no sort.
            let inOrder = zip(entries, entries.dropFirst()).allSatisfy { $0.id < $1.id }
            let startsAfterStored = (entries.first?.id ?? .max) > (state.entries.last?.id ?? .min)
            // Read back, entries carry no receipt (as from SQLite).
            state.entries.append(
                contentsOf: entries.lazy.map { entry in
                    var entry = entry
                    entry.message.receipt = nil
                    return entry
                })
            if !(inOrder && startsAfterStored) { state.entries.sort { $0.id < $1.id } }
            if let highest = entries.lazy.map(\.id).max() { state.lastID = max(state.lastID, highest) }
            for entry in entries {
                guard let receipt = entry.receipt else { continue }
                state.receipts[receipt.session, default: [:]][receipt.packetID] = (receipt.digest, entry.id)
            }
        }
    }

    package func brokerReceipts(session: String, limit: Int) async throws -> [UInt16: UInt64] {
        state.withLock { state in
            let recent = (state.receipts[session] ?? [:]).sorted { $0.value.entry > $1.value.entry }.prefix(limit)
            return Dictionary(uniqueKeysWithValues: recent.map { ($0.key, $0.value.digest) })
        }
    }

    package func state() async throws -> (checkpoint: Int64, lastID: Int64) {
        state.withLock { state in (state.checkpoint, max(state.lastID, state.checkpoint)) }
    }

    package func entries(after: Int64, limit: Int) async throws -> [JournalEntry] {
        guard limit > 0 else { return [] }
        return state.withLock { state in
            let start = state.entries.partitioningIndex { $0.id > after }
            return Array(state.entries[start...].prefix(limit))
        }
    }

    package func checkpoint(_ id: Int64) async throws {
        state.withLock { state in
            guard id > state.checkpoint else { return }
            state.checkpoint = id
            let end = state.entries.partitioningIndex { $0.id > id }
            for entry in state.entries[..<end] { state.ids.remove(entry.id) }
            state.entries.removeFirst(end)
        }
    }
}

/// An append to ``InMemoryJournal`` reused an id; nothing of that append was stored.
package struct JournalIDConflict: Error, Sendable, Hashable, CustomStringConvertible {
    /// The id that was already stored or appeared twice.
    package var id: Int64

    package var description: String {
        "journal id \(id) is already stored: ids must be unique and assigned by the runtime"
    }
}

/// A ``DeadLetterStorage`` in memory, for tests: ids start at 1, are never reused, and a letter
/// stored again under the same idempotency key keeps its id.
package final class InMemoryDeadLetterStorage: DeadLetterStorage {
    private struct State {
        var letters: [Int64: DeadLetter] = [:]
        var idsByKey: [String: Int64] = [:]
        var lastID: Int64 = 0
        var failure: (any Error)?
    }

    private let state = Mutex(State())

    /// Creates an empty storage.
    package init() {}

    /// Makes every ``add(_:)`` throw `error` (nil: store again), as a storage that is down would.
    package func failAdds(with error: (any Error)?) {
        state.withLock { $0.failure = error }
    }

    package func add(_ letter: DeadLetter) async throws -> Int64 {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            var letter = letter
            if let id = state.idsByKey[letter.idempotencyKey] {
                letter.id = id
            } else {
                state.lastID += 1
                letter.id = state.lastID
                state.idsByKey[letter.idempotencyKey] = letter.id
            }
            state.letters[letter.id] = letter
            return letter.id
        }
    }

    package func list(after: Int64, limit: Int) async throws -> [DeadLetter] {
        guard limit > 0 else { return [] }
        return state.withLock { state in
            Array(state.letters.values.filter { $0.id > after }.sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    package func get(_ id: Int64) async throws -> DeadLetter? {
        state.withLock { $0.letters[id] }
    }

    package func remove(_ id: Int64) async throws -> Bool {
        state.withLock { state in
            guard let letter = state.letters.removeValue(forKey: id) else { return false }
            state.idsByKey[letter.idempotencyKey] = nil
            return true
        }
    }

    package func count() async throws -> Int {
        state.withLock { $0.letters.count }
    }
}

/// A ``ThrottleStorage`` in memory, for tests. A window is active while `now < expiresAt`; windows
/// are listed by action, then key (byte order, as SQLite sorts text).
package final class InMemoryThrottleStorage: ThrottleStorage {
    private struct Key: Hashable {
        var action: String
        var key: String
    }

    private let entries = Mutex<[Key: ThrottleEntry]>([:])

    /// Creates an empty storage.
    package init() {}

    package func windows(activeAt now: Int64) async throws -> [ThrottleEntry] {
        entries.withLock { entries in
            entries.values.filter { $0.expiresAt > now }.sorted { left, right in
                left.action == right.action
                    ? left.key.utf8.lexicographicallyPrecedes(right.key.utf8)
                    : left.action.utf8.lexicographicallyPrecedes(right.action.utf8)
            }
        }
    }

    package func save(_ newEntries: [ThrottleEntry], now: Int64) async throws {
        entries.withLock { entries in
            for entry in newEntries { entries[Key(action: entry.action, key: entry.key)] = entry }
            entries = entries.filter { $0.value.expiresAt > now }
        }
    }

    package func remove(_ removed: [ThrottleEntry]) async throws {
        entries.withLock { entries in
            for entry in removed { entries[Key(action: entry.action, key: entry.key)] = nil }
        }
    }
}

/// A ``DeviceActivityStorage`` in memory, for tests; devices are listed in byte order, as SQLite
/// sorts text.
package final class InMemoryDeviceActivityStorage: DeviceActivityStorage {
    private let devices = Mutex<[String: DeviceActivity]>([:])

    /// Creates an empty storage.
    package init() {}

    package func activities() async throws -> [DeviceActivity] {
        devices.withLock { devices in
            devices.values.sorted { $0.device.utf8.lexicographicallyPrecedes($1.device.utf8) }
        }
    }

    package func save(_ activities: [DeviceActivity]) async throws {
        devices.withLock { devices in
            for activity in activities { devices[activity.device] = activity }
        }
    }
}

extension Array {
    /// The index of the first element for which `isAfter` holds, in an array where it holds for a
    /// suffix: a binary search.
    fileprivate func partitioningIndex(where isAfter: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
